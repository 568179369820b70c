/**
 * `hmmsim bench [--quick] [--out DIR] [--filter RE] [--seed N] [--json-only] [--check]`: fault
 * throughput, invalidation scaling, contention and memory of legacy (the hmm_mirror API), shim
 * (the same driver on the compat shim) and interval (a driver on mmu_interval_notifier). Writes
 * results.json (validated against its schema, written beside it), report.md and SVG charts;
 * prints a summary in which every missed acceptance target has its reason. Exit codes: 0 done,
 * 1 the run failed (or produced an invalid document, or with --check missed a target), 2 bad
 * usage (one line on stderr).
 */
import { join } from 'node:path';
import type { CAC } from 'cac';
import {
  BENCH_USAGE,
  type BenchArgs,
  type BenchCommandInput,
  commandLine,
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
/** With --check: an acceptance target was missed. */
export const BENCH_EXIT_MISSED = 1;
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

/** --check: 0 when no measured target was missed, else the misses on stderr and 1. */
function check(a: BenchArgs, r: Results, io: BenchIo): number {
  const missed = r.acceptance.filter((x) => x.pass === false);
  if (missed.length === 0) return BENCH_EXIT_OK;
  // With --json-only the summary (and its reasons) is not on stdout: give them here.
  if (a.jsonOnly) for (const m of missed) io.err(`MISSED  ${m.target}: ${m.reason}`);
  io.err(
    `hmmsim bench --check: ${missed.length} of ${r.acceptance.length} acceptance targets missed ` +
      `(${missed.map((m) => m.id).join(', ')})`,
  );
  return BENCH_EXIT_MISSED;
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
  return a.check ? check(a, r, io) : BENCH_EXIT_OK;
}

/**
 * The bench command as a pure function of what cac parsed and an injected io: 0 (done),
 * 1 (the run failed, or --check and a target was missed), 2 (bad usage: one line on stderr).
 */
export async function runBenchCommand(input: BenchCommandInput, io: BenchIo): Promise<number> {
  try {
    return await benchCommand(input, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`hmmsim bench: ${error.message} (hmmsim bench --help)`);
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
 * Add `hmmsim bench` to `cli`. Its usage text (`.usage()`, the command's `usageText`) is
 * BENCH_USAGE, which the host prints for `hmmsim bench --help`. Options are checked here, not by
 * cac, so every usage error gives exit code 2 with a one-line message; the action resolves to the
 * exit code (also given to onExit).
 */
export function registerBenchCommand(cli: CAC, opts: RegisterBenchOptions = {}): void {
  cli
    .command(
      'bench [...args]',
      'Benchmark legacy, shim and interval: throughput, invalidation scaling, contention, memory',
    )
    .usage(BENCH_USAGE)
    // Declared for parsing only (flags take no value); the help is BENCH_USAGE alone.
    .option('--quick', '')
    .option('--out [dir]', '')
    .option('--filter [re]', '')
    .option('--seed [n]', '')
    .option('--json-only', '')
    .option('--check', '')
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
