import { describe, expect, it } from 'vitest';
import {
  Completion,
  complete,
  createScheduler,
  DeadlockError,
  KernelBugError,
  Mutex,
  mutexIsLocked,
  mutexLock,
  mutexLockKillable,
  mutexTrylock,
  mutexUnlock,
  waitForCompletion,
} from '../src/index.ts';
import { holdForever } from './helpers.ts';

describe('mutex from the boot task', () => {
  it('lock, unlock, isLocked', async () => {
    const s = createScheduler();
    const m = new Mutex(s, 'm');
    expect(mutexIsLocked(m)).toBe(false);
    await mutexLock(m);
    expect(mutexIsLocked(m)).toBe(true);
    expect(m.owner).toBe(s.current);
    mutexUnlock(m);
    expect(mutexIsLocked(m)).toBe(false);
  });

  it('killable lock returns 0; trylock returns 1 then 0', async () => {
    const s = createScheduler();
    const m = new Mutex(s, 'm');
    expect(await mutexLockKillable(m)).toBe(0);
    expect(mutexTrylock(m)).toBe(0);
    mutexUnlock(m);
    expect(mutexTrylock(m)).toBe(1);
    mutexUnlock(m);
  });

  it('unlocking an unlocked mutex is a bug', () => {
    const s = createScheduler();
    const m = new Mutex(s, 'm');
    expect(() => mutexUnlock(m)).toThrow(KernelBugError);
    expect(() => mutexUnlock(m)).toThrow(
      /mutex_unlock\(m\) by task 'boot', but it is not locked; expected the owner/,
    );
  });

  it('taking it twice is a recursive-locking bug', async () => {
    const s = createScheduler();
    const m = new Mutex(s, 'm');
    await mutexLock(m);
    await expect(mutexLock(m)).rejects.toThrow(
      /possible recursive locking in mutex_lock\(m\): task 'boot' already owns mutex m/,
    );
  });

  it('waiting for a mutex nobody will release throws DeadlockError and leaves no waiter behind', async () => {
    const s = createScheduler();
    const m = new Mutex(s, 'm');
    await holdForever(s, () => mutexLock(m));
    await expect(mutexLock(m)).rejects.toThrow(DeadlockError);
    await expect(mutexLock(m)).rejects.toThrow(/mutex m \(mutex_lock: owned by 'holder'\)/);
    expect(m.waiters).toEqual([]);
  });
});

describe('mutex between tasks', () => {
  it('hands the lock to waiters in FIFO order', async () => {
    const s = createScheduler();
    const m = new Mutex(s, 'm');
    const go = new Completion(s, 'go');
    const log: string[] = [];
    s.spawn('first', async () => {
      await mutexLock(m);
      await waitForCompletion(go);
      mutexUnlock(m);
      // Handed off: the next waiter owns it before it even runs.
      log.push(`after unlock owner=${m.owner?.name} trylock=${mutexTrylock(m)}`);
    });
    for (const name of ['w1', 'w2', 'w3']) {
      s.spawn(name, async () => {
        await mutexLock(m);
        log.push(name);
        mutexUnlock(m);
      });
    }
    s.spawn('ctl', async () => {
      log.push(`queue=${m.waiters.map((t) => t.name).join(',')}`);
      complete(go);
    });
    const r = await s.run();
    expect(r.errors).toEqual([]);
    expect(log).toEqual(['queue=w1,w2,w3', 'after unlock owner=w1 trylock=0', 'w1', 'w2', 'w3']);
    expect(mutexIsLocked(m)).toBe(false);
  });

  it('unlock by a task that does not own it is a bug', async () => {
    const s = createScheduler();
    const m = new Mutex(s, 'm');
    s.spawn('owner', () => mutexLock(m));
    s.spawn('other', async () => mutexUnlock(m));
    const r = await s.run();
    expect(r.errors.map((e) => e.taskName)).toEqual(['other']);
    expect(r.errors[0]!.error).toBeInstanceOf(KernelBugError);
    expect(String(r.errors[0]!.error)).toMatch(/by task 'other', but it is owned by 'owner'/);
  });
});
