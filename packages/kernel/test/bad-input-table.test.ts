/**
 * The kernel package's bad-input table: every public function that takes a number, tried with
 * every bad number, plus the misuses the kernel would BUG/WARN on. After every row the locks are
 * checked (assertLockInvariants) and one normal operation of each primitive must still work.
 */
import { describe, expect, it } from 'vitest';
import {
  assertLockInvariants,
  Clock,
  Completion,
  complete,
  createRandom,
  createScheduler,
  DeadlockError,
  downgradeWrite,
  downRead,
  downWrite,
  InvalidArgumentError,
  jiffiesToMsecs,
  KernelBugError,
  Mutex,
  msecsToJiffies,
  mutexLock,
  mutexUnlock,
  pageAlignDown,
  pageAligned,
  pageAlignUp,
  pfnOf,
  pfnToAddr,
  pgdIndex,
  pmdAlignDown,
  pmdAlignUp,
  pmdIndex,
  pteIndex,
  pudIndex,
  RwSemaphore,
  randomPolicy,
  Spinlock,
  spinLock,
  spinUnlock,
  toPfn,
  toVaddr,
  ULONG_MAX,
  upRead,
  upWrite,
  WaitQueueHead,
  waitEvent,
  waitEventTimeout,
  waitForCompletion,
  waitForCompletionTimeout,
} from '../src/index.ts';
import {
  BAD_NUMBERS,
  type BadInputRow,
  formatBadInputReport,
  runBadInputTable,
} from '../src/testing.ts';

const sched = createScheduler();
const m = new Mutex(sched, 'm');
const l = new Spinlock(sched, 'l');
const sem = new RwSemaphore(sched, 'sem');
const c = new Completion(sched, 'c');
const wq = new WaitQueueHead(sched, 'wq');
const bad = { error: InvalidArgumentError } as const;
const bug = { error: KernelBugError } as const;

/** One row per bad number for `call(v)`, skipping the labels in `skip` (values that are valid there). */
function numberRows(
  fn: string,
  arg: string,
  call: (v: number) => unknown,
  skip: readonly string[] = [],
): BadInputRow[] {
  return BAD_NUMBERS.filter(([label]) => !skip.includes(label)).map(([label, v]) => ({
    fn,
    input: `${arg} = ${label}`,
    call: () => call(v),
    expect: bad,
  }));
}

const pageHelpers: [string, (v: number) => unknown][] = [
  ['pageAlignDown', pageAlignDown],
  ['pageAlignUp', pageAlignUp],
  ['pageAligned', pageAligned],
  ['pmdAlignDown', pmdAlignDown],
  ['pmdAlignUp', pmdAlignUp],
  ['pfnOf', pfnOf],
  ['pfnToAddr', pfnToAddr],
  ['pgdIndex', pgdIndex],
  ['pudIndex', pudIndex],
  ['pmdIndex', pmdIndex],
  ['pteIndex', pteIndex],
  ['toVaddr', toVaddr],
  ['toPfn', toPfn],
];

const numbers: BadInputRow[] = [
  ...pageHelpers.flatMap(([fn, f]) => numberRows(fn, 'a', f)),
  { fn: 'pageAlignUp', input: 'a = ULONG_MAX', call: () => pageAlignUp(ULONG_MAX), expect: bad },
  { fn: 'pmdAlignUp', input: 'a = ULONG_MAX', call: () => pmdAlignUp(ULONG_MAX), expect: bad },
  { fn: 'pfnToAddr', input: 'pfn = 2^41', call: () => pfnToAddr(2 ** 41), expect: bad },
  { fn: 'toVaddr', input: 'n = 2^48', call: () => toVaddr(2 ** 48), expect: bad },
  { fn: 'toPfn', input: 'n = 2^36', call: () => toPfn(2 ** 36), expect: bad },
  ...numberRows('msecsToJiffies', 'm', msecsToJiffies, ['-1']),
  ...numberRows('jiffiesToMsecs', 'j', jiffiesToMsecs),
  ...numberRows('Clock.advance', 'ns', (v) => new Clock().advance(v)),
  ...numberRows('Clock.advanceTo', 'ns', (v) => new Clock().advanceTo(v)),
  ...numberRows('createRandom', 'seed', createRandom, ['-1']),
  ...numberRows('nextInt', 'n', (v) => createRandom(1).nextInt(v)),
  ...numberRows(
    'randomPolicy',
    'timerProbability',
    (v) => randomPolicy(createRandom(1), { timerProbability: v }),
    ['0.5'],
  ),
  ...numberRows('createScheduler', 'nsPerStep', (v) => createScheduler({ nsPerStep: v })),
  ...numberRows('createScheduler', 'maxSteps', (v) => createScheduler({ maxSteps: v }), [
    'Infinity',
  ]),
  ...numberRows('sleep', 'timeout', (v) => sched.sleep(wq, v)),
  ...numberRows('waitForCompletionTimeout', 'timeout', (v) => waitForCompletionTimeout(c, v)),
  ...numberRows('waitEventTimeout', 'timeout', (v) => waitEventTimeout(wq, () => true, v)),
];

