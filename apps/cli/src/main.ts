#!/usr/bin/env -S npx tsx --conditions=@hmmsim/source
/** The hmmsim command line. */
import { cac } from 'cac';
import { registerBenchCommand } from 'hmmsim-bench';
import { runDemo } from './commands/demo.ts';
import { registerExploreCommand } from './commands/explore.ts';
import { registerRaceCommand, runRaceSummary } from './commands/race.ts';
import { registerSelftestCommand } from './commands/selftest.ts';

/** Builds the CLI; `exit` receives each command's exit code. */
export function buildCli(out: (line: string) => void, exit: (code: number) => void) {
  const cli = cac('hmmsim');
  cli
    .command(
      'demo',
      'Map memory, fault it in, fork, unmap and print the invalidations the mm fired; then run the seed race on all three mirror implementations',
    )
    .action(async () => {
      const mmCode = await runDemo(out);
      out('');
      const raceOk = await runRaceSummary(out);
      exit(mmCode === 0 && raceOk ? 0 : 1);
    });
  registerExploreCommand(cli, { onExit: exit });
  registerRaceCommand(cli, { onExit: exit });
  registerSelftestCommand(cli, { onExit: exit });
  registerBenchCommand(cli, { onExit: exit });
  cli.help();
  return cli;
}

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  const cli = buildCli(
    (line) => console.log(line),
    (code) => {
      process.exitCode = code;
    },
  );
  cli.parse(process.argv, { run: false });
  if (cli.matchedCommand === undefined && !cli.options['help']) {
    cli.outputHelp();
    process.exitCode = cli.args.length > 0 ? 2 : 0;
  } else {
    await cli.runMatchedCommand();
  }
}
