import type { Choice, PickContext } from '@hmmsim/kernel';
import type { Chooser } from './chooser.ts';
import { DfsChooser, dfsSearch, type SearchResult } from './dfs.ts';
import { PruneStop } from './errors.ts';
import { toViolation, type Violation } from './outcome.ts';
import { type RunRecord, runSchedule } from './run-schedule.ts';
import type { Scenario } from './scenario.ts';

/**
 * A split search divides the schedules of a DFS without reduction into units by their first
 * decisions — one unit per distinct prefix of `depth` choices (shorter when a schedule ends
 * sooner) — so that units can be searched one by one, or side by side on worker threads, with
 * the same result: the DFS's schedules are exactly the units' together, each unit is searched on
 * its own, depth first from its prefix, and the results are combined in unit order. (A DPOR
 * search divides itself differently: dividedDporSearch.)
 */

/** Units wanted before a split stops deepening (16 keeps 2-8 workers busy). */
export const SPLIT_MIN_UNITS = 16;
/** Deepest prefix a split uses. */
const SPLIT_MAX_DEPTH = 12;

/** The DFS chooser cut at decision `depth` (a run that gets there is pruned). */
class PrefixChooser implements Chooser {
  constructor(
    private readonly inner: DfsChooser,
    private readonly depth: number,
  ) {}

  choose(ctx: PickContext, d: number, preemptions: number): Choice {
    if (d >= this.depth) throw new PruneStop('split depth');
    return this.inner.choose(ctx, d, preemptions);
  }
}

/** Every prefix of `depth` decisions within `bound` preemptions, in DFS order. */
async function prefixesAt<S>(scenario: Scenario<S>, depth: number, bound: number) {
  const dfs = new DfsChooser(bound, scenario.name);
  const chooser = new PrefixChooser(dfs, depth);
  const out: number[][] = [];
  for (;;) {
    dfs.startRun();
    const rec = await runSchedule(scenario, chooser, {});
    dfs.finishRun(Math.min(rec.codes.length, depth), rec.cut);
    out.push(rec.codes.slice(0, depth));
    if (!dfs.advance()) return out;
  }
}

/**
 * The units of a split search: the prefixes of the shallowest depth that gives at least
 * `minUnits` of them (or every complete schedule, when there are fewer), in DFS order.
 * Mirrors: model-only (the work division of a parallel stateless model checker).
 */
export async function splitSchedules<S>(
  scenario: Scenario<S>,
  bound: number,
  minUnits = SPLIT_MIN_UNITS,
): Promise<number[][]> {
  let units: number[][] = [[]];
  for (let depth = 1; depth <= SPLIT_MAX_DEPTH; depth++) {
    const next = await prefixesAt(scenario, depth, bound);
    if (next.length === units.length && next.every((p, i) => p.length === units[i]!.length)) {
      return next; // every schedule ended before this depth
    }
    units = next;
    if (units.length >= minUnits) return units;
  }
  return units;
}

/** What searching one unit found. */
export interface UnitResult {
  readonly schedules: number;
  readonly steps: number;
  readonly exhausted: boolean;
  /** The first failing schedule of the unit, its `run` counted within the unit. */
  readonly violation: Violation | undefined;
  /** Runs whose tasks could interleave (explore() refuses a scenario where none could). */
  readonly interleavings: number;
}

/**
 * Run `search` with a visit that stops at the first failing run, and summarise it: counts, the
 * first violation (or the nondeterminism the search met), and the runs that could interleave.
 * Mirrors: model-only.
 */
export async function untilFirstViolation(
  search: (visit: (rec: RunRecord, run: number) => boolean) => Promise<SearchResult>,
): Promise<UnitResult> {
  let violation: Violation | undefined;
  let interleavings = 0;
  const r = await search((rec, run) => {
    interleavings += rec.interleavings;
    violation = toViolation(rec, run, undefined);
    return violation !== undefined;
  });
  return {
    schedules: r.schedules,
    steps: r.steps,
    exhausted: r.exhausted,
    violation: violation ?? r.nondeterminism,
    interleavings,
  };
}

/**
 * Search the schedules of one unit (those that start with `prefix`) within `bound` preemptions,
 * depth first, until the first violation.
 * Mirrors: model-only.
 */
export function searchUnit<S>(
  scenario: Scenario<S>,
  prefix: readonly number[],
  opts: { readonly bound: number },
): Promise<UnitResult> {
  return untilFirstViolation((visit) =>
    dfsSearch(scenario, {
      maxSchedules: Number.POSITIVE_INFINITY,
      visit,
      prefix,
      bound: opts.bound,
    }),
  );
}

/** Units combined: counts to the first violation in unit order, and that violation. */
export interface CombinedUnits {
  readonly schedules: number;
  readonly steps: number;
  readonly exhausted: boolean;
  readonly violation: Violation | undefined;
  readonly interleavings: number;
}

/**
 * Combine unit results in unit order: the units before the first one with a violation count
 * whole, that one up to its violation (renumbered across units), later ones not at all — so the
 * result does not depend on which units happened to be searched.
 * Mirrors: model-only.
 */
export function combineUnits(results: readonly (UnitResult | undefined)[]): CombinedUnits {
  let schedules = 0;
  let steps = 0;
  let interleavings = 0;
  let exhausted = true;
  for (const r of results) {
    if (r === undefined)
      return { schedules, steps, exhausted: false, violation: undefined, interleavings };
    if (r.violation !== undefined) {
      const violation = { ...r.violation, run: schedules + r.violation.run };
      return {
        schedules: schedules + r.schedules,
        steps: steps + r.steps,
        exhausted: false,
        violation,
        interleavings: interleavings + r.interleavings,
      };
    }
    schedules += r.schedules;
    steps += r.steps;
    interleavings += r.interleavings;
    exhausted &&= r.exhausted;
  }
  return { schedules, steps, exhausted, violation: undefined, interleavings };
}