/** Run `body` as a task of a fresh scheduler and rethrow the first error a task threw. */
async function inTask(body: (s: ReturnType<typeof createScheduler>) => void): Promise<unknown> {
  const s = createScheduler();
  body(s);
  const r = await s.run();
  if (r.errors.length > 0) throw r.errors[0]!.error;
  return 0;
}

const misuse: BadInputRow[] = [
  { fn: 'mutex_unlock', input: 'not locked', call: () => mutexUnlock(m), expect: bug },
  {
    fn: 'mutex_unlock',
    input: 'by a task that does not own it',
    call: () =>
      inTask((s) => {
        const mx = new Mutex(s, 'mx');
        const done = new Completion(s, 'done');
        s.spawn('owner', async () => {
          await mutexLock(mx);
          await waitForCompletion(done);
          mutexUnlock(mx);
        });
        s.spawn('thief', async () => {
          try {
            mutexUnlock(mx);
          } finally {
            complete(done);
          }
        });
      }),
    expect: { error: KernelBugError, message: /owned by 'owner'/ },
  },
  {
    fn: 'mutex_lock',
    input: 'twice by the same task',
    call: async () => {
      await mutexLock(m);
      try {
        await mutexLock(m);
      } finally {
        mutexUnlock(m);
      }
    },
    expect: { error: KernelBugError, message: /recursive locking/ },
  },
  { fn: 'spin_unlock', input: 'not locked', call: () => spinUnlock(l), expect: bug },
  {
    fn: 'spin_lock',
    input: 'twice by the same task',
    call: async () => {
      await spinLock(l);
      try {
        await spinLock(l);
      } finally {
        spinUnlock(l);
      }
    },
    expect: { error: KernelBugError, message: /spinlock recursion/ },
  },
  {
    fn: 'mutex_lock',
    input: 'while holding a spinlock (sleeping in atomic context)',
    call: async () => {
      await spinLock(l);
      try {
        await mutexLock(m);
      } finally {
        spinUnlock(l);
      }
    },
    expect: { error: KernelBugError, message: /sleeping function called from invalid context/ },
  },
  {
    fn: 'wait_for_completion',
    input: 'while holding a spinlock',
    call: async () => {
      await spinLock(l);
      try {
        await waitForCompletion(c);
      } finally {
        spinUnlock(l);
      }
    },
    expect: bug,
  },
  { fn: 'up_read', input: 'not read-held', call: () => upRead(sem), expect: bug },
  { fn: 'up_write', input: 'not write-held', call: () => upWrite(sem), expect: bug },
  {
    fn: 'downgrade_write',
    input: 'not write-held',
    call: () => downgradeWrite(sem),
    expect: bug,
  },
  {
    fn: 'up_write',
    input: 'while only read-held',
    call: async () => {
      await downRead(sem);
      try {
        upWrite(sem);
      } finally {
        upRead(sem);
      }
    },
    expect: bug,
  },
  {
    fn: 'down_write',
    input: 'twice by the same task',
    call: async () => {
      await downWrite(sem);
      try {
        await downWrite(sem);
      } finally {
        upWrite(sem);
      }
    },
    expect: { error: KernelBugError, message: /recursive locking/ },
  },
  {
    fn: 'down_read',
    input: 'while write-held by the same task',
    call: async () => {
      await downWrite(sem);
      try {
        await downRead(sem);
      } finally {
        upWrite(sem);
      }
    },
    expect: bug,
  },
  {
    fn: 'waitEvent',
    input: 'cond = 42 (not a function)',
    call: () => waitEvent(wq, 42 as unknown as () => boolean),
    expect: bad,
  },
  {
    fn: 'waitEventTimeout',
    input: 'cond = null',
    call: () => waitEventTimeout(wq, null as unknown as () => boolean, 1),
    expect: bad,
  },
  {
    fn: 'spawn',
    input: 'fn = "go" (not a function)',
    call: () => sched.spawn('t', 'go' as unknown as () => Promise<void>),
    expect: bad,
  },
  {
    fn: 'wake',
    input: 'a task of another scheduler',
    call: () => {
      const other = createScheduler();
      return sched.wake(other.spawn('foreign', async () => {}));
    },
    expect: bad,
  },
  {
    fn: 'wake',
    input: 'undefined',
    call: () => sched.wake(undefined as never),
    expect: bad,
  },
  {
    fn: 'run',
    input: 'while a run is in progress',
    call: () =>
      inTask((s) => {
        s.spawn('nested', async () => {
          await s.run();
        });
      }),
    expect: bug,
  },
  {
    fn: 'schedule policy',
    input: 'pick() returns a choice that is not offered',
    call: async () => {
      const s = createScheduler({ policy: { name: 'liar', pick: () => ({ type: 'timer' }) } });
      s.spawn('a', async () => {});
      s.spawn('b', async () => {});
      return s.run();
    },
    expect: bug,
  },
  {
    fn: 'createScheduler',
    input: 'policy = {} (no pick)',
    call: () => createScheduler({ policy: {} as never }),
    expect: bad,
  },
  {
    fn: 'createScheduler',
    input: "trace = 'yes'",
    call: () => createScheduler({ trace: 'yes' as never }),
    expect: bad,
  },
  {
    fn: 'randomPolicy',
    input: 'random = {}',
    call: () => randomPolicy({} as never),
    expect: bad,
  },
  {
    fn: 'assertLockInvariants',
    input: 'a plain object',
    call: () => assertLockInvariants({} as never),
    expect: bad,
  },
];

