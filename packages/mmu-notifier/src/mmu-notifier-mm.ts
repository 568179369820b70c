/**
 * The per-mm notifier container (`struct mmu_notifier_mm`, v5.5 names) and the dispatcher that
 * the core mm calls through its hook slot: it implements `MmuNotifierHooks` and fans every hook
 * out to the interval tree first and to the hlist (legacy) subscribers second (as mm/mmu_notifier.c does).
 *
 * Shared-state reports (explorer's partial-order reduction): the container `m` reports each field
 * as an element (noteRead(m, MMN_FIELD.seq): hlist head, sequence, counters, deferred list, user
 * locks; its record of a range as an access to that range), each legacy subscriber `mn` is one object (its hlist links, users, mm,
 * ops), the per-mm container table and the options table one object each; the interval tree and
 * the SRCU domain report themselves, and so do the MmStruct's fields (@hmmsim/mm accessors).
 *
 * Mirrors mm/mmu_notifier.c: struct mmu_notifier_mm, __mmu_notifier_invalidate_range_start(),
 * __mmu_notifier_invalidate_range_end(), mn_hlist_*(), __mmu_notifier_release(),
 * __mmu_notifier_invalidate_range(), __mmu_notifier_change_pte(), the young helpers and
 * __mmu_notifier_mm_destroy().
 */
import {
  accessReporting,
  checkUlong,
  EAGAIN,
  InvalidArgumentError,
  isUlong,
  KernelBugError,
  mightSleep,
  noteRead,
  noteWrite,
  ObjectSlot,
  Spinlock,
  spinLock,
  spinUnlock,
  WaitQueueHead,
} from '@hmmsim/kernel';
import {
  type MmStruct,
  type MmuNotifierHooks,
  type MmuNotifierRange,
  mmuNotifierRangeBlockable,
  mmuNotifierSetHooks,
  mmuNotifyEventName,
} from '@hmmsim/mm';
import { checkMmStruct, checkObject } from './arg-checks.ts';
import { type MmuNotifierOpName, mmuNotifierLogOf } from './event-log.ts';
import { IntervalTree } from './interval-tree.ts';
import { explainNonBlockSleep, nonBlockEnd, nonBlockStart, type UserLock } from './lockdep.ts';
import {
  type MmuIntervalNotifier,
  mnItreeInvalidate,
  mnItreeInvEnd,
  mnItreeRelease,
} from './mmu-interval-notifier.ts';
import type { MmuNotifier } from './mmu-notifier.ts';
import {
  mmuNotifierSrcu,
  type SrcuStruct,
  srcuReadLock,
  srcuReadUnlock,
  synchronizeSrcu,
} from './srcu.ts';

/**
 * Behaviour switches where kernel versions differ.
 * Mirrors: model-only (v5.4/v5.5 mm/mmu_notifier.c vs c2655835fd8c and later insert checks).
 */
export interface MmuNotifierOptions {
  /**
   * Race R3, a failed non-blockable hlist start. 'v5.4' (default, the 2019 behaviour): the
   * subscribers whose start succeeded never get an end. 'fixed' (c2655835fd8c, 2021): after the
   * failure every hlist subscriber implementing `invalidateRangeEnd` gets it, and a subscriber
   * that fails start while implementing end is a bug. In both, an interval-tree start that
   * succeeded before the hlist failure is not undone (mainline never fixed that part).
   */
  readonly unpairedStartEnd: 'v5.4' | 'fixed';
  /**
   * What mmu_interval_notifier_insert() insists on. 'mm_count' (default, v5.5): only that the
   * struct is alive. 'mm_users' (later kernels, strict): that the caller holds an mmget reference.
   */
  readonly insertRequires: 'mm_count' | 'mm_users';
}

/**
 * The faithful 2019 settings.
 * Mirrors: model-only.
 */
export const DEFAULT_MMU_NOTIFIER_OPTIONS: MmuNotifierOptions = Object.freeze({
  unpairedStartEnd: 'v5.4',
  insertRequires: 'mm_count',
});

