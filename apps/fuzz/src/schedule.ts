/**
 * The scheduling policy of the fuzzed machine, switched per step: outside steps (setup,
 * teardown) the explorer's default (free-running) choice; during a step, the explorer's
 * strategies over that step's CPUs — seeded random (a uniformly random runnable task at every
 * decision, as `explore --strategy random`) or PCT (random priorities with d - 1 change points,
 * as `explore --strategy pct`), both bounded to be fair (STARVATION_LIMIT) and firing timers
 * only when no task can run (see tasksFirst). Counts decisions
 * and preemptions, and can record the steps at which it preempted (for a per-CPU trace).
 */
import { type Chooser, defaultChooser, PctChooser } from '@hmmsim/explorer';
import {
  type Choice,
  createRandom,
  type PickContext,
  randomPolicy,
  type SchedulePolicy,
} from '@hmmsim/kernel';
import { PCT_DEPTH } from './config.ts';

/** The explorer strategies a step can be scheduled by. */
export const SCHEDULE_STRATEGIES = ['random', 'pct'] as const;
/** One of them. */
export type ScheduleStrategy = (typeof SCHEDULE_STRATEGIES)[number];

/** How one step is scheduled: the strategy and its seed. */
export interface ScheduleSpec {
  readonly strategy: ScheduleStrategy;
  readonly seed: number;
}

/** What a step's schedule did. */
export interface ScheduleStats {
  readonly decisions: number;
  readonly preemptions: number;
  /** Scheduler steps at which a preemption was chosen (recorded only when asked). */
  readonly preemptSteps: readonly number[];
}

/**
 * Decisions a runnable task may be passed over in a row before it is run anyway. Every task is a
 * CPU of its own, so none can starve: without this bound PCT's strict priorities would spin a
 * busy-waiting task (a CPU refaulting a page another CPU holds locked mid-migration) forever and
 * report a livelock the hardware cannot have.
 */
export const STARVATION_LIMIT = 64;

/** A chooser running the kernel's seeded random policy (what the explorer's random search uses). */
function randomChooser(seed: number): Chooser {
  const policy = randomPolicy(createRandom(seed));
  return { choose: (ctx) => policy.pick(ctx) };
}

/**
 * The decision without its timer choice while a task can run: the timers of the fuzzed code are
 * timeouts (a 1000 ms hmm_range_fault() deadline, a collision loop's), which no runnable CPU
 * would let expire before its next instruction; a timer fires only when every task waits.
 */
function tasksFirst(ctx: PickContext): PickContext {
  const last = ctx.choices[ctx.choices.length - 1];
  if (last?.type !== 'timer' || ctx.choices.length === 1) return ctx;
  return { ...ctx, choices: ctx.choices.slice(0, -1) };
}

/** True if `ctx.current` could have gone on running. */
function currentRunnable(ctx: PickContext): boolean {
  const cur = ctx.current;
  return cur !== undefined && ctx.choices.some((c) => c.type === 'task' && c.task === cur);
}

/** The machine's policy: the default between steps, a step's strategy during it. */
export class SwitchablePolicy implements SchedulePolicy {
  readonly name = 'fuzz';
  private chooser: Chooser = defaultChooser;
  private decisions = 0;
  private preemptions = 0;
  private recording = false;
  private readonly preemptSteps: number[] = [];
  /** Decisions each runnable task (by id) has been passed over in a row. */
  private readonly passedOver = new Map<number, number>();

  /**
   * Schedule the next run by `spec`. PCT places its change points among the first
   * `expectedDecisions` decisions (an estimate: a step cannot be probed twice).
   */
  begin(spec: ScheduleSpec, expectedDecisions: number, record = false): void {
    this.chooser =
      spec.strategy === 'random'
        ? randomChooser(spec.seed)
        : new PctChooser(createRandom(spec.seed), PCT_DEPTH, Math.max(1, expectedDecisions));
    this.decisions = 0;
    this.preemptions = 0;
    this.recording = record;
    this.preemptSteps.length = 0;
    this.passedOver.clear();
  }

  /** Back to the default choice; what the step's schedule did. */
  end(): ScheduleStats {
    this.chooser = defaultChooser;
    return {
      decisions: this.decisions,
      preemptions: this.preemptions,
      preemptSteps: [...this.preemptSteps],
    };
  }

  /** The task passed over longest, when that is past the limit. */
  private starving(ctx: PickContext): Choice | undefined {
    let worst: Choice | undefined;
    let most = STARVATION_LIMIT;
    for (const c of ctx.choices) {
      if (c.type !== 'task') continue;
      const n = this.passedOver.get(c.task.id) ?? 0;
      if (n >= most) {
        worst = c;
        most = n;
      }
    }
    return worst;
  }

  pick(ctx: PickContext): Choice {
    const tasksOnly = tasksFirst(ctx);
    const chosen = this.chooser.choose(tasksOnly, this.decisions, this.preemptions);
    const choice = this.starving(ctx) ?? chosen;
    for (const c of ctx.choices) {
      if (c.type !== 'task') continue;
      this.passedOver.set(c.task.id, c === choice ? 0 : (this.passedOver.get(c.task.id) ?? 0) + 1);
    }
    this.decisions++;
    if (choice.type === 'task' && choice.task !== ctx.current && currentRunnable(ctx)) {
      this.preemptions++;
      if (this.recording) this.preemptSteps.push(ctx.step);
    }
    return choice;
  }
}
