/**
 * The real BenchIo: stdout and stderr lines, files under the output folder, performance.now,
 * the os and git environment, and a progress bar on a TTY stderr (plain lines otherwise).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { BenchIo } from './bench-io.ts';
import { readEnvironment } from './environment.ts';
import { barProgress, lineProgress } from './progress.ts';

/** The process's BenchIo. */
export function processIo(): BenchIo {
  const err = (line: string) => void process.stderr.write(`${line}\n`);
  const now = () => performance.now();
  return {
    out: (line) => void process.stdout.write(`${line}\n`),
    err,
    writeFile(path, text) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
    },
    now,
    date: () => new Date(),
    environment: () => readEnvironment(),
    progress: () => (process.stderr.isTTY ? barProgress(process.stderr) : lineProgress(err, now)),
  };
}
