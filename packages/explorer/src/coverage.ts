import type { ExploreResult } from './explore.ts';

/**
 * What an exploration showed, in words that claim no more than was run: "verified over all
 * interleavings" only for an unbounded search that exhausted its space; "clean up to N
 * preemptions" for a bounded one; "sampled" for random and PCT; and why it stopped otherwise.
 * Mirrors: model-only.
 */
export function coverageText(r: ExploreResult): string {
  if (r.violation !== undefined) return 'stopped at the first violation';
  if (r.strategy !== 'dfs') return 'sampled, not exhaustive: no claim about the schedules not run';
  if (!r.exhausted) {
    return 'not verified: the schedule budget ran out before the space was exhausted';
  }
  if (r.bound === Number.POSITIVE_INFINITY) {
    return r.reduction === 'dpor'
      ? 'verified over all interleavings (one schedule of each class of schedules that differ only in the order of independent steps: dynamic partial-order reduction)'
      : 'verified over all interleavings (every schedule run)';
  }
  const n = r.bound ?? 0;
  return `clean up to ${n} preemption${n === 1 ? '' : 's'} (every schedule with at most ${n} run); not verified beyond`;
}
