import { describe, expect, it } from 'vitest';
import {
  assertSpinLocked,
  createScheduler,
  DeadlockError,
  KernelBugError,
  Mutex,
  mutexLock,
  Spinlock,
  spinIsLocked,
  spinLock,
  spinTrylock,
  spinUnlock,
} from '../src/index.ts';
import { alternatePolicy, holdForever, randomSched, yieldPoint } from './helpers.ts';

describe('spinlock from the boot task', () => {
  it('lock/unlock track the owner and preemptCount', async () => {
    const s = createScheduler();
    const l = new Spinlock(s, 'ptl', 'mm1');
    expect(spinIsLocked(l)).toBe(false);
    await spinLock(l);
    expect(l.owner).toBe(s.current);
    expect(s.current.preemptCount).toBe(1);
    expect(spinIsLocked(l)).toBe(true);
    assertSpinLocked(l);
    spinUnlock(l);
    expect(s.current.preemptCount).toBe(0);
    expect(spinIsLocked(l)).toBe(false);
  });

  it('trylock takes a free lock and fails on a held one', () => {
    const s = createScheduler();
    const l = new Spinlock(s, 'ptl');
    expect(spinTrylock(l)).toBe(true);
    expect(s.current.preemptCount).toBe(1);
    expect(spinTrylock(l)).toBe(false);
    expect(s.current.preemptCount).toBe(1);
    spinUnlock(l);
  });

  it('nests: two spinlocks give preemptCount 2', async () => {
    const s = createScheduler();
    const a = new Spinlock(s, 'a');
    const b = new Spinlock(s, 'b');
    await spinLock(a);
    await spinLock(b);
    expect(s.current.preemptCount).toBe(2);
    spinUnlock(b);
    spinUnlock(a);
    expect(s.current.preemptCount).toBe(0);
  });

  it('misuse is a KernelBugError', async () => {
    const s = createScheduler();
    const l = new Spinlock(s, 'ptl');
    expect(() => spinUnlock(l)).toThrow(KernelBugError);
    expect(() => spinUnlock(l)).toThrow(/spin_unlock\(ptl\) by task 'boot', but it is not locked/);
    expect(() => assertSpinLocked(l)).toThrow(/assert_spin_locked\(ptl\) failed/);
    await spinLock(l);
    await expect(spinLock(l)).rejects.toThrow(/spinlock recursion on ptl/);
    expect(s.current.preemptCount).toBe(1);
    spinUnlock(l);
  });

  it('sleeping while holding it is a bug, even on an uncontended mutex', async () => {
    const s = createScheduler();
    const l = new Spinlock(s, 'ptl');
    const m = new Mutex(s, 'm');
    await spinLock(l);
    await expect(mutexLock(m)).rejects.toThrow(
      /BUG: sleeping function called from invalid context: mutex_lock\(m\)/,
    );
    expect(m.owner).toBeUndefined();
    spinUnlock(l);
  });

  it('spinning on a lock nobody will release throws DeadlockError and undoes the attempt', async () => {
    const s = createScheduler();
    const l = new Spinlock(s, 'ptl');
    await holdForever(s, () => spinLock(l));
    await expect(spinLock(l)).rejects.toThrow(DeadlockError);
    expect(s.current.preemptCount).toBe(0);
    expect(l.spinners).toEqual([]);
  });
});

describe('spinlock contention', () => {
  it('a contended locker spins (not runnable) until the holder hands it over', async () => {
    const s = createScheduler({ policy: alternatePolicy });
    const l = new Spinlock(s, 'ptl');
    const log: string[] = [];
    let spinnerState = '';
    const mk = (name: string) => async () => {
      await spinLock(l);
      log.push(`${name} in`);
      await yieldPoint(s);
      if (l.spinners.length > 0) spinnerState = `${l.spinners[0]!.name}:${l.spinners[0]!.state}`;
      log.push(`${name} out`);
      spinUnlock(l);
    };
    s.spawn('t1', mk('t1'));
    s.spawn('t2', mk('t2'));
    const r = await s.run();
    expect(r.errors).toEqual([]);
    expect(log).toEqual(['t1 in', 't1 out', 't2 in', 't2 out']);
    expect(spinnerState).toBe('t2:blocked');
  });

  it('unlock by a task that does not hold it is a bug', async () => {
    const s = createScheduler();
    const l = new Spinlock(s, 'ptl');
    s.spawn('owner', () => spinLock(l));
    s.spawn('thief', async () => spinUnlock(l));
    const r = await s.run();
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.taskName).toBe('thief');
    expect(String(r.errors[0]!.error)).toMatch(
      /spin_unlock\(ptl\) by task 'thief', but it is held by 'owner'/,
    );
  });

  it('mutual exclusion holds under random schedules (seeds 1..40)', async () => {
    let contended = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const s = randomSched(seed);
      const l = new Spinlock(s, 'ptl');
      let inside = 0;
      for (const name of ['a', 'b', 'c']) {
        s.spawn(name, async () => {
          for (let i = 0; i < 3; i++) {
            await spinLock(l);
            inside++;
            expect(inside, `seed ${seed}`).toBe(1);
            await yieldPoint(s);
            if (l.spinners.length > 0) contended++;
            inside--;
            spinUnlock(l);
          }
        });
      }
      const r = await s.run();
      expect(r.errors, `seed ${seed}`).toEqual([]);
      expect(r.deadlock, `seed ${seed}`).toBeUndefined();
    }
    expect(contended).toBeGreaterThan(0);
  });

  it('a deadlock on spinlocks is reported as spinning', async () => {
    const s = createScheduler({ policy: alternatePolicy });
    const a = new Spinlock(s, 'A');
    const b = new Spinlock(s, 'B');
    const pair = (x: Spinlock, y: Spinlock) => async () => {
      await spinLock(x);
      await yieldPoint(s);
      await spinLock(y);
    };
    s.spawn('ab', pair(a, b));
    s.spawn('ba', pair(b, a));
    const r = await s.run();
    expect(r.deadlock?.blocked.map((x) => [x.name, x.waitsOn, x.spinning])).toEqual([
      ['ab', 'spinlock B', true],
      ['ba', 'spinlock A', true],
    ]);
    expect(r.deadlock?.message).toContain("T1 'ab' spins on spinlock B: spin_lock: held by 'ba'");
  });
});
