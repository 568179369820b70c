/**
 * Running a tinybench suite into rows: one mean time per operation per task.
 */
import { Bench } from 'tinybench';

/** One measured task: its name and milliseconds per operation (mean unless asked otherwise). */
export interface Row {
  readonly task: string;
  readonly ms: number;
}

/**
 * A task: name, the operation, an optional set-up run before each operation (not timed), and
 * whether the operation is async (default true; pass false for a synchronous operation whose
 * time is of the order of one microtask, such as a raw-fill baseline).
 */
export type BenchTask = readonly [
  name: string,
  fn: () => unknown,
  beforeEach?: (() => void | Promise<void>) | undefined,
  async?: boolean | undefined,
];

/** tinybench settings of a suite. */
export interface SuiteOptions {
  /** Minimum time per task in ms (default 1500). */
  readonly time?: number;
  /** Minimum iterations per task (default 20). */
  readonly iterations?: number;
  /** Warm-up time per task in ms (tinybench's default when absent). */
  readonly warmupTime?: number;
  /** Warm-up iterations per task (tinybench's default when absent; 0 with warmupTime 0: none). */
  readonly warmupIterations?: number;
  /** The clock in ms (default performance.now): callers that own wall-clock time inject it. */
  readonly now?: () => number;
  /**
   * What a row reports: the mean time per operation (default), or the median of the operations'
   * times, which a garbage-collection pause during a few of thousands of operations cannot move.
   */
  readonly statistic?: 'mean' | 'median';
}

/** tinybench's constructor options for a suite: only the settings that were given. */
function benchOptions(name: string, opts: SuiteOptions) {
  return {
    name,
    time: opts.time ?? 1500,
    iterations: opts.iterations ?? 20,
    ...(opts.warmupTime === undefined ? {} : { warmupTime: opts.warmupTime }),
    ...(opts.warmupIterations === undefined ? {} : { warmupIterations: opts.warmupIterations }),
    ...(opts.now === undefined ? {} : { now: opts.now }),
  };
}

/** Runs the tasks one after another and returns their time per operation; throws if one failed. */
export async function runSuite(
  name: string,
  tasks: readonly BenchTask[],
  opts: SuiteOptions = {},
): Promise<Row[]> {
  const bench = new Bench(benchOptions(name, opts));
  // `async` is always given: tinybench would otherwise call each task once, unawaited and
  // outside beforeEach, to detect whether it returns a promise — which corrupts stateful async
  // tasks. Awaiting a synchronous task costs one microtask per sample (< 1% of any task here).
  for (const [task, fn, beforeEach, async] of tasks) {
    bench.add(task, fn as () => Promise<void>, {
      async: async ?? true,
      ...(beforeEach === undefined ? {} : { beforeEach }),
    });
  }
  await bench.run();
  return bench.tasks.map((t) => {
    if (!('period' in t.result)) {
      const error = 'error' in t.result ? `: ${String(t.result.error)}` : '';
      throw new Error(`task ${t.name}: ${t.result.state}${error}`);
    }
    return {
      task: t.name,
      ms: opts.statistic === 'median' ? t.result.latency.p50 : t.result.period,
    };
  });
}

/** Mean ms of the named row; throws if the suite has no such row. */
export function msOf(rows: readonly Row[], task: string): number {
  const row = rows.find((r) => r.task === task);
  if (row === undefined) throw new Error(`no benchmark row named '${task}'`);
  return row.ms;
}
