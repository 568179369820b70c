import {
  Completion,
  complete,
  DeadlockError,
  downWrite,
  EAGAIN,
  EOVERFLOW,
  InvalidArgumentError,
  KernelBugError,
  mutexLock,
  mutexUnlock,
  Spinlock,
  spinLock,
  spinUnlock,
  ULONG_MAX,
  upWrite,
  waitForCompletion,
} from '@hmmsim/kernel';
import {
  MMU_NOTIFY_CLEAR,
  MMU_NOTIFY_UNMAP,
  type MmStruct,
  mmput,
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierInvalidateRangeStartNonblock,
  mmuNotifierRangeInit,
} from '@hmmsim/mm';
import { describe, expect, it } from 'vitest';
import {
  assertMmuNotifierHistory,
  assertMmuNotifierInvariants,
  IT_NIL,
  MmuIntervalNotifier,
  type MmuNotifierMm,
  mmuIntervalCheckRetry,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierInsertLocked,
  mmuIntervalNotifierRemove,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
  mmuNotifierLogStart,
  mmuNotifierMmOf,
  mmuNotifierSetOptions,
} from '../src/index.ts';
import { TestDriver, world } from './helpers.ts';
import { runTasks } from './run.ts';

const range = (mm: MmStruct, start: number, end: number, event: 0 | 1 = MMU_NOTIFY_CLEAR) =>
  mmuNotifierRangeInit(event, 0, null, mm, start, end);
const container = (mm: MmStruct): MmuNotifierMm => mmuNotifierMmOf(mm) as MmuNotifierMm;

describe('spec §5.5 worked example, step by step', () => {
  it('follows the numbers of the example', async () => {
    const { mm, sched } = world();
    const log = mmuNotifierLogStart(sched);
    const A = new TestDriver(sched, 'A');
    const B = new TestDriver(sched, 'B');
    // t0 idle: seq=2, active=0. insert A=[0x1000,0x2fff] -> A.seq=1, linked.
    expect(await A.insert(mm, 0x1000, 0x2000)).toBe(0);
    const m = container(mm);
    expect([m.invalidateSeq, m.activeInvalidateRanges, A.mni.invalidateSeq]).toEqual([2, 0, 1]);
    expect(A.mni.itNode).not.toBe(IT_NIL);
    expect([A.mni.itStart, A.mni.itLast]).toEqual([0x1000, 0x2fff]);
    // t1 CPU1: s = read_begin(A) -> A.seq(1) != 2, no wait, s=1.
    const s1 = await mmuIntervalReadBegin(A.mni);
    expect(s1).toBe(1);
    // t2 CPU0: invalidate_range_start([0x2000,0x3000)) -> active=1, hits A, seq=3, cur_seq=3
    const r = range(mm, 0x2000, 0x3000);
    await mmuNotifierInvalidateRangeStart(r);
    expect([m.activeInvalidateRanges, m.invalidateSeq]).toEqual([1, 3]);
    expect(A.calls).toEqual([
      { name: 'A', event: 'CLEAR', start: 0x2000, end: 0x3000, blockable: true, curSeq: 3 },
    ]);
    expect(A.mni.invalidateSeq).toBe(3); // set_seq(A, 3) under the user lock
    // t3 CPU2: insert B=[0x5000,...] -> fully excluded -> deferred, B.seq=3
    expect(await B.insert(mm, 0x5000, 0x1000)).toBe(0);
    expect(B.mni.deferred).toBe(true);
    expect(B.mni.itNode).toBe(IT_NIL);
    expect(B.mni.invalidateSeq).toBe(3);
    expect(m.deferredList).toEqual([B.mni]);
    // ... and read_begin(B) would sleep now (nothing else can run on the boot task):
    await expect(mmuIntervalReadBegin(B.mni)).rejects.toThrow(DeadlockError);
    // t4 CPU1: check_retry(A,1) true -> the fault returns -EBUSY
    expect(mmuIntervalCheckRetry(A.mni, s1)).toBe(true);
    // t5 CPU0: invalidate_range_end -> active=0, seq=4, B linked, wake_up_all
    await mmuNotifierInvalidateRangeEnd(r);
    expect([m.activeInvalidateRanges, m.invalidateSeq]).toEqual([0, 4]);
    expect(B.mni.itNode).not.toBe(IT_NIL);
    expect(B.mni.deferred).toBe(false);
    expect(m.deferredList).toEqual([]);
    // t6 CPU1: s = read_begin(A) -> A.seq(3) != 4, s=3 ... lock(user); read_retry(A,3) false
    const s6 = await mmuIntervalReadBegin(A.mni);
    expect(s6).toBe(3);
    await mutexLock(A.lock);
    expect(mmuIntervalReadRetry(A.mni, s6)).toBe(false);
    mutexUnlock(A.lock);
    // t7 CPU2: s = read_begin(B) -> 3 != 4, no sleep now.
    expect(await mmuIntervalReadBegin(B.mni)).toBe(3);
    assertMmuNotifierInvariants(mm);
    assertMmuNotifierHistory(log.events, { final: true });
  });

  it('t3..t7 concurrently: read_begin(B) sleeps until the window ends, and B is linked before the wake', async () => {
    const { mm, sched } = world();
    const A = new TestDriver(sched, 'A');
    const B = new TestDriver(sched, 'B');
    await A.insert(mm, 0x1000, 0x2000);
    const r = range(mm, 0x2000, 0x3000);
    const started = new Completion(sched, 'started');
    const go = new Completion(sched, 'go');
    const journal: string[] = [];
    let seen: { seq: number; global: number; linked: boolean } | undefined;
    await runTasks(sched, {
      cpu0: async () => {
        await mmuNotifierInvalidateRangeStart(r);
        complete(started);
        await waitForCompletion(go);
        journal.push('end begins');
        await mmuNotifierInvalidateRangeEnd(r);
        journal.push('end returned');
      },
      cpu2: async () => {
        await waitForCompletion(started);
        await B.insert(mm, 0x5000, 0x1000);
        complete(go);
        journal.push('read_begin(B)');
        const s = await mmuIntervalReadBegin(B.mni);
        seen = { seq: s, global: container(mm).invalidateSeq, linked: B.mni.itNode !== IT_NIL };
        journal.push('read_begin(B) returned');
      },
    });
    expect(journal).toEqual([
      'read_begin(B)',
      'end begins',
      'end returned',
      'read_begin(B) returned',
    ]);
    expect(seen).toEqual({ seq: 3, global: 4, linked: true });
  });
});

