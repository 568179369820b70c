import { type AccessHook, accessReporting, accessSink, noteWrite } from './access.ts';
import { Clock, MAX_SCHEDULE_TIMEOUT, TICK_NSEC } from './clock.ts';
import { DeadlockError, InvalidArgumentError, KernelBugError } from './errors.ts';
import { freeRunningPolicy } from './free-running-policy.ts';
import { mightSleep } from './might-sleep.ts';
import type {
  BlockedTask,
  Choice,
  DeadlockInfo,
  PickContext,
  RunResult,
  SchedEvent,
  SchedulePolicy,
  Scheduler,
  SchedulerOptions,
  TaskError,
  WaitHead,
  WakeReason,
} from './sched-types.ts';
import { type Task, TaskImpl } from './task.ts';
import { TimerList } from './timer.ts';
import { Tracer } from './trace.ts';
import { checkFunction, checkIntIn } from './validate.ts';

const RESOLVED: Promise<void> = Promise.resolve();
/**
 * A promise for a task frozen by the end of its run: it never continues. A fresh one each time:
 * every await of a shared pending promise would add a reaction to it that is never released,
 * keeping the frozen task, and through it its whole machine, alive for good.
 */
const never = (): Promise<never> => new Promise<never>(() => {});
const TIMER_CHOICE: Choice = Object.freeze({ type: 'timer' });
const EXIT_EVENT: SchedEvent = Object.freeze({ kind: 'task.exit', label: '' });
const WOKEN_EVENT: SchedEvent = Object.freeze({ kind: 'sched.wakeup', label: 'woken' });
const TIMEOUT_EVENT: SchedEvent = Object.freeze({ kind: 'sched.wakeup', label: 'timeout' });

/**
 * The scheduler whose run() is in progress, if any. A step taken on another scheduler while one
 * runs is counted on the running one (RunResult.foreignSteps): the classic mistake of building a
 * machine on its own scheduler inside a scenario, which makes every task atomic.
 */
let runningScheduler: SchedulerImpl | undefined;

/** 'hmm.range_fault check_retry (mm1)' */
function describeEvent(ev: SchedEvent): string {
  return `${ev.kind} ${ev.label}${ev.obj === undefined ? '' : ` (${ev.obj})`}`;
}

/** Book-keeping of the run in progress. */
interface ActiveRun {
  readonly startStep: number;
  switches: number;
  preemptions: number;
  foreignSteps: number;
  foreignFirst: string | undefined;
  readonly errors: TaskError[];
  readonly resolve: (r: RunResult) => void;
  readonly reject: (e: unknown) => void;
}

type MutablePickContext = { -readonly [K in keyof PickContext]: PickContext[K] };

/** Throw unless `n` is a safe integer >= min. */
function checkInt(what: string, n: number, min: number): void {
  checkIntIn('createScheduler', what, n, min, Number.MAX_SAFE_INTEGER, `a safe integer >= ${min}`);
}

/** Throw unless `opts.policy` (when given) has a pick() method and `opts.trace` is a boolean. */
function checkOptions(opts: SchedulerOptions): void {
  if (typeof opts !== 'object' || opts === null) {
    throw new InvalidArgumentError(
      `createScheduler: opts is ${opts === null ? 'null' : typeof opts}; expected an options object`,
    );
  }
  const p = opts.policy;
  if (p !== undefined) {
    if (typeof p !== 'object' || p === null) {
      throw new InvalidArgumentError(
        `createScheduler: policy is ${p === null ? 'null' : typeof p}; expected a SchedulePolicy object`,
      );
    }
    checkFunction('createScheduler', 'policy.pick', p.pick);
    if (p.observe !== undefined) checkFunction('createScheduler', 'policy.observe', p.observe);
  }
  if (opts.trace !== undefined && typeof opts.trace !== 'boolean') {
    throw new InvalidArgumentError(
      `createScheduler: trace is a ${typeof opts.trace}; expected a boolean`,
    );
  }
}

