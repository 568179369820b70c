import type { Clock } from './clock.ts';
import type { Task } from './task.ts';
import type { Tracer } from './trace.ts';

/**
 * What a task is about to do at a scheduling point,
 * e.g. {kind:'lock.down_read', label:'mmap_sem', obj:'mm1'}.
 */
export interface SchedEvent {
  readonly kind: string;
  readonly label: string;
  readonly obj?: string | undefined;
}

/** A scheduling decision: run a task, or fire the earliest pending timer. */
export type Choice = { readonly type: 'task'; readonly task: Task } | { readonly type: 'timer' };

/**
 * What a policy sees at a decision. The object is reused between calls: copy what you keep
 * (`choices` itself is an immutable snapshot and may be kept).
 */
export interface PickContext {
  readonly step: number;
  /** The task that was running (undefined at run start); runnable iff it is in `choices`. */
  readonly current: Task | undefined;
  /** Runnable tasks in id order, then {type:'timer'} if a timer is pending. Never empty. */
  readonly choices: readonly Choice[];
  /** What `current` is about to do (its scheduling point, block or exit event). */
  readonly event: SchedEvent | undefined;
}

/**
 * Decides who runs at each decision with more than one choice (a single choice is taken
 * without asking). The explorer implements this for DFS/PCT.
 */
export interface SchedulePolicy {
  readonly name?: string;
  /** Must return one of ctx.choices (or an equal {type, task} value). */
  pick(ctx: PickContext): Choice;
  /**
   * Called at every step of a run — each scheduling point, block and task exit, whether or not
   * there is a choice to make — before any pick() of that step; a throw aborts the run (run()
   * rejects with it). Optional: a scheduler whose policy has none pays one property test per step.
   */
  observe?(step: number, event: SchedEvent): void;
  /**
   * Optional: told of every shared access a task reports during a run (noteRead, noteWrite;
   * `obj` undefined for noteGlobalAccess; `index` an element of `obj`), with the task that made it. A scheduler whose policy
   * has none installs no hook, and reports cost one comparison.
   */
  access?(task: Task, obj: object | undefined, write: boolean, index?: number): void;
}

/** Something a task can block on: every lock, wait queue and completion is one. */
export interface WaitHead {
  /** 'mutex', 'rwsem', 'spinlock', 'waitqueue', 'completion', ... */
  readonly kind: string;
  readonly name: string;
  readonly obj?: string | undefined;
  /** Why `task` is still waiting (who holds the lock, ...), for deadlock reports. */
  describeWaiter?(task: Task): string;
}

/** How a sleep ended. */
export type WakeReason = 'woken' | 'timeout';

/** A task that threw: the run went on without it. */
export interface TaskError {
  readonly taskId: number;
  readonly taskName: string;
  readonly error: unknown;
}

/** One task left blocked at the end of a deadlocked run. */
export interface BlockedTask {
  readonly id: number;
  readonly name: string;
  /** 'mutex B (mm1)': the wait head's kind, name and object. */
  readonly waitsOn: string;
  /** True for a spinning (spinlock) wait, false for a sleep. */
  readonly spinning: boolean;
  /** The wait head's own explanation (holder, queue position), or ''. */
  readonly detail: string;
}

/** All tasks blocked and no timer pending. */
export interface DeadlockInfo {
  readonly blocked: readonly BlockedTask[];
  /** Human-readable summary, one line per blocked task. */
  readonly message: string;
}

/** Outcome of Scheduler.run(). */
export interface RunResult {
  /** Scheduling decisions taken during the run. */
  readonly steps: number;
  /** Times the CPU went from one task to another. */
  readonly switches: number;
  /** Switches away from a task that was still runnable. */
  readonly preemptions: number;
  /** Tasks that threw, in the order they threw. */
  readonly errors: readonly TaskError[];
  /** Present when the run ended with every remaining task blocked and no timer pending. */
  readonly deadlock?: DeadlockInfo;
  /** True when the run was cut at `maxSteps` (remaining tasks are abandoned). */
  readonly stepLimitReached: boolean;
  /**
   * Scheduling points and sleeps that tasks of this run reached on ANOTHER scheduler (one that
   * was not running): the state they touch was built on a scheduler other than this one, so those
   * steps could never interleave. 0 in a well-formed run.
   */
  readonly foreignSteps: number;
  /** The first such step ('hmm.range_fault check_retry (mm1)'), when there was one. */
  readonly foreignFirst?: string;
}

/** Options of createScheduler(). */
export interface SchedulerOptions {
  /** Default: freeRunningPolicy(). */
  readonly policy?: SchedulePolicy;
  /** Virtual nanoseconds per scheduling point; default 1000. */
  readonly nsPerStep?: number;
  /** Record trace events from the start; default false. */
  readonly trace?: boolean;
  /** End a run after this many steps (livelock guard); default unlimited. */
  readonly maxSteps?: number;
}

/** Cooperative scheduler of simulated CPUs; every sleeping primitive goes through it. */
export interface Scheduler {
  readonly clock: Clock;
  /** The running task; outside run() the built-in boot task (id 0). */
  readonly current: Task;
  /** Scheduling decisions so far (all runs). */
  readonly step: number;
  /** True while run() is in progress. */
  readonly running: boolean;
  /**
   * Create a runnable task; it starts when run() chooses it.
   * Mirrors kernel/kthread.c:kthread_run().
   */
  spawn(name: string, fn: () => Promise<void>): Task;
  /** Run all spawned tasks until done, deadlock, or the step limit. */
  run(): Promise<RunResult>;
  /**
   * A scheduling point: the policy may switch tasks here.
   * Mirrors kernel/sched/core.c:cond_resched() (a preemption point).
   */
  point(ev: SchedEvent): Promise<void>;
  /**
   * Block the current task until wake() or the timeout (jiffies); throws in atomic context.
   * Mirrors kernel/time/timer.c:schedule_timeout() (kernel/sched/core.c:schedule()).
   */
  sleep(wq: WaitHead, timeoutJiffies?: number): Promise<WakeReason>;
  /**
   * Busy-wait (spinlock contention): blocked until wake(), allowed in atomic context.
   * Mirrors kernel/locking/qspinlock.c:queued_spin_lock_slowpath().
   */
  spin(head: WaitHead): Promise<void>;
  /**
   * Make a blocked task runnable (no switch happens here); false if it was not blocked.
   * Mirrors kernel/sched/core.c:wake_up_process().
   */
  wake(task: Task): boolean;
  /** Recorded events (off by default, cheap when off). */
  trace: Tracer;
}
