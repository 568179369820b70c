import { downRead, KernelBugError, mutexLock, mutexUnlock, upRead } from '@hmmsim/kernel';
import {
  MMU_NOTIFY_CLEAR,
  MMU_NOTIFY_RELEASE,
  type MmStruct,
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
} from '@hmmsim/mm';
import { describe, expect, it } from 'vitest';
import {
  assertMmuNotifierHistory,
  assertMmuNotifierInvariants,
  checkActiveRanges,
  checkCallbacksInWindow,
  checkDeferredState,
  checkFaultContext,
  checkMmPins,
  checkNoCallbackLockHeld,
  checkReadRetry,
  checkReleaseBeforeTeardown,
  checkRemoveAndDeferredInsert,
  checkSeqParity,
  checkStartEndPairing,
  checkSubscriberRecords,
  checkTreeFrozen,
  checkUnregisterAndFree,
  MmuNotifier,
  MmuNotifierLog,
  type MmuNotifierMm,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuNotifierHistoryViolations,
  mmuNotifierLogStart,
  mmuNotifierLogStop,
  mmuNotifierMmOf,
  mmuNotifierRegister,
  mmuNotifierStateViolations,
} from '../src/index.ts';
import { TestDriver, world } from './helpers.ts';

const range = (mm: MmStruct, start: number, end: number) =>
  mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, 0, null, mm, start, end);

/** A world with one inserted driver A at [0x1000, 0x1fff] and an empty synthetic log. */
async function fixture() {
  const w = world();
  const A = new TestDriver(w.sched, 'A');
  await A.insert(w.mm, 0x1000, 0x1000);
  const m = mmuNotifierMmOf(w.mm) as MmuNotifierMm;
  const synth = new MmuNotifierLog(w.sched);
  return { ...w, A, m, synth };
}

describe('state checks', () => {
  it('all hold on a sound container', async () => {
    const { mm } = await fixture();
    expect(mmuNotifierStateViolations(mm)).toEqual([]);
    assertMmuNotifierInvariants(mm);
    expect(mmuNotifierStateViolations(world().mm)).toEqual([]); // no container: nothing to check
  });

  it('inv 6 (checkSeqParity) catches an odd idle seq and an even notifier seq', async () => {
    const { mm, m, A } = await fixture();
    expect(checkSeqParity(m)).toEqual([]);
    A.mni.invalidateSeq = 4; // corrupted (set_seq itself refuses anything but cur_seq)
    expect(checkSeqParity(m)[0]).toMatch(/inv6: .* even invalidate_seq 4/);
    m.invalidateSeq = 5;
    expect(checkSeqParity(m).join()).toMatch(/odd with no active invalidation/);
    expect(() => assertMmuNotifierInvariants(mm)).toThrow(KernelBugError);
  });

  it('inv 7 (checkDeferredState) catches deferred work while even and a corrupted tree', async () => {
    const { m, sched } = await fixture();
    expect(checkDeferredState(m)).toEqual([]);
    const B = new TestDriver(sched, 'B');
    m.deferredList.push(B.mni);
    const errs = checkDeferredState(m).join('\n');
    expect(errs).toMatch(/is even but 1 deferred change/);
    expect(errs).toMatch(/without its deferred flag/);
    m.deferredList.length = 0;
    (m.itree as unknown as { maxA: Float64Array }).maxA[m.itree.root] = 0;
    expect(checkDeferredState(m).join()).toMatch(/interval tree: .*subtree last/);
  });

  it('inv 11 (checkActiveRanges) catches a leaked active count', async () => {
    const { m } = await fixture();
    expect(checkActiveRanges(m)).toEqual([]);
    m.activeInvalidateRanges++;
    expect(checkActiveRanges(m)[0]).toMatch(/inv11/);
  });

  it('inv 12 (checkFaultContext) wants mmap_sem and mm_users', async () => {
    const { mm } = await fixture();
    expect(checkFaultContext(mm)[0]).toMatch(/without mmap_sem/);
    await downRead(mm.mmapSem);
    expect(checkFaultContext(mm)).toEqual([]);
    mm.mmUsers = 0;
    expect(checkFaultContext(mm)[0]).toMatch(/mm_users 0/);
    mm.mmUsers = 1;
    upRead(mm.mmapSem);
  });

  it('inv 13 (checkNoCallbackLockHeld) flags the driver lock held around read_begin/remove', async () => {
    const { mm, A } = await fixture();
    expect(checkNoCallbackLockHeld(mm)).toEqual([]);
    await mutexLock(A.lock);
    expect(checkNoCallbackLockHeld(mm)[0]).toMatch(/holds mutex A.user_lock/);
    await expect(mmuIntervalReadBegin(A.mni)).rejects.toThrow(/lockdep/);
    mutexUnlock(A.lock);
    expect(checkNoCallbackLockHeld(world().mm)).toEqual([]);
  });

  it('inv 14 (checkMmPins) catches a notifier without its mm_count pin', async () => {
    const { mm } = await fixture();
    await mmuNotifierRegister(new MmuNotifier({}), mm);
    expect(checkMmPins(mm)).toEqual([]);
    mm.mmCount--;
    expect(checkMmPins(mm)[0]).toMatch(/inv14: .* 2 notifier pin/);
    expect(checkMmPins(world().mm)).toEqual([]);
  });
});

