import { describe, expect, it } from 'vitest';
import {
  Completion,
  complete,
  createScheduler,
  DeadlockError,
  downgradeWrite,
  downRead,
  downReadTrylock,
  downWrite,
  downWriteTrylock,
  KernelBugError,
  RwSemaphore,
  rwsemIsLocked,
  rwsemIsWriteLocked,
  type Scheduler,
  Spinlock,
  spinLock,
  spinUnlock,
  upRead,
  upWrite,
  waitForCompletion,
} from '../src/index.ts';
import { holdForever } from './helpers.ts';

const queue = (sem: RwSemaphore) =>
  sem.waiters.map((w) => `${w.task.name}:${w.write ? 'w' : 'r'}`).join(',');

describe('rwsem from the boot task', () => {
  it('read holds nest and count', async () => {
    const s = createScheduler();
    const sem = new RwSemaphore(s, 'mmap_sem', 'mm1');
    await downRead(sem);
    await downRead(sem);
    expect(sem.readCount).toBe(2);
    expect(rwsemIsLocked(sem)).toBe(true);
    expect(rwsemIsWriteLocked(sem)).toBe(false);
    expect(downWriteTrylock(sem)).toBe(0);
    expect(downReadTrylock(sem)).toBe(1);
    upRead(sem);
    upRead(sem);
    upRead(sem);
    expect(rwsemIsLocked(sem)).toBe(false);
    expect(() => upRead(sem)).toThrow(KernelBugError);
    expect(() => upRead(sem)).toThrow(
      /up_read\(mmap_sem\) by task 'boot', which does not hold it for read/,
    );
  });

  it('write hold excludes everything', async () => {
    const s = createScheduler();
    const sem = new RwSemaphore(s, 'sem');
    await downWrite(sem);
    expect(rwsemIsWriteLocked(sem)).toBe(true);
    expect(rwsemIsLocked(sem)).toBe(true);
    expect(downReadTrylock(sem)).toBe(0);
    expect(downWriteTrylock(sem)).toBe(0);
    upWrite(sem);
    expect(rwsemIsLocked(sem)).toBe(false);
    expect(downWriteTrylock(sem)).toBe(1);
    upWrite(sem);
  });

  it('downgradeWrite turns the write hold into a read hold', async () => {
    const s = createScheduler();
    const sem = new RwSemaphore(s, 'sem');
    await downWrite(sem);
    downgradeWrite(sem);
    expect(rwsemIsWriteLocked(sem)).toBe(false);
    expect(sem.readers.get(s.current)).toBe(1);
    expect(downReadTrylock(sem)).toBe(1);
    upRead(sem);
    upRead(sem);
    expect(rwsemIsLocked(sem)).toBe(false);
  });

  it('misuse is a KernelBugError', async () => {
    const s = createScheduler();
    const sem = new RwSemaphore(s, 'sem');
    expect(() => upWrite(sem)).toThrow(
      /up_write\(sem\) by task 'boot', but it is not write-locked/,
    );
    expect(() => downgradeWrite(sem)).toThrow(/downgrade_write\(sem\).*not write-locked/);
    await downRead(sem);
    await expect(downWrite(sem)).rejects.toThrow(
      /recursive locking: down_write\(sem\).*already holds it for read/,
    );
    upRead(sem);
    await downWrite(sem);
    await expect(downWrite(sem)).rejects.toThrow(/already holds it for write/);
    await expect(downRead(sem)).rejects.toThrow(/down_read\(sem\).*already holds it for write/);
    upWrite(sem);
  });

  it('sleeping on it in atomic context is a bug', async () => {
    const s = createScheduler();
    const sem = new RwSemaphore(s, 'sem');
    const l = new Spinlock(s, 'l');
    await spinLock(l);
    await expect(downRead(sem)).rejects.toThrow(
      /sleeping function called from invalid context: down_read\(sem\)/,
    );
    await expect(downWrite(sem)).rejects.toThrow(/invalid context: down_write\(sem\)/);
    spinUnlock(l);
    expect(rwsemIsLocked(sem)).toBe(false);
  });

  it('waiting for a writer that never releases throws DeadlockError', async () => {
    const s = createScheduler();
    const sem = new RwSemaphore(s, 'sem');
    await holdForever(s, () => downWrite(sem));
    await expect(downRead(sem)).rejects.toThrow(DeadlockError);
    await expect(downRead(sem)).rejects.toThrow(/down_read: write-held by 'holder'/);
    expect(sem.waiters).toEqual([]);
  });
});

