import {
  type Choice,
  isPreemption,
  type PickContext,
  type SchedEvent,
  type SchedulePolicy,
  type Task,
} from '@hmmsim/kernel';
import type { AccessLog } from './access-log.ts';
import type { Chooser } from './chooser.ts';
import { defaultIndex } from './chooser.ts';
import { InvariantStop, PruneStop } from './errors.ts';
import type { Scenario } from './scenario.ts';
import { choiceCode } from './schedule-string.ts';

/** The message of a thrown invariant/final-check failure.
 * Mirrors: model-only.
 */
export function failureText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The schedule policy the explorer plugs into the scheduler: after every step (scheduling point,
 * block, task exit) and at the start of the run it checks the scenario invariant; at every
 * decision it asks the strategy's chooser and records the choice, the default choice and whether
 * it preempted. One harness per run.
 */
export class Harness<S> implements SchedulePolicy {
  readonly name = 'explorer';
  /** Choice code at each decision. */
  readonly codes: number[] = [];
  /** Default choice code at each decision (for trimming the schedule string). */
  readonly defaults: number[] = [];
  /** Scheduler steps at which a preemption was chosen. */
  readonly preemptSteps: number[] = [];
  preemptions = 0;
  /** Scheduler step when the run started (set by the runner). */
  baseStep = 0;
  /** The scenario state, set once setup has built it. */
  state: S | undefined = undefined;
  /**
   * Decisions taken inside a task (at a scheduling point or block, not at the run's start or a
   * task's exit) with two or more tasks to choose from: 0 means nothing could interleave.
   */
  interleavings = 0;

  /** Present when the search wants the tasks' shared accesses (DPOR): they go to `log`. */
  readonly access?: (task: Task, obj: object | undefined, write: boolean, index?: number) => void;

  constructor(
    private readonly scenario: Scenario<S>,
    private readonly chooser: Chooser,
    /** Cut the run (PruneStop) at a decision this many steps in; Infinity = never. */
    private readonly pruneAtSteps: number,
    /** Where the run's accesses and decisions go, for a partial-order reduction. */
    private readonly log?: AccessLog,
  ) {
    if (log !== undefined) {
      this.access = (task, obj, write, index) => log.access(task, obj, write, index);
    }
  }

  /** The invariant after every step of a task (InvariantStop ends the run). */
  observe(_step: number, _event: SchedEvent): void {
    if (this.scenario.invariant !== undefined) this.checkInvariant();
  }

  /** Invariant at the start of the run, then the chooser's pick, recorded. */
  pick(ctx: PickContext): Choice {
    if (ctx.step - this.baseStep >= this.pruneAtSteps) throw new PruneStop('pruned');
    const ev = ctx.event;
    if (ev === undefined) {
      if (this.scenario.invariant !== undefined) this.checkInvariant();
    } else if (ev.kind !== 'task.exit' && taskChoices(ctx) >= 2) {
      this.interleavings++;
    }
    const choice = this.chooser.choose(ctx, this.codes.length, this.preemptions);
    this.log?.decided(this.codes.length, choiceCode(choice));
    this.codes.push(choiceCode(choice));
    this.defaults.push(choiceCode(ctx.choices[defaultIndex(ctx)]!));
    if (isPreemption(ctx, choice)) {
      this.preemptions++;
      this.preemptSteps.push(ctx.step);
    }
    return choice;
  }

  /** Run the invariant on the current state; a failure ends the run with InvariantStop. */
  checkInvariant(): void {
    const log = this.log;
    if (log !== undefined) log.muted = true;
    try {
      this.scenario.invariant?.(this.state as S);
    } catch (error) {
      throw new InvariantStop(failureText(error));
    } finally {
      if (log !== undefined) log.muted = false;
    }
  }
}

/** Number of tasks (not timers) among the choices. */
function taskChoices(ctx: PickContext): number {
  let n = 0;
  for (const c of ctx.choices) if (c.type === 'task') n++;
  return n;
}
