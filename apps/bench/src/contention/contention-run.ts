/**
 * One contention run: CPU1 faults the driver's range `calls` times in a row (write requests on
 * populated pages, so every attempt costs the same), checking the device against the CPU page
 * table after each fault (the stale-mapping oracle); CPU0 moves pages of the address space
 * whenever an invalidation is due. Everything is counted in the faulting CPU's scheduler time.
 */
import { deviceMirrorViolations } from '@hmmsim/hmm-mirror';
import type { Random, Scheduler } from '@hmmsim/kernel';
import type { Impl } from '../drivers/impl.ts';
import { type ContentionLayout, inRange } from './contention-layout.ts';
import { type ContentionWorld, createContentionWorld } from './contention-world.ts';
import type { ArrivalSource } from './two-cpu-policy.ts';

/** What one run saw. */
export interface ContentionRunResult {
  /** Faults (driver fault() calls), all successful. */
  readonly calls: number;
  /** Faults whose first attempt had to retry (the Bernoulli trials of the prediction). */
  readonly firstAttemptRetries: number;
  /** Retries over all attempts. */
  readonly retries: number;
  /** Invalidations issued, and those overlapping the range. */
  readonly invalidations: number;
  readonly overlapping: number;
  /** Retries beyond the overlapping invalidations that arrived during their fault. */
  readonly unexplainedRetries: number;
  /** Device entries the oracle found stale (or writable without CPU write) after a fault. */
  readonly staleMappings: number;
  /** The faulting CPU's scheduler time, in virtual ns. */
  readonly faultingNs: number;
  /** Steps at which the faulting CPU was offered to the policy (probe calibration). */
  readonly faultingSteps: number;
  /** Tries of each fault (probe calibration). */
  readonly tries: readonly number[];
}

/** Counters the two CPUs share. */
interface Shared {
  done: boolean;
  invalidations: number;
  overlapping: number;
}

const IDLE = { kind: 'bench.idle', label: 'invalidating CPU idle' } as const;

/** CPU0: issue every due invalidation (a page move of a uniformly drawn page), else idle. */
async function invalidatingCpu(
  w: ContentionWorld,
  l: ContentionLayout,
  pickPage: () => number,
  s: Shared,
): Promise<void> {
  while (!s.done) {
    while (w.policy.due()) {
      w.policy.busy = true;
      const page = pickPage();
      s.invalidations++;
      if (inRange(l, page)) s.overlapping++;
      await w.mover.move(page);
      w.policy.arrivals.consume();
    }
    w.policy.busy = false;
    await w.sched.point(IDLE);
  }
}

/** Mutable tallies of the faulting CPU. */
interface Tally {
  firstAttemptRetries: number;
  retries: number;
  unexplained: number;
  stale: number;
  tries: number[];
}

/** CPU1: `calls` faults, each followed by the oracle. */
async function faultingCpu(w: ContentionWorld, calls: number, s: Shared, t: Tally): Promise<void> {
  const d = w.driver;
  for (let c = 0; c < calls; c++) {
    const overlapBefore = s.overlapping;
    await d.fault(true);
    const tries = d.faults[d.faults.length - 1]!.tries;
    t.tries.push(tries);
    if (tries > 1) t.firstAttemptRetries++;
    t.retries += tries - 1;
    t.unexplained += Math.max(0, tries - 1 - (s.overlapping - overlapBefore));
    t.stale += deviceMirrorViolations(d.dev, w.mm).length;
  }
  s.done = true;
}

/** Run both CPUs to completion; throws if either failed. */
async function runBoth(sched: Scheduler, what: string): Promise<void> {
  const r = await sched.run();
  if (r.errors.length > 0) throw new Error(`${what}: ${String(r.errors[0]!.error)}`);
  if (r.deadlock !== undefined) throw new Error(`${what}: ${r.deadlock.message}`);
}

/** One run of `calls` faults of `impl` under `arrivals`, pages drawn from `random`. */
export async function runContention(
  impl: Impl,
  l: ContentionLayout,
  arrivals: ArrivalSource,
  random: Random,
  calls: number,
): Promise<ContentionRunResult> {
  const w = await createContentionWorld(impl, l, arrivals);
  const s: Shared = { done: false, invalidations: 0, overlapping: 0 };
  const t: Tally = { firstAttemptRetries: 0, retries: 0, unexplained: 0, stale: 0, tries: [] };
  w.policy.faulting = w.sched.spawn('cpu1-fault', () => faultingCpu(w, calls, s, t));
  w.policy.invalidating = w.sched.spawn('cpu0-invalidate', () =>
    invalidatingCpu(w, l, () => random.nextInt(l.spacePages), s),
  );
  await runBoth(w.sched, `contention run (${impl})`);
  await w.driver.unbind();
  return {
    calls,
    firstAttemptRetries: t.firstAttemptRetries,
    retries: t.retries,
    invalidations: s.invalidations,
    overlapping: s.overlapping,
    unexplainedRetries: t.unexplained,
    staleMappings: t.stale,
    faultingNs: w.policy.faultingNs,
    faultingSteps: w.policy.faultingSteps,
    tries: t.tries,
  };
}