const containers = new ObjectSlot<MmStruct, MmuNotifierMm>('mm.mmu_notifier_mm');
const optionsByMm = new ObjectSlot<MmStruct, MmuNotifierOptions>('mm.mmu_notifier_options');
/** What the container of the range's mm did with it (see RangeState). */
const rangeStates = new ObjectSlot<MmuNotifierRange, RangeRecord>('mmu_notifier_range.state');

/**
 * Set the version switches of `mm` (before or after the first registration); returns the result.
 * Mirrors: model-only (the kernel version is a build choice).
 */
export function mmuNotifierSetOptions(
  mm: MmStruct,
  opts: Partial<MmuNotifierOptions>,
): MmuNotifierOptions {
  checkMmStruct('mmuNotifierSetOptions', 'mm', mm);
  checkObject('mmuNotifierSetOptions', 'opts', opts, 'an object of MmuNotifierOptions');
  const next = { ...mmuNotifierOptionsOf(mm), ...opts };
  if (accessReporting) noteWrite(optionsByMm);
  if (next.unpairedStartEnd !== 'v5.4' && next.unpairedStartEnd !== 'fixed') {
    throw new InvalidArgumentError(
      `mmuNotifierSetOptions: unpairedStartEnd is '${String(next.unpairedStartEnd)}'; expected 'v5.4' or 'fixed'`,
    );
  }
  if (next.insertRequires !== 'mm_count' && next.insertRequires !== 'mm_users') {
    throw new InvalidArgumentError(
      `mmuNotifierSetOptions: insertRequires is '${String(next.insertRequires)}'; expected 'mm_count' or 'mm_users'`,
    );
  }
  optionsByMm.set(mm, next);
  return next;
}

/**
 * The version switches in force for `mm` (DEFAULT_MMU_NOTIFIER_OPTIONS unless set).
 * Mirrors: model-only.
 */
export function mmuNotifierOptionsOf(mm: MmStruct): MmuNotifierOptions {
  if (accessReporting) noteRead(optionsByMm);
  return optionsByMm.get(mm) ?? DEFAULT_MMU_NOTIFIER_OPTIONS;
}

/**
 * The container of `mm`, or null before the first registration (or after the mm was freed).
 * Mirrors include/linux/mm_types.h:mm_struct.mmu_notifier_mm.
 */
export function mmuNotifierMmOf(mm: MmStruct): MmuNotifierMm | null {
  if (accessReporting) noteRead(containers);
  return containers.get(mm) ?? null;
}

/**
 * Allocate the container of `mm` and publish it as the mm's hook object (idempotent).
 * Mirrors the allocation/publication half of mm/mmu_notifier.c:__mmu_notifier_register().
 */
export function mmuNotifierMmCreate(mm: MmStruct): MmuNotifierMm {
  checkMmStruct('mmu_notifier_mm_create', 'mm', mm);
  if (accessReporting) noteRead(containers);
  const existing = containers.get(mm);
  if (existing !== undefined) return existing;
  if (mm.notifier !== null) {
    throw new KernelBugError(
      `mmu_notifier: mm${mm.id} already has another invalidation listener installed; expected the ` +
        'mmu_notifier_mm to be the first listener (attach recorders after the first registration: they chain to it)',
    );
  }
  if (mm.freed) {
    throw new KernelBugError(
      `mmu_notifier: mm${mm.id} is already freed; expected a live mm_struct`,
    );
  }
  const m = new MmuNotifierMm(mm);
  if (accessReporting) noteWrite(containers);
  containers.set(mm, m);
  mmuNotifierSetHooks(mm, m);
  return m;
}

/** Check that `range` is a sane invalidation of `mm`. */
function checkRange(mm: MmStruct, range: MmuNotifierRange, fn: string): void {
  checkObject(fn, 'range', range, 'an mmu_notifier_range (mmuNotifierRangeInit)');
  if (range.mm !== mm) {
    throw new KernelBugError(
      `${fn}: range of mm${(range.mm as MmStruct | undefined)?.id} delivered to mm${mm.id}; expected range.mm to be the mm`,
    );
  }
  const { start, end } = range;
  checkUlong(fn, 'range.start', start, 'an address');
  checkUlong(fn, 'range.end', end, 'an address');
  if (end <= start) {
    throw new InvalidArgumentError(
      `${fn}: range [0x${start.toString(16)}, 0x${end.toString(16)}) is empty; expected start < end`,
    );
  }
}

