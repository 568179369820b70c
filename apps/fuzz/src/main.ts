#!/usr/bin/env -S npx tsx --conditions=@hmmsim/source
/**
 * `pnpm fuzz [--ops N] [--seed S] [--impl legacy|shim|interval|all] [--replay SEED:PATH@RP]
 * [--shrink-ms MS] [--no-suppress | --lift IDS] [--quiet]` (see cli.ts and the README). The only place that
 * reads the wall clock: to report ops/s.
 */
import { runFuzzCommand } from './cli.ts';

process.exitCode = await runFuzzCommand(process.argv.slice(2), {
  out: (line) => void process.stdout.write(`${line}\n`),
  err: (line) => void process.stderr.write(`${line}\n`),
  now: () => performance.now(),
});