describe('subscriber records (checkSubscriberRecords)', () => {
  it('holds on a sound container and is part of mmuNotifierStateViolations', async () => {
    const { mm, m } = await fixture();
    await mmuNotifierRegister(new MmuNotifier({}), mm);
    expect(checkSubscriberRecords(m)).toEqual([]);
    m.pins = 0;
    expect(mmuNotifierStateViolations(mm).join()).toMatch(
      /inv14: .* 0 notifier pin\(s\) for 2 subscriber/,
    );
  });

  it('catches a notifier whose interval was changed after insert (the tree still files the old one)', async () => {
    const { m, A } = await fixture();
    A.mni.itLast += 0x1000; // a driver "growing" its subscription in place
    expect(checkSubscriberRecords(m).join()).toMatch(
      /inv7: notifier \[0x1000, 0x2fff\] is filed in the tree as \[0x1000, 0x1fff\]/,
    );
  });

  it('catches a linked notifier of another mm or without ops', async () => {
    const { m, A } = await fixture();
    const other = world().mm;
    A.mni.mm = other;
    expect(checkSubscriberRecords(m).join()).toMatch(/records mm\d+/);
    A.mni.mm = m.mm;
    A.mni.ops = null;
    expect(checkSubscriberRecords(m).join()).toMatch(/without an invalidate op/);
  });

  it('catches an hlist subscriber unhashed, with users 0, a wrong back link or another mm', async () => {
    const { mm, m } = await fixture();
    const L = new MmuNotifier({});
    const K = new MmuNotifier({});
    await mmuNotifierRegister(L, mm);
    await mmuNotifierRegister(K, mm); // K first, then L
    expect(checkSubscriberRecords(m)).toEqual([]);
    L.hashed = false;
    L.users = 0;
    L.hprev = null;
    L.mm = null;
    const errs = checkSubscriberRecords(m).join('\n');
    expect(errs).toMatch(/subscriber 2 .* unhashed/);
    expect(errs).toMatch(/subscriber 2 .* users 0/);
    expect(errs).toMatch(/subscriber 2 .* wrong back link/);
    expect(errs).toMatch(/subscriber 2 .* records mm NULL/);
  });
});