/** Check the (mm, address numbers) of a synchronous hook: the container's mm, unsigned longs. */
function checkHookArgs(m: MmuNotifierMm, fn: string, mm: MmStruct, a: number, b = 0): void {
  if (mm !== m.mm) {
    throw new KernelBugError(
      `${fn}: mm${(mm as MmStruct | undefined)?.id} delivered to the container of mm${m.mm.id}; expected the same mm`,
    );
  }
  if (!isUlong(a)) checkUlong(fn, 'start', a, 'an address');
  if (!isUlong(b)) checkUlong(fn, 'end', b, 'an address');
}

/**
 * The fields of an MmuNotifierMm as elements of its access reports (`noteRead(m, MMN_FIELD.seq)`):
 * steps that touch different fields of the container do not conflict. A report without an
 * element still covers every field.
 * Mirrors: model-only (the granularity of the explorer's dependency relation).
 */
export const MMN_FIELD = {
  /** `first`: the hlist head. */
  first: 0,
  /** `hasItree`. */
  hasItree: 1,
  /** `invalidateSeq`. */
  seq: 2,
  /** `activeInvalidateRanges` and `openItreeRanges` (updated together under the lock). */
  active: 3,
  /** `deferredList`. */
  deferred: 4,
  /** `userLocks`. */
  userLocks: 5,
  /** `pins` and `destroyed`. */
  pins: 6,
} as const;

/**
 * One mm's notifier state: the hlist of legacy subscribers and the interval-tree machinery.
 * Fields are read-only outside this package (the invariant checks read them).
 * Mirrors mm/mmu_notifier.c:struct mmu_notifier_mm (v5.5).
 */
export class MmuNotifierMm implements MmuNotifierHooks {
  /** Head of the hlist of legacy subscribers (newest first). */
  first: MmuNotifier | null = null;
  /** Set once any interval notifier was ever registered (by __mmu_notifier_register(NULL)). */
  hasItree = false;
  readonly lock: Spinlock;
  /** Even: no interval notifier is being invalidated; odd: fully excluded (tree frozen). */
  invalidateSeq = 2;
  /** invalidate_range_start calls on this mm whose end has not run yet. */
  activeInvalidateRanges = 0;
  readonly itree = new IntervalTree<MmuIntervalNotifier>();
  readonly wq: WaitQueueHead;
  /** Pending inserts (node unlinked) and removes (node linked); index 0 is the list head. */
  readonly deferredList: MmuIntervalNotifier[] = [];
  /** Locks declared by the interval notifiers' ops (lockdep model), with use counts. */
  readonly userLocks = new Map<UserLock, number>();
  /** mm_count references held by notifiers of this mm (model bookkeeping for invariant 14). */
  pins = 0;
  /** True once __mmu_notifier_mm_destroy ran. */
  destroyed = false;
  /**
   * Interval-tree invalidations whose end is still due (counted with `activeInvalidateRanges`
   * under the lock): equal to it unless a failed non-blockable start leaked one (R3).
   */
  openItreeRanges = 0;
  readonly srcu: SrcuStruct;

  constructor(readonly mm: MmStruct) {
    const sched = mm.machine.sched;
    this.lock = new Spinlock(sched, 'mmn_mm.lock', `mm${mm.id}`);
    this.wq = new WaitQueueHead(sched, 'mmn_mm.wq', `mm${mm.id}`);
    this.srcu = mmuNotifierSrcu(sched);
  }

  /** The version switches in force. */
  get options(): MmuNotifierOptions {
    return mmuNotifierOptionsOf(this.mm);
  }

