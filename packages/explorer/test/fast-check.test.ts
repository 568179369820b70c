import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  fcExplore,
  runHints,
  ScheduleViolationError,
  scheduleArbitrary,
} from '../src/fast-check.ts';
import { lostUpdate, lostUpdateMutex, replaySchedule } from '../src/index.ts';

describe('fast-check integration', () => {
  it('fc.check finds the lost update, shrinks it to one preemption and reports the seed', async () => {
    const details = await fc.check(fcExplore(lostUpdate), { seed: 42, numRuns: 300 });
    expect(details.failed).toBe(true);
    console.log(
      `fast-check: lost update found with seed ${details.seed}, counterexample ${JSON.stringify(details.counterexample)} after ${details.numShrinks} shrinks`,
    );
    const err = details.errorInstance;
    expect(err).toBeInstanceOf(ScheduleViolationError);
    const v = (err as ScheduleViolationError).violation;
    expect(v.kind).toBe('final-check');
    expect(v.preemptions).toBe(1);
    const o = await replaySchedule(lostUpdate, v.schedule);
    expect(o.failure?.message).toBe(v.message);
    const [hints] = details.counterexample!;
    expect((await runHints(lostUpdate, hints)).schedule).toBe(v.schedule);
  });

  it('fc.assert fails with the seed, and the replayable schedule in the cause', async () => {
    const error = await fc.assert(fcExplore(lostUpdate), { seed: 42, numRuns: 300 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/seed: 42/);
    expect(String((error as Error).cause)).toMatch(
      /final-check in scenario 'lost-update' \(replay with schedule '1\.1\.2', 1 preemption\(s\)\)/,
    );
  });

  it('fc.assert passes for the mutex variant', async () => {
    await fc.assert(fcExplore(lostUpdateMutex), { seed: 1, numRuns: 200 });
  });

  it('draws hint lists within the requested bounds', () => {
    const samples = fc.sample(scheduleArbitrary({ maxDecisions: 5, maxHint: 2 }), {
      seed: 3,
      numRuns: 50,
    });
    for (const s of samples) {
      expect(s.length).toBeLessThanOrEqual(5);
      for (const h of s) expect(h).toBeLessThanOrEqual(2);
    }
  });
});
