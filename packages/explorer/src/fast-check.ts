import {
  type Arbitrary,
  array,
  asyncProperty,
  type IAsyncPropertyWithHooks,
  nat,
} from 'fast-check';
import { HintChooser } from './hint-chooser.ts';
import { type ScheduleOutcome, toViolation, type Violation } from './outcome.ts';
import { runSchedule } from './run-schedule.ts';
import type { Scenario } from './scenario.ts';

/** Options of scheduleArbitrary() and fcExplore(). */
export interface ScheduleArbitraryOptions {
  /** Most decisions steered by a drawn hint (later ones take defaults); default 64. */
  readonly maxDecisions?: number | undefined;
  /** Largest hint value (alternatives per decision - 1); default 3. */
  readonly maxHint?: number | undefined;
}

/**
 * A fast-check arbitrary of schedule hints (see HintChooser): shrinking shortens the list and
 * lowers its values, i.e. moves towards the default, non-preemptive schedule.
 * Mirrors: model-only.
 */
export function scheduleArbitrary(opts: ScheduleArbitraryOptions = {}): Arbitrary<number[]> {
  return array(nat({ max: opts.maxHint ?? 3 }), { maxLength: opts.maxDecisions ?? 64 });
}

/** Thrown by fcExplore()'s predicate: the violation, with its replayable schedule in the message. */
export class ScheduleViolationError extends Error {
  override readonly name = 'ScheduleViolationError';

  constructor(
    scenario: string,
    readonly violation: Violation,
  ) {
    super(
      `${violation.kind} in scenario '${scenario}' (replay with schedule ` +
        `'${violation.schedule}', ${violation.preemptions} preemption(s)): ${violation.message}`,
    );
  }
}

/**
 * Run `scenario` once under the schedule the hints describe.
 * Mirrors: model-only.
 */
export function runHints<S>(
  scenario: Scenario<S>,
  hints: readonly number[],
): Promise<ScheduleOutcome> {
  return runSchedule(scenario, new HintChooser(hints));
}

/**
 * A fast-check property "no schedule violates `scenario`" over scheduleArbitrary(), for
 * `fc.assert`/`fc.check`: a counterexample is shrunk and reported with fast-check's seed, and
 * the error names the replayable schedule string.
 * Mirrors: model-only.
 */
export function fcExplore<S>(
  scenario: Scenario<S>,
  opts: ScheduleArbitraryOptions = {},
): IAsyncPropertyWithHooks<[number[]]> {
  return asyncProperty(scheduleArbitrary(opts), async (hints) => {
    const v = toViolation(await runHints(scenario, hints), 0, undefined);
    if (v !== undefined) throw new ScheduleViolationError(scenario.name, v);
  });
}
