/**
 * `hmmsim bench [--quick] [--out DIR] [--filter RE] [--seed N] [--json-only]`: fault throughput,
 * invalidation scaling, contention and memory of the legacy hmm_mirror, the compat shim and the
 * native mmu_interval_notifier. Writes results.json (validated against its schema, written
 * beside it), report.md and SVG charts; prints a summary. Exit codes: 0 done, 1 the run failed
 * (or produced an invalid document), 2 bad usage.
 */
import { join } from 'node:path';
import type { CAC } from 'cac';
import {
  BENCH_USAGE,
  type BenchArgs,
  type BenchCommandInput,
  commandLine,
  DEFAULT_OUT,
  DEFAULT_SEED,
  parseBenchArgs,
  UsageError,
} from './cli/args.ts';
import type { BenchIo } from './cli/bench-io.ts';
import { processIo } from './cli/process-io.ts';
import { summaryLines } from './report/summary.ts';
import { writeOutputs } from './report/write-outputs.ts';
import { buildResults } from './results/build-results.ts';
import type { Results } from './results/schema.ts';
import { validateResults } from './results/validate.ts';
import type { BenchCase } from './run/bench-case.ts';
import { planCases, selectCases } from './run/cases.ts';
import { FULL_PLAN, QUICK_PLAN } from './run/plan.ts';
import { runCases } from './run/run-cases.ts';

/** Exit codes. */
export const BENCH_EXIT_OK = 0;
export const BENCH_EXIT_FAILED = 1;
export const BENCH_EXIT_USAGE = 2;

/** The cases `a` selects; a UsageError when --filter matches none. */
function selectedCases(a: BenchArgs): BenchCase[] {
  const all = planCases(a.quick ? QUICK_PLAN : FULL_PLAN);
  const cases = selectCases(all, a.filter);
  if (cases.length === 0) {
    throw new UsageError(
      `--filter ${a.filterSource} matches no benchmark case; the cases are: ${all.map((c) => c.id).join(', ')}`,
    );
  }
  return cases;
}

/** Run the selected cases and assemble the document. */
async function measure(a: BenchArgs, cases: readonly BenchCase[], io: BenchIo): Promise<Results> {
  const plan = a.quick ? QUICK_PLAN : FULL_PLAN;
  const startedAt = io.date();
  const t0 = io.now();
  const measurements = await runCases(cases, {
    plan,
    seed: a.seed,
    now: io.now,
    progress: io.progress(),
  });
  return buildResults({
    command: commandLine(a),
    startedAt,
    durationMs: io.now() - t0,
    options: {
      quick: a.quick,
      seed: a.seed,
      filter: a.filterSource,
      repetitions: plan.repetitions,
    },
    environment: io.environment(),
    measurements,
  });
}

/** Print what was produced. */
function report(a: BenchArgs, r: Results, io: BenchIo): void {
  const results = join(a.out, 'results.json');
  if (a.jsonOnly) {
    io.out(results);
    return;
  }
  for (const line of summaryLines(r)) io.out(line);
  io.out('');
  io.out(
    `report: ${join(a.out, 'report.md')}  (data: ${results}; ${(r.durationMs / 1000).toFixed(1)} s)`,
  );
}

/** Parse, run, validate, write, print: the exit code. */
async function benchCommand(input: BenchCommandInput, io: BenchIo): Promise<number> {
  const a = parseBenchArgs(input);
  const cases = selectedCases(a);
  const r = await measure(a, cases, io);
  const problems = validateResults(r);
  await writeOutputs(io, a.out, r, !a.jsonOnly);
  if (problems.length > 0) {
    io.err('hmmsim bench: the results do not match their schema:');
    for (const p of problems) io.err(`  ${p}`);
    return BENCH_EXIT_FAILED;
  }
  report(a, r, io);
  return BENCH_EXIT_OK;
}

/**
 * The bench command as a pure function of what cac parsed and an injected io: 0 (done),
 * 1 (the run failed), 2 (bad usage: the message and the usage on stderr).
 */
export async function runBenchCommand(input: BenchCommandInput, io: BenchIo): Promise<number> {
  try {
    return await benchCommand(input, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`hmmsim bench: ${error.message}`);
      io.err(BENCH_USAGE);
      return BENCH_EXIT_USAGE;
    }
    io.err(
      `hmmsim bench: error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    return BENCH_EXIT_FAILED;
  }
}

/** Options of registerBenchCommand() (tests pass their own io and exit hook). */
export interface RegisterBenchOptions {
  readonly io?: BenchIo | undefined;
  /** Receives the exit code; default sets process.exitCode. */
  readonly onExit?: ((code: number) => void) | undefined;
}

/**
 * Add `hmmsim bench` to `cli`. Options are checked here, not by cac, so every usage error gives
 * exit code 2 with a message; the action resolves to the exit code (also given to onExit).
 */
export function registerBenchCommand(cli: CAC, opts: RegisterBenchOptions = {}): void {
  cli
    .command(
      'bench [...args]',
      'Benchmark the legacy hmm_mirror, the compat shim and the native mmu_interval_notifier',
    )
    .usage('bench [--quick] [--out DIR] [--filter RE] [--seed N] [--json-only]')
    .option('--quick', 'Reduced matrix, under a minute (the CI smoke test)')
    .option('--out [dir]', `Output folder (default ${DEFAULT_OUT}/)`)
    .option('--filter [re]', 'Run only the cases whose id matches the regular expression')
    .option('--seed [n]', `Seed of the contention runs (default ${DEFAULT_SEED})`)
    .option('--json-only', 'Write only results.json and its schema')
    .example((bin) => `  $ ${bin} bench --quick`)
    .example((bin) => `  $ ${bin} bench --filter 'invalidation|contention' --out /tmp/bench`)
    .allowUnknownOptions()
    .action(async (args: string[], options: Record<string, unknown>) => {
      const input: BenchCommandInput = {
        args,
        options,
        rawArgs: cli.rawArgs,
        globalOptions: cli.globalCommand.options.flatMap((o) => o.names),
      };
      const code = await runBenchCommand(input, opts.io ?? processIo());
      if (opts.onExit === undefined) process.exitCode = code;
      else opts.onExit(code);
      return code;
    });
}
