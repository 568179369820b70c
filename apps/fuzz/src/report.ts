/**
 * The report of a campaign: operations, steps, runs, ops/s, how often steps raced, the result
 * classes of each operation and where the checked pages lived; on a failure the violation, the
 * shrunk counterexample step by step, the replay command and the failing step's per-CPU trace.
 */
import { type CampaignResult, formatReplay } from './campaign.ts';

/** '12,345' */
function n(x: number): string {
  return x.toLocaleString('en-US');
}

/** The one-line summary of a campaign. */
export function summaryLine(r: CampaignResult): string {
  const s = r.stats;
  const rate =
    r.elapsedMs === undefined || r.elapsedMs <= 0
      ? ''
      : `, ${n(Math.round((s.ops * 1000) / r.elapsedMs))} ops/s`;
  const verdict = r.failure === undefined ? 'violations 0' : 'VIOLATION found';
  return `fuzz ${r.impl}: ${n(s.ops)} ops in ${n(s.steps)} steps, ${n(s.runs)} runs (seed ${r.seed})${rate}; ${verdict}`;
}

/** Coverage lines: racing steps, preemptions, result classes, page locations. */
export function coverageLines(r: CampaignResult): string[] {
  const s = r.stats;
  const results = [...s.results]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k} x${n(v)}`);
  const locs = Object.entries(s.locations)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${n(v)}`);
  return [
    `  steps with 2-3 CPUs: ${n(s.concurrentSteps)}; scheduler decisions ${n(s.decisions)}, preemptions ${n(s.preemptions)}; device copies through an entry under migration (bytes verified): ${n(s.staleCopies)}`,
    `  results: ${results.join(', ')}`,
    `  pages checked, by where their bytes were: ${locs.join(', ')}; unmapped swap-cache pages reclaimed at run ends: ${n(s.orphanSwapCache)}`,
  ];
}

/** The failure section (empty when none). */
export function failureLines(r: CampaignResult): string[] {
  const f = r.failure;
  if (f === undefined) return [];
  const lines = [
    `violation on ${r.impl}:`,
    ...f.problems.map((p) => `  ${p}`),
    `shrunk counterexample (${f.counterexample.length} steps, ${f.numShrinks} shrinks; fast-check seed ${f.replay.seed}):`,
    ...f.narration.map((l) => `  ${l}`),
    `replay: pnpm fuzz --impl ${r.impl} --replay '${formatReplay(f.replay)}'`,
  ];
  if (f.trace !== undefined) lines.push('per-CPU trace of the failing step:', f.trace);
  return lines;
}
