import type { TraceEvent } from '@hmmsim/kernel';

/**
 * What went wrong in one schedule: the invariant failed at a decision, the final check failed,
 * a task threw, every task blocked with no timer pending, the step limit was hit, or the
 * scenario itself is not deterministic.
 */
export type ViolationKind =
  | 'invariant'
  | 'final-check'
  | 'task-error'
  | 'deadlock'
  | 'step-limit'
  | 'nondeterminism';

/** A violation's kind and description. */
export interface Failure {
  readonly kind: ViolationKind;
  readonly message: string;
}

/** The events of one traced run, with the steps at which a preemption was chosen. */
export interface TraceRecord {
  readonly events: readonly TraceEvent[];
  readonly preemptSteps: readonly number[];
  /** The failure the run ended with, for the last line of tables and diagrams. */
  readonly failure: Failure | undefined;
}

/** The result of running one schedule. */
export interface ScheduleOutcome {
  readonly failure: Failure | undefined;
  /** Every decision's choice code (see schedule-string.ts). */
  readonly codes: readonly number[];
  /** The replayable text form, trailing default choices left out. */
  readonly schedule: string;
  /** Switches away from a task that could have continued. */
  readonly preemptions: number;
  /** Scheduler steps the run took (from run start to its end or the failing decision). */
  readonly steps: number;
  /** Present when the run was traced. */
  readonly trace: TraceRecord | undefined;
}

/** A failing schedule, replayable with replaySchedule() or `hmmsim explore --replay`. */
export interface Violation extends Failure {
  readonly schedule: string;
  readonly preemptions: number;
  readonly steps: number;
  /** Decisions in the run (length of the full schedule). */
  readonly decisions: number;
  /** 0-based index of the schedule (among those explored) that found it. */
  readonly run: number;
  /** The run's own seed (random and PCT: `--seed <it> --runs 1` finds it again). */
  readonly seed: number | undefined;
}

/** The Violation for a failing outcome found as schedule number `run`.
 * Mirrors: model-only.
 */
export function toViolation(
  o: ScheduleOutcome,
  run: number,
  seed: number | undefined,
): Violation | undefined {
  if (o.failure === undefined) return undefined;
  return {
    kind: o.failure.kind,
    message: o.failure.message,
    schedule: o.schedule,
    preemptions: o.preemptions,
    steps: o.steps,
    decisions: o.codes.length,
    run,
    seed,
  };
}
