import { checkIntIn, InvalidArgumentError } from '@hmmsim/kernel';
import { dfsSearch, type SearchResult } from './dfs.ts';
import { type DporUnitRunner, prescreenedDividedDporSearch } from './divided-dpor.ts';
import { prescreenedDporSearch } from './dpor.ts';
import { NondeterminismError, ScenarioError } from './errors.ts';
import { describeLivelock } from './livelock.ts';
import { DEFAULT_MINIMISE_BUDGET, minimiseViolation } from './minimise.ts';
import { type ScheduleOutcome, type TraceRecord, toViolation, type Violation } from './outcome.ts';
import { pctSearch } from './pct.ts';
import { randomSearch } from './random-search.ts';
import type { RunRecord } from './run-schedule.ts';
import type { Scenario } from './scenario.ts';
import {
  combineUnits,
  SPLIT_MIN_UNITS,
  searchUnit,
  splitSchedules,
  type UnitResult,
} from './split-search.ts';
import { verifyReplay } from './verify-replay.ts';

/** How schedules are chosen. */
export type Strategy = 'dfs' | 'random' | 'pct';

/** Every strategy explore() accepts, in the order the CLI lists them. */
export const STRATEGIES: readonly Strategy[] = ['dfs', 'random', 'pct'];

/** Default preemption bound of the DFS strategy. */
export const DEFAULT_DFS_BOUND = 2;
/** Default depth of the PCT strategy (priority change points + 1). */
export const DEFAULT_PCT_DEPTH = 3;
/**
 * How the DFS strategy treats schedules that differ only in the order of independent steps:
 * 'dpor' runs one of each class (dynamic partial-order reduction; unbounded search only, on a
 * scenario whose shared state reports its accesses), 'none' runs them all, 'auto' (the
 * default) is 'dpor' when both hold and 'none' otherwise.
 */
export type Reduction = 'auto' | 'dpor' | 'none';

/** Every reduction explore() accepts. */
export const REDUCTIONS: readonly Reduction[] = ['auto', 'dpor', 'none'];

/** Default number of schedules the random and PCT strategies run. */
export const DEFAULT_RUNS = 1000;
/** Default base seed of the random and PCT strategies (run i uses seed + i). */
export const DEFAULT_SEED = 1;

/** Options of explore(). */
export interface ExploreOptions<S> {
  /** Default 'dfs'. */
  readonly strategy?: Strategy | undefined;
  /** dfs: preemption bound (default 2, Infinity = none); pct: depth d >= 1 (default 3). */
  readonly bound?: number | undefined;
  /** random/pct: schedules to run (default 1000); dfs: schedule budget (default none). */
  readonly runs?: number | undefined;
  /** random/pct: run i uses seed + i (default 1). */
  readonly seed?: number | undefined;
  /** dfs: partial-order reduction (default 'auto'; see Reduction). */
  readonly reduction?: Reduction | undefined;
  /** Minimise a violation (default true). */
  readonly minimise?: boolean | undefined;
  /** Schedule budget of the minimisation (default 20,000). */
  readonly minimiseBudget?: number | undefined;
  /** Clock for `elapsedMs` (milliseconds); without it no time is measured. */
  readonly now?: (() => number) | undefined;
  /** Called with the final state and outcome of every schedule the strategy runs. */
  readonly onSchedule?: ((state: S, outcome: ScheduleOutcome) => void) | undefined;
}

/** What explore() found. */
export interface ExploreResult {
  readonly scenario: string;
  readonly strategy: Strategy;
  /** dfs: the preemption bound; pct: the depth; random: undefined. */
  readonly bound: number | undefined;
  /** 'dpor' when the search ran one schedule per class of equivalent schedules, else 'none'. */
  readonly reduction: 'dpor' | 'none';
  /** random/pct: the base seed. */
  readonly seed: number | undefined;
  /** Schedules the strategy ran (minimisation not included). */
  readonly schedules: number;
  /** Scheduler steps over those schedules. */
  readonly steps: number;
  /** dfs: every schedule within the bound was run without finding a violation. */
  readonly exhausted: boolean;
  /** Wall time of the whole call, when `now` was given. */
  readonly elapsedMs: number | undefined;
  /** The first failing schedule found. */
  readonly violation: Violation | undefined;
  /** The minimised violation (fewest preemptions, then steps), replay-checked. */
  readonly minimal: Violation | undefined;
  readonly minimisation: { readonly schedules: number; readonly complete: boolean } | undefined;
  /** The trace of the minimal violation's replay. */
  readonly trace: TraceRecord | undefined;
}

