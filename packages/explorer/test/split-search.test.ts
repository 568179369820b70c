// A DFS split into units by its first decisions (exploreSplit, splitSchedules) runs exactly the
// DFS's schedules, whatever the number of units, with explore()'s verdict and counts.
import { describe, expect, it } from 'vitest';
import {
  explore,
  exploreSplit,
  lostUpdate,
  lostUpdateMutex,
  SPLIT_MIN_UNITS,
  splitSchedules,
} from '../src/index.ts';

const summary = (r: Awaited<ReturnType<typeof explore>>) => ({
  schedules: r.schedules,
  steps: r.steps,
  exhausted: r.exhausted,
  violation: r.violation?.schedule,
  run: r.violation?.run,
});

describe('split search', () => {
  it('gives explore()`s result for any number of units, clean and violating', async () => {
    for (const scenario of [lostUpdateMutex, lostUpdate]) {
      const opts = { bound: Number.POSITIVE_INFINITY, reduction: 'none' as const };
      const whole = await explore(scenario, { strategy: 'dfs', ...opts });
      for (const minUnits of [1, 2, 4, SPLIT_MIN_UNITS, 64]) {
        const split = await exploreSplit(scenario, opts, { minUnits });
        expect(summary(split), `${scenario.name}, ${minUnits} units`).toEqual(summary(whole));
      }
    }
  });

  it('asks for more units and gets more, up to one per schedule', async () => {
    const bound = Number.POSITIVE_INFINITY;
    const few = await splitSchedules(lostUpdateMutex, bound, 2);
    const many = await splitSchedules(lostUpdateMutex, bound, 64);
    const all = await explore(lostUpdateMutex, { strategy: 'dfs', bound, reduction: 'none' });
    expect(few.length).toBeGreaterThanOrEqual(2);
    expect(many.length).toBeGreaterThan(few.length);
    expect(many.length).toBeLessThanOrEqual(all.schedules);
  });

  it('refuses a unit count that is not a whole number in [1, 65536]', async () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53 + 2, 1 << 17]) {
      await expect(
        exploreSplit(lostUpdateMutex, { bound: 1 }, { minUnits: bad }),
        String(bad),
      ).rejects.toThrow(/exploreSplit: minUnits .*; expected a unit count in \[1, 65536\]/);
    }
  });
});