/** The entry of `choices` equal to `picked` (same object, or same type and task), if any. */
function canonicalChoice(choices: readonly Choice[], picked: Choice): Choice | undefined {
  if (choices.includes(picked)) return picked;
  for (const c of choices) {
    if (
      c.type === 'timer'
        ? picked.type === 'timer'
        : picked.type === 'task' && picked.task === c.task
    )
      return c;
  }
  return undefined;
}

/** 'mutex B (mm1)' */
function describeHead(wq: WaitHead): string {
  return `${wq.kind} ${wq.name}${wq.obj === undefined ? '' : ` (${wq.obj})`}`;
}

/**
 * The scheduler: tasks hand the CPU to each other directly (the leaving task resolves the
 * chosen task's gate, then awaits its own), so exactly one task executes at a time.
 */
class SchedulerImpl implements Scheduler {
  readonly clock = new Clock();
  readonly trace: Tracer;
  current: TaskImpl;
  step = 0;
  private readonly boot: TaskImpl;
  private readonly policy: SchedulePolicy;
  private readonly nsPerStep: number;
  private readonly maxSteps: number;
  private tasks: TaskImpl[] = [];
  private nextId = 1;
  private readonly timers = new TimerList();
  private choiceCache: readonly Choice[] | undefined = undefined;
  private readonly ctx: MutablePickContext;
  private active: ActiveRun | undefined = undefined;
  /** The access hook this scheduler installed for its run, if its policy asked for one. */
  private accessHook: AccessHook | undefined = undefined;

  constructor(opts: SchedulerOptions) {
    checkOptions(opts);
    this.policy = opts.policy ?? freeRunningPolicy();
    this.nsPerStep = opts.nsPerStep ?? 1000;
    this.maxSteps = opts.maxSteps ?? Number.POSITIVE_INFINITY;
    checkInt('nsPerStep', this.nsPerStep, 0);
    if (this.maxSteps !== Number.POSITIVE_INFINITY) checkInt('maxSteps', this.maxSteps, 1);
    this.boot = new TaskImpl(0, 'boot', this);
    this.boot.state = 'running';
    this.current = this.boot;
    this.trace = new Tracer(this, opts.trace ?? false);
    this.ctx = { step: 0, current: undefined, choices: [], event: undefined };
  }

  get running(): boolean {
    return this.active !== undefined;
  }

  spawn(name: string, fn: () => Promise<void>): Task {
    checkFunction(`spawn('${name}')`, 'fn', fn);
    const t = new TaskImpl(this.nextId++, name, this);
    t.pending = { kind: 'task.start', label: name };
    this.tasks.push(t);
    this.choiceCache = undefined;
    void this.runTask(t, t.park(), fn);
    return t;
  }

  run(): Promise<RunResult> {
    if (this.active !== undefined) {
      return Promise.reject(
        new KernelBugError('run() called while a run is in progress; expected one run at a time'),
      );
    }
    return new Promise<RunResult>((resolve, reject) => {
      this.active = {
        startStep: this.step,
        switches: 0,
        preemptions: 0,
        foreignSteps: 0,
        foreignFirst: undefined,
        errors: [],
        resolve,
        reject,
      };
      runningScheduler = this;
      this.installAccessHook();
      this.step++;
      const next = this.choose(undefined, undefined);
      if (next !== undefined) this.switchTo(next);
    });
  }

  point(ev: SchedEvent): Promise<void> {
    this.step++;
    this.clock.advance(this.nsPerStep);
    if (this.trace.enabled) this.trace.emit(ev.kind, ev.label, ev.obj);
    const run = this.active;
    if (run === undefined) {
      noteForeign(this, ev);
      return RESOLVED;
    }
    if (this.step - run.startStep > this.maxSteps) return this.finish(true);
    if (this.policy.observe !== undefined && !this.observe(ev)) return never();
    const choices = this.choiceCache ?? this.choices();
    if (choices.length === 1) return RESOLVED;
    const cur = this.current;
    const next = this.choose(cur, ev);
    if (next === undefined) return never();
    if (next === cur) return RESOLVED;
    run.preemptions++;
    cur.state = 'runnable';
    cur.pending = ev;
    const gate = cur.park();
    this.switchTo(next);
    return gate;
  }

