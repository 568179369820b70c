#!/usr/bin/env -S npx tsx --conditions=@hmmsim/source
/**
 * Standalone host of the bench command (`tsx --conditions=@hmmsim/source apps/bench/src/main.ts
 * bench …`), the same wiring apps/cli uses for `hmmsim bench`.
 */
import { cac } from 'cac';
import { registerBenchCommand } from './command.ts';

const cli = cac('hmmsim');
registerBenchCommand(cli);
cli.help();
cli.parse(process.argv, { run: false });
if (cli.matchedCommand === undefined && !cli.options['help']) {
  cli.outputHelp();
  process.exitCode = cli.args.length > 0 ? 2 : 0;
} else {
  await cli.runMatchedCommand();
}
