/**
 * The explorer over all interleavings: for every shipped scenario, the unbounded search plain
 * (every schedule) and reduced (dynamic partial-order reduction), in the same run — schedules,
 * time, verdict and the ratio; then the largest reduced search on 1 and on 2 worker threads.
 * A plain search that passes PLAIN_BUDGET_MS is stopped and shown as a lower bound.
 *
 * Run: pnpm --filter @hmmsim-bench/explorer bench:reduction   (several minutes)
 *      HMMSIM_BENCH_SCENARIOS=a,b,c limits it to those scenarios.
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { scenarios as dmirrorScenarios } from '@hmmsim/dmirror';
import {
  coverageText,
  dporSearch,
  type ExploreResult,
  explore,
  scenarios as explorerScenarios,
  type Scenario,
} from '@hmmsim/explorer';
import { scenarios as hmmMirrorScenarios } from '@hmmsim/hmm-mirror';
import { scenarios as migrateScenarios } from '@hmmsim/migrate';
import { scenarios as mmuNotifierScenarios } from '@hmmsim/mmu-notifier';

/** Wall time after which a plain unbounded search is stopped (its count is then a lower bound). */
const PLAIN_BUDGET_MS = Number(process.env['HMMSIM_BENCH_PLAIN_MS'] ?? 150_000);
/** Goals of issue 17. */
const GOAL_ALL_MS = 60_000;
const GOAL_RATIO = 20;

const ALL: readonly Scenario[] = [
  ...explorerScenarios,
  ...mmuNotifierScenarios,
  ...hmmMirrorScenarios,
  ...migrateScenarios,
  ...dmirrorScenarios,
] as Scenario[];

/** One search, timed; `budgetMs` stops a plain search (checked between schedules). */
async function timed(
  s: Scenario,
  reduction: 'dpor' | 'none',
  budgetMs?: number,
): Promise<{ r: ExploreResult; ms: number; cut: boolean }> {
  const start = performance.now();
  let cut = false;
  let runs: number | undefined;
  if (budgetMs !== undefined) {
    // Probe the speed on a small budget, then give the rest a budget in schedules.
    const probe = await explore(s, { bound: Infinity, reduction, runs: 200, minimise: false });
    const perSchedule = (performance.now() - start) / Math.max(1, probe.schedules);
    if (!probe.exhausted && probe.violation === undefined) {
      runs = Math.max(200, Math.floor(budgetMs / perSchedule));
    }
  }
  const r = await explore(s, { bound: Infinity, reduction, runs, minimise: false });
  if (runs !== undefined && !r.exhausted && r.violation === undefined) cut = true;
  return { r, ms: performance.now() - start, cut };
}

/** 'clean' / 'violation (invariant)'. */
function verdict(r: ExploreResult): string {
  if (r.violation !== undefined) return `violation (${r.violation.kind})`;
  return r.exhausted ? 'clean, exhausted' : 'not finished';
}