  /**
   * Add `mn` at the head of the hlist (caller holds `lock`).
   * Mirrors include/linux/rculist.h:hlist_add_head_rcu().
   */
  hlistAddHead(mn: MmuNotifier): void {
    if (accessReporting) noteWrite(this, MMN_FIELD.first);
    if (accessReporting) noteWrite(mn);
    if (mn.hashed)
      throw new KernelBugError(
        'hlist_add_head_rcu: notifier is already on a list; expected an unhashed node',
      );
    mn.hnext = this.first;
    mn.hprev = null;
    if (this.first !== null) {
      if (accessReporting) noteWrite(this.first);
      this.first.hprev = mn;
    }
    this.first = mn;
    mn.hashed = true;
  }

  /**
   * Unlink `mn` if it is on the hlist; its `hnext` is kept so that a concurrent traversal
   * sitting on it continues (RCU). Caller holds `lock`.
   * Mirrors include/linux/rculist.h:hlist_del_init_rcu().
   */
  hlistDelInit(mn: MmuNotifier): void {
    if (accessReporting) noteRead(mn);
    if (!mn.hashed) return;
    if (accessReporting) noteWrite(mn);
    if (accessReporting) noteWrite(this, MMN_FIELD.first);
    if (mn.hprev === null) this.first = mn.hnext;
    else {
      if (accessReporting) noteWrite(mn.hprev);
      mn.hprev.hnext = mn.hnext;
    }
    if (mn.hnext !== null) {
      if (accessReporting) noteWrite(mn.hnext);
      mn.hnext.hprev = mn.hprev;
    }
    mn.hprev = null;
    mn.hashed = false;
  }

  /** True when the global sequence is odd (fully excluded). Mirrors mn_itree_is_invalidating(). */
  isInvalidating(): boolean {
    if (accessReporting) noteRead(this, MMN_FIELD.seq);
    return this.invalidateSeq % 2 === 1;
  }

  // ---- the hooks the core mm calls ------------------------------------------------------------

  /**
   * Start of an invalidation: interval notifiers first, then hlist subscribers. Returns 0, or
   * -EAGAIN when the range is not blockable and a callback could not proceed.
   * Mirrors mm/mmu_notifier.c:__mmu_notifier_invalidate_range_start().
   */
  async invalidateRangeStart(range: MmuNotifierRange): Promise<number> {
    checkRange(this.mm, range, 'invalidate_range_start');
    const sched = this.mm.machine.sched;
    if (mmuNotifierRangeBlockable(range))
      mightSleep(sched, 'mmu_notifier_invalidate_range_start', `mm${this.mm.id}`);
    await sched.point({
      kind: 'mmu_notifier.invalidate_range_start',
      label: mmuNotifierRangeLabel(range),
      obj: `mm${this.mm.id}`,
    });
    // The container's record of each range is that range's own state.
    if (accessReporting) noteRead(range);
    const prev = rangeStateIn(this, range);
    if (prev === 'open') {
      throw new KernelBugError(
        `invalidate_range_start(${mmuNotifierRangeLabel(range)}) on mm${this.mm.id}: this range is already started and not ` +
          'ended; expected a fresh mmu_notifier_range (or its end) first',
      );
    }
    let ret = 0;
    const itree = this.hasItree;
    if (itree) ret = await mnItreeInvalidate(this, range);
    if (accessReporting) noteRead(this, MMN_FIELD.first);
    if (ret === 0 && this.first !== null) {
      ret = await mnHlistInvalidateRangeStart(this, range);
      // R3: the tree's part succeeded but no end will come; its accounting is not undone.
      if (ret !== 0 && itree) {
        if (accessReporting) noteWrite(this, MMN_FIELD.active);
        this.openItreeRanges--;
      }
    }
    if (accessReporting) noteWrite(range);
    setRangeState(this, range, ret !== 0 ? 'failed' : itree ? 'open' : 'open-hlist');
    mmuNotifierLogOf(sched)?.record({
      kind: 'range-start',
      mm: this.mm,
      range,
      ret,
      mmUsers: this.mm.mmUsers,
    });
    return ret;
  }