  async sleep(wq: WaitHead, timeoutJiffies?: number): Promise<WakeReason> {
    mightSleep(this, 'schedule', wq.name);
    return this.block(wq, timeoutJiffies, false);
  }

  async spin(head: WaitHead): Promise<void> {
    await this.block(head, undefined, true);
  }

  wake(task: Task): boolean {
    if (!(task instanceof TaskImpl) || task.owner !== this) {
      const what =
        typeof task === 'object' && task !== null ? `'${String(task.name)}'` : String(task);
      throw new InvalidArgumentError(
        `wake: ${what} is not a task of this scheduler; expected a task returned by its spawn()`,
      );
    }
    if (task.state !== 'blocked' || task.abandoned) return false;
    if (accessReporting) noteWrite(task);
    this.makeRunnable(task, 'woken');
    if (this.trace.enabled) this.trace.emit('sched.wake', task.name);
    return true;
  }

  /** Body of every spawned task: wait to be chosen, run, record errors, exit. */
  private async runTask(t: TaskImpl, gate: Promise<void>, fn: () => Promise<void>): Promise<void> {
    await gate;
    if (this.trace.enabled) this.trace.emit('task.start', t.name);
    try {
      await fn();
    } catch (error) {
      this.active?.errors.push({ taskId: t.id, taskName: t.name, error });
      if (this.trace.enabled) this.trace.emit('task.error', String(error));
    }
    this.exitTask(t);
  }

  /** The current task finished: take it off the CPU for good. */
  private exitTask(t: TaskImpl): void {
    if (this.trace.enabled) this.trace.emit('task.exit', t.name);
    t.state = 'done';
    this.tasks.splice(this.tasks.indexOf(t), 1);
    this.choiceCache = undefined;
    this.step++;
    if (this.policy.observe !== undefined && !this.observe(EXIT_EVENT)) return;
    const next = this.choose(t, EXIT_EVENT);
    if (next !== undefined) this.switchTo(next);
  }

  /** Tell the policy about this step; false when it threw (the run is then aborted). */
  private observe(ev: SchedEvent): boolean {
    try {
      this.policy.observe?.(this.step, ev);
      return true;
    } catch (error) {
      this.abort(error);
      return false;
    }
  }

  /** A step of another scheduler was taken while this one runs. */
  noteForeignStep(ev: SchedEvent): void {
    const run = this.active;
    if (run === undefined) return;
    run.foreignSteps++;
    run.foreignFirst ??= `${describeEvent(ev)} by task '${this.current.name}'`;
  }

  /** Block the current task on `wq` and give the CPU away; resolves with the wake reason. */
  private async block(
    wq: WaitHead,
    timeout: number | undefined,
    spinning: boolean,
  ): Promise<WakeReason> {
    if (timeout !== undefined) {
      checkIntIn(
        `sleep(${wq.name})`,
        'timeout',
        timeout,
        0,
        Number.MAX_SAFE_INTEGER,
        'jiffies >= 0 (a safe integer)',
      );
    }
    const forever = timeout === undefined || timeout >= MAX_SCHEDULE_TIMEOUT;
    const t = this.current;
    if (this.active === undefined) {
      noteForeign(this, { kind: 'sched.block', label: wq.name, obj: wq.obj });
      return this.bootSleep(wq, forever ? undefined : timeout);
    }
    t.state = 'blocked';
    t.waitingOn = wq;
    t.spinning = spinning;
    if (!forever) {
      // The pending timers decide whether "fire a timer" is a choice, and which one fires.
      if (accessReporting) noteWrite(this.timers);
      t.timer = this.timers.add(t, this.clock.jiffies + timeout);
    }
    this.choiceCache = undefined;
    if (this.trace.enabled) this.trace.emit('sched.block', wq.name, wq.obj);
    const gate = t.park();
    this.step++;
    const ev: SchedEvent = { kind: 'sched.block', label: wq.name, obj: wq.obj };
    if (this.policy.observe !== undefined && !this.observe(ev))
      return gate.then(() => t.wakeReason);
    const next = this.choose(t, ev);
    if (next !== undefined) this.switchTo(next);
    await gate;
    // The wake-up orders this task's next step after the step that woke it.
    if (accessReporting) noteWrite(t);
    return t.wakeReason;
  }

