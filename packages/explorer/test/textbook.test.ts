import { describe, expect, it } from 'vitest';
import {
  abbaDeadlock,
  explore,
  independentSteps,
  lostUpdate,
  lostUpdateMutex,
  replaySchedule,
  scenarios,
  WAIT_JIFFIES,
  waitTimeout,
} from '../src/index.ts';
import { binomial } from './helpers.ts';

const UNBOUNDED = Number.POSITIVE_INFINITY;

describe('lost update on a non-atomic counter', () => {
  it('is not found without preemptions', async () => {
    const r = await explore(lostUpdate, { bound: 0 });
    expect(r.violation).toBeUndefined();
    expect(r.exhausted).toBe(true);
  });

  it('is found with one preemption, and the minimal schedule has exactly one', async () => {
    const r = await explore(lostUpdate, { bound: 1 });
    expect(r.violation?.kind).toBe('final-check');
    expect(r.violation?.message).toMatch(/lost update: x is 1/);
    expect(r.violation?.preemptions).toBe(1);
    expect(r.minimal?.preemptions).toBe(1);
    expect(r.minimal?.schedule).toBe('1.1.2');
    expect(r.minimisation?.complete).toBe(true);
  });

  it('is not found at any bound when a mutex guards the increment', async () => {
    for (const bound of [0, 1, 2, UNBOUNDED]) {
      const r = await explore(lostUpdateMutex, { bound });
      expect(r.violation).toBeUndefined();
      expect(r.exhausted).toBe(true);
      expect(r.schedules).toBeGreaterThan(0);
    }
  });
});

describe('schedule counts', () => {
  it('two tasks of k independent steps have C(2k, k) schedules without a bound', async () => {
    for (const k of [2, 3, 4, 5, 6]) {
      const r = await explore(independentSteps(k), { bound: UNBOUNDED, reduction: 'none' });
      expect(r.exhausted).toBe(true);
      expect(r.violation).toBeUndefined();
      expect(r.schedules).toBe(binomial(2 * k, k));
    }
  });

  it('k = 1: C(2, 1) = 2 schedules, but nothing interleaves, so the explorer refuses to call it clean', async () => {
    await expect(explore(independentSteps(1), { bound: UNBOUNDED })).rejects.toThrow(
      /no task reached a scheduling point while another task could run/,
    );
  });

  it('three tasks of two steps have 6!/(2!^3) = 90 schedules', async () => {
    const r = await explore(independentSteps(2, 3), { bound: UNBOUNDED, reduction: 'none' });
    expect(r.schedules).toBe(90);
  });

  it('a preemption bound keeps only schedules with that many preemptions at most', async () => {
    // Bound 0: who starts (2 ways). Bound 1: also one preemption at one of the k-1 inner points.
    for (const k of [2, 4, 7]) {
      expect((await explore(independentSteps(k), { bound: 0 })).schedules).toBe(2);
      expect((await explore(independentSteps(k), { bound: 1 })).schedules).toBe(2 * k);
    }
  });

  it('a dfs budget stops early and reports the space as not exhausted', async () => {
    const r = await explore(independentSteps(6), {
      bound: UNBOUNDED,
      runs: 100,
      reduction: 'none',
    });
    expect(r.schedules).toBe(100);
    expect(r.exhausted).toBe(false);
  });
});

describe('AB/BA lock order', () => {
  it('is found and reported as a deadlock naming both waits', async () => {
    const r = await explore(abbaDeadlock);
    expect(r.violation?.kind).toBe('deadlock');
    expect(r.minimal?.kind).toBe('deadlock');
    expect(r.minimal?.preemptions).toBe(1);
    expect(r.minimal?.message).toMatch(/T1 'lock-ab' sleeps on mutex B/);
    expect(r.minimal?.message).toMatch(/T2 'lock-ba' sleeps on mutex A/);
    expect(r.trace?.events.some((e) => e.kind === 'sched.deadlock')).toBe(true);
  });

  it('needs a preemption: blocking on a lock is not one', async () => {
    const r = await explore(abbaDeadlock, { bound: 0 });
    expect(r.violation).toBeUndefined();
    expect(r.exhausted).toBe(true);
  });
});

describe('waitEventTimeout against a waker', () => {
  for (const bound of [0, UNBOUNDED]) {
    it(`explores both the wake-up and the timeout (bound ${bound})`, async () => {
      const seen = new Map<string, string>();
      const r = await explore(waitTimeout, {
        bound,
        onSchedule: (s, o) => {
          const outcome = s.ret === 0 ? 'timeout' : 'woken';
          if (!seen.has(outcome)) seen.set(outcome, o.schedule);
          expect(s.ret).toBeLessThanOrEqual(WAIT_JIFFIES);
        },
      });
      expect(r.violation).toBeUndefined();
      expect(r.exhausted).toBe(true);
      expect([...seen.keys()].sort()).toEqual(['timeout', 'woken']);
      // The timeout outcome's schedule fires the timer; replaying it times out again.
      const timeout = await replaySchedule(waitTimeout, seen.get('timeout')!);
      expect(seen.get('timeout')).toContain('t');
      expect(timeout.trace?.events.some((e) => e.kind === 'sched.timer')).toBe(true);
    });
  }
});

describe('every shipped scenario', () => {
  it('meets its declared expectation at the default bound', async () => {
    for (const s of scenarios) {
      const r = await explore(s);
      expect(r.violation === undefined ? 'pass' : 'violation', s.name).toBe(s.expect);
    }
  });
});