/** Throw unless `n` is an integer >= min (or Infinity when allowed). */
function checkCount(what: string, n: number, min: number, infinite = false): void {
  if (infinite && n === Number.POSITIVE_INFINITY) return;
  if (!Number.isSafeInteger(n) || n < min) {
    throw new InvalidArgumentError(`explore: got ${what} ${n}; expected an integer >= ${min}`);
  }
}

/** Run the chosen strategy until the first violation; `seen` counts each run's interleavings. */
async function search<S>(
  scenario: Scenario<S>,
  strategy: Strategy,
  opts: ExploreOptions<S>,
  found: (v: Violation) => void,
  seen: (interleavings: number) => void,
): Promise<SearchResult> {
  const onSchedule = opts.onSchedule;
  const visit = (rec: RunRecord, run: number, seed?: number): boolean => {
    seen(rec.interleavings);
    const v = toViolation(rec, run, seed);
    if (v !== undefined) found(v);
    return v !== undefined;
  };
  const seed = opts.seed ?? DEFAULT_SEED;
  const runs = opts.runs ?? DEFAULT_RUNS;
  if (strategy === 'random') return randomSearch(scenario, { runs, seed, visit, onSchedule });
  if (strategy === 'pct') {
    const depth = opts.bound ?? DEFAULT_PCT_DEPTH;
    return pctSearch(scenario, { runs, seed, depth, visit, onSchedule });
  }
  const bound = opts.bound ?? DEFAULT_DFS_BOUND;
  const maxSchedules = opts.runs ?? Number.POSITIVE_INFINITY;
  if (reductionOf(scenario, strategy, opts) === 'dpor') {
    return prescreenedDporSearch(scenario, { maxSchedules, visit, onSchedule });
  }
  return dfsSearch(scenario, { bound, maxSchedules, visit, onSchedule });
}

/**
 * The reduction explore() applies: 'dpor' for an unbounded DFS of a scenario whose shared state
 * reports its accesses, unless 'none' was asked for.
 * Mirrors: model-only.
 */
export function reductionOf<S>(
  scenario: Scenario<S>,
  strategy: Strategy,
  opts: Pick<ExploreOptions<S>, 'bound' | 'reduction'>,
): 'dpor' | 'none' {
  const asked = opts.reduction ?? 'auto';
  if (asked === 'none' || strategy !== 'dfs') return 'none';
  const unbounded = opts.bound === Number.POSITIVE_INFINITY;
  const reported = scenario.accesses === 'reported';
  return unbounded && reported ? 'dpor' : 'none';
}

/** Validate explore() options for `strategy`. */
function checkOptions<S>(strategy: Strategy, opts: ExploreOptions<S>): void {
  if (!STRATEGIES.includes(strategy)) {
    throw new InvalidArgumentError(
      `explore: got strategy '${strategy}'; expected ${STRATEGIES.join(', ')}`,
    );
  }
  if (opts.bound !== undefined) {
    if (strategy === 'pct') checkCount('depth', opts.bound, 1);
    else checkCount('bound', opts.bound, 0, true);
  }
  if (opts.runs !== undefined) checkCount('runs', opts.runs, 1);
  if (opts.seed !== undefined && !Number.isSafeInteger(opts.seed + (opts.runs ?? DEFAULT_RUNS))) {
    throw new InvalidArgumentError(`explore: got seed ${opts.seed}; expected a safe integer`);
  }
  if (opts.minimiseBudget !== undefined) checkCount('minimiseBudget', opts.minimiseBudget, 0);
  const reduction = opts.reduction;
  if (reduction !== undefined && !REDUCTIONS.includes(reduction)) {
    throw new InvalidArgumentError(
      `explore: got reduction '${String(reduction)}'; expected ${REDUCTIONS.join(', ')}`,
    );
  }
}

