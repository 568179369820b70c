/**
 * Every benchmark case of a plan, in run order: fault throughput (ascending range sizes, 4 KiB
 * pages then THP), invalidation scaling (ranges, mirrors), contention (per implementation) and
 * memory; and the selection --filter makes (an implementation's alias matches too).
 */
import { contentionCase } from '../contention/contention-case.ts';
import { IMPL_ALIASES, IMPLS } from '../drivers/impl.ts';
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

/**
 * A case id and its spellings with an implementation's alias ('contention/interval' is also
 * 'contention/native').
 */
export function idSpellings(id: string): string[] {
  const parts = id.split('/');
  const out = [id];
  for (const [alias, impl] of Object.entries(IMPL_ALIASES)) {
    if (parts.includes(impl)) out.push(parts.map((p) => (p === impl ? alias : p)).join('/'));
  }
  return out;
}

/** The cases whose id (or its spelling with an alias) matches `filter`; all when it is null. */
export function selectCases(cases: readonly BenchCase[], filter: RegExp | null): BenchCase[] {
  if (filter === null) return [...cases];
  return cases.filter((c) => idSpellings(c.id).some((id) => filter.test(id)));
}