  /** Outside run() nothing else can execute: a timed sleep times out, an untimed one deadlocks. */
  private bootSleep(wq: WaitHead, timeout: number | undefined): WakeReason {
    if (timeout === undefined) {
      throw new DeadlockError(
        `deadlock: the boot task (code outside Scheduler.run()) would sleep forever on ` +
          `${describeHead(wq)}${this.detail(wq, this.boot)}: no other task can run to wake it; ` +
          'expected the condition to hold already, or run the code in a task via spawn()+run()',
      );
    }
    this.clock.advanceTo((this.clock.jiffies + timeout) * TICK_NSEC);
    if (this.trace.enabled) this.trace.emit('sched.timer', this.boot.name);
    return 'timeout';
  }

  /** Make blocked `t` runnable with `reason`, cancelling its timer. */
  private makeRunnable(t: TaskImpl, reason: WakeReason): void {
    if (t.timer !== undefined) {
      if (accessReporting) noteWrite(this.timers);
      this.timers.remove(t.timer);
    }
    t.timer = undefined;
    t.state = 'runnable';
    t.waitingOn = undefined;
    t.spinning = false;
    t.wakeReason = reason;
    t.pending = reason === 'woken' ? WOKEN_EVENT : TIMEOUT_EVENT;
    this.choiceCache = undefined;
  }

  /** Runnable tasks in id order, then the timer choice if a timer is pending (cached). */
  private choices(): readonly Choice[] {
    const out: Choice[] = [];
    for (const t of this.tasks)
      if (t.state === 'runnable' || t.state === 'running') out.push(t.choice);
    if (this.timers.size > 0) out.push(TIMER_CHOICE);
    this.choiceCache = out;
    return out;
  }

  /**
   * Decide who runs next, firing timers the policy chooses on the way. Returns undefined when
   * the run has ended (nothing left, deadlock, or a policy error).
   */
  private choose(cur: TaskImpl | undefined, ev: SchedEvent | undefined): TaskImpl | undefined {
    for (;;) {
      const choices = this.choiceCache ?? this.choices();
      if (choices.length === 0) {
        this.finish(false);
        return undefined;
      }
      const choice = choices.length === 1 ? choices[0]! : this.ask(cur, ev, choices);
      if (choice === undefined) return undefined;
      if (choice.type === 'task') return choice.task as TaskImpl;
      this.fireTimer();
    }
  }

  /** Ask the policy; a throwing policy or an invalid answer aborts the run. */
  private ask(
    cur: TaskImpl | undefined,
    ev: SchedEvent | undefined,
    choices: readonly Choice[],
  ): Choice | undefined {
    const ctx = this.ctx;
    ctx.step = this.step;
    ctx.current = cur;
    ctx.choices = choices;
    ctx.event = ev;
    try {
      const picked = this.policy.pick(ctx);
      const found = canonicalChoice(choices, picked);
      if (found !== undefined) return found;
      throw new KernelBugError(
        `schedule policy '${this.policy.name ?? '?'}' returned a choice that is not in ctx.choices; expected one of them`,
      );
    } catch (error) {
      this.abort(error);
      return undefined;
    }
  }

  /** Fire the earliest timer: jump the clock to its expiry and wake its sleeper with 'timeout'. */
  private fireTimer(): void {
    const timer = this.timers.earliest()!;
    // A firing touches the timers, the clock and the sleeper: it commutes with everything else.
    if (accessReporting) noteWrite(timer.task);
    this.clock.advanceTo(timer.expires * TICK_NSEC);
    this.makeRunnable(timer.task, 'timeout');
    if (this.trace.enabled) this.trace.emit('sched.timer', timer.task.name);
    this.step++;
  }

