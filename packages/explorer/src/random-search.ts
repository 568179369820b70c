import { createRandom, randomPolicy } from '@hmmsim/kernel';
import type { Chooser } from './chooser.ts';
import type { SearchResult } from './dfs.ts';
import { type RunOptions, type RunRecord, runSchedule } from './run-schedule.ts';
import type { Scenario } from './scenario.ts';

/** Options of randomSearch() and pctSearch(). */
export interface SeededSearchOptions<S> {
  /** Schedules to run; run i uses seed `seed + i`. */
  readonly runs: number;
  readonly seed: number;
  /** Called after every run with the run's seed (undefined for a probe); true stops. */
  readonly visit: (rec: RunRecord, run: number, seed: number | undefined) => boolean;
  /** Called with the final state and outcome of every schedule run (not the pruned ones). */
  readonly onSchedule?: RunOptions<S>['onSchedule'];
}

/** A chooser that takes a uniformly random runnable task (the timer now and then). */
function randomChooser(seed: number): Chooser {
  const policy = randomPolicy(createRandom(seed));
  return { choose: (ctx) => policy.pick(ctx) };
}

/**
 * Run `runs` schedules drawn by the kernel's seeded random policy (run i seeded `seed + i`),
 * until `visit` says stop.
 * Mirrors: model-only (random scheduling, as in stress/fuzz testing).
 */
export async function randomSearch<S>(
  scenario: Scenario<S>,
  opts: SeededSearchOptions<S>,
): Promise<SearchResult> {
  let steps = 0;
  for (let i = 0; i < opts.runs; i++) {
    const seed = opts.seed + i;
    const rec = await runSchedule(scenario, randomChooser(seed), { onSchedule: opts.onSchedule });
    steps += rec.steps;
    if (opts.visit(rec, i, seed)) {
      return { schedules: i + 1, steps, exhausted: false, nondeterminism: undefined };
    }
  }
  return { schedules: opts.runs, steps, exhausted: false, nondeterminism: undefined };
}