  /**
   * End of an invalidation: the interval-tree end first, then every hlist subscriber's
   * `invalidateRange` (unless `onlyEnd`) and `invalidateRangeEnd`.
   * Mirrors mm/mmu_notifier.c:__mmu_notifier_invalidate_range_end().
   */
  async invalidateRangeEnd(range: MmuNotifierRange, onlyEnd: boolean): Promise<void> {
    checkRange(this.mm, range, 'invalidate_range_end');
    const sched = this.mm.machine.sched;
    await sched.point({
      kind: 'mmu_notifier.invalidate_range_end',
      label: mmuNotifierRangeLabel(range),
      obj: `mm${this.mm.id}`,
    });
    if (accessReporting) noteWrite(range);
    const state = rangeStateIn(this, range);
    if (state === 'failed' || state === 'closed') {
      throw new KernelBugError(
        `invalidate_range_end(${mmuNotifierRangeLabel(range)}) on mm${this.mm.id} after ${state === 'failed' ? 'a failed non-blockable start' : 'its end already ran'}; ` +
          'expected exactly one end per successful start and none after a failed one',
      );
    }
    // A range started before this container (or its tree) existed: the kernel's registration
    // (mm_take_all_locks) would have waited for it, so it has no part here.
    if (state === undefined) return;
    setRangeState(this, range, 'closed');
    mmuNotifierLogOf(sched)?.record({ kind: 'range-end', mm: this.mm, range });
    if (state === 'open') await mnItreeInvEnd(this);
    if (accessReporting) noteRead(this, MMN_FIELD.first);
    if (this.first !== null) await mnHlistInvalidateEnd(this, range, onlyEnd);
  }

  /**
   * Secondary-TLB flush of `[start, end)` for every hlist subscriber implementing it.
   * Mirrors mm/mmu_notifier.c:__mmu_notifier_invalidate_range().
   */
  invalidateRange(mm: MmStruct, start: number, end: number): void {
    checkHookArgs(this, 'mmu_notifier_invalidate_range', mm, start, end);
    const idx = srcuReadLock(this.srcu);
    try {
      for (let mn = hlistFirst(this); mn !== null; mn = hlistNext(mn)) {
        const fn = mn.ops.invalidateRange;
        if (fn === undefined) continue;
        this.syncOp(mn, 'invalidateRange', () => fn.call(mn.ops, mn, mm, start, end));
      }
    } finally {
      srcuReadUnlock(this.srcu, idx);
    }
  }

  /**
   * A PTE was replaced inside a CLEAR bracket: tell every hlist subscriber implementing change_pte.
   * Mirrors mm/mmu_notifier.c:__mmu_notifier_change_pte().
   */
  changePte(mm: MmStruct, addr: number, bits: number, val: number): void {
    checkHookArgs(this, 'mmu_notifier_change_pte', mm, addr);
    const idx = srcuReadLock(this.srcu);
    try {
      for (let mn = hlistFirst(this); mn !== null; mn = hlistNext(mn)) {
        const fn = mn.ops.changePte;
        if (fn === undefined) continue;
        this.syncOp(mn, 'changePte', () => fn.call(mn.ops, mn, mm, addr, bits, val));
      }
    } finally {
      srcuReadUnlock(this.srcu, idx);
    }
  }

  /**
   * OR of every subscriber's clear_flush_young over `[start, end)`.
   * Mirrors mm/mmu_notifier.c:__mmu_notifier_clear_flush_young().
   */
  clearFlushYoung(mm: MmStruct, start: number, end: number): number {
    checkHookArgs(this, 'mmu_notifier_clear_flush_young', mm, start, end);
    let young = 0;
    const idx = srcuReadLock(this.srcu);
    try {
      for (let mn = hlistFirst(this); mn !== null; mn = hlistNext(mn)) {
        const fn = mn.ops.clearFlushYoung;
        if (fn === undefined) continue;
        young |= this.syncOp(mn, 'clearFlushYoung', () => fn.call(mn.ops, mn, mm, start, end));
      }
    } finally {
      srcuReadUnlock(this.srcu, idx);
    }
    return young;
  }

