import { describe, expect, it } from 'vitest';
import {
  assertLockInvariants,
  Completion,
  createRandom,
  createScheduler,
  downRead,
  downWrite,
  KernelBugError,
  Mutex,
  mutexLock,
  mutexUnlock,
  RwSemaphore,
  randomPolicy,
  Spinlock,
  spinLock,
  spinUnlock,
  type Task,
  upRead,
  upWrite,
  WaitQueueHead,
} from '../src/index.ts';

/** The seed of the random schedule; HMMSIM_SEED=<n> replays another. */
const SEED = Number(process.env['HMMSIM_SEED'] ?? 7);

describe('assertLockInvariants', () => {
  it('holds at every step of contended mutex, spinlock and rwsem traffic', async () => {
    console.log(
      `lock-invariants seed ${SEED} (replay: HMMSIM_SEED=${SEED} npx vitest run --project @hmmsim/kernel test/lock-invariants.test.ts)`,
    );
    const s = createScheduler({ policy: randomPolicy(createRandom(SEED)) });
    const m = new Mutex(s, 'm');
    const l = new Spinlock(s, 'l');
    const sem = new RwSemaphore(s, 'sem');
    let checks = 0;
    const check = () => {
      for (const x of [m, l, sem]) assertLockInvariants(x);
      checks++;
    };
    for (const name of ['a', 'b', 'c']) {
      s.spawn(name, async () => {
        for (let i = 0; i < 5; i++) {
          await mutexLock(m);
          check();
          await s.point({ kind: 'test.point', label: 'in m' });
          mutexUnlock(m);
          await spinLock(l);
          check();
          spinUnlock(l);
          if (i % 2 === 0) await downRead(sem);
          else await downWrite(sem);
          check();
          await s.point({ kind: 'test.point', label: 'in sem' });
          if (i % 2 === 0) upRead(sem);
          else upWrite(sem);
          check();
        }
      });
    }
    const r = await s.run();
    expect(r.errors).toEqual([]);
    expect(r.preemptions).toBeGreaterThan(0);
    expect(checks).toBe(3 * 5 * 4);
    check();
  });

  it('catches a mutex left held by a task that threw', async () => {
    const s = createScheduler();
    const m = new Mutex(s, 'm');
    s.spawn('crasher', async () => {
      await mutexLock(m);
      throw new Error('oops');
    });
    const r = await s.run();
    expect(r.errors).toHaveLength(1);
    expect(() => assertLockInvariants(m)).toThrow(
      /mutex m\): held by task 'crasher', which has exited/,
    );
  });

  it('catches a spinlock left held by a task that threw, and a preemptible holder', async () => {
    const s = createScheduler();
    const l = new Spinlock(s, 'l');
    s.spawn('crasher', async () => {
      await spinLock(l);
      throw new Error('oops');
    });
    await s.run();
    expect(() => assertLockInvariants(l)).toThrow(/held by task 'crasher', which has exited/);
    const l2 = new Spinlock(s, 'l2');
    await spinLock(l2);
    assertLockInvariants(l2);
    s.current.preemptCount = 0;
    expect(() => assertLockInvariants(l2)).toThrow(/has preemptCount 0; expected >= 1/);
  });

  it('catches a free lock with waiters, an owner on its own queue and a task queued twice', async () => {
    const s = createScheduler();
    const m = new Mutex(s, 'm');
    const t: Task = s.current;
    m.waiters.push(t);
    expect(() => assertLockInvariants(m)).toThrow(/free but 1 task\(s\) queued/);
    m.owner = t;
    expect(() => assertLockInvariants(m)).toThrow(/owner 'boot' is also queued/);
    const wq = new WaitQueueHead(s, 'wq');
    wq.waiters.push(t, t);
    expect(() => assertLockInvariants(wq)).toThrow(/queued twice/);
  });

  it('catches rw_semaphore hold counts that disagree, write+read at once, stale waiters', async () => {
    const s = createScheduler();
    const sem = new RwSemaphore(s, 'sem');
    await downRead(sem);
    assertLockInvariants(sem);
    sem.readCount = 2;
    expect(() => assertLockInvariants(sem)).toThrow(/readCount 2 but the readers hold it 1/);
    sem.readCount = 1;
    sem.writer = s.current;
    expect(() => assertLockInvariants(sem)).toThrow(/write-held by 'boot' and read-held at once/);
    sem.writer = undefined;
    upRead(sem);
    sem.waiters.push({ task: s.current, write: true, granted: false });
    expect(() => assertLockInvariants(sem)).toThrow(/free but 1 task\(s\) queued/);
    sem.waiters[0]!.granted = true;
    expect(() => assertLockInvariants(sem)).toThrow(/was granted but is still queued/);
  });

  it('catches a completion count out of range', () => {
    const s = createScheduler();
    const c = new Completion(s, 'c');
    assertLockInvariants(c);
    c.done = -1;
    expect(() => assertLockInvariants(c)).toThrow(KernelBugError);
    c.done = 0.5;
    expect(() => assertLockInvariants(c)).toThrow(/done is 0.5/);
  });
});
