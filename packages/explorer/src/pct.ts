import { type Choice, createRandom, type PickContext, type Random } from '@hmmsim/kernel';
import { type Chooser, defaultChooser } from './chooser.ts';
import type { SearchResult } from './dfs.ts';
import type { SeededSearchOptions } from './random-search.ts';
import { runSchedule } from './run-schedule.ts';
import type { Scenario } from './scenario.ts';
import { choiceCode } from './schedule-string.ts';

/**
 * PCT (Burckhardt, Kothari, Musuvathi, Nagarakatte: "A randomized scheduler with probabilistic
 * guarantees of finding bugs", ASPLOS 2010) over the scheduler's decisions: every task (and
 * the timer, as one more thread) gets a random initial priority above `depth`; at d-1 random
 * decisions among the first k, the running task's priority drops to 1, 2, ..., d-1; at every
 * decision the highest-priority choice runs.
 */
export class PctChooser implements Chooser {
  private readonly priority = new Map<number, number>();
  /** Decision index -> the priority the running task drops to there. */
  private readonly changes = new Map<number, number>();

  constructor(
    private readonly random: Random,
    private readonly depth: number,
    k: number,
  ) {
    for (let i = 1; i < depth; i++) {
      let at = random.nextInt(k);
      for (let tries = 0; this.changes.has(at) && tries < k; tries++) at = random.nextInt(k);
      this.changes.set(at, i);
    }
  }

  /** Apply a change point at `d`, then take the highest-priority choice. */
  choose(ctx: PickContext, d: number): Choice {
    const drop = this.changes.get(d);
    if (drop !== undefined && ctx.current !== undefined) this.priority.set(ctx.current.id, drop);
    let best = ctx.choices[0]!;
    let bestPriority = Number.NEGATIVE_INFINITY;
    for (const c of ctx.choices) {
      const p = this.priorityOf(choiceCode(c));
      if (p > bestPriority) {
        best = c;
        bestPriority = p;
      }
    }
    return best;
  }

  /** The priority of a task id / the timer, drawn in (depth, depth + 1) on first sight. */
  private priorityOf(code: number): number {
    let p = this.priority.get(code);
    if (p === undefined) {
      p = this.depth + this.random.nextFloat();
      this.priority.set(code, p);
    }
    return p;
  }
}

/** Options of pctSearch(). */
export interface PctSearchOptions<S> extends SeededSearchOptions<S> {
  /** Bug depth d >= 1 (d - 1 priority change points). */
  readonly depth: number;
}

/**
 * PCT: one probe run with default choices measures k (decisions per run), then `runs`
 * schedules, run i seeded `seed + i`, until `visit` says stop.
 * Mirrors: model-only (probabilistic concurrency testing).
 */
export async function pctSearch<S>(
  scenario: Scenario<S>,
  opts: PctSearchOptions<S>,
): Promise<SearchResult> {
  const probe = await runSchedule(scenario, defaultChooser, { onSchedule: opts.onSchedule });
  let steps = probe.steps;
  if (opts.visit(probe, 0, undefined)) {
    return { schedules: 1, steps, exhausted: false, nondeterminism: undefined };
  }
  const k = Math.max(1, probe.codes.length);
  for (let i = 0; i < opts.runs; i++) {
    const seed = opts.seed + i;
    const chooser = new PctChooser(createRandom(seed), opts.depth, k);
    const rec = await runSchedule(scenario, chooser, { onSchedule: opts.onSchedule });
    steps += rec.steps;
    if (opts.visit(rec, i + 1, seed)) {
      return { schedules: i + 2, steps, exhausted: false, nondeterminism: undefined };
    }
  }
  return { schedules: opts.runs + 1, steps, exhausted: false, nondeterminism: undefined };
}