  /** Hand the CPU to `next` (the caller then awaits its own gate, or is done). */
  private switchTo(next: TaskImpl): void {
    const prev = this.current;
    if (prev !== this.boot && prev !== next) this.active!.switches++;
    if (this.trace.enabled) this.trace.emit('sched.switch', next.name);
    this.current = next;
    next.state = 'running';
    next.pending = undefined;
    next.unpark();
  }

  /** End the run: done, deadlock, or step limit. Remaining tasks are abandoned. */
  private finish(stepLimit: boolean): Promise<never> {
    const run = this.active!;
    const deadlock = stepLimit ? undefined : this.deadlockInfo();
    if (deadlock !== undefined && this.trace.enabled)
      this.trace.emit('sched.deadlock', deadlock.message);
    const base = {
      steps: this.step - run.startStep,
      switches: run.switches,
      preemptions: run.preemptions,
      errors: run.errors,
      stepLimitReached: stepLimit,
      foreignSteps: run.foreignSteps,
      ...(run.foreignFirst === undefined ? {} : { foreignFirst: run.foreignFirst }),
    };
    this.reset();
    run.resolve(deadlock === undefined ? base : { ...base, deadlock });
    return never();
  }

  /** End the run with an error (a broken policy). */
  private abort(error: unknown): void {
    const run = this.active!;
    this.reset();
    run.reject(error);
  }

  /** Abandon leftover tasks and go back to the boot task. */
  private reset(): void {
    for (const t of this.tasks) t.abandoned = true;
    this.tasks = [];
    this.timers.clear();
    this.choiceCache = undefined;
    this.active = undefined;
    this.current = this.boot;
    if (runningScheduler === this) runningScheduler = undefined;
    if (this.accessHook !== undefined && accessSink.hook === this.accessHook) {
      accessSink.hook = undefined;
      accessSink.global = undefined;
    }
  }

  /** Route access reports to the policy, if it wants them, for the length of the run. */
  private installAccessHook(): void {
    const policy = this.policy;
    if (policy.access === undefined) return;
    const hook: AccessHook = (obj, write, index) => policy.access!(this.current, obj, write, index);
    this.accessHook = hook;
    accessSink.hook = hook;
    accessSink.global = () => policy.access!(this.current, undefined, true);
  }

  /** Blocked tasks at the end of a run, or undefined if there are none. */
  private deadlockInfo(): DeadlockInfo | undefined {
    const blocked: BlockedTask[] = [];
    for (const t of this.tasks) {
      if (t.state !== 'blocked' || t.waitingOn === undefined) continue;
      const detail = t.waitingOn.describeWaiter?.(t) ?? '';
      blocked.push({
        id: t.id,
        name: t.name,
        waitsOn: describeHead(t.waitingOn),
        spinning: t.spinning,
        detail,
      });
    }
    if (blocked.length === 0) return undefined;
    const lines = blocked.map(
      (b) =>
        `  T${b.id} '${b.name}' ${b.spinning ? 'spins' : 'sleeps'} on ${b.waitsOn}${b.detail === '' ? '' : `: ${b.detail}`}`,
    );
    return {
      blocked,
      message: `deadlock: all tasks blocked and no timer pending\n${lines.join('\n')}`,
    };
  }

  /** ': <describeWaiter>' or ''. */
  private detail(wq: WaitHead, t: Task): string {
    const d = wq.describeWaiter?.(t);
    return d === undefined || d === '' ? '' : ` (${d})`;
  }
}

/** `sched` (not running) took a step: count it on the scheduler that is running, if another. */
function noteForeign(sched: SchedulerImpl, ev: SchedEvent): void {
  const running = runningScheduler;
  if (running !== undefined && running !== sched) running.noteForeignStep(ev);
}

/**
 * A scheduler of simulated CPUs (default: free-running, 1000 ns per point, tracing off).
 * Outside run() code executes as the boot task. A task that throws is recorded in
 * RunResult.errors and the other tasks keep running (locks it held stay held).
 * Mirrors: model-only; stands in for kernel/sched/core.c:__schedule() and the CPUs.
 */
export function createScheduler(opts: SchedulerOptions = {}): Scheduler {
  return new SchedulerImpl(opts);
}
