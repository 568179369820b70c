/**
 * Every benchmark case of a plan, in run order: fault throughput (ascending range sizes, 4 KiB
 * pages then THP), invalidation scaling (ranges, mirrors), contention (per implementation) and
 * memory; and the selection --filter makes.
 */
import { contentionCase } from '../contention/contention-case.ts';
import { IMPLS } from '../drivers/impl.ts';
import { scalingCase } from '../invalidation/scaling-case.ts';
import { memoryCase } from '../memory/memory-case.ts';
import { throughputCase } from '../throughput/throughput-case.ts';
import type { BenchCase } from './bench-case.ts';
import type { BenchPlan, PageKind } from './plan.ts';

/** All cases of `plan`. */
export function planCases(plan: BenchPlan): BenchCase[] {
  const reps = plan.repetitions;
  const kinds: readonly PageKind[] = ['4k', 'thp'];
  return [
    ...kinds.flatMap((k) => plan.throughput.sizes[k].map((b) => throughputCase(k, b, reps))),
    scalingCase('ranges', plan.invalidation.ranges, reps),
    scalingCase('mirrors', plan.invalidation.mirrors, reps),
    ...IMPLS.map((impl) => contentionCase(impl, reps)),
    memoryCase(reps),
  ];
}

/** The cases whose id matches `filter` (all when it is null). */
export function selectCases(cases: readonly BenchCase[], filter: RegExp | null): BenchCase[] {
  return filter === null ? [...cases] : cases.filter((c) => filter.test(c.id));
}