/** Spawn a task that takes `sem` (read or write), logs, and releases it. */
function user(s: Scheduler, sem: RwSemaphore, name: string, write: boolean, log: string[]): void {
  s.spawn(name, async () => {
    if (write) await downWrite(sem);
    else await downRead(sem);
    log.push(`${name} got it`);
    if (write) upWrite(sem);
    else upRead(sem);
  });
}

describe('rwsem queueing (free-running, tasks block in id order)', () => {
  it('a reader arriving after a queued writer waits behind it', async () => {
    const s = createScheduler();
    const sem = new RwSemaphore(s, 'mmap_sem');
    const release = new Completion(s, 'release');
    const log: string[] = [];
    s.spawn('r1', async () => {
      await downRead(sem);
      await waitForCompletion(release);
      log.push('r1 releases');
      upRead(sem);
    });
    user(s, sem, 'w', true, log);
    user(s, sem, 'r2', false, log);
    s.spawn('ctl', async () => {
      // Only a reader holds the lock, yet r2 queued because a writer waits; so does trylock fail.
      log.push(`readers=${sem.readCount} queue=${queue(sem)} trylock=${downReadTrylock(sem)}`);
      complete(release);
    });
    const r = await s.run();
    expect(r.errors).toEqual([]);
    expect(log).toEqual([
      'readers=1 queue=w:w,r2:r trylock=0',
      'r1 releases',
      'w got it',
      'r2 got it',
    ]);
  });

  it('hands over to the head writer, or to the leading readers up to the first writer', async () => {
    const s = createScheduler();
    const sem = new RwSemaphore(s, 'sem');
    const release = new Completion(s, 'release');
    const log: string[] = [];
    s.spawn('w1', async () => {
      await downWrite(sem);
      await waitForCompletion(release);
      upWrite(sem);
      log.push(`after up_write: readers=${sem.readCount} queue=${queue(sem)}`);
    });
    user(s, sem, 'r1', false, log);
    user(s, sem, 'r2', false, log);
    user(s, sem, 'w2', true, log);
    user(s, sem, 'r3', false, log);
    s.spawn('ctl', async () => {
      log.push(`queue=${queue(sem)}`);
      complete(release);
    });
    const r = await s.run();
    expect(r.errors).toEqual([]);
    expect(log).toEqual([
      'queue=r1:r,r2:r,w2:w,r3:r',
      'after up_write: readers=2 queue=w2:w,r3:r',
      'r1 got it',
      'r2 got it',
      'w2 got it',
      'r3 got it',
    ]);
    expect(rwsemIsLocked(sem)).toBe(false);
  });

  it('downgradeWrite lets the leading readers in but not the writer behind them', async () => {
    const s = createScheduler();
    const sem = new RwSemaphore(s, 'sem');
    const release = new Completion(s, 'release');
    const log: string[] = [];
    s.spawn('w1', async () => {
      await downWrite(sem);
      await waitForCompletion(release);
      downgradeWrite(sem);
      log.push(`after downgrade: readers=${sem.readCount} queue=${queue(sem)}`);
      upRead(sem);
    });
    user(s, sem, 'r1', false, log);
    user(s, sem, 'r2', false, log);
    user(s, sem, 'w2', true, log);
    s.spawn('ctl', async () => complete(release));
    const r = await s.run();
    expect(r.errors).toEqual([]);
    expect(log).toEqual([
      'after downgrade: readers=3 queue=w2:w',
      'r1 got it',
      'r2 got it',
      'w2 got it',
    ]);
  });

  it('reports a deadlocked waiter with the holders', async () => {
    const s = createScheduler();
    const sem = new RwSemaphore(s, 'mmap_sem', 'mm1');
    s.spawn('reader', () => downRead(sem));
    user(s, sem, 'writer', true, []);
    const r = await s.run();
    expect(r.deadlock?.blocked).toEqual([
      {
        id: 2,
        name: 'writer',
        waitsOn: 'rwsem mmap_sem (mm1)',
        spinning: false,
        detail: "down_write: read-held by 'reader'; 1 queued",
      },
    ]);
  });

  it('upRead by a task that did not take it is a bug', async () => {
    const s = createScheduler();
    const sem = new RwSemaphore(s, 'sem');
    s.spawn('reader', () => downRead(sem));
    s.spawn('other', async () => upRead(sem));
    const r = await s.run();
    expect(r.errors.map((e) => e.taskName)).toEqual(['other']);
    expect(sem.readCount).toBe(1);
  });
});