describe('history checks', () => {
  it('all hold on a real run, and the log can be stopped', async () => {
    const { mm, sched, A } = await fixture();
    const log = mmuNotifierLogStart(sched);
    expect(mmuNotifierLogStart(sched)).toBe(log);
    const s = await mmuIntervalReadBegin(A.mni);
    const r = range(mm, 0x1000, 0x2000);
    await mmuNotifierInvalidateRangeStart(r);
    await mmuNotifierInvalidateRangeEnd(r);
    await mutexLock(A.lock);
    expect(mmuIntervalReadRetry(A.mni, s)).toBe(true);
    mutexUnlock(A.lock);
    expect(log.events.map((e) => e.kind)).toEqual([
      'read-begin',
      'itree-cb-enter',
      'set-seq',
      'itree-cb-exit',
      'range-start',
      'range-end',
      'wake',
      'read-retry',
    ]);
    expect(mmuNotifierHistoryViolations(log.events, { final: true })).toEqual([]);
    mmuNotifierLogStop(sched);
    const n = log.events.length;
    await mmuIntervalReadBegin(A.mni);
    expect(log.events.length).toBe(n);
    log.clear();
    expect(log.events).toEqual([]);
  });

  it('inv 7 (checkTreeFrozen) catches a tree change while odd and an early wake', async () => {
    const { mm, A, synth } = await fixture();
    synth.record({ kind: 'tree-link', mni: A.mni, seqBefore: 2, deferred: false });
    synth.record({ kind: 'wake', mm, globalSeq: 4, deferredLeft: 0 });
    expect(checkTreeFrozen(synth.events)).toEqual([]);
    synth.record({ kind: 'tree-unlink', mni: A.mni, seqBefore: 3, deferred: false });
    synth.record({ kind: 'wake', mm, globalSeq: 4, deferredLeft: 1 });
    const errs = checkTreeFrozen(synth.events);
    expect(errs).toHaveLength(2);
    expect(() => assertMmuNotifierHistory(synth.events)).toThrow(/inv7/);
  });

  it('inv 8 (checkCallbacksInWindow) catches a callback outside a window or outside the interval', async () => {
    const { mm, A, synth } = await fixture();
    const ok = { kind: 'itree-cb-enter', mni: A.mni, itStart: 0x1000, itLast: 0x1fff } as const;
    synth.record({ ...ok, range: range(mm, 0x1000, 0x2000), curSeq: 3, globalSeq: 3 });
    expect(checkCallbacksInWindow(synth.events)).toEqual([]);
    synth.record({ ...ok, range: range(mm, 0x1000, 0x2000), curSeq: 4, globalSeq: 4 });
    synth.record({ ...ok, range: range(mm, 0x2000, 0x3000), curSeq: 5, globalSeq: 5 }); // touching only
    synth.record({ ...ok, range: range(mm, 0x1000, 0x2000), curSeq: 3, globalSeq: 5 });
    const errs = checkCallbacksInWindow(synth.events).join('\n');
    expect(errs).toMatch(/while the seq was even/);
    expect(errs).toMatch(/no intersection/);
    expect(errs).toMatch(/cur_seq 3 != global 5/);
  });

  it('inv 9 (checkReadRetry) catches a driver that forgets set_seq, on a real run', async () => {
    const { mm, sched, A } = await fixture();
    const log = mmuNotifierLogStart(sched);
    A.forgetSetSeq = true;
    const s = await mmuIntervalReadBegin(A.mni);
    const r = range(mm, 0x1000, 0x2000);
    await mmuNotifierInvalidateRangeStart(r);
    await mmuNotifierInvalidateRangeEnd(r);
    await mutexLock(A.lock);
    expect(mmuIntervalReadRetry(A.mni, s)).toBe(false); // the stale snapshot would be used
    mutexUnlock(A.lock);
    expect(checkReadRetry(log.events)[0]).toMatch(/did invalidate\(\) call mmu_interval_set_seq/);
  });

  it('inv 9 (checkReadRetry) catches a spurious retry, a retry going back to false, and foreign seqs', async () => {
    const { A, synth } = await fixture();
    synth.record({ kind: 'read-begin', mni: A.mni, seq: 1, slept: false, globalAtReturn: 2 });
    synth.record({ kind: 'read-retry', mni: A.mni, seq: 1, ret: false });
    expect(checkReadRetry(synth.events)).toEqual([]);
    synth.record({ kind: 'read-retry', mni: A.mni, seq: 1, ret: true }); // nothing changed it
    synth.record({ kind: 'read-retry', mni: A.mni, seq: 1, ret: false }); // and back to false
    synth.record({ kind: 'read-retry', mni: A.mni, seq: 9, ret: false });
    synth.record({ kind: 'read-begin', mni: A.mni, seq: 3, slept: true, globalAtReturn: 3 });
    const errs = checkReadRetry(synth.events).join('\n');
    expect(errs).toMatch(/is true but no set_seq changed it/);
    expect(errs).toMatch(/went back to false/);
    expect(errs).toMatch(/with a seq no read_begin returned/);
    expect(errs).toMatch(/returned 3 while that window was still open/);
  });

  it('inv 10 (checkRemoveAndDeferredInsert) catches callbacks after remove and in the insert window', async () => {
    const { mm, A, synth } = await fixture();
    const enter = {
      kind: 'itree-cb-enter',
      mni: A.mni,
      range: range(mm, 0x1000, 0x2000),
      itStart: 0x1000,
      itLast: 0x1fff,
    } as const;
    synth.record({ kind: 'insert', mni: A.mni, deferred: true, seq: 3 });
    synth.record({ ...enter, curSeq: 5, globalSeq: 5 });
    synth.record({ kind: 'itree-cb-exit', mni: A.mni, ok: true });
    synth.record({ kind: 'remove-done', mni: A.mni });
    expect(checkRemoveAndDeferredInsert(synth.events)).toEqual([]);
    synth.record({ ...enter, curSeq: 7, globalSeq: 7 });
    synth.record({ kind: 'remove-done', mni: A.mni });
    synth.record({ kind: 'insert', mni: A.mni, deferred: true, seq: 9 });
    synth.record({ ...enter, curSeq: 9, globalSeq: 9 });
    const errs = checkRemoveAndDeferredInsert(synth.events).join('\n');
    expect(errs).toMatch(/after its remove returned/);
    expect(errs).toMatch(/returned while its invalidate was running/);
    expect(errs).toMatch(/called in the window \(seq 9\) it was inserted in/);
  });

  it('inv 11 (checkStartEndPairing) catches missing, extra and orphan ends', async () => {
    const { mm, synth } = await fixture();
    const r1 = range(mm, 0, 0x1000);
    const r2 = range(mm, 0, 0x1000);
    const r3 = range(mm, 0, 0x1000);
    synth.record({ kind: 'range-start', mm, range: r1, ret: 0, mmUsers: 1 });
    synth.record({ kind: 'range-end', mm, range: r1 });
    expect(checkStartEndPairing(synth.events, { final: true })).toEqual([]);
    synth.record({ kind: 'range-start', mm, range: r2, ret: 0, mmUsers: 1 });
    expect(checkStartEndPairing(synth.events)).toEqual([]); // not final: the end may still come
    expect(checkStartEndPairing(synth.events, { final: true })[0]).toMatch(/never got its end/);
    synth.record({ kind: 'range-end', mm, range: r1 });
    synth.record({ kind: 'range-end', mm, range: r3 });
    synth.record({ kind: 'range-start', mm, range: r3, ret: -11, mmUsers: 1 });
    synth.record({ kind: 'range-end', mm, range: r3 });
    const errs = checkStartEndPairing(synth.events).join('\n');
    expect(errs).toMatch(/second end/);
    expect(errs).toMatch(/without a start/);
    expect(errs).toMatch(/after its start failed/);
  });

  it('inv 14 (checkReleaseBeforeTeardown) catches teardown before release', async () => {
    const { mm, A, synth } = await fixture();
    synth.record({ kind: 'release', mm, mmUsers: 0, rssPages: 3 });
    synth.record({ kind: 'range-start', mm, range: range(mm, 0, 0x1000), ret: 0, mmUsers: 0 });
    expect(checkReleaseBeforeTeardown(synth.events)).toEqual([]);
    const w = world();
    const late = new MmuNotifierLog(w.sched);
    const mn = new MmuNotifier({});
    late.record({ kind: 'register', mn, mm: w.mm });
    late.record({
      kind: 'range-start',
      mm: w.mm,
      range: range(w.mm, 0, 0x1000),
      ret: 0,
      mmUsers: 0,
    });
    late.record({ kind: 'release', mm: w.mm, mmUsers: 0, rssPages: 0 });
    late.record({ kind: 'hlist-cb-enter', mn, op: 'release' });
    late.record({
      kind: 'itree-cb-enter',
      mni: A.mni,
      range: mmuNotifierRangeInit(MMU_NOTIFY_RELEASE, 1, null, w.mm, 0, 2 ** 40),
      curSeq: 3,
      globalSeq: 3,
      itStart: 0x1000,
      itLast: 0x1fff,
    });
    const errs = checkReleaseBeforeTeardown(late.events).join('\n');
    expect(errs).toMatch(/teardown invalidation of mm\d+ before release/);
    expect(errs).toMatch(/release of mm\d+ after its teardown started/);
    expect(errs).toMatch(/release callback after teardown/);
    expect(errs).toMatch(/MMU_NOTIFY_RELEASE of mm\d+ after its teardown started/);
  });

  it('inv 15 (checkUnregisterAndFree) catches callbacks after unregister and bad frees', async () => {
    const { synth } = await fixture();
    const a = new MmuNotifier({});
    const b = new MmuNotifier({});
    synth.record({ kind: 'hlist-cb-enter', mn: a, op: 'invalidateRangeStart' });
    synth.record({ kind: 'unregister-done', mn: a }); // while running
    synth.record({ kind: 'hlist-cb-exit', mn: a, op: 'invalidateRangeStart' });
    synth.record({ kind: 'hlist-cb-enter', mn: a, op: 'invalidateRangeEnd' }); // after unregister
    synth.record({ kind: 'free-notifier', mn: b }); // without put
    synth.record({ kind: 'put-last', mn: b });
    synth.record({ kind: 'free-notifier', mn: b });
    synth.record({ kind: 'free-notifier', mn: b });
    const errs = checkUnregisterAndFree(synth.events).join('\n');
    expect(errs).toMatch(/unregister returned while a callback was running/);
    expect(errs).toMatch(/invalidateRangeEnd callback after unregister returned/);
    expect(errs).toMatch(/free_notifier without a final put/);
    expect(errs).toMatch(/free_notifier ran 2 times/);
    const pending = new MmuNotifierLog(synth.sched);
    pending.record({ kind: 'put-last', mn: a });
    expect(checkUnregisterAndFree(pending.events)).toEqual([]);
    expect(checkUnregisterAndFree(pending.events, { final: true })[0]).toMatch(
      /never followed by free_notifier/,
    );
  });
});
