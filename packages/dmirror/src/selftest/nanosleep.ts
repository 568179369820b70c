/**
 * A nanosecond delay on the virtual clock: scheduling points until `ns` have passed (each point
 * advances the clock by the scheduler's nsPerStep). Under the free-running policy the sleeper
 * keeps the CPU; under the random policy every point is a chance for the other CPU to run.
 *
 * Mirrors tools/testing/selftests/mm/hmm-tests.c:hmm_nanosleep() (a busy-wait stand-in for
 * nanosleep(2), whose sub-jiffy delays the model's timers cannot express).
 */
import type { SchedEvent, Scheduler } from '@hmmsim/kernel';

const EV: SchedEvent = { kind: 'selftest.nanosleep', label: 'hmm_nanosleep' };

/** Let `ns` virtual nanoseconds pass. Mirrors hmm-tests.c:hmm_nanosleep(). */
export async function hmmNanosleep(sched: Scheduler, ns: number): Promise<void> {
  const until = sched.clock.now + ns;
  while (sched.clock.now < until) await sched.point(EV);
}
