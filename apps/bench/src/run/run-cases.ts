/**
 * Running the selected cases one after another with a progress sink, collecting their
 * measurements.
 */
import type { Measurement } from '../results/schema.ts';
import type { BenchCase, CaseContext } from './bench-case.ts';
import type { BenchPlan } from './plan.ts';

/** Where progress goes: a total, then one step per unit of work. */
export interface ProgressSink {
  start(total: number): void;
  step(label: string): void;
  stop(): void;
}

/** What running the cases needs. */
export interface RunCasesOptions {
  readonly plan: BenchPlan;
  readonly seed: number;
  readonly now: () => number;
  readonly progress: ProgressSink;
}

/** Run `cases` in order; every measurement they made. */
export async function runCases(
  cases: readonly BenchCase[],
  o: RunCasesOptions,
): Promise<Measurement[]> {
  o.progress.start(cases.reduce((a, c) => a + c.units, 0));
  const ctx: CaseContext = {
    plan: o.plan,
    seed: o.seed,
    now: o.now,
    tick: (l) => o.progress.step(l),
  };
  const out: Measurement[] = [];
  try {
    for (const c of cases) out.push(...(await c.run(ctx)));
  } finally {
    o.progress.stop();
  }
  return out;
}
