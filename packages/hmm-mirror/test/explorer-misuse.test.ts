/**
 * The explorer refuses to call a scenario clean when nothing in it could interleave: the classic
 * mistake of building the machine on its own scheduler inside setup() (every task then runs
 * atomically, and even the legacy driver's race looks clean).
 */
import { explore, type Scenario, ScenarioError } from '@hmmsim/explorer';
import { createScheduler } from '@hmmsim/kernel';
import { describe, expect, it } from 'vitest';
import { raceScenario } from '../src/scenarios.ts';

describe('a scenario built without the explorer scheduler', () => {
  it('fails loudly, naming the foreign scheduler and the fix (it reported "2 schedules, clean" before)', async () => {
    const good = raceScenario('munmap', 'legacy');
    const broken: Scenario = {
      ...good,
      name: 'race-on-its-own-scheduler',
      // The author forgot to pass `sched`: the machine gets a scheduler of its own.
      setup: () => good.setup(createScheduler()),
    } as Scenario;
    const err = await explore(broken, { bound: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScenarioError);
    expect((err as Error).message).toMatch(/ran on a scheduler other than the explorer's/);
    expect((err as Error).message).toMatch(/createMachine\(\{ \.\.\., sched \}\)/);
  });

  it('the same scenario with the scheduler passed finds the race', async () => {
    const r = await explore(raceScenario('munmap', 'legacy'), { bound: 2 });
    expect(r.violation?.kind).toBe('invariant');
  });
});
