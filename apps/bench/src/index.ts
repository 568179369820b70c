/**
 * hmmsim-bench: the `hmmsim bench` command (registerBenchCommand for the hmmsim CLI, and the
 * pure runBenchCommand), the results.json schema and its validator.
 */
export { BENCH_USAGE, type BenchCommandInput, parseBenchArgs, UsageError } from './cli/args.ts';
export type { BenchIo } from './cli/bench-io.ts';
export { processIo } from './cli/process-io.ts';
export {
  BENCH_EXIT_FAILED,
  BENCH_EXIT_OK,
  BENCH_EXIT_USAGE,
  type RegisterBenchOptions,
  registerBenchCommand,
  runBenchCommand,
} from './command.ts';
export * from './results/schema.ts';
export { validateResults } from './results/validate.ts';