  /**
   * OR of every subscriber's clear_young over `[start, end)` (no secondary TLB flush).
   * Mirrors mm/mmu_notifier.c:__mmu_notifier_clear_young().
   */
  clearYoung(mm: MmStruct, start: number, end: number): number {
    checkHookArgs(this, 'mmu_notifier_clear_young', mm, start, end);
    let young = 0;
    const idx = srcuReadLock(this.srcu);
    try {
      for (let mn = hlistFirst(this); mn !== null; mn = hlistNext(mn)) {
        const fn = mn.ops.clearYoung;
        if (fn === undefined) continue;
        young |= this.syncOp(mn, 'clearYoung', () => fn.call(mn.ops, mn, mm, start, end));
      }
    } finally {
      srcuReadUnlock(this.srcu, idx);
    }
    return young;
  }

  /**
   * The first non-zero test_young of the subscribers (newest first), else 0.
   * Mirrors mm/mmu_notifier.c:__mmu_notifier_test_young().
   */
  testYoung(mm: MmStruct, addr: number): number {
    checkHookArgs(this, 'mmu_notifier_test_young', mm, addr);
    let young = 0;
    const idx = srcuReadLock(this.srcu);
    try {
      for (let mn = hlistFirst(this); mn !== null; mn = hlistNext(mn)) {
        const fn = mn.ops.testYoung;
        if (fn === undefined) continue;
        young = this.syncOp(mn, 'testYoung', () => fn.call(mn.ops, mn, mm, addr));
        if (young !== 0) break;
      }
    } finally {
      srcuReadUnlock(this.srcu, idx);
    }
    return young;
  }

  /**
   * Teardown, before any page of the mm is freed: a MMU_NOTIFY_RELEASE invalidation over
   * `[0, ULONG_MAX)` for the interval tree, then every hlist `release`, then the hlist is
   * emptied and a grace period waited for.
   * Mirrors mm/mmu_notifier.c:__mmu_notifier_release().
   */
  async release(mm: MmStruct): Promise<void> {
    if (mm !== this.mm) {
      throw new KernelBugError(
        `__mmu_notifier_release: mm${mm.id} delivered to the container of mm${this.mm.id}; expected the same mm`,
      );
    }
    mmuNotifierLogOf(mm.machine.sched)?.record({
      kind: 'release',
      mm,
      mmUsers: mm.mmUsers,
      rssPages: mm.rssPages,
    });
    if (accessReporting) noteRead(this, MMN_FIELD.hasItree);
    if (this.hasItree) await mnItreeRelease(this);
    if (accessReporting) noteRead(this, MMN_FIELD.first);
    if (this.first !== null) await mnHlistRelease(this);
  }

  /**
   * The mm_struct is freed (last mmdrop): drop the container. The hlist must be empty.
   * Mirrors mm/mmu_notifier.c:__mmu_notifier_mm_destroy().
   */
  destroy(mm: MmStruct): void {
    if (accessReporting) noteWrite(this);
    if (this.first !== null) {
      throw new KernelBugError(
        `BUG: __mmu_notifier_mm_destroy(mm${mm.id}): a notifier is still on the hlist; expected every ` +
          'notifier to be unregistered or put (or released by exit) before the last mmdrop',
      );
    }
    this.destroyed = true;
    if (accessReporting) noteWrite(containers);
    containers.delete(this.mm);
  }

  /** Run one synchronous legacy op with enter/exit events. */
  private syncOp(mn: MmuNotifier, op: MmuNotifierOpName, fn: () => unknown): number {
    const log = mmuNotifierLogOf(this.mm.machine.sched);
    log?.record({ kind: 'hlist-cb-enter', mn, op });
    const r = fn();
    log?.record({ kind: 'hlist-cb-exit', mn, op });
    return typeof r === 'number' ? r : 0;
  }
}

/**
 * What the container did with a range: 'open' (started with the interval tree), 'open-hlist'
 * (started before the tree was switched on), 'failed' (non-blockable start failed: no end may
 * follow), 'closed' (ended).
 */
type RangeState = 'open' | 'open-hlist' | 'failed' | 'closed';

