#!/usr/bin/env -S npx tsx --conditions=@hmmsim/source
/** The hmmsim command line. */
import { type CAC, cac } from 'cac';
import { runDemo } from './commands/demo.ts';
import { registerExploreCommand } from './commands/explore.ts';
import { registerRaceCommand, runRaceSummary } from './commands/race.ts';
import { registerSelftestCommand } from './commands/selftest.ts';
import { ensureTypeScriptLoader } from './scenario-file.ts';

/** Registers `hmmsim bench` (hmmsim-bench's registerBenchCommand). */
export type RegisterBench = (cli: CAC, opts: { onExit?: (code: number) => void }) => void;

/** Optional parts of the CLI. */
export interface CliParts {
  /** `hmmsim bench`; without it the command says where to run it. */
  readonly registerBench?: RegisterBench | undefined;
}

/** `hmmsim bench` where hmmsim-bench is not installed (it lives in the hmmsim repository). */
function registerMissingBench(
  cli: CAC,
  err: (line: string) => void,
  exit: (code: number) => void,
): void {
  cli
    .command('bench [...args]', 'Benchmarks (run from the hmmsim repository: pnpm hmmsim bench)')
    .allowUnknownOptions()
    .action(() => {
      err(
        'hmmsim bench: hmmsim-bench is not installed here; it runs from the hmmsim repository ' +
          '(pnpm hmmsim bench)',
      );
      exit(1);
    });
}

/** Builds the CLI; `exit` receives each command's exit code. */
export function buildCli(
  out: (line: string) => void,
  exit: (code: number) => void,
  parts: CliParts = {},
) {
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
  if (parts.registerBench !== undefined) parts.registerBench(cli, { onExit: exit });
  else registerMissingBench(cli, (l) => console.error(l), exit);
  cli.help();
  return cli;
}

/**
 * hmmsim-bench's command, when installed: it is a development dependency (absent from a packed
 * CLI) shipped as TypeScript, so the compiled CLI registers tsx before importing it.
 */
async function loadBench(): Promise<RegisterBench | undefined> {
  let url: string;
  try {
    url = import.meta.resolve('hmmsim-bench');
  } catch {
    return undefined;
  }
  if (/\.[mc]?ts$/.test(url)) await ensureTypeScriptLoader();
  const bench = await import('hmmsim-bench');
  return bench.registerBenchCommand;
}

/** Run the CLI on `argv` (node, script, args…); sets process.exitCode. */
export async function main(argv: readonly string[] = process.argv): Promise<void> {
  // `hmmsim explore … | head`: a closed pipe ends the output quietly, not with a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
  const cli = buildCli(
    (line) => console.log(line),
    (code) => {
      process.exitCode = code;
    },
    { registerBench: await loadBench() },
  );
  cli.parse([...argv], { run: false });
  if (cli.matchedCommand === undefined && !cli.options['help']) {
    cli.outputHelp();
    process.exitCode = cli.args.length > 0 ? 2 : 0;
  } else {
    await cli.runMatchedCommand();
  }
}

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) await main();
