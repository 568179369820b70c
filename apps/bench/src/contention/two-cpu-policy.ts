/**
 * The scheduling policy of a contention run: two simulated CPUs, one faulting a range through a
 * driver and one issuing invalidations. The faulting CPU runs until an invalidation is due; the
 * invalidating CPU then runs to completion of its invalidation (it is another CPU: its steps take
 * none of the faulting CPU's time), and the scheduler's clock is split between the two so that
 * arrivals live in the faulting CPU's own scheduler time.
 */
import type { Choice, Clock, PickContext, SchedulePolicy, Task } from '@hmmsim/kernel';

/** When the invalidating CPU has work: a Poisson process, or one probe at a chosen point. */
export interface ArrivalSource {
  /** Called at each decision taken before a step of the faulting CPU (its `n`-th). */
  onFaultingStep(faultingNs: number, n: number): void;
  /** True while an invalidation is due and not yet consumed. */
  due(faultingNs: number): boolean;
  /** The due invalidation was issued. */
  consume(): void;
}

/** True when the current task is at a scheduling point (not blocking, not exiting). */
function isStep(ctx: PickContext): boolean {
  const kind = ctx.event?.kind;
  return kind !== undefined && kind !== 'sched.block' && kind !== 'task.exit';
}

/** The policy plus the time accounting the invalidating CPU reads. */
export class TwoCpuPolicy implements SchedulePolicy {
  readonly name = 'two-cpu';
  faulting: Task | undefined;
  invalidating: Task | undefined;
  /** True while the invalidating CPU is inside an invalidation (it then runs to completion). */
  busy = false;
  /** Scheduler time spent by each CPU, in virtual ns. */
  faultingNs = 0;
  invalidatingNs = 0;
  /** Decisions taken before a step of the faulting CPU. */
  faultingSteps = 0;
  private clock: Clock | undefined;
  private lastClock = 0;

  constructor(readonly arrivals: ArrivalSource) {}

  /** Read time from `clock` (the clock of the scheduler this policy was given to). */
  attach(clock: Clock): void {
    this.clock = clock;
    this.lastClock = clock.now;
  }

  /** True when an invalidation should be issued now. */
  due(): boolean {
    return this.arrivals.due(this.faultingNs);
  }

  /** Charge the time since the last decision to the CPU that ran; pick who runs next. */
  pick(ctx: PickContext): Choice {
    this.charge(ctx.current);
    const f = this.choiceOf(ctx, this.faulting);
    const i = this.choiceOf(ctx, this.invalidating);
    if (f !== undefined && ctx.current === this.faulting && isStep(ctx)) {
      this.arrivals.onFaultingStep(this.faultingNs, ++this.faultingSteps);
    }
    if (i === undefined) return f ?? this.firstTask(ctx);
    if (f === undefined) return i;
    return this.busy || this.due() ? i : f;
  }

  /** Time advances only at scheduling points of the task that ran since the last decision. */
  private charge(current: Task | undefined): void {
    if (this.clock === undefined)
      throw new Error('TwoCpuPolicy: attach() the scheduler clock first');
    const now = this.clock.now;
    const delta = now - this.lastClock;
    this.lastClock = now;
    if (current === this.invalidating) this.invalidatingNs += delta;
    else this.faultingNs += delta;
  }

  private choiceOf(ctx: PickContext, task: Task | undefined): Choice | undefined {
    return ctx.choices.find((c) => c.type === 'task' && c.task === task);
  }

  /** Any runnable task (a timer only when nothing can run). */
  private firstTask(ctx: PickContext): Choice {
    return ctx.choices.find((c) => c.type === 'task') ?? ctx.choices[0]!;
  }
}
