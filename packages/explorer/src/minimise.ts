import { dfsSearch } from './dfs.ts';
import { toViolation, type Violation } from './outcome.ts';
import type { RunRecord } from './run-schedule.ts';
import type { Scenario } from './scenario.ts';

/** Default schedule budget of one minimisation. */
export const DEFAULT_MINIMISE_BUDGET = 20_000;

/** Result of minimiseViolation(). */
export interface MinimiseResult {
  /** The best violation found (the input if nothing better exists within the budget). */
  readonly violation: Violation;
  readonly schedules: number;
  readonly steps: number;
  /** False when the budget ran out before minimality was established. */
  readonly complete: boolean;
}

/** Budget and running totals of a minimisation. */
interface Totals {
  schedules: number;
  steps: number;
  complete: boolean;
}

/** A same-kind violation with fewer preemptions, first found, by DFS with bounds 0, 1, ... */
async function fewerPreemptions<S>(
  scenario: Scenario<S>,
  found: Violation,
  budget: number,
  t: Totals,
): Promise<Violation> {
  for (let bound = 0; bound < found.preemptions; bound++) {
    let hit: Violation | undefined;
    const visit = (rec: RunRecord, run: number): boolean => {
      if (rec.failure?.kind !== found.kind) return false;
      hit = toViolation(rec, t.schedules + run, undefined);
      return true;
    };
    const r = await dfsSearch(scenario, { bound, maxSchedules: budget - t.schedules, visit });
    t.schedules += r.schedules;
    t.steps += r.steps;
    if (r.nondeterminism !== undefined) return r.nondeterminism;
    if (hit !== undefined) return hit;
    if (!r.exhausted) {
      t.complete = false;
      break;
    }
  }
  return found;
}

/** The same-kind violation with the fewest steps among those with `best.preemptions` at most. */
async function fewerSteps<S>(
  scenario: Scenario<S>,
  start: Violation,
  budget: number,
  t: Totals,
): Promise<Violation> {
  let best = start;
  const visit = (rec: RunRecord, run: number): boolean => {
    const better =
      rec.preemptions < best.preemptions ||
      (rec.preemptions === best.preemptions && rec.steps < best.steps);
    if (rec.failure?.kind === start.kind && better) {
      best = toViolation(rec, t.schedules + run, undefined) ?? best;
    }
    return false;
  };
  const r = await dfsSearch(scenario, {
    bound: start.preemptions,
    maxSchedules: budget - t.schedules,
    visit,
    pruneAtSteps: () => best.steps,
  });
  t.schedules += r.schedules;
  t.steps += r.steps;
  if (r.nondeterminism !== undefined) return r.nondeterminism;
  if (!r.exhausted) t.complete = false;
  return best;
}

/**
 * A violation of the same kind as `found` with the fewest preemptions, then the fewest
 * scheduler steps: DFS with bounds 0, 1, ... up to its preemptions, then a step-pruned DFS
 * at the minimal bound; at most `maxSchedules` schedules.
 * Mirrors: model-only (counterexample minimisation).
 */
export async function minimiseViolation<S>(
  scenario: Scenario<S>,
  found: Violation,
  maxSchedules = DEFAULT_MINIMISE_BUDGET,
): Promise<MinimiseResult> {
  const t: Totals = { schedules: 0, steps: 0, complete: true };
  if (found.kind === 'nondeterminism') return { violation: found, ...t };
  let best = await fewerPreemptions(scenario, found, maxSchedules, t);
  if (best.kind !== 'nondeterminism') best = await fewerSteps(scenario, best, maxSchedules, t);
  return { violation: best, ...t };
}
