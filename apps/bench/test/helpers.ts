/**
 * Test doubles of the bench command's io: captured stdout/stderr lines, files on disk (or in
 * memory), a fixed date and environment, and plain-line progress.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { cac } from 'cac';
import type { BenchIo } from '../src/cli/bench-io.ts';
import { lineProgress } from '../src/cli/progress.ts';
import { registerBenchCommand } from '../src/command.ts';
import type { Environment } from '../src/results/schema.ts';

/** A fixed environment (the real one is covered by the run tests' schema check). */
export const TEST_ENVIRONMENT: Environment = {
  machine: { platform: 'linux', arch: 'x64', cpus: 2, cpuModel: 'test', totalMemoryBytes: 2 ** 34 },
  node: 'v20.0.0',
  commit: 'abcdef1',
  dirty: false,
};

/** An io that records lines; files go to disk when `disk`, else into `files`. */
export function captureIo(disk: boolean): BenchIo & {
  readonly stdout: string[];
  readonly stderr: string[];
  readonly files: Map<string, string>;
} {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const files = new Map<string, string>();
  const now = () => performance.now();
  return {
    stdout,
    stderr,
    files,
    out: (l) => void stdout.push(l),
    err: (l) => void stderr.push(l),
    writeFile(path, text) {
      files.set(path, text);
      if (!disk) return;
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
    },
    now,
    date: () => new Date('2026-01-02T03:04:05.000Z'),
    environment: () => TEST_ENVIRONMENT,
    progress: () => lineProgress((l) => void stderr.push(l), now),
  };
}

/** Run `hmmsim bench ...argv` through a real cac instance; the exit code and the io. */
export async function runCli(argv: readonly string[], disk = false) {
  const io = captureIo(disk);
  let exit = -1;
  const cli = cac('hmmsim');
  registerBenchCommand(cli, {
    io,
    onExit: (c) => {
      exit = c;
    },
  });
  cli.option('-h, --help', ''); // as the hmmsim host declares it
  cli.parse(['node', 'hmmsim', 'bench', ...argv], { run: false });
  const returned = await cli.runMatchedCommand();
  return { code: exit, returned, io };
}
