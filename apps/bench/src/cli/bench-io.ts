/**
 * Everything `hmmsim bench` does to the outside world, as one injected object: output lines,
 * files, the wall clock, the machine description and the progress display. Tests pass their own.
 */
import type { Environment } from '../results/schema.ts';
import type { ProgressSink } from '../run/run-cases.ts';

/** The command's side effects. */
export interface BenchIo {
  /** A line on stdout. */
  out(line: string): void;
  /** A line on stderr. */
  err(line: string): void;
  /** Write a text file, creating its folder. */
  writeFile(path: string, text: string): void;
  /** Monotonic wall-clock milliseconds (measurements and durations). */
  now(): number;
  /** The current date (results.json's startedAt). */
  date(): Date;
  /** Machine, Node version and commit. */
  environment(): Environment;
  /** A progress display for one run. */
  progress(): ProgressSink;
}
