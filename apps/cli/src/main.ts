#!/usr/bin/env -S npx tsx --conditions=@hmmsim/source
/**
 * The hmmsim command line. Every command has one usage text, printed by `hmmsim <command>
 * --help`; a usage error (unknown command, unknown option, bad value) is one line on stderr and
 * exit code 2, never a stack trace; `--version` prints the version.
 */
import { readFileSync } from 'node:fs';
import { type CAC, cac } from 'cac';
import { registerDemoCommand } from './commands/demo.ts';
import { processIo as exploreIo, registerExploreCommand } from './commands/explore.ts';
import { processIo as guideIo, registerGuideCommand } from './commands/guide.ts';
import { processIo as raceIo, registerRaceCommand } from './commands/race.ts';
import { registerSelftestCommand, processIo as selftestIo } from './commands/selftest.ts';
import { ensureTypeScriptLoader } from './scenario-file.ts';
import {
  ALWAYS_KNOWN,
  joinNegativeValues,
  type Lines,
  optionText,
  processLines,
  usageErrorLine,
} from './usage.ts';

/** Exit code of a usage error. */
export const CLI_EXIT_USAGE = 2;

/** Registers `hmmsim bench` (hmmsim-bench's registerBenchCommand). */
export type RegisterBench = (cli: CAC, opts: { onExit?: (code: number) => void }) => void;

/** Optional parts of the CLI. */
export interface CliParts {
  /** `hmmsim bench`; without it the command says where to run it. */
  readonly registerBench?: RegisterBench | undefined;
}

/** The version of the hmmsim command (its package.json, beside src/ and dist/ alike). */
export function cliVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  return String(manifest.version);
}

const BENCH_MISSING_USAGE = [
  'usage: hmmsim bench [options]',
  '',
  'hmmsim-bench is not installed with this copy of hmmsim: the benchmarks run from the hmmsim',
  'repository (npx pnpm hmmsim bench --help there).',
].join('\n');

/** `hmmsim bench` where hmmsim-bench is not installed (it lives in the hmmsim repository). */
function registerMissingBench(cli: CAC, io: Lines, exit: (code: number) => void): void {
  cli
    .command('bench [...args]', 'Benchmarks (from the hmmsim repository only)')
    .usage(BENCH_MISSING_USAGE)
    .allowUnknownOptions()
    .action(() => {
      io.err(
        'hmmsim bench: hmmsim-bench is not installed here; it runs from the hmmsim repository ' +
          '(pnpm hmmsim bench)',
      );
      exit(1);
    });
}

/**
 * Builds the CLI: every command writes to `io` and passes its exit code to `exit`. Help and
 * version are global options handled by runCli(), not by cac.
 */
export function buildCli(io: Lines, exit: (code: number) => void, parts: CliParts = {}): CAC {
  const cli = cac('hmmsim');
  cli.option('-h, --help', 'this text').option('-v, --version', 'the version');
  registerDemoCommand(cli, { io, onExit: exit });
  registerExploreCommand(cli, { io: exploreIo(io), onExit: exit });
  registerRaceCommand(cli, { io: raceIo(io), onExit: exit });
  registerSelftestCommand(cli, { io: selftestIo(io), onExit: exit });
  registerGuideCommand(cli, { io: guideIo(io), onExit: exit });
  if (parts.registerBench !== undefined) parts.registerBench(cli, { onExit: exit });
  else registerMissingBench(cli, io, exit);
  return cli;
}

/** The names of the commands of `cli`, in order. */
function commandNames(cli: CAC): string[] {
  return cli.commands.map((c) => c.name);
}

/** `hmmsim --help`: the commands, the global options, and where each command's usage is. */
export function globalHelp(cli: CAC): string {
  const w = Math.max(...commandNames(cli).map((n) => n.length));
  return [
    `hmmsim ${cliVersion()}: an executable model of Linux HMM (hmm_mirror and mmu_interval_notifier)`,
    '',
    'usage: hmmsim <command> [options]',
    '',
    'Commands:',
    ...cli.commands.map((c) => `  ${c.name.padEnd(w)}  ${c.description}`),
    '',
    'The three mirroring implementations are named the same in every command and output:',
    '  legacy    the v5.4 hmm_mirror API (a nouveau-style driver and its valid flag)',
    '  shim      the same driver, unchanged, on the compat shim over mmu_interval_notifier',
    "  interval  a v5.5 driver on mmu_interval_notifier itself ('native' is accepted for it)",
    '',
    'Options:',
    "  -h, --help     this text; 'hmmsim <command> --help' for a command's options",
    '  -v, --version  the version',
  ].join('\n');
}

/** Is `error` one of cac's own usage errors? */
function isCacError(error: unknown): error is Error {
  return error instanceof Error && error.name === 'CACError';
}

/**
 * Run `hmmsim …args` (the arguments after the command name): the exit code. Help, version and
 * usage errors of the host are handled here; each command checks its own options.
 */
export async function runCli(
  args: readonly string[],
  io: Lines = processLines,
  parts: CliParts = {},
): Promise<number> {
  let code = 0;
  const cli = buildCli(
    io,
    (c) => {
      code = c;
    },
    parts,
  );
  cli.parse(['node', 'hmmsim', ...joinNegativeValues(args)], { run: false });
  const command = cli.matchedCommand;
  const first = cli.args[0];
  if (command === undefined && first !== undefined) {
    io.err(
      `hmmsim: unknown command '${first}'; the commands are ${commandNames(cli).join(', ')} ` +
        '(hmmsim --help)',
    );
    return CLI_EXIT_USAGE;
  }
  if (cli.options['version']) {
    io.out(`hmmsim ${cliVersion()}`);
    return 0;
  }
  if (command === undefined) {
    const unknown = Object.keys(cli.options).find((o) => !ALWAYS_KNOWN.includes(o));
    if (unknown !== undefined) {
      io.err(`hmmsim: unknown option ${optionText(unknown)} (hmmsim --help)`);
      return CLI_EXIT_USAGE;
    }
    io.out(globalHelp(cli));
    return 0;
  }
  if (cli.options['help']) {
    io.out(command.usageText ?? globalHelp(cli));
    return 0;
  }
  try {
    await cli.runMatchedCommand();
  } catch (error) {
    // Every command checks its own options and arguments; this is the net under them.
    if (!isCacError(error)) throw error;
    io.err(usageErrorLine(command.name, error.message.replaceAll('`', "'")));
    return CLI_EXIT_USAGE;
  }
  return code;
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
  process.exitCode = await runCli(argv.slice(2), processLines, {
    registerBench: await loadBench(),
  });
}

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) await main();
