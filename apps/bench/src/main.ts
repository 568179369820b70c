#!/usr/bin/env -S npx tsx --conditions=@hmmsim/source
/**
 * Standalone host of the bench command (`tsx --conditions=@hmmsim/source apps/bench/src/main.ts
 * bench …`), wired as apps/cli wires `hmmsim bench`: `--help` prints BENCH_USAGE, a negative
 * number after an option is that option's value, anything else is a one-line error (exit 2).
 */
import { cac } from 'cac';
import { BENCH_USAGE } from './cli/args.ts';
import { BENCH_EXIT_USAGE, registerBenchCommand } from './command.ts';

/** `--seed -1` as `--seed=-1`, so the parser does not read `-1` as a flag. */
function joinNegativeValues(args: readonly string[]): string[] {
  const out: string[] = [];
  for (const a of args) {
    const prev = out.at(-1);
    if (/^-\d/.test(a) && prev?.startsWith('--') && !prev.includes('=') && prev !== '--') {
      out[out.length - 1] = `${prev}=${a}`;
    } else out.push(a);
  }
  return out;
}

const cli = cac('hmmsim');
cli.option('-h, --help', '');
registerBenchCommand(cli);
try {
  const [node = 'node', script = 'main.ts', ...rest] = process.argv;
  cli.parse([node, script, ...joinNegativeValues(rest)], { run: false });
  if (cli.matchedCommand === undefined) {
    const what = cli.args[0] === undefined ? 'no command' : `unknown command '${cli.args[0]}'`;
    process.stderr.write(`hmmsim: ${what}; this host runs only 'bench'\n`);
    process.exitCode = BENCH_EXIT_USAGE;
  } else if (cli.options['help']) {
    process.stdout.write(`${BENCH_USAGE}\n`);
  } else {
    await cli.runMatchedCommand();
  }
} catch (error) {
  process.stderr.write(`hmmsim: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = BENCH_EXIT_USAGE;
}
