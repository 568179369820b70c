/**
 * The explorer over all interleavings: for every shipped scenario, the unbounded search plain
 * (every schedule) and reduced (dynamic partial-order reduction), in the same run — schedules,
 * time, verdict and the ratio; then the largest reduced search and the largest plain search that
 * finished on 1 and on 2 worker threads, each next to what the machine allows two workers: one
 * search alone against two at once.
 * A plain search that passes PLAIN_BUDGET_MS is stopped and shown as a lower bound.
 *
 * Run: pnpm --filter @hmmsim-bench/explorer bench:reduction   (several minutes)
 *      HMMSIM_BENCH_SCENARIOS=a,b,c limits it to those scenarios.
 */
import { execFile, execFileSync } from 'node:child_process';
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

/**
 * One search, timed (the search alone, not the probes); `budgetMs` limits a plain search to about
 * that long, by a schedule budget measured on a probe.
 */
async function timed(
  s: Scenario,
  reduction: 'dpor' | 'none',
  budgetMs?: number,
): Promise<{ r: ExploreResult; ms: number; cut: boolean }> {
  let cut = false;
  let runs: number | undefined;
  if (budgetMs !== undefined) {
    // Probe the speed (200 schedules to warm the compiler up, then 2,000 timed), then give the
    // search a budget in schedules: about budgetMs at that speed.
    const probe = (runs: number) =>
      explore(s, { bound: Infinity, reduction, runs, minimise: false });
    const warm = await probe(200);
    if (!warm.exhausted && warm.violation === undefined) {
      const t = performance.now();
      const timedProbe = await probe(2000);
      const perSchedule = (performance.now() - t) / Math.max(1, timedProbe.schedules);
      if (!timedProbe.exhausted && timedProbe.violation === undefined) {
        runs = Math.max(2000, Math.floor(budgetMs / perSchedule));
      }
    }
  }
  const searchStart = performance.now();
  const r = await explore(s, { bound: Infinity, reduction, runs, minimise: false });
  if (runs !== undefined && !r.exhausted && r.violation === undefined) cut = true;
  return { r, ms: performance.now() - searchStart, cut };
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
  let largestPlain: { s: Scenario; ms: number } | undefined;
  for (const s of picked) {
    const plain = await timed(s, 'none', PLAIN_BUDGET_MS);
    const reduced = await timed(s, s.accesses === 'reported' ? 'dpor' : 'none');
    reducedTotal += reduced.ms;
    if (reduced.r.violation === undefined && (largest === undefined || reduced.ms > largest.ms)) {
      largest = { s, ms: reduced.ms };
    }
    if (
      !plain.cut &&
      plain.r.violation === undefined &&
      (largestPlain === undefined || plain.ms > largestPlain.ms)
    ) {
      largestPlain = { s, ms: plain.ms };
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
  if (largest !== undefined) await workers(largest.s, []);
  if (largestPlain !== undefined) await workers(largestPlain.s, ['--reduction', 'none']);
}

/** One `hmmsim explore` run: wall ms, the search's own ms and the summary line. */
interface CliRun {
  readonly ms: number;
  readonly searchMs: number;
  readonly line: string;
}

/** The command that runs `hmmsim explore` from source. */
function cliArgs(name: string, extra: readonly string[]): string[] {
  return [
    'tsx',
    '--conditions=@hmmsim/source',
    '../../apps/cli/src/main.ts',
    'explore',
    name,
    '--bound',
    'inf',
    ...extra,
  ];
}

/** Parse a finished `hmmsim explore`'s output. */
function parseCli(out: string, ms: number): CliRun {
  const line = out.split('\n').find((l) => /^\s+\d+ schedules/.test(l)) ?? '';
  const searchMs = Number(/ in ([\d.]+) ms/.exec(line)?.[1] ?? Number.NaN);
  return { ms, searchMs, line: line.trim() };
}

/**
 * `hmmsim explore <name> --bound inf` with `extra` arguments; with --workers, its workers
 * started at once (HMMSIM_WORKERS_AFTER_MS=0).
 */
function cli(name: string, extra: readonly string[]): CliRun {
  const start = performance.now();
  const out = execFileSync('npx', cliArgs(name, extra), {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    env: { ...process.env, HMMSIM_WORKERS_AFTER_MS: '0' },
  });
  return parseCli(out, performance.now() - start);
}

/** Two `hmmsim explore` processes started together; resolves when both have finished. */
function cliPair(name: string, extra: readonly string[]): Promise<CliRun[]> {
  const one = (): Promise<CliRun> =>
    new Promise((resolve, reject) => {
      const start = performance.now();
      execFile('npx', cliArgs(name, extra), { encoding: 'utf8', maxBuffer: 1 << 26 }, (err, out) =>
        err === null ? resolve(parseCli(out, performance.now() - start)) : reject(err),
      );
    });
  return Promise.all([one(), one()]);
}

/** Pairs of `--workers 1` / `--workers 2` runs the workers lines measure. */
const WORKER_PAIRS = 3;

/**
 * A search (`extra` selects plain or reduced) through `hmmsim explore --workers 1` and then
 * `--workers 2`, WORKER_PAIRS times, workers started at once: each pair's ratio (the two runs
 * back to back, so that they share the machine's mood of the moment) and their median; then
 * what this machine allows any division into two: the same one-worker search alone and as two
 * processes at once (the work of two in the time the slower takes).
 */
async function workers(s: Scenario, extra: readonly string[]): Promise<void> {
  const w = (n: number) => cli(s.name, [...extra, '--workers', String(n)]);
  const pairs = Array.from({ length: WORKER_PAIRS }, () => [w(1), w(2)] as const);
  const ratios = pairs.map(([one, two]) => one.searchMs / two.searchMs);
  const median = [...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)]!;
  const count = (l: string) => l.replace(/ in [\d.]+ ms/, '');
  const first = pairs[0]![0];
  const same = pairs.flat().every((r) => count(r.line) === count(first.line));
  const kind = extra.includes('none') ? 'plain' : 'reduced';
  const secs = (r: CliRun) => (r.searchMs / 1000).toFixed(2);
  console.log(
    `${s.name} (${kind}), hmmsim explore --bound inf ${extra.join(' ')}, workers started at once, ` +
      `search time incl. worker start-up, --workers 1 then --workers 2, ${WORKER_PAIRS} pairs: ` +
      `${pairs.map(([one, two], i) => `${secs(one)} s / ${secs(two)} s = ${ratios[i]!.toFixed(2)}x`).join('; ')}; ` +
      `median ${median.toFixed(2)}x (goal >= 1.6x on ${availableParallelism()} cores); ` +
      `same result every run: ${same ? 'yes' : 'NO'} (${count(first.line)})`,
  );
  const single = [...extra, '--workers', '1'];
  const alone = cli(s.name, single);
  const pair = await cliPair(s.name, single);
  const slower = Math.max(...pair.map((r) => r.searchMs));
  console.log(
    `${s.name} (${kind}), what ${availableParallelism()} cores allow: one search alone ${(alone.searchMs / 1000).toFixed(2)} s, ` +
      `two at once ${pair.map((r) => (r.searchMs / 1000).toFixed(2)).join(' s and ')} s: ` +
      `${((2 * alone.searchMs) / slower).toFixed(2)}x the work in the same time (the most any division into 2 workers can gain here)`,
  );
}

await main();
