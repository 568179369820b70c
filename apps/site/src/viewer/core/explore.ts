/**
 * Explore a viewer scenario with the explorer's bounded DFS, reporting progress as schedules
 * finish and stopping when the caller cancels, and summarise what it found.
 */
import { explore, type Violation } from '@hmmsim/explorer';
import { ViewerCancelledError, ViewerInputError } from './errors.ts';
import { viewerScenario } from './registry.ts';
import type { ExploreProgress, ExploreSummary, ViolationInfo } from './types.ts';

/**
 * The preemption bound of the viewer's Explore (the one the guide uses); "All interleavings"
 * explores without one (`hmmsim race` does by default).
 */
export const VIEWER_BOUND = 2;

/** Options of exploreView(). */
export interface ExploreViewOptions {
  /**
   * Preemption bound (default 2), or Infinity: every interleaving (partial-order reduction; only
   * for a driver whose `allInterleavings` is true).
   */
  readonly bound?: number | undefined;
  /** Called every `progressEvery` schedules and once at the end of the search. */
  readonly onProgress?: ((p: ExploreProgress) => void) | undefined;
  /** Schedules between progress calls (default 8). */
  readonly progressEvery?: number | undefined;
  /** With `now`: at least this many milliseconds between progress calls (default 0). */
  readonly progressIntervalMs?: number | undefined;
  /** Clock in milliseconds (for elapsed times); without it none are measured. */
  readonly now?: (() => number) | undefined;
  /** Checked after every schedule: when `aborted` is true the search stops with ViewerCancelledError. */
  readonly signal?: { readonly aborted: boolean } | undefined;
}

/** The plain form of an explorer violation. */
function violationInfo(v: Violation | undefined): ViolationInfo | undefined {
  if (v === undefined) return undefined;
  return {
    kind: v.kind,
    message: v.message,
    schedule: v.schedule,
    preemptions: v.preemptions,
    steps: v.steps,
  };
}

/** "1 preemption" / "2 preemptions". */
function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

/** One sentence saying what an exploration found. */
export function verdictText(s: Omit<ExploreSummary, 'verdict'>): string {
  const v = s.violation;
  if (v !== undefined) {
    return (
      `Violation (${v.kind}) found in ${plural(s.schedules, 'schedule')}; minimal schedule ` +
      `'${v.schedule}' with ${plural(v.preemptions, 'preemption')}: ${v.message}`
    );
  }
  const unbounded = s.bound === Number.POSITIVE_INFINITY;
  const space = !s.exhausted
    ? `the search stopped before the space was exhausted`
    : unbounded
      ? 'verified over all interleavings (one schedule of each class of schedules that differ only in the order of independent steps)'
      : `every schedule with at most ${plural(s.bound, 'preemption')} was run (space exhausted)`;
  return `No violation in ${plural(s.schedules, 'schedule')}: ${space}.`;
}

/**
 * Explore scenario `scenarioId` on driver `implId` by DFS (bounded, or over all interleavings
 * with bound Infinity); on a violation, the minimal
 * schedule (replay it with replayView()). ViewerInputError for an unknown scenario, driver or a
 * bad bound; ViewerCancelledError when `signal` aborts it.
 */
export async function exploreView(
  scenarioId: string,
  implId: string,
  opts: ExploreViewOptions = {},
): Promise<ExploreSummary> {
  const vs = viewerScenario(scenarioId, implId);
  const bound = opts.bound ?? VIEWER_BOUND;
  const unbounded = bound === Number.POSITIVE_INFINITY;
  if (!unbounded && (!Number.isSafeInteger(bound) || bound < 0 || bound > 4)) {
    throw new ViewerInputError(`bound ${bound}: expected an integer from 0 to 4, or Infinity`);
  }
  if (unbounded && !vs.impl.allInterleavings) {
    throw new ViewerInputError(
      `${vs.impl.scenarioName} does not report its shared accesses, so it cannot be explored over all interleavings here; expected a bound from 0 to 4`,
    );
  }
  const every = Math.max(1, opts.progressEvery ?? 8);
  const now = opts.now;
  const start = now?.();
  const interval = opts.progressIntervalMs ?? 0;
  let schedules = 0;
  let steps = 0;
  let lastCall = start ?? 0;
  const progress = (): ExploreProgress => ({
    schedules,
    steps,
    elapsedMs: start === undefined || now === undefined ? undefined : now() - start,
  });
  const r = await explore(vs.scenario, {
    strategy: 'dfs',
    bound,
    now,
    onSchedule: (_state, outcome) => {
      schedules++;
      steps += outcome.steps;
      if (opts.signal?.aborted === true) {
        throw new ViewerCancelledError(`exploration cancelled after ${schedules} schedules`);
      }
      if (schedules % every !== 0 || opts.onProgress === undefined) return;
      if (now !== undefined && interval > 0) {
        const t = now();
        if (t - lastCall < interval) return;
        lastCall = t;
      }
      opts.onProgress(progress());
    },
  });
  opts.onProgress?.({ schedules: r.schedules, steps: r.steps, elapsedMs: progress().elapsedMs });
  const base = {
    scenario: vs.info.id,
    impl: vs.impl.id,
    scenarioName: vs.impl.scenarioName,
    bound,
    schedules: r.schedules,
    steps: r.steps,
    exhausted: r.exhausted,
    elapsedMs: r.elapsedMs,
    firstViolation: violationInfo(r.violation),
    violation: violationInfo(r.minimal),
    expect: vs.impl.expect,
    asExpected: (r.minimal !== undefined) === (vs.impl.expect === 'violation'),
  };
  return { ...base, verdict: verdictText(base) };
}
