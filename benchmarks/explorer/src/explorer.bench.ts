/**
 * @hmmsim/explorer benchmark: scheduling steps per second and schedules per second on a
 * two-task, 20-step scenario (independentSteps(10): two tasks of 10 steps, 21 scheduler steps
 * per schedule), for each strategy, against the bare kernel scheduler running the same tasks.
 *
 * Run: pnpm --filter @hmmsim-bench/explorer bench   (or, from this folder, `pnpm bench`)
 */
import {
  defaultChooser,
  dfsSearch,
  explore,
  independentSteps,
  runSchedule,
  type Strategy,
} from '@hmmsim/explorer';
import { createScheduler } from '@hmmsim/kernel';
import { Bench } from 'tinybench';

const STEPS_PER_TASK = 10;
const SCENARIO = independentSteps(STEPS_PER_TASK);
/** Schedules per timed operation of the strategy rows. */
const BATCH = 1000;
const TARGET_STEPS_PER_SEC = 500_000;

/** One timed operation: how many schedules and scheduler steps it runs. */
interface Work {
  readonly name: string;
  readonly fn: () => Promise<{ schedules: number; steps: number }>;
}

/** The bare kernel: a fresh scheduler, the scenario's two tasks, the default policy. */
async function bareKernel(): Promise<{ schedules: number; steps: number }> {
  const sched = createScheduler();
  const state = SCENARIO.setup(sched) as { done: number[] };
  for (const t of SCENARIO.tasks) sched.spawn(t.name, () => t.run(state, sched));
  const r = await sched.run();
  return { schedules: 1, steps: r.steps };
}

/** One schedule through the explorer's harness (default choices, no exploration). */
async function oneSchedule(): Promise<{ schedules: number; steps: number }> {
  const rec = await runSchedule(SCENARIO, defaultChooser);
  return { schedules: 1, steps: rec.steps };
}

/** DFS with a preemption bound, at most BATCH schedules. */
function dfsBatch(bound: number): () => Promise<{ schedules: number; steps: number }> {
  return async () => {
    const r = await dfsSearch(SCENARIO, { bound, maxSchedules: BATCH, visit: () => false });
    return { schedules: r.schedules, steps: r.steps };
  };
}

/** BATCH schedules of a seeded strategy. */
function seeded(strategy: Strategy): () => Promise<{ schedules: number; steps: number }> {
  return async () => {
    const r = await explore(SCENARIO, { strategy, runs: BATCH, seed: 1 });
    if (r.violation !== undefined) throw new Error(`unexpected violation: ${r.violation.message}`);
    return { schedules: r.schedules, steps: r.steps };
  };
}

const WORK: readonly Work[] = [
  { name: 'kernel only: one schedule, default policy', fn: bareKernel },
  { name: 'explorer: one schedule (harness, default choices)', fn: oneSchedule },
  { name: 'explorer dfs, bound 2: the whole space', fn: dfsBatch(2) },
  {
    name: `explorer dfs, no bound: first ${BATCH} schedules`,
    fn: dfsBatch(Number.POSITIVE_INFINITY),
  },
  { name: `explorer random: ${BATCH} schedules`, fn: seeded('random') },
  { name: `explorer pct (depth 3): ${BATCH} schedules`, fn: seeded('pct') },
];

/** Time every row; returns ms per operation and the work each operation does. */
async function measure(): Promise<
  { name: string; ms: number; schedules: number; steps: number }[]
> {
  const bench = new Bench({ name: '@hmmsim/explorer', time: 1500, iterations: 10 });
  const work = new Map<string, { schedules: number; steps: number }>();
  for (const w of WORK) {
    work.set(w.name, await w.fn());
    bench.add(w.name, async () => void (await w.fn()));
  }
  await bench.run();
  return bench.tasks.map((t) => {
    if (!('period' in t.result)) throw new Error(`task ${t.name}: ${t.result.state}`);
    const done = work.get(t.name)!;
    return { name: t.name, ms: t.result.period, ...done };
  });
}

/** Time every row, print the table and the figure against the target. */
async function main(): Promise<void> {
  const rows = await measure();
  console.table(
    rows.map((r) => ({
      task: r.name,
      'ms/op': r.ms.toFixed(4),
      'steps/schedule': (r.steps / r.schedules).toFixed(1),
      'schedules/s': Math.round((r.schedules * 1000) / r.ms).toLocaleString('en-US'),
      'steps/s': Math.round((r.steps * 1000) / r.ms).toLocaleString('en-US'),
    })),
  );
  const dfs = rows.find((r) => r.name.startsWith('explorer dfs, no bound'))!;
  const stepsPerSec = (dfs.steps * 1000) / dfs.ms;
  const verdict = stepsPerSec >= TARGET_STEPS_PER_SEC ? 'meets' : 'MISSES';
  console.log(
    `dfs: ${Math.round(stepsPerSec).toLocaleString('en-US')} steps/s, ` +
      `${Math.round((dfs.schedules * 1000) / dfs.ms).toLocaleString('en-US')} schedules/s ` +
      `(${verdict} the target of >= ${TARGET_STEPS_PER_SEC.toLocaleString('en-US')} steps/s)`,
  );
}

await main();