/** 'dpor' asked for where it cannot apply: the ScenarioError / InvalidArgumentError saying why. */
function checkReduction<S>(scenario: Scenario<S>, strategy: Strategy, opts: ExploreOptions<S>) {
  if (opts.reduction !== 'dpor') return;
  if (strategy !== 'dfs' || opts.bound !== Number.POSITIVE_INFINITY) {
    throw new InvalidArgumentError(
      `explore: reduction 'dpor' needs the dfs strategy without a preemption bound (bound Infinity); got strategy '${strategy}', bound ${opts.bound ?? DEFAULT_DFS_BOUND}`,
    );
  }
  if (scenario.accesses !== 'reported') {
    throw new ScenarioError(
      `scenario '${scenario.name}' does not declare accesses: 'reported', so its shared state may not report what each step touches and a partial-order reduction could skip schedules that matter; expected a scenario whose shared state reports its accesses (noteRead/noteWrite), or reduction 'none'`,
    );
  }
}

/**
 * Explore the schedules of `scenario` with a strategy (bounded DFS, seeded random or PCT);
 * on a violation, minimise it and replay the minimal schedule with tracing, checking that the
 * replay reproduces it (else a 'nondeterminism' violation is reported).
 * Mirrors: model-only (a loom/CHESS-style systematic concurrency tester).
 */
export async function explore<S>(
  scenario: Scenario<S>,
  opts: ExploreOptions<S> = {},
): Promise<ExploreResult> {
  const strategy = opts.strategy ?? 'dfs';
  checkOptions(strategy, opts);
  checkReduction(scenario, strategy, opts);
  const start = opts.now?.();
  let violation: Violation | undefined;
  let interleavings = 0;
  const r = await search(
    scenario,
    strategy,
    opts,
    (v) => {
      violation = v;
    },
    (n) => {
      interleavings += n;
    },
  );
  violation ??= r.nondeterminism;
  return finishExplore(scenario, strategy, opts, r, violation, interleavings, start);
}

/**
 * The part of explore() after the search: refuse a scenario in which nothing interleaved,
 * minimise and replay-check a violation, describe a livelock, and build the result.
 */
async function finishExplore<S>(
  scenario: Scenario<S>,
  strategy: Strategy,
  opts: ExploreOptions<S>,
  r: Omit<SearchResult, 'nondeterminism'>,
  violation: Violation | undefined,
  interleavings: number,
  start: number | undefined,
): Promise<ExploreResult> {
  if (violation === undefined && interleavings === 0 && scenario.tasks.length >= 2) {
    throw noInterleavingError(scenario, r.schedules);
  }
  let minimal: Violation | undefined;
  let minimisation: ExploreResult['minimisation'];
  let trace: TraceRecord | undefined;
  if (violation !== undefined) {
    minimal = violation;
    if (opts.minimise !== false) {
      const m = await minimiseViolation(
        scenario,
        violation,
        opts.minimiseBudget ?? DEFAULT_MINIMISE_BUDGET,
      );
      minimal = m.violation;
      minimisation = { schedules: m.schedules, complete: m.complete };
    }
    const checked = await verifyReplay(scenario, minimal);
    minimal = checked.violation;
    trace = checked.trace;
    const loop =
      minimal.kind === 'step-limit' && trace ? describeLivelock(trace.events) : undefined;
    if (loop !== undefined) minimal = { ...minimal, message: `${minimal.message}; ${loop}` };
  }
  const end = opts.now?.();
  return {
    scenario: scenario.name,
    strategy,
    bound: strategy === 'random' ? undefined : (opts.bound ?? defaultBound(strategy)),
    reduction: reductionOf(scenario, strategy, opts),
    seed: strategy === 'dfs' ? undefined : (opts.seed ?? DEFAULT_SEED),
    schedules: r.schedules,
    steps: r.steps,
    exhausted: r.exhausted,
    elapsedMs: start === undefined || end === undefined ? undefined : end - start,
    violation,
    minimal,
    minimisation,
    trace,
  };
}

/**
 * The units of a split search, or one unit (the whole search) when the scenario is not
 * deterministic, so that the search itself reports it as a violation.
 */