/** A range's state and the container it belongs to. */
interface RangeRecord {
  readonly owner: MmuNotifierMm;
  state: RangeState;
}

/** What `m` did with `range`; undefined when `m` never saw it. */
function rangeStateIn(m: MmuNotifierMm, range: MmuNotifierRange): RangeState | undefined {
  const rec = rangeStates.get(range);
  return rec !== undefined && rec.owner === m ? rec.state : undefined;
}

/** Record that `m` did `state` with `range` (the record `m` keeps for it, made on first use). */
function setRangeState(m: MmuNotifierMm, range: MmuNotifierRange, state: RangeState): void {
  const rec = rangeStates.get(range);
  if (rec !== undefined && rec.owner === m) rec.state = state;
  else rangeStates.set(range, { owner: m, state });
}

/**
 * 'CLEAR 0x1000-0x2000': an invalidation as a scheduling-point / trace label.
 * Mirrors: model-only.
 */
export function mmuNotifierRangeLabel(range: MmuNotifierRange): string {
  return `${mmuNotifyEventName(range.event).slice(11)} 0x${range.start.toString(16)}-0x${range.end.toString(16)}`;
}

// ---- legacy (hlist) dispatch --------------------------------------------------------------------

/**
 * The head of the hlist of `m`, reporting the read of the head and of the subscriber returned
 * (whose ops and links the traversal reads next, in the same step).
 * Mirrors include/linux/rculist.h:hlist_first_rcu().
 */
export function hlistFirst(m: MmuNotifierMm): MmuNotifier | null {
  if (accessReporting) noteRead(m, MMN_FIELD.first);
  const first = m.first;
  if (first !== null) noteRead(first);
  return first;
}

/**
 * The subscriber after `mn` on its hlist (kept after unlinking, as RCU allows), reporting the read
 * of `mn`'s link and of the subscriber returned (its ops are read next, in the same step).
 * Mirrors include/linux/rculist.h:hlist_next_rcu().
 */
export function hlistNext(mn: MmuNotifier): MmuNotifier | null {
  if (accessReporting) noteRead(mn);
  const next = mn.hnext;
  if (next !== null) noteRead(next);
  return next;
}

/**
 * Run an async legacy op `op` of `mn` (non-blockable ranges forbid sleeping inside it).
 * Mirrors the non_block_start()/non_block_end() bracket of mm/mmu_notifier.c.
 */
async function callHlistOp<R>(
  m: MmuNotifierMm,
  mn: MmuNotifier,
  op: MmuNotifierOpName,
  blockable: boolean,
  fn: () => R | Promise<R>,
): Promise<R> {
  const sched = m.mm.machine.sched;
  const log = mmuNotifierLogOf(sched);
  log?.record({ kind: 'hlist-cb-enter', mn, op });
  if (sched.trace.enabled) sched.trace.emit(`mmu_notifier.${op}`, `mm${m.mm.id}`);
  const t = blockable ? undefined : nonBlockStart(sched);
  let r: R;
  try {
    r = await fn();
  } catch (error) {
    throw explainNonBlockSleep(error, `mmu_notifier ${op} callback`);
  } finally {
    if (t !== undefined) nonBlockEnd(t);
  }
  log?.record({ kind: 'hlist-cb-exit', mn, op });
  return r;
}

/**
 * invalidate_range_start of every hlist subscriber; in v5.4 a failure does not stop the loop and
 * the last error is returned (R3: earlier subscribers get no end); 'fixed' unwinds with ends.
 * Mirrors mm/mmu_notifier.c:mn_hlist_invalidate_range_start().
 */
