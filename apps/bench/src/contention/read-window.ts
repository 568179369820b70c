/**
 * Calibration of W, the read section's length in scheduler time: with two faults in a row and
 * one invalidation of a page inside the range injected before the k-th step of the faulting CPU,
 * the steps k after which the second fault's first attempt retries are the read section of that
 * attempt. W = their number × the scheduler's ns per step. The same probe with a page just
 * outside the range shows whether a non-overlapping invalidation can cause a retry.
 */
import { createRandom } from '@hmmsim/kernel';
import type { Impl } from '../drivers/impl.ts';
import type { ContentionLayout } from './contention-layout.ts';
import { runContention } from './contention-run.ts';
import { ProbeArrival } from './probe-arrivals.ts';

/** Virtual ns per scheduling step (the scheduler's default). */
export const NS_PER_STEP = 1000;

/** What the probe found for one implementation. */
export interface ReadWindow {
  /** Steps of the faulting CPU over the two faults (without invalidations). */
  readonly steps: number;
  /** Steps before which an overlapping invalidation made the second fault retry. */
  readonly retrySteps: readonly number[];
  /** Steps before which an overlapping invalidation left a stale device mapping. */
  readonly staleSteps: readonly number[];
  /** Steps before which a non-overlapping invalidation made a fault retry. */
  readonly nonOverlapRetrySteps: readonly number[];
  /** W in ns: retrySteps.length × NS_PER_STEP. */
  readonly wNs: number;
}

/** A run of two faults with one invalidation of `page` before faulting step `at`. */
async function probeAt(impl: Impl, l: ContentionLayout, at: number, page: number) {
  const random = { nextU32: () => 0, nextFloat: () => 0, nextInt: () => page };
  return runContention(impl, l, new ProbeArrival(at), random, 2);
}

/** Probe every step of two faults of `impl`. */
export async function probeReadWindow(impl: Impl, l: ContentionLayout): Promise<ReadWindow> {
  const clean = await runContention(impl, l, new ProbeArrival(0), createRandom(0), 2);
  const inside = l.rangeFirst + (l.rangePages >> 1);
  const outside = l.rangeFirst + l.rangePages;
  const retrySteps: number[] = [];
  const staleSteps: number[] = [];
  const nonOverlapRetrySteps: number[] = [];
  for (let k = 1; k <= clean.faultingSteps; k++) {
    const hit = await probeAt(impl, l, k, inside);
    if (hit.tries[1]! > 1) retrySteps.push(k);
    if (hit.staleMappings > 0) staleSteps.push(k);
    const miss = await probeAt(impl, l, k, outside);
    if (miss.retries > 0) nonOverlapRetrySteps.push(k);
  }
  return {
    steps: clean.faultingSteps,
    retrySteps,
    staleSteps,
    nonOverlapRetrySteps,
    wNs: retrySteps.length * NS_PER_STEP,
  };
}