async function main(): Promise<void> {
  const only = process.env['HMMSIM_BENCH_SCENARIOS']?.split(',');
  const picked = only === undefined ? ALL : ALL.filter((s) => only.includes(s.name));
  const rows: Record<string, string>[] = [];
  let reducedTotal = 0;
  let largest: { s: Scenario; ms: number } | undefined;
  for (const s of picked) {
    const plain = await timed(s, 'none', PLAIN_BUDGET_MS);
    const reduced = await timed(s, s.accesses === 'reported' ? 'dpor' : 'none');
    reducedTotal += reduced.ms;
    if (reduced.r.violation === undefined && (largest === undefined || reduced.ms > largest.ms)) {
      largest = { s, ms: reduced.ms };
    }
    const plainCount = `${plain.cut ? '>= ' : ''}${plain.r.schedules}`;
    // The DPOR pass alone (explore() runs the bounded DFS first), for a clean scenario.
    const clean = reduced.r.violation === undefined && plain.r.violation === undefined;
    const alone =
      clean && s.accesses === 'reported'
        ? (await dporSearch(s, { maxSchedules: Number.POSITIVE_INFINITY, visit: () => false }))
            .schedules
        : undefined;
    rows.push({
      scenario: s.name,
      plain: `${plainCount} in ${(plain.ms / 1000).toFixed(1)} s, ${verdict(plain.r)}`,
      'explore() (bound-2 pass + DPOR)': `${reduced.r.schedules} in ${(reduced.ms / 1000).toFixed(1)} s, ${verdict(reduced.r)}`,
      'DPOR alone': alone === undefined ? '-' : String(alone),
      'plain/DPOR schedules':
        alone !== undefined
          ? `${plain.cut ? '>= ' : ''}${(plain.r.schedules / alone).toFixed(1)}x`
          : clean
            ? '(no reduction: accesses not reported)'
            : '(stops at the violation)',
    });
    console.log(`${s.name}: reduced — ${coverageText(reduced.r)}`);
  }
  console.table(rows);
  console.log(
    `reduced searches, all scenarios together: ${(reducedTotal / 1000).toFixed(1)} s (goal < ${GOAL_ALL_MS / 1000} s: ${reducedTotal < GOAL_ALL_MS ? 'met' : 'MISSED'})`,
  );
  const munmapShim = rows.find((r) => r['scenario'] === 'hmm-race-munmap-shim');
  if (munmapShim !== undefined) {
    console.log(
      `hmm-race-munmap-shim: plain/DPOR ${munmapShim['plain/DPOR schedules']} (goal >= ${GOAL_RATIO}x)`,
    );
  }
  if (largest !== undefined) await workers(largest.s);
}

/**
 * `hmmsim explore <name> --bound inf --workers n`, its workers started at once
 * (HMMSIM_WORKERS_AFTER_MS=0): wall ms, the search's own ms and the summary line.
 */
function cli(name: string, n: number): { ms: number; searchMs: number; line: string } {
  const start = performance.now();
  const out = execFileSync(
    'npx',
    [
      'tsx',
      '--conditions=@hmmsim/source',
      '../../apps/cli/src/main.ts',
      'explore',
      name,
      '--bound',
      'inf',
      '--workers',
      String(n),
    ],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 26,
      env: { ...process.env, HMMSIM_WORKERS_AFTER_MS: '0' },
    },
  );
  const line = out.split('\n').find((l) => /^\s+\d+ schedules/.test(l)) ?? '';
  const searchMs = Number(/ in ([\d.]+) ms/.exec(line)?.[1] ?? Number.NaN);
  return { ms: performance.now() - start, searchMs, line: line.trim() };
}

/**
 * The largest clean reduced search through `hmmsim explore --workers 1` and `--workers 2`
 * (alternated, twice each; the better of each), workers started at once.
 */
async function workers(s: Scenario): Promise<void> {
  const runs = [cli(s.name, 1), cli(s.name, 2), cli(s.name, 1), cli(s.name, 2)];
  const best = (n: number) =>
    runs.filter((_, i) => i % 2 === n - 1).reduce((a, b) => (b.searchMs < a.searchMs ? b : a));
  const one = best(1);
  const two = best(2);
  const count = (l: string) => l.replace(/ in [\d.]+ ms/, '');
  const same = runs.every((r) => count(r.line) === count(one.line));
  console.log(
    `${s.name}, hmmsim explore --bound inf, workers started at once: ` +
      `--workers 1 ${(one.searchMs / 1000).toFixed(2)} s, --workers 2 ${(two.searchMs / 1000).toFixed(2)} s ` +
      `(search time incl. worker start-up; ${(one.searchMs / two.searchMs).toFixed(2)}x, goal >= 1.6x on ${availableParallelism()} cores; ` +
      `process wall ${(one.ms / 1000).toFixed(1)} s vs ${(two.ms / 1000).toFixed(1)} s); ` +
      `same result every run: ${same ? 'yes' : 'NO'} (${count(one.line)})`,
  );
}

await main();