async function mnHlistInvalidateRangeStart(
  m: MmuNotifierMm,
  range: MmuNotifierRange,
): Promise<number> {
  const blockable = mmuNotifierRangeBlockable(range);
  const fixed = m.options.unpairedStartEnd === 'fixed';
  const log = mmuNotifierLogOf(m.mm.machine.sched);
  let ret = 0;
  const idx = srcuReadLock(m.srcu);
  try {
    for (let mn = hlistFirst(m); mn !== null; mn = hlistNext(mn)) {
      const ops = mn.ops;
      const start = ops.invalidateRangeStart;
      if (start === undefined) continue;
      const cur = mn;
      const r = await callHlistOp(m, cur, 'invalidateRangeStart', blockable, () =>
        start.call(ops, cur, range),
      );
      log?.record({ kind: 'hlist-start', mn: cur, range, ret: r });
      if (r === 0) continue;
      if (blockable || r !== -EAGAIN) {
        throw new KernelBugError(
          `WARN: mmu_notifier invalidate_range_start returned ${r} in a ${blockable ? '' : 'non-'}blockable ` +
            'context; expected 0, or -EAGAIN only when mmu_notifier_range_blockable() is false',
        );
      }
      if (fixed && ops.invalidateRangeEnd !== undefined) {
        throw new KernelBugError(
          'WARN: an mmu_notifier whose invalidate_range_start failed with -EAGAIN implements ' +
            'invalidate_range_end; expected notifiers that can fail start not to implement end ' +
            '(c2655835fd8c calls end on every subscriber after such a failure)',
        );
      }
      ret = r;
    }
    if (ret !== 0 && fixed) {
      // The later fix: every subscriber that implements end gets it, whether its start ran or not
      // (called without the non_block bracket, as the fix does).
      for (let mn = hlistFirst(m); mn !== null; mn = hlistNext(mn)) {
        const ops = mn.ops;
        const end = ops.invalidateRangeEnd;
        if (end === undefined) continue;
        const cur = mn;
        await callHlistOp(m, cur, 'invalidateRangeEnd', true, () => end.call(ops, cur, range));
        log?.record({ kind: 'hlist-end', mn: cur, range });
      }
    }
  } finally {
    srcuReadUnlock(m.srcu, idx);
  }
  return ret;
}

/**
 * invalidate_range (unless only_end) and invalidate_range_end of every hlist subscriber.
 * Mirrors mm/mmu_notifier.c:mn_hlist_invalidate_end().
 */
async function mnHlistInvalidateEnd(
  m: MmuNotifierMm,
  range: MmuNotifierRange,
  onlyEnd: boolean,
): Promise<void> {
  const blockable = mmuNotifierRangeBlockable(range);
  const log = mmuNotifierLogOf(m.mm.machine.sched);
  const idx = srcuReadLock(m.srcu);
  try {
    for (let mn = hlistFirst(m); mn !== null; mn = hlistNext(mn)) {
      const ops = mn.ops;
      const cur = mn;
      const flush = ops.invalidateRange;
      if (!onlyEnd && flush !== undefined) {
        await callHlistOp(m, cur, 'invalidateRange', true, () =>
          flush.call(ops, cur, range.mm, range.start, range.end),
        );
      }
      const end = ops.invalidateRangeEnd;
      if (end !== undefined) {
        await callHlistOp(m, cur, 'invalidateRangeEnd', blockable, () => end.call(ops, cur, range));
        log?.record({ kind: 'hlist-end', mn: cur, range });
      }
    }
  } finally {
    srcuReadUnlock(m.srcu, idx);
  }
}

/**
 * Every hlist `release`, then unhash all subscribers and wait for a grace period.
 * Mirrors mm/mmu_notifier.c:mn_hlist_release().
 */
async function mnHlistRelease(m: MmuNotifierMm): Promise<void> {
  const idx = srcuReadLock(m.srcu);
  try {
    for (let mn = hlistFirst(m); mn !== null; mn = hlistNext(mn)) {
      const ops = mn.ops;
      const release = ops.release;
      if (release === undefined) continue;
      const cur = mn;
      await callHlistOp(m, cur, 'release', true, () => release.call(ops, cur, m.mm));
    }
    await spinLock(m.lock);
    if (accessReporting) noteRead(m, MMN_FIELD.first);
    while (m.first !== null) m.hlistDelInit(m.first);
    spinUnlock(m.lock);
  } finally {
    srcuReadUnlock(m.srcu, idx);
  }
  await synchronizeSrcu(m.srcu);
}
