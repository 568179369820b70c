import { describe, expect, it } from 'vitest';
import { createScheduler, Mutex, mutexLock, mutexUnlock, type Scheduler } from '../src/index.ts';
import { findSeed, randomSched, yieldPoint } from './helpers.ts';

/** Two tasks each add 1 to a shared counter `n` times, with a point between read and write. */
async function counterRun(s: Scheduler, withMutex: boolean, n = 3): Promise<number> {
  const m = new Mutex(s, 'counter_lock');
  let counter = 0;
  for (const name of ['inc0', 'inc1']) {
    s.spawn(name, async () => {
      for (let i = 0; i < n; i++) {
        if (withMutex) await mutexLock(m);
        const v = counter;
        await yieldPoint(s, 'between read and write');
        counter = v + 1;
        if (withMutex) mutexUnlock(m);
        await yieldPoint(s);
      }
    });
  }
  const r = await s.run();
  expect(r.errors).toEqual([]);
  expect(r.deadlock).toBeUndefined();
  return counter;
}

/** T1 takes A then B, T2 takes B then A. */
async function abbaRun(s: Scheduler) {
  const a = new Mutex(s, 'A');
  const b = new Mutex(s, 'B');
  const pair = (first: Mutex, second: Mutex) => async () => {
    await mutexLock(first);
    await yieldPoint(s);
    await mutexLock(second);
    mutexUnlock(second);
    mutexUnlock(first);
  };
  s.spawn('ab', pair(a, b));
  s.spawn('ba', pair(b, a));
  return s.run();
}

describe('random scheduling finds races', () => {
  it('loses an update on an unprotected counter for some seed', async () => {
    const seed = await findSeed(
      'lost update',
      1,
      200,
      async (seed) => (await counterRun(randomSched(seed), false)) < 6,
    );
    expect(seed).toBeDefined();
  });

  it('never loses an update with a mutex (seeds 1..100)', async () => {
    for (let seed = 1; seed <= 100; seed++) {
      const count = await counterRun(randomSched(seed), true);
      if (count !== 6) console.log(`mutex counter wrong with seed ${seed}`);
      expect(count).toBe(6);
    }
  });

  it('free-running never loses an update (no preemption)', async () => {
    expect(await counterRun(createScheduler(), false)).toBe(6);
  });

  it('finds the ABBA deadlock for some seed and reports both tasks, without hanging', async () => {
    let report = '';
    const seed = await findSeed('ABBA deadlock', 1, 200, async (seed) => {
      const r = await abbaRun(randomSched(seed));
      report = r.deadlock?.message ?? '';
      return r.deadlock !== undefined;
    });
    expect(seed).toBeDefined();
    const r = await abbaRun(randomSched(seed!));
    expect(r.deadlock?.blocked.map((b) => [b.name, b.waitsOn, b.detail])).toEqual([
      ['ab', 'mutex B', "mutex_lock: owned by 'ba'"],
      ['ba', 'mutex A', "mutex_lock: owned by 'ab'"],
    ]);
    expect(report).toContain("T1 'ab' sleeps on mutex B");
  });

  it('free-running never hits the ABBA deadlock', async () => {
    const r = await abbaRun(createScheduler());
    expect(r.deadlock).toBeUndefined();
  });
});

describe('determinism', () => {
  async function traceOf(seed: number): Promise<string[]> {
    const s = randomSched(seed);
    await counterRun(s, true);
    return s.trace.events.map((e) => `${e.step}/${e.time}/${e.taskName}/${e.kind}/${e.label}`);
  }

  it('seed 1234: the same seed gives an identical trace', async () => {
    const first = await traceOf(1234);
    expect(first.length).toBeGreaterThan(20);
    expect(await traceOf(1234)).toEqual(first);
  });

  it('seeds 1..20 do not all give the same interleaving', async () => {
    const distinct = new Set<string>();
    for (let seed = 1; seed <= 20; seed++) distinct.add((await traceOf(seed)).join('\n'));
    console.log(`seeds 1..20 gave ${distinct.size} distinct traces`);
    expect(distinct.size).toBeGreaterThan(1);
  });
});
