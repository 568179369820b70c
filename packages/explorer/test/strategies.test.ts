import { describe, expect, it } from 'vitest';
import {
  abbaDeadlock,
  explore,
  independentSteps,
  lostUpdate,
  lostUpdateMutex,
  replaySchedule,
  waitTimeout,
} from '../src/index.ts';

const RUNS = 200;
const SEED = 7;

describe('seeded random and PCT', () => {
  for (const strategy of ['random', 'pct'] as const) {
    it(`${strategy} finds the lost update within ${RUNS} runs (seed ${SEED})`, async () => {
      const r = await explore(lostUpdate, { strategy, runs: RUNS, seed: SEED });
      const v = r.violation!;
      console.log(
        `${strategy}: lost update found at run ${v.run} with base seed ${SEED} (run seed ${v.seed}), after ${r.schedules} schedules`,
      );
      expect(v.kind).toBe('final-check');
      expect(r.schedules).toBeLessThanOrEqual(RUNS + 1);
      expect(r.seed).toBe(SEED);
      expect(r.minimal?.preemptions).toBe(1);
      // The run's own seed finds it again on the first run.
      const again = await explore(lostUpdate, { strategy, runs: 1, seed: v.seed! });
      expect(again.violation?.schedule).toBe(v.schedule);
      expect((await replaySchedule(lostUpdate, v.schedule)).failure?.kind).toBe('final-check');
    });

    it(`${strategy} is deterministic for a seed`, async () => {
      const a = await explore(abbaDeadlock, { strategy, runs: 50, seed: 3 });
      const b = await explore(abbaDeadlock, { strategy, runs: 50, seed: 3 });
      expect(a.violation).toEqual(b.violation);
      expect(a.steps).toBe(b.steps);
    });

    it(`${strategy} reports no violation for the mutex variant`, async () => {
      const r = await explore(lostUpdateMutex, { strategy, runs: 100, seed: SEED });
      expect(r.violation).toBeUndefined();
      expect(r.exhausted).toBe(false);
    });
  }

  it('pct reaches the timeout outcome too', async () => {
    const outcomes = new Set<string>();
    await explore(waitTimeout, {
      strategy: 'pct',
      runs: 100,
      onSchedule: (s) => outcomes.add(s.ret === 0 ? 'timeout' : 'woken'),
    });
    expect([...outcomes].sort()).toEqual(['timeout', 'woken']);
  });

  it('measures time only through the injected clock', async () => {
    let t = 100;
    const r = await explore(independentSteps(2), { now: () => (t += 5) });
    expect(r.elapsedMs).toBe(5);
    expect((await explore(independentSteps(2))).elapsedMs).toBeUndefined();
  });

  it('rejects bad options', async () => {
    await expect(explore(lostUpdate, { bound: -1 })).rejects.toThrow(/bound -1/);
    await expect(explore(lostUpdate, { strategy: 'pct', bound: 0 })).rejects.toThrow(/depth 0/);
    await expect(explore(lostUpdate, { runs: 0 })).rejects.toThrow(/runs 0/);
    await expect(explore(lostUpdate, { strategy: 'bfs' as 'dfs' })).rejects.toThrow(
      /strategy 'bfs'/,
    );
  });
});
