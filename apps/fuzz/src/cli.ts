/**
 * The `pnpm fuzz` command as a function of its arguments and an output sink (main.ts wires it to
 * the process): fuzz each implementation, print a summary per implementation (ops, steps, runs,
 * ops/s, coverage) and, for a failure, the violation, the shrunk counterexample, its replay
 * command and the per-CPU trace. The exit code: 0 when the results are as expected (no violation
 * on interval and shim, a violation found on legacy — race R1, a stale device mapping), 1
 * otherwise, 2 on bad usage.
 */
import { FUZZ_USAGE, parseFuzzArgs, UsageError } from './args.ts';
import { runCampaign } from './campaign.ts';
import { coverageLines, failureLines, summaryLine } from './report.ts';

/** Where the command writes, and its clock (ops/s only). */
export interface FuzzIo {
  out(line: string): void;
  err(line: string): void;
  now?: (() => number) | undefined;
}

/** Exit codes. */
export const FUZZ_EXIT_OK = 0;
export const FUZZ_EXIT_UNEXPECTED = 1;
export const FUZZ_EXIT_USAGE = 2;

/** Run `pnpm fuzz` with `argv` (the arguments after the script); the exit code. */
export async function runFuzzCommand(argv: readonly string[], io: FuzzIo): Promise<number> {
  let args: ReturnType<typeof parseFuzzArgs>;
  try {
    args = parseFuzzArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(`pnpm fuzz: ${error.message}`);
    io.err(FUZZ_USAGE);
    return FUZZ_EXIT_USAGE;
  }
  let ok = true;
  for (const impl of args.impls) {
    const r = await runCampaign({
      impl,
      ops: args.ops,
      seed: args.seed,
      replay: args.replay,
      shrinkMs: args.shrinkMs,
      noSuppress: args.noSuppress,
      lift: args.lift,
      now: io.now,
      progress: args.quiet ? undefined : (line) => io.err(line),
    });
    for (const line of [summaryLine(r), ...coverageLines(r), ...failureLines(r)]) io.out(line);
    if (args.replay !== undefined) {
      ok = r.failure !== undefined;
      if (!ok) io.out(`fuzz ${impl}: the replayed run did not fail on this build`);
      continue;
    }
    const expected = impl === 'legacy' ? r.failure !== undefined : r.failure === undefined;
    if (!expected) {
      io.out(
        impl === 'legacy'
          ? `fuzz legacy: no violation in ${r.stats.ops} ops; race R1 (a stale device mapping) was expected — raise --ops or change --seed`
          : `fuzz ${impl}: a violation, where none was expected`,
      );
      ok = false;
    }
  }
  return ok ? FUZZ_EXIT_OK : FUZZ_EXIT_UNEXPECTED;
}
