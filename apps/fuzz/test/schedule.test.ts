import { PctChooser } from '@hmmsim/explorer';
import { createRandom, createScheduler, type SchedulePolicy } from '@hmmsim/kernel';
import { describe, expect, it } from 'vitest';
import { type ScheduleSpec, STARVATION_LIMIT, SwitchablePolicy } from '../src/schedule.ts';

/** CPU 0 spins (a scheduling point per turn) until CPU 1 sets a flag; `start` arms the policy. */
async function spin(policy: SchedulePolicy, start: () => void) {
  const sched = createScheduler({ policy, maxSteps: 20_000 });
  let flag = false;
  let spins = 0;
  sched.spawn('cpu0 spin', async () => {
    while (!flag) {
      spins++;
      await sched.point({ kind: 'test', label: 'spin' });
    }
  });
  sched.spawn('cpu1 set', async () => {
    await sched.point({ kind: 'test', label: 'before set' });
    flag = true;
  });
  start();
  const r = await sched.run();
  return { r, spins };
}

/** The spin under the fuzzer's policy running `spec`. */
async function fuzzSpin(spec: ScheduleSpec) {
  const policy = new SwitchablePolicy();
  const { r, spins } = await spin(policy, () => policy.begin(spec, 4));
  return { r, spins, stats: policy.end() };
}

describe('the per-step schedule', () => {
  it("the explorer's plain PCT starves the CPU the spinner waits for (what the bound prevents)", async () => {
    let livelocks = 0;
    for (let seed = 0; seed < 20; seed++) {
      const pct = new PctChooser(createRandom(seed), 3, 4);
      let d = 0;
      const policy: SchedulePolicy = { pick: (ctx) => pct.choose(ctx, d++) };
      if ((await spin(policy, () => {})).r.stepLimitReached) livelocks++;
    }
    expect(livelocks).toBeGreaterThan(0);
  });

  it('under the fuzzer PCT cannot starve a CPU another one busy-waits for', async () => {
    for (let seed = 0; seed < 20; seed++) {
      const { r, spins, stats } = await fuzzSpin({ strategy: 'pct', seed });
      expect(r.stepLimitReached).toBe(false);
      expect(spins).toBeLessThanOrEqual(STARVATION_LIMIT + 2);
      expect(stats.decisions).toBeGreaterThan(0);
    }
  });

  it('random and PCT both reproduce exactly from their seed', async () => {
    for (const strategy of ['random', 'pct'] as const) {
      const a = await fuzzSpin({ strategy, seed: 42 });
      const b = await fuzzSpin({ strategy, seed: 42 });
      expect([a.spins, a.stats.preemptions, a.stats.decisions]).toEqual([
        b.spins,
        b.stats.preemptions,
        b.stats.decisions,
      ]);
    }
  });
});
