/**
 * Shared benchmark plumbing: run a tinybench suite and get one row per task (mean time per
 * operation), and measure the JS heap + ArrayBuffer bytes in use after a full GC.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Bench } from 'tinybench';

/** One measured task: its name and mean milliseconds per operation. */
export interface Row {
  readonly task: string;
  readonly ms: number;
}

/** A task: name, the operation, and an optional set-up run before each operation (not timed). */
export type BenchTask = readonly [
  name: string,
  fn: () => unknown,
  beforeEach?: (() => void | Promise<void>) | undefined,
];

/** tinybench settings of a suite. */
export interface SuiteOptions {
  /** Minimum time per task in ms (default 1500). */
  readonly time?: number;
  /** Minimum iterations per task (default 20). */
  readonly iterations?: number;
  /** Warm-up time per task in ms (tinybench's default when absent). */
  readonly warmupTime?: number;
  /** Warm-up iterations per task (tinybench's default when absent). */
  readonly warmupIterations?: number;
}

/** Runs the tasks one after another and returns their mean time per operation; throws if one failed. */
export async function runSuite(
  name: string,
  tasks: readonly BenchTask[],
  opts: SuiteOptions = {},
): Promise<Row[]> {
  const bench = new Bench({
    name,
    time: opts.time ?? 1500,
    iterations: opts.iterations ?? 20,
    ...(opts.warmupTime === undefined ? {} : { warmupTime: opts.warmupTime }),
    ...(opts.warmupIterations === undefined ? {} : { warmupIterations: opts.warmupIterations }),
  });
  // `async: true` for every task: tinybench would otherwise call each task once, unawaited and
  // outside beforeEach, to detect whether it returns a promise — which corrupts stateful async
  // tasks. Awaiting a synchronous task costs one microtask per sample (< 1% of any task here).
  for (const [task, fn, beforeEach] of tasks) {
    const fnOpts = beforeEach === undefined ? { async: true } : { async: true, beforeEach };
    bench.add(task, fn as () => Promise<void>, fnOpts);
  }
  await bench.run();
  return bench.tasks.map((t) => {
    if (!('period' in t.result)) throw new Error(`task ${t.name}: ${t.result.state}`);
    return { task: t.name, ms: t.result.period };
  });
}

/** Mean ms of the named row; throws if the suite has no such row. */
export function msOf(rows: readonly Row[], task: string): number {
  const row = rows.find((r) => r.task === task);
  if (row === undefined) throw new Error(`no benchmark row named '${task}'`);
  return row.ms;
}

let gc: (() => void) | undefined;

/** JS heap + ArrayBuffer bytes in use after two full GCs (enables --expose-gc on first use). */
export function jsBytes(): number {
  if (gc === undefined) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}
