/**
 * Repeated runs of one suite: the machine is noisy, so each task is measured in several runs and
 * reported with its spread; all tasks of a run are measured back to back, so ratios between them
 * can be taken within a run.
 */
import { type BenchTask, runSuite, type SuiteOptions } from './suite.ts';

/** Mean ms per operation of each task, one value per run (in run order). */
export type RunSamples = ReadonlyMap<string, readonly number[]>;

/** Runs the suite `runs` times; `afterRun(i)` is called after run i (progress). */
export async function runRepeated(
  name: string,
  tasks: readonly BenchTask[],
  runs: number,
  opts: SuiteOptions = {},
  afterRun: (run: number) => void = () => {},
): Promise<RunSamples> {
  const samples = new Map<string, number[]>(tasks.map(([task]) => [task, []]));
  for (let run = 0; run < runs; run++) {
    for (const row of await runSuite(name, tasks, opts)) samples.get(row.task)?.push(row.ms);
    afterRun(run);
  }
  return samples;
}