describe('the sequence protocol', () => {
  it('overlapping invalidations share one odd value; the seq turns even only at the last end', async () => {
    const { mm, sched } = world();
    const A = new TestDriver(sched, 'A');
    const B = new TestDriver(sched, 'B');
    await A.insert(mm, 0x10000, 0x10000);
    await B.insert(mm, 0x40000, 0x1000);
    const m = container(mm);
    const r1 = range(mm, 0x10000, 0x11000);
    const r2 = range(mm, 0x40000, 0x41000);
    const r3 = range(mm, 0x90000, 0x91000); // hits nobody
    await mmuNotifierInvalidateRangeStart(r1);
    await mmuNotifierInvalidateRangeStart(r2);
    await mmuNotifierInvalidateRangeStart(r3);
    expect(m.invalidateSeq).toBe(3);
    expect(m.activeInvalidateRanges).toBe(3);
    expect(A.calls[0]!.curSeq).toBe(3);
    expect(B.calls[0]!.curSeq).toBe(3);
    await mmuNotifierInvalidateRangeEnd(r1);
    await mmuNotifierInvalidateRangeEnd(r3);
    expect(m.invalidateSeq).toBe(3);
    await mmuNotifierInvalidateRangeEnd(r2);
    expect([m.invalidateSeq, m.activeInvalidateRanges]).toEqual([4, 0]);
    // the next window uses a strictly larger odd value
    const r4 = range(mm, 0x10000, 0x20000);
    await mmuNotifierInvalidateRangeStart(r4);
    expect(A.calls[1]!.curSeq).toBe(5);
    await mmuNotifierInvalidateRangeEnd(r4);
    expect(m.invalidateSeq).toBe(6);
  });

  it('an invalidation that hits nothing leaves the seq even (partially excluded); an insert then makes it odd and links at once', async () => {
    const { mm, sched } = world();
    const A = new TestDriver(sched, 'A');
    await A.insert(mm, 0x10000, 0x1000);
    const m = container(mm);
    const r = range(mm, 0x80000, 0x81000);
    await mmuNotifierInvalidateRangeStart(r);
    expect([m.invalidateSeq, m.activeInvalidateRanges]).toEqual([2, 1]);
    expect(A.calls).toEqual([]);
    // read_begin(A) does not wait for an invalidation that did not touch A
    expect(await mmuIntervalReadBegin(A.mni)).toBe(1);
    const B = new TestDriver(sched, 'B');
    await B.insert(mm, 0x80000, 0x1000);
    expect(m.invalidateSeq).toBe(3);
    expect(B.mni.itNode).not.toBe(IT_NIL);
    expect(B.mni.invalidateSeq).toBe(3);
    await expect(mmuIntervalReadBegin(B.mni)).rejects.toThrow(DeadlockError); // would wait for the window
    await mmuNotifierInvalidateRangeEnd(r);
    expect(m.invalidateSeq).toBe(4);
    expect(await mmuIntervalReadBegin(B.mni)).toBe(3);
    expect(B.calls).toEqual([]); // B was never called: it came after the invalidation started
  });

  it('read_begin sleeps only while its own notifier is in the window', async () => {
    const { mm, sched } = world();
    const A = new TestDriver(sched, 'A');
    const B = new TestDriver(sched, 'B');
    await A.insert(mm, 0x10000, 0x1000);
    await B.insert(mm, 0x20000, 0x1000);
    const r = range(mm, 0x10000, 0x11000);
    await mmuNotifierInvalidateRangeStart(r);
    expect(await mmuIntervalReadBegin(B.mni)).toBe(1); // not hit: no wait although the seq is odd
    await expect(mmuIntervalReadBegin(A.mni)).rejects.toThrow(DeadlockError);
    await mmuNotifierInvalidateRangeEnd(r);
    expect(await mmuIntervalReadBegin(A.mni)).toBe(3);
  });

  it('read_retry / check_retry compare with the notifier seq; once stale, stale for good', async () => {
    const { mm, sched } = world();
    const A = new TestDriver(sched, 'A');
    await A.insert(mm, 0x10000, 0x1000);
    const s = await mmuIntervalReadBegin(A.mni);
    await mutexLock(A.lock);
    expect(mmuIntervalReadRetry(A.mni, s)).toBe(false);
    mutexUnlock(A.lock);
    expect(mmuIntervalCheckRetry(A.mni, s)).toBe(false);
    for (let i = 0; i < 2; i++) {
      const r = range(mm, 0x10000, 0x11000);
      await mmuNotifierInvalidateRangeStart(r);
      await mmuNotifierInvalidateRangeEnd(r);
      expect(mmuIntervalCheckRetry(A.mni, s)).toBe(true);
      await mutexLock(A.lock);
      expect(mmuIntervalReadRetry(A.mni, s)).toBe(true);
      mutexUnlock(A.lock);
    }
  });

  it('set_seq writes the notifier seq; the declared user lock is enforced', async () => {
    const { mm, sched } = world();
    const A = new TestDriver(sched, 'A');
    await A.insert(mm, 0x10000, 0x1000);
    const m = container(mm);
    // Inside an invalidation window of A (cur_seq = the odd global seq).
    const r = range(mm, 0x10000, 0x11000);
    await mmuNotifierInvalidateRangeStart(r);
    const cur = m.invalidateSeq;
    expect(cur % 2).toBe(1);
    expect(() => mmuIntervalSetSeq(A.mni, cur)).toThrow(/without mutex A.user_lock/);
    expect(() => mmuIntervalReadRetry(A.mni, 1)).toThrow(KernelBugError);
    await mutexLock(A.lock);
    mmuIntervalSetSeq(A.mni, cur);
    expect(A.mni.invalidateSeq).toBe(cur);
    expect(() => mmuIntervalSetSeq(A.mni, 1.5)).toThrow(InvalidArgumentError);
    // A value other than the cur_seq of the invalidation in progress is refused, changing nothing.
    expect(() => mmuIntervalSetSeq(A.mni, cur + 2)).toThrow(
      /cur_seq \d+ is not the sequence of an invalidation in progress/,
    );
    expect(A.mni.invalidateSeq).toBe(cur);
    // read_begin and remove with the callback's lock held: lockdep says deadlock
    await expect(mmuIntervalReadBegin(A.mni)).rejects.toThrow(/lockdep: mmu_interval_read_begin/);
    await expect(mmuIntervalNotifierRemove(A.mni)).rejects.toThrow(
      /lockdep: mmu_interval_notifier_remove/,
    );
    mutexUnlock(A.lock);
    await mmuNotifierInvalidateRangeEnd(r);
    // Outside any window (the seq is even) there is no cur_seq to record.
    await mutexLock(A.lock);
    expect(() => mmuIntervalSetSeq(A.mni, cur)).toThrow(/even: none is/);
    mutexUnlock(A.lock);
    // without a declared lock nothing is enforced
    const U = new TestDriver(sched, 'U', [], false);
    await U.insert(mm, 0x30000, 0x1000);
    const r2 = range(mm, 0x30000, 0x31000);
    await mmuNotifierInvalidateRangeStart(r2);
    mmuIntervalSetSeq(U.mni, m.invalidateSeq);
    expect(mmuIntervalReadRetry(U.mni, m.invalidateSeq)).toBe(false);
    await mmuNotifierInvalidateRangeEnd(r2);
  });

  it('read_retry, check_retry and set_seq on a removed or never-inserted notifier throw, naming it', async () => {
    const { mm, sched } = world();
    const A = new TestDriver(sched, 'A', [], false);
    expect(() => mmuIntervalReadRetry(A.mni, 1)).toThrow(
      /is not inserted \(it was never inserted\)/,
    );
    expect(() => mmuIntervalCheckRetry(A.mni, 1)).toThrow(KernelBugError);
    await A.insert(mm, 0x10000, 0x1000);
    const s = await mmuIntervalReadBegin(A.mni);
    await mmuIntervalNotifierRemove(A.mni);
    // Before: read_retry answered false for ever (nothing can bump a removed notifier's seq).
    expect(() => mmuIntervalReadRetry(A.mni, s)).toThrow(
      /mmu_interval_read_retry: the interval notifier is not inserted \(it was removed from mm\d+/,
    );
    expect(() => mmuIntervalCheckRetry(A.mni, s)).toThrow(/mmu_interval_check_retry: .* removed/);
    expect(() => mmuIntervalSetSeq(A.mni, 3)).toThrow(/mmu_interval_set_seq: .* removed/);
    await expect(mmuIntervalReadBegin(A.mni)).rejects.toThrow(/read_begin: .* removed/);
    expect(A.mni.invalidateSeq).toBe(s);
  });
});

describe('mmuIntervalNotifierInsert', () => {
  it('switches the interval tree on through register(NULL) the first time', async () => {
    const { mm, sched } = world();
    expect(mmuNotifierMmOf(mm)).toBeNull();
    const A = new TestDriver(sched, 'A');
    const count0 = mm.mmCount;
    expect(await A.insert(mm, 0x1000, 1)).toBe(0);
    const m = container(mm);
    expect(m.hasItree).toBe(true);
    expect(mm.notifier).toBe(m);
    expect(mm.mmCount).toBe(count0 + 1); // mmgrab
    expect(A.mni.mm).toBe(mm);
    expect(A.mni.state).toBe('inserted');
    expect([A.mni.itStart, A.mni.itLast]).toEqual([0x1000, 0x1000]);
  });

  it('returns -EOVERFLOW for length 0 or a last address past ULONG_MAX', async () => {
    const { mm, sched } = world();
    const A = new TestDriver(sched, 'A');
    expect(await A.insert(mm, 0x1000, 0)).toBe(-EOVERFLOW);
    expect(await A.insert(mm, ULONG_MAX, 2)).toBe(-EOVERFLOW);
    expect(await A.insert(mm, 2, ULONG_MAX)).toBe(-EOVERFLOW);
    expect(A.mni.state).toBe('idle');
    expect(await A.insert(mm, ULONG_MAX, 1)).toBe(0);
    expect(A.mni.itLast).toBe(ULONG_MAX);
    const B = new TestDriver(sched, 'B');
    expect(await B.insert(mm, 0, ULONG_MAX)).toBe(0);
    expect(B.mni.itLast).toBe(ULONG_MAX - 1);
  });

  it('rejects bad input and double insertion', async () => {
    const { mm, sched } = world();
    const A = new TestDriver(sched, 'A');
    await expect(A.insert(mm, -4096, 1)).rejects.toThrow(InvalidArgumentError);
    await expect(A.insert(mm, 0.5, 1)).rejects.toThrow(InvalidArgumentError);
    await expect(A.insert(mm, 0, 2 ** 53)).rejects.toThrow(InvalidArgumentError);
    await expect(
      mmuIntervalNotifierInsert(A.mni, mm, 0, 1, {} as unknown as TestDriver['ops']),
    ).rejects.toThrow(InvalidArgumentError);
    await A.insert(mm, 0x1000, 0x1000);
    await expect(A.insert(mm, 0x1000, 0x1000)).rejects.toThrow(/already inserted/);
  });

  it('insert_locked needs mmap_sem held for write', async () => {
    const { mm, sched } = world();
    const A = new TestDriver(sched, 'A');
    await expect(mmuIntervalNotifierInsertLocked(A.mni, mm, 0x1000, 0x1000, A.ops)).rejects.toThrow(
      /without mmap_sem held for write/,
    );
    await downWrite(mm.mmapSem);
    expect(await mmuIntervalNotifierInsertLocked(A.mni, mm, 0x1000, 0x1000, A.ops)).toBe(0);
    upWrite(mm.mmapSem);
    expect(container(mm).hasItree).toBe(true);
  });

  it("checks mm_count in v5.5 mode and mm_users in the strict 'mm_users' mode", async () => {
    const { mm, sched } = world();
    const A = new TestDriver(sched, 'A');
    await A.insert(mm, 0x1000, 0x1000);
    await mmput(mm); // mm_users 0: the address space is gone, the struct is pinned by A
    const B = new TestDriver(sched, 'B');
    expect(await B.insert(mm, 0x5000, 0x1000)).toBe(0); // v5.5 only WARNs on mm_count <= 0
    mmuNotifierSetOptions(mm, { insertRequires: 'mm_users' });
    const C = new TestDriver(sched, 'C');
    await expect(C.insert(mm, 0x9000, 0x1000)).rejects.toThrow(/mmget\(\) reference/);
    expect(() => mmuNotifierSetOptions(mm, { insertRequires: 'x' as 'mm_users' })).toThrow(
      InvalidArgumentError,
    );
  });

  it('deferred inserts are linked list-head first (later deferred insert visited first among equal starts)', async () => {
    const { mm, sched } = world();
    const journal: string[] = [];
    const A = new TestDriver(sched, 'A', journal);
    await A.insert(mm, 0x1000, 0x1000);
    const r = range(mm, 0x1000, 0x2000);
    await mmuNotifierInvalidateRangeStart(r);
    const B1 = new TestDriver(sched, 'B1', journal);
    const B2 = new TestDriver(sched, 'B2', journal);
    await B1.insert(mm, 0x8000, 0x1000);
    await B2.insert(mm, 0x8000, 0x1000);
    await mmuNotifierInvalidateRangeEnd(r);
    journal.length = 0;
    const r2 = range(mm, 0x8000, 0x9000);
    await mmuNotifierInvalidateRangeStart(r2);
    await mmuNotifierInvalidateRangeEnd(r2);
    expect(journal).toEqual(['B2:invalidate', 'B1:invalidate']);
  });
});

describe('mmuIntervalNotifierRemove', () => {
  it('unlinks at once when idle and drops the mm_count pin', async () => {
    const { mm, sched } = world();
    const A = new TestDriver(sched, 'A');
    await A.insert(mm, 0x1000, 0x1000);
    const c = mm.mmCount;
    await mmuIntervalNotifierRemove(A.mni);
    expect(A.mni.itNode).toBe(IT_NIL);
    expect(A.mni.state).toBe('idle');
    expect(mm.mmCount).toBe(c - 1);
    expect(container(mm).itree.size).toBe(0);
    const r = range(mm, 0, 0x100000);
    await mmuNotifierInvalidateRangeStart(r);
    await mmuNotifierInvalidateRangeEnd(r);
    expect(A.calls).toEqual([]);
    // it may be inserted again
    expect(await A.insert(mm, 0x1000, 0x1000)).toBe(0);
  });

  it('cancels a pending (deferred) insert without waiting', async () => {
    const { mm, sched } = world();
    const A = new TestDriver(sched, 'A');
    await A.insert(mm, 0x1000, 0x1000);
    const r = range(mm, 0x1000, 0x2000);
    await mmuNotifierInvalidateRangeStart(r);
    const B = new TestDriver(sched, 'B');
    await B.insert(mm, 0x5000, 0x1000);
    await mmuIntervalNotifierRemove(B.mni); // no DeadlockError: no wait needed
    expect(container(mm).deferredList).toEqual([]);
    await mmuNotifierInvalidateRangeEnd(r);
    expect(B.mni.itNode).toBe(IT_NIL);
    expect(container(mm).itree.size).toBe(1);
  });

  it('waits for the invalidation window when the notifier is in the tree', async () => {
    const { mm, sched } = world();
    const log = mmuNotifierLogStart(sched);
    const A = new TestDriver(sched, 'A');
    await A.insert(mm, 0x1000, 0x1000);
    const r = range(mm, 0x1000, 0x2000);
    const started = new Completion(sched, 'started');
    const go = new Completion(sched, 'go');
    const journal: string[] = [];
    A.onInvalidate = () => journal.push('A invalidated');
    await runTasks(sched, {
      cpu0: async () => {
        await mmuNotifierInvalidateRangeStart(r);
        complete(started);
        await waitForCompletion(go);
        journal.push('end');
        await mmuNotifierInvalidateRangeEnd(r);
      },
      cpu1: async () => {
        await waitForCompletion(started);
        journal.push('remove');
        complete(go); // cpu0 may end now, but remove runs on until it sleeps
        await mmuIntervalNotifierRemove(A.mni);
        journal.push('remove returned');
      },
    });
    expect(journal).toEqual(['A invalidated', 'remove', 'end', 'remove returned']);
    expect(A.mni.itNode).toBe(IT_NIL);
    assertMmuNotifierHistory(log.events, { final: true });
  });

  it('rejects misuse: not inserted, twice, atomic context', async () => {
    const { mm, sched } = world();
    const A = new TestDriver(sched, 'A');
    await expect(mmuIntervalNotifierRemove(A.mni)).rejects.toThrow(/not inserted/);
    await expect(mmuIntervalReadBegin(A.mni)).rejects.toThrow(/not inserted/);
    await A.insert(mm, 0x1000, 0x1000);
    const l = new Spinlock(sched, 'some_spinlock');
    await spinLock(l);
    await expect(mmuIntervalNotifierRemove(A.mni)).rejects.toThrow(
      /sleeping function called from invalid context/,
    );
    spinUnlock(l);
    await mmuIntervalNotifierRemove(A.mni);
    await expect(mmuIntervalNotifierRemove(A.mni)).rejects.toThrow(KernelBugError);
  });
});

describe('mmu_itree invalidation', () => {
  it('calls exactly the intersecting notifiers, ascending start; touching ranges are not called', async () => {
    const { mm, sched } = world();
    const journal: string[] = [];
    const A = new TestDriver(sched, 'A', journal);
    const B = new TestDriver(sched, 'B', journal);
    const C = new TestDriver(sched, 'C', journal);
    await C.insert(mm, 0x5000, 0x1000);
    await A.insert(mm, 0x1000, 0x2000); // [0x1000, 0x2fff]
    await B.insert(mm, 0x3000, 0x1000); // [0x3000, 0x3fff]
    const r = range(mm, 0x2000, 0x5000); // touches C's start: not called
    await mmuNotifierInvalidateRangeStart(r);
    await mmuNotifierInvalidateRangeEnd(r);
    expect(journal).toEqual(['A:invalidate', 'B:invalidate']);
    journal.length = 0;
    const r2 = range(mm, 0x4000, 0x5000); // touches B's end + 1 and C's start: nobody
    await mmuNotifierInvalidateRangeStart(r2);
    expect(container(mm).invalidateSeq % 2).toBe(0);
    await mmuNotifierInvalidateRangeEnd(r2);
    expect(journal).toEqual([]);
  });

  it('non-blockable: a refusing notifier makes start fail with -EAGAIN, skips the rest and undoes the tree accounting', async () => {
    const { mm, sched } = world();
    const journal: string[] = [];
    const A = new TestDriver(sched, 'A', journal);
    const B = new TestDriver(sched, 'B', journal);
    const C = new TestDriver(sched, 'C', journal);
    await A.insert(mm, 0x1000, 0x1000);
    await B.insert(mm, 0x2000, 0x1000);
    await C.insert(mm, 0x3000, 0x1000);
    B.refuse = true;
    const r = range(mm, 0x1000, 0x4000, MMU_NOTIFY_UNMAP);
    expect(await mmuNotifierInvalidateRangeStartNonblock(r)).toBe(-EAGAIN);
    expect(journal).toEqual(['A:invalidate']);
    expect(A.calls[0]!.blockable).toBe(false);
    const m = container(mm);
    expect([m.activeInvalidateRanges, m.invalidateSeq]).toEqual([0, 4]);
    assertMmuNotifierInvariants(mm);
    // and the caller must not send the end
    await expect(mmuNotifierInvalidateRangeEnd(r)).rejects.toThrow(
      /after a failed non-blockable start/,
    );
  });

  it('non-blockable: a driver lock held elsewhere makes the trylock fail → -EAGAIN', async () => {
    const { mm, sched } = world();
    const A = new TestDriver(sched, 'A');
    await A.insert(mm, 0x1000, 0x1000);
    await mutexLock(A.lock);
    const r = range(mm, 0x1000, 0x2000);
    expect(await mmuNotifierInvalidateRangeStartNonblock(r)).toBe(-EAGAIN);
    mutexUnlock(A.lock);
    const r2 = range(mm, 0x1000, 0x2000);
    expect(await mmuNotifierInvalidateRangeStartNonblock(r2)).toBe(0);
    await mmuNotifierInvalidateRangeEnd(r2);
  });

  it('a blockable refusal and a non-blockable sleep are bugs', async () => {
    const { mm, sched } = world();
    const A = new TestDriver(sched, 'A');
    await A.insert(mm, 0x1000, 0x1000);
    A.refuse = true;
    await expect(mmuNotifierInvalidateRangeStart(range(mm, 0x1000, 0x2000))).rejects.toThrow(
      /invalidate returned false for a blockable range/,
    );
    const w = world();
    const S = new MmuIntervalNotifier();
    const lock = new TestDriver(w.sched, 'x').lock;
    await mmuIntervalNotifierInsert(S, w.mm, 0x1000, 0x1000, {
      async invalidate(mni, _r, seq) {
        await mutexLock(lock); // sleeping lock in a non-blockable callback
        mmuIntervalSetSeq(mni, seq);
        mutexUnlock(lock);
        return true;
      },
    });
    await expect(
      mmuNotifierInvalidateRangeStartNonblock(range(w.mm, 0x1000, 0x2000)),
    ).rejects.toThrow(/slept in a non-blockable invalidation/);
    expect(w.sched.current.preemptCount).toBe(0);
    const w2 = world(); // w's state is wrecked by the bug above (the start never finished)
    const T = new MmuIntervalNotifier();
    await mmuIntervalNotifierInsert(T, w2.mm, 0x9000, 0x1000, {
      invalidate: () => 1 as unknown as boolean,
    });
    await expect(mmuNotifierInvalidateRangeStart(range(w2.mm, 0x9000, 0xa000))).rejects.toThrow(
      /expected true or false/,
    );
  });

  it('rejects malformed ranges and unpaired ends', async () => {
    const { mm, sched } = world();
    const A = new TestDriver(sched, 'A');
    await A.insert(mm, 0x1000, 0x1000);
    const m = container(mm);
    await expect(m.invalidateRangeStart(range(mm, 0x2000, 0x2000))).rejects.toThrow(
      InvalidArgumentError,
    );
    const other = world().mm;
    await expect(m.invalidateRangeStart(range(other, 0x1000, 0x2000))).rejects.toThrow(
      /delivered to/,
    );
    const r = range(mm, 0x1000, 0x2000);
    await mmuNotifierInvalidateRangeStart(r);
    await expect(mmuNotifierInvalidateRangeStart(r)).rejects.toThrow(/already started/);
    await mmuNotifierInvalidateRangeEnd(r);
    await expect(mmuNotifierInvalidateRangeEnd(r)).rejects.toThrow(/its end already ran/);
  });

  it('the exit release invalidation must succeed', async () => {
    const { mm, sched } = world();
    const A = new TestDriver(sched, 'A');
    await A.insert(mm, 0x1000, 0x1000);
    A.refuse = true;
    await expect(mmput(mm)).rejects.toThrow(/MMU_NOTIFY_RELEASE/);
  });
});
