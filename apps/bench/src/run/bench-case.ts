/**
 * A benchmark case: the unit that --filter selects and the progress bar counts. Each case builds
 * its own worlds, measures all its figures (and their baselines, so ratios come from the same
 * run) and tears the worlds down.
 */
import type { Measurement } from '../results/schema.ts';
import type { BenchPlan } from './plan.ts';

/** What a case gets to run. */
export interface CaseContext {
  readonly plan: BenchPlan;
  /** Seed of the seeded random sources (contention). */
  readonly seed: number;
  /** Wall clock in ms (injected: only apps read wall-clock time). */
  readonly now: () => number;
  /** Report one unit of progress. */
  readonly tick: (label: string) => void;
}

/** One selectable benchmark. */
export interface BenchCase {
  /** Matched by --filter, e.g. 'fault-throughput/4k/64KiB', 'invalidation-ranges'. */
  readonly id: string;
  /** Units of progress the case reports. */
  readonly units: number;
  /** Measure; every measurement id starts with the case's scenario. */
  run(ctx: CaseContext): Promise<Measurement[]>;
}
