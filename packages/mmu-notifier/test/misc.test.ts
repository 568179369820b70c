import {
  createScheduler,
  downRead,
  downWrite,
  EFAULT,
  KernelBugError,
  Mutex,
  mutexLock,
  mutexUnlock,
  PAGE_SIZE,
  RwSemaphore,
  Spinlock,
  spinLock,
  spinUnlock,
  upRead,
  upWrite,
} from '@hmmsim/kernel';
import {
  cpuWrite,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MMU_NOTIFY_CLEAR,
  mmap,
  mmput,
  mmuNotifierRangeInit,
  PROT_READ,
  PROT_WRITE,
} from '@hmmsim/mm';
import { describe, expect, it } from 'vitest';
import {
  assertNoCallbackLockHeld,
  cpuPfnAt,
  DEFAULT_MMU_NOTIFIER_OPTIONS,
  explainNonBlockSleep,
  IT_NIL,
  lockHeldBy,
  lockName,
  MirrorDriver,
  MmuNotifier,
  mmuIntervalNotifierInsert,
  mmuNotifierMmCreate,
  mmuNotifierMmOf,
  mmuNotifierOptionsOf,
  mmuNotifierRegister,
  mnItreeInvEnd,
  mnItreeInvNext,
  mnItreeInvStartRange,
  nonBlockEnd,
  nonBlockStart,
} from '../src/index.ts';
import { TestDriver, world } from './helpers.ts';

describe('lockdep model', () => {
  it('lockHeldBy knows mutexes, spinlocks and rwsems (read and write)', async () => {
    const sched = createScheduler();
    const t = sched.current;
    const m = new Mutex(sched, 'm');
    const s = new Spinlock(sched, 's');
    const r = new RwSemaphore(sched, 'r', 'obj');
    expect([lockHeldBy(m, t), lockHeldBy(s, t), lockHeldBy(r, t)]).toEqual([false, false, false]);
    await mutexLock(m);
    await downRead(r);
    await spinLock(s);
    expect([lockHeldBy(m, t), lockHeldBy(s, t), lockHeldBy(r, t)]).toEqual([true, true, true]);
    spinUnlock(s);
    mutexUnlock(m);
    upRead(r);
    await downWrite(r);
    expect(lockHeldBy(r, t)).toBe(true);
    expect(() => assertNoCallbackLockHeld(sched, [m, r], 'fn')).toThrow(
      /lockdep: fn\(\) .* while holding rwsem r \(obj\)/,
    );
    upWrite(r);
    assertNoCallbackLockHeld(sched, [m, r], 'fn');
    expect(lockName(r)).toBe('rwsem r (obj)');
    expect(lockName(m)).toBe('mutex m');
    expect(() => lockHeldBy({} as Mutex, t)).toThrow(KernelBugError);
  });

  it('non_block sections make sleeping a bug and must be balanced', async () => {
    const sched = createScheduler();
    const t = nonBlockStart(sched);
    const m = new Mutex(sched, 'm');
    let caught: unknown;
    try {
      await mutexLock(m);
    } catch (e) {
      caught = explainNonBlockSleep(e, 'the test callback');
    }
    nonBlockEnd(t);
    expect(String(caught)).toMatch(/the test callback slept in a non-blockable invalidation/);
    expect(() => nonBlockEnd(t)).toThrow(/expected a matching non_block_start/);
    const other = new Error('x');
    expect(explainNonBlockSleep(other, 'cb')).toBe(other);
  });
});

describe('container plumbing', () => {
  it('options default to the 2019 behaviour', () => {
    const { mm } = world();
    expect(mmuNotifierOptionsOf(mm)).toEqual({
      unpairedStartEnd: 'v5.4',
      insertRequires: 'mm_count',
    });
    expect(DEFAULT_MMU_NOTIFIER_OPTIONS.unpairedStartEnd).toBe('v5.4');
  });

  it('mmuNotifierMmCreate is idempotent, starts at seq 2 and refuses a freed mm', async () => {
    const { mm } = world();
    const m = mmuNotifierMmCreate(mm);
    expect(mmuNotifierMmCreate(mm)).toBe(m);
    expect([m.invalidateSeq, m.activeInvalidateRanges, m.hasItree, m.first]).toEqual([
      2,
      0,
      false,
      null,
    ]);
    const w = world();
    await mmput(w.mm);
    expect(w.mm.freed).toBe(true);
    expect(() => mmuNotifierMmCreate(w.mm)).toThrow(/already freed/);
  });

  it('the hlist refuses a double add and tolerates a double delete', async () => {
    const { mm } = world();
    const mn = new MmuNotifier({});
    await mmuNotifierRegister(mn, mm);
    const m = mmuNotifierMmOf(mm)!;
    expect(() => m.hlistAddHead(mn)).toThrow(/already on a list/);
    m.hlistDelInit(mn);
    m.hlistDelInit(mn);
    expect(m.first).toBeNull();
  });

  it('mn_itree_inv_start_range / _next / _end drive one window by hand', async () => {
    const { mm, sched } = world();
    const A = new TestDriver(sched, 'A');
    const B = new TestDriver(sched, 'B');
    await A.insert(mm, 0x1000, 0x1000);
    await B.insert(mm, 0x3000, 0x1000);
    const m = mmuNotifierMmOf(mm)!;
    const r = mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, 0, null, mm, 0, 0x10000);
    const { first, curSeq } = await mnItreeInvStartRange(m, r);
    expect(curSeq).toBe(3);
    expect(m.itree.payload(first)).toBe(A.mni);
    const next = mnItreeInvNext(m, first, r);
    expect(m.itree.payload(next)).toBe(B.mni);
    expect(mnItreeInvNext(m, next, r)).toBe(IT_NIL);
    await mnItreeInvEnd(m);
    expect([m.invalidateSeq, m.activeInvalidateRanges]).toEqual([4, 0]);
    await expect(mnItreeInvEnd(m)).rejects.toThrow(/without a matching start/);
  });
});

describe('scenario helpers', () => {
  it('cpuPfnAt reads the CPU mapping without side effects; MirrorDriver faults it in and refuses a dying mm', async () => {
    const { mm, sched } = world();
    const addr = await mmap(
      mm,
      0x10000000,
      PAGE_SIZE,
      PROT_READ | PROT_WRITE,
      MAP_PRIVATE | MAP_ANONYMOUS,
    );
    expect(cpuPfnAt(mm, addr)).toBeNull();
    await cpuWrite(mm, addr, new Uint8Array([1]));
    const pfn = cpuPfnAt(mm, addr);
    expect(pfn).not.toBeNull();
    const drv = new MirrorDriver(sched, mm);
    expect(await mmuIntervalNotifierInsert(drv.mni, mm, addr, PAGE_SIZE, drv.ops)).toBe(0);
    expect(await drv.fault(addr)).toBe(0);
    expect(drv.device.get(addr)).toBe(pfn);
    expect(drv.staleMappings()).toEqual([]);
    expect(drv.faultViolations).toEqual([]);
    expect(await drv.fault(addr + PAGE_SIZE)).toBe(-EFAULT); // nothing mapped there
    await mmput(mm); // exit: the RELEASE invalidation tears the device mapping down
    expect(drv.device.size).toBe(0);
    expect(await drv.fault(addr)).toBe(-EFAULT); // mmget_not_zero fails
  });
});