async function unitsOrWhole<S>(
  scenario: Scenario<S>,
  bound: number,
  minUnits: number,
): Promise<number[][]> {
  try {
    return await splitSchedules(scenario, bound, minUnits);
  } catch (error) {
    if (error instanceof NondeterminismError) return [[]];
    throw error;
  }
}

/** Searches the units of a split search; may stop after the first unit with a violation. */
export type UnitRunner = <S>(
  scenario: Scenario<S>,
  units: readonly (readonly number[])[],
  opts: { readonly bound: number },
) => Promise<readonly (UnitResult | undefined)[]>;

/** Search units one after the other in this thread, stopping after the first violation. */
export const sequentialUnits: UnitRunner = async (scenario, units, opts) => {
  const out: UnitResult[] = [];
  for (const prefix of units) {
    const r = await searchUnit(scenario, prefix, opts);
    out.push(r);
    if (r.violation !== undefined) break;
  }
  return out;
};

/** Where exploreSplit() searches its units. */
export interface SplitRunners {
  /** Units of a DFS without reduction; default sequentialUnits (this thread, in order). */
  readonly units?: UnitRunner | undefined;
  /**
   * Units a DFS without reduction is split into, at least (fewer only when the schedules run
   * out first): splitSchedules' `minUnits`, default SPLIT_MIN_UNITS. More units even out the
   * end of a search shared among workers.
   */
  readonly minUnits?: number | undefined;
  /** Units of a DPOR search; default inThreadDporUnits. */
  readonly dporUnits?: DporUnitRunner | undefined;
}

/**
 * explore() with the DFS strategy, divided into units that `runners` may search side by side
 * (on worker threads in `hmmsim explore --workers N`), with explore()'s verdict, counts and
 * minimal trace however they were spread. Without reduction the units are the distinct prefixes
 * of the first decisions (splitSchedules), combined in order; with DPOR, the bounded pass runs
 * here and the reduced pass is a dividedDporSearch(), which runs exactly dporSearch()'s schedules.
 * Mirrors: model-only (a parallel stateless model checker's work division).
 */
export async function exploreSplit<S>(
  scenario: Scenario<S>,
  opts: Omit<ExploreOptions<S>, 'strategy' | 'onSchedule'> = {},
  runners: SplitRunners = {},
): Promise<ExploreResult> {
  const strategy: Strategy = 'dfs';
  checkOptions(strategy, opts);
  checkReduction(scenario, strategy, opts);
  if (opts.runs !== undefined) {
    throw new InvalidArgumentError(
      'exploreSplit: got a schedule budget (runs); expected none (a split search runs every unit to its end)',
    );
  }
  const minUnits = runners.minUnits ?? SPLIT_MIN_UNITS;
  checkIntIn('exploreSplit', 'minUnits', minUnits, 1, 1 << 16, 'a unit count in [1, 65536]');
  const start = opts.now?.();
  const bound = opts.bound ?? DEFAULT_DFS_BOUND;
  if (reductionOf(scenario, strategy, opts) === 'dpor') {
    const d = await prescreenedDividedDporSearch(scenario, runners.dporUnits);
    return finishExplore(scenario, strategy, opts, d, d.violation, d.interleavings, start);
  }
  const units = await unitsOrWhole(scenario, bound, minUnits);
  const runUnits = runners.units ?? sequentialUnits;
  const c = combineUnits(await runUnits(scenario, units, { bound }));
  return finishExplore(scenario, strategy, opts, c, c.violation, c.interleavings, start);
}

/** The ScenarioError of a search in which no two tasks ever reached a scheduling point together. */
function noInterleavingError<S>(scenario: Scenario<S>, schedules: number): ScenarioError {
  return new ScenarioError(
    `scenario '${scenario.name}': in ${schedules} schedule(s) no task reached a scheduling point while another ` +
      'task could run, so nothing interleaved and "no violation" would mean nothing. Likely causes: the state was ' +
      'built on another scheduler (createMachine({ ..., sched }) with the `sched` argument of setup(sched)), or the ' +
      'tasks are fully synchronous (only kernel primitives that sleep, lock or call sched.point() can be preempted).',
  );
}

/** The default bound of a strategy. */
function defaultBound(strategy: Strategy): number {
  return strategy === 'pct' ? DEFAULT_PCT_DEPTH : DEFAULT_DFS_BOUND;
}
