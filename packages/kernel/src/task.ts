import { KernelBugError } from './errors.ts';
import type { Choice, SchedEvent, WaitHead, WakeReason } from './sched-types.ts';
import type { Timer } from './timer.ts';

/** Lifecycle of a simulated CPU's task. */
export type TaskState = 'runnable' | 'running' | 'blocked' | 'done';

/** A simulated CPU (kernel thread). Tasks are created by `Scheduler.spawn`. */
export interface Task {
  readonly id: number;
  readonly name: string;
  readonly state: TaskState;
  /** Spinlock nesting depth; sleeping with a non-zero count is a bug. */
  preemptCount: number;
  /** What a blocked task waits on (undefined unless state is 'blocked'). */
  readonly waitingOn: WaitHead | undefined;
  /** The event a runnable task is parked at, i.e. what it does next when chosen. */
  readonly pending: SchedEvent | undefined;
}

/** Scheduler-internal task record; only the scheduler parks and unparks it. */
export class TaskImpl implements Task {
  state: TaskState = 'runnable';
  preemptCount = 0;
  waitingOn: WaitHead | undefined = undefined;
  pending: SchedEvent | undefined = undefined;
  /** Blocked in a busy-wait (spinlock) rather than a sleep. */
  spinning = false;
  wakeReason: WakeReason = 'woken';
  timer: Timer | undefined = undefined;
  /** Left behind by a run that ended in deadlock, step limit or abort: never runs again. */
  abandoned = false;
  /** The cached `{type:'task'}` choice for this task (no allocation per pick). */
  readonly choice: Choice;
  private resume: (() => void) | undefined = undefined;

  constructor(
    readonly id: number,
    readonly name: string,
    readonly owner: object,
  ) {
    this.choice = { type: 'task', task: this };
  }

  /** A promise that settles when the scheduler next resumes this task. */
  park(): Promise<void> {
    if (this.resume !== undefined) {
      throw new KernelBugError(
        `task '${this.name}' is already parked: one task must not run two async flows at ` +
          'once; expected each simulated CPU to be a single sequential flow (spawn another task)',
      );
    }
    return new Promise<void>((resolve) => {
      this.resume = resolve;
    });
  }

  /** Resume the task parked by park(). */
  unpark(): void {
    const resume = this.resume;
    if (resume === undefined) {
      throw new KernelBugError(`task '${this.name}' resumed without being parked`);
    }
    this.resume = undefined;
    resume();
  }
}