/** The state must be as before: locks consistent and free, and each primitive still works. */
async function afterEach(): Promise<void> {
  for (const x of [m, l, sem, c, wq]) assertLockInvariants(x);
  if (m.owner !== undefined || l.owner !== undefined || sem.writer !== undefined)
    throw new Error('a lock was left held');
  if (sem.readCount !== 0 || sched.current.preemptCount !== 0 || sched.running)
    throw new Error(
      `left readCount ${sem.readCount}, preemptCount ${sched.current.preemptCount}, running ${sched.running}`,
    );
  await mutexLock(m);
  mutexUnlock(m);
  await spinLock(l);
  spinUnlock(l);
  await downWrite(sem);
  downgradeWrite(sem);
  upRead(sem);
  complete(c);
  await waitForCompletion(c);
  if ((await waitEventTimeout(wq, () => true, 5)) < 1) throw new Error('wait_event_timeout broke');
}

describe('bad-input table of @hmmsim/kernel', () => {
  it('answers every bad number and misuse with a typed error and keeps every lock usable', async () => {
    const report = await runBadInputTable('kernel', [...numbers, ...misuse], { afterEach });
    console.log(formatBadInputReport(report));
    expect(report.failures).toEqual([]);
    expect(report.tried).toBeGreaterThan(150);
  });

  it('a sleep nothing can end, outside a run, is a DeadlockError and leaves nothing queued', async () => {
    await expect(waitEvent(wq, () => false)).rejects.toThrow(DeadlockError);
    expect(wq.waiters).toEqual([]);
    await afterEach();
  });
});
