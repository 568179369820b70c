/**
 * The legacy `mmu_notifier` API: a subscriber object with optional ops, linked at the head of the
 * per-mm hlist (so callbacks run newest first), registered with mmap_sem held for write, removed
 * by unregister (release + grace period) or by the get/put reference scheme (v5.4+), whose last
 * put frees the subscriber through `free_notifier` after an SRCU grace period.
 *
 * Each subscriber is one shared object for the explorer (noteRead(mn)/noteWrite(mn) at every
 * access of its fields), its container's fields elements of another (noteRead(m, MMN_FIELD.first)); the MmStruct's
 * fields report themselves (@hmmsim/mm accessors).
 *
 * Mirrors mm/mmu_notifier.c (mmu_notifier_register, __mmu_notifier_register,
 * mmu_notifier_unregister, mmu_notifier_get_locked, mmu_notifier_put, mmu_notifier_synchronize)
 * and include/linux/mmu_notifier.h (struct mmu_notifier, struct mmu_notifier_ops).
 */
import {
  accessReporting,
  downWrite,
  EOVERFLOW,
  KernelBugError,
  noteRead,
  noteWrite,
  type Scheduler,
  spinLock,
  spinUnlock,
  upWrite,
  waitEvent,
} from '@hmmsim/kernel';
import { type MmStruct, type MmuNotifierRange, mmdrop, mmgrab } from '@hmmsim/mm';
import { checkInstance, checkMmStruct, checkObject } from './arg-checks.ts';
import { mmuNotifierLogOf } from './event-log.ts';
import {
  hlistFirst,
  hlistNext,
  MMN_FIELD,
  mmuNotifierMmCreate,
  mmuNotifierMmOf,
} from './mmu-notifier-mm.ts';
import {
  callSrcu,
  mmuNotifierSrcu,
  srcuBarrier,
  srcuReadLock,
  srcuReadUnlock,
  synchronizeSrcu,
} from './srcu.ts';

/** Largest `users` count. Mirrors include/linux/limits.h:UINT_MAX. */
export const UINT_MAX = 2 ** 32 - 1;

/**
 * The callbacks of a legacy subscriber; every one is optional. `invalidateRangeStart` returns 0,
 * or -EAGAIN only when the range is not blockable. Callbacks that may sleep may return Promises.
 * Mirrors include/linux/mmu_notifier.h:struct mmu_notifier_ops.
 */
export interface MmuNotifierOps {
  /** The address space is going away (exit) or the subscriber is unregistered. */
  release?(mn: MmuNotifier, mm: MmStruct): void | Promise<void>;
  /** Clear the secondary young bits in `[start, end)` and flush; non-zero = was young. */
  clearFlushYoung?(mn: MmuNotifier, mm: MmStruct, start: number, end: number): number;
  /** Clear the secondary young bits in `[start, end)` without flushing; non-zero = was young. */
  clearYoung?(mn: MmuNotifier, mm: MmStruct, start: number, end: number): number;
  /** Non-zero if the secondary MMU saw an access at `address`. */
  testYoung?(mn: MmuNotifier, mm: MmStruct, address: number): number;
  /** The PTE at `address` was replaced by (bits, val) inside a CLEAR bracket. */
  changePte?(mn: MmuNotifier, mm: MmStruct, address: number, bits: number, val: number): void;
  /** Begin invalidating `range`: 0, or -EAGAIN only if !mmuNotifierRangeBlockable(range). */
  invalidateRangeStart?(mn: MmuNotifier, range: MmuNotifierRange): number | Promise<number>;
  /** End of the invalidation of `range` (pages may already be freed). */
  invalidateRangeEnd?(mn: MmuNotifier, range: MmuNotifierRange): void | Promise<void>;
  /** Flush secondary TLBs for `[start, end)` before pages are freed. */
  invalidateRange?(mn: MmuNotifier, mm: MmStruct, start: number, end: number): void;
  /** get/put API: allocate the subscriber for `mm`, or return a negative errno (ERR_PTR). */
  allocNotifier?(mm: MmStruct): MmuNotifier | number;
  /** get/put API: free the subscriber; runs after an SRCU grace period, must not sleep. */
  freeNotifier?(mn: MmuNotifier): void;
}

/**
 * A legacy subscriber. Drivers may extend it to carry their own state (container_of).
 * Mirrors include/linux/mmu_notifier.h:struct mmu_notifier.
 */
export class MmuNotifier {
  /** The mm this subscriber pins (mmgrab), from registration until unregister / the final free. */
  mm: MmStruct | null = null;
  /** get/put reference count. */
  users = 0;
  /** hlist links (RCU: `hnext` survives unlinking). Package-internal. */
  hnext: MmuNotifier | null = null;
  hprev: MmuNotifier | null = null;
  /** True while on the mm's hlist (not hlist_unhashed). */
  hashed = false;
  /** True once free_notifier ran (model bookkeeping). */
  freed = false;

  constructor(public ops: MmuNotifierOps) {}
}

/** Throw unless the current task holds `mm.mmapSem` for write. */
function assertMmapSemWriteHeld(mm: MmStruct, fn: string): void {
  const t = mm.machine.sched.current;
  if (mm.mmapSem.writer !== t) {
    throw new KernelBugError(
      `lockdep: ${fn}(mm${mm.id}) called by task '${t.name}' without mmap_sem held for write; expected ` +
        'the caller to hold it (or use the variant that takes it)',
    );
  }
}

/** Throw InvalidArgumentError unless `mn` is null or an MmuNotifier and `mm` an MmStruct. */
function checkRegisterArgs(fn: string, mn: unknown, mm: unknown): void {
  if (mn !== null) checkInstance(fn, 'mn', mn, MmuNotifier, 'an MmuNotifier (or null)');
  checkMmStruct(fn, 'mm', mm);
}

/** Throw InvalidArgumentError unless `ops` is an ops object and `mm` an MmStruct. */
function checkGetArgs(fn: string, ops: unknown, mm: unknown): void {
  checkObject(fn, 'ops', ops, 'an MmuNotifierOps object');
  checkMmStruct(fn, 'mm', mm);
}

/**
 * Register `mn` (or, with null, switch the interval tree on) for `mm`; caller holds mmap_sem for
 * write and an mm_users reference. Returns 0 (the model never fails allocation).
 * Mirrors mm/mmu_notifier.c:__mmu_notifier_register().
 */
export async function __mmuNotifierRegister(mn: MmuNotifier | null, mm: MmStruct): Promise<number> {
  checkRegisterArgs('__mmu_notifier_register', mn, mm);
  assertMmapSemWriteHeld(mm, '__mmu_notifier_register');
  if (mm.mmUsers <= 0) {
    throw new KernelBugError(
      `BUG: __mmu_notifier_register(mm${mm.id}) with mm_users ${mm.mmUsers}; expected the caller to hold an mm_users reference`,
    );
  }
  if (mn !== null) noteRead(mn);
  if (mn !== null && (mn.hashed || mn.mm !== null)) {
    throw new KernelBugError(
      `__mmu_notifier_register(mm${mm.id}): the notifier is already registered${mn.mm === null ? '' : ` on mm${mn.mm.id}`}; ` +
        'expected a notifier that is not registered (unregister or put it first)',
    );
  }
  // mm_take_all_locks(): the caller's mmap_sem write already excludes every invalidation made
  // under mmap_sem; taking every anon_vma and i_mmap lock also waits out the ones reclaim and
  // migration run under those rmap locks. No invalidation is in flight once it returns, and none
  // starts before the container below is published (no scheduling point in between).
  if (mm.invalidatesInFlight > 0) {
    await waitEvent(mm.invalidatesDone, () => mm.invalidatesInFlight === 0);
  }
  // Allocates and publishes the container on first use.
  const m = mmuNotifierMmCreate(mm);
  if (mn === null) {
    if (accessReporting) noteWrite(m, MMN_FIELD.hasItree);
    m.hasItree = true;
    return 0;
  }
  mmgrab(mm);
  if (accessReporting) noteWrite(m, MMN_FIELD.pins);
  m.pins++;
  if (accessReporting) noteWrite(mn);
  mn.mm = mm;
  mn.users = 1;
  mn.freed = false;
  await spinLock(m.lock);
  m.hlistAddHead(mn);
  spinUnlock(m.lock);
  mmuNotifierLogOf(mm.machine.sched)?.record({ kind: 'register', mn, mm });
  return 0;
}

/**
 * Register `mn` for `mm`, taking mmap_sem for write around __mmuNotifierRegister().
 * Mirrors mm/mmu_notifier.c:mmu_notifier_register().
 */
export async function mmuNotifierRegister(mn: MmuNotifier | null, mm: MmStruct): Promise<number> {
  checkRegisterArgs('mmu_notifier_register', mn, mm);
  await downWrite(mm.mmapSem);
  try {
    return await __mmuNotifierRegister(mn, mm);
  } finally {
    upWrite(mm.mmapSem);
  }
}

/**
 * Return the subscriber of `mm` with these `ops` (taking a reference), or allocate and register a
 * new one through `ops.allocNotifier`; a negative errno on failure. Caller holds mmap_sem write.
 * Mirrors mm/mmu_notifier.c:mmu_notifier_get_locked().
 */
export async function mmuNotifierGetLocked(
  ops: MmuNotifierOps,
  mm: MmStruct,
): Promise<MmuNotifier | number> {
  checkGetArgs('mmu_notifier_get_locked', ops, mm);
  assertMmapSemWriteHeld(mm, 'mmu_notifier_get_locked');
  const m = mmuNotifierMmOf(mm);
  if (m !== null) {
    await spinLock(m.lock);
    for (let mn = hlistFirst(m); mn !== null; mn = hlistNext(mn)) {
      if (mn.ops !== ops) continue;
      if (accessReporting) noteWrite(mn);
      let ret: MmuNotifier | number = mn;
      if (mn.users !== UINT_MAX) mn.users++;
      else ret = -EOVERFLOW;
      spinUnlock(m.lock);
      return ret;
    }
    spinUnlock(m.lock);
  }
  if (ops.allocNotifier === undefined || ops.freeNotifier === undefined) {
    throw new KernelBugError(
      'mmu_notifier_get_locked: ops without alloc_notifier/free_notifier; expected both for the get/put API',
    );
  }
  const mn = ops.allocNotifier(mm);
  if (typeof mn === 'number') return mn;
  if (!(mn instanceof MmuNotifier)) {
    throw new KernelBugError(
      `mmu_notifier_get_locked: alloc_notifier returned ${String(mn)}; expected an MmuNotifier or a negative errno (ERR_PTR)`,
    );
  }
  if (accessReporting) noteWrite(mn);
  mn.ops = ops;
  const ret = await __mmuNotifierRegister(mn, mm);
  if (ret !== 0) {
    ops.freeNotifier(mn);
    return ret;
  }
  return mn;
}

/**
 * mmuNotifierGetLocked() with mmap_sem taken for write inside.
 * Mirrors include/linux/mmu_notifier.h:mmu_notifier_get().
 */
export async function mmuNotifierGet(
  ops: MmuNotifierOps,
  mm: MmStruct,
): Promise<MmuNotifier | number> {
  checkGetArgs('mmu_notifier_get', ops, mm);
  await downWrite(mm.mmapSem);
  try {
    return await mmuNotifierGetLocked(ops, mm);
  } finally {
    upWrite(mm.mmapSem);
  }
}

/**
 * Drop a get reference; the last one unlinks `mn` (without calling release) and, after an SRCU
 * grace period, calls `free_notifier` then mmdrop. May be called from inside `release`.
 * Mirrors mm/mmu_notifier.c:mmu_notifier_put().
 */
export async function mmuNotifierPut(mn: MmuNotifier): Promise<void> {
  checkInstance('mmu_notifier_put', 'mn', mn, MmuNotifier, 'an MmuNotifier from mmu_notifier_get');
  if (accessReporting) noteRead(mn);
  const mm = mn.mm;
  const m = mm === null ? null : mmuNotifierMmOf(mm);
  if (mm === null || m === null) {
    throw new KernelBugError(
      'mmu_notifier_put: the notifier is not registered; expected a notifier from mmu_notifier_get',
    );
  }
  const free = mn.ops.freeNotifier;
  if (free === undefined) {
    throw new KernelBugError(
      'mmu_notifier_put: ops.freeNotifier is missing; expected the get/put API ops to implement it',
    );
  }
  await spinLock(m.lock);
  if (accessReporting) noteWrite(mn);
  if (mn.users === 0) {
    spinUnlock(m.lock);
    throw new KernelBugError(
      'WARN: mmu_notifier_put with users already 0; expected one put per get',
    );
  }
  mn.users--;
  if (mn.users > 0) {
    spinUnlock(m.lock);
    return;
  }
  m.hlistDelInit(mn);
  spinUnlock(m.lock);
  const sched = mm.machine.sched;
  mmuNotifierLogOf(sched)?.record({ kind: 'put-last', mn });
  callSrcu(m.srcu, () => {
    mmuNotifierLogOf(sched)?.record({ kind: 'free-notifier', mn });
    if (accessReporting) noteWrite(mn);
    mn.freed = true;
    free.call(mn.ops, mn);
    if (accessReporting) noteWrite(mn);
    mn.mm = null;
    if (accessReporting) noteWrite(m, MMN_FIELD.pins);
    m.pins--;
    mmdrop(mm);
  });
}

/**
 * Unregister `mn` from `mm`: call its release (unless exit already unhashed it), unlink it, wait
 * for a grace period so no callback of it is running, then drop its mm_count pin.
 * Mirrors mm/mmu_notifier.c:mmu_notifier_unregister().
 */
export async function mmuNotifierUnregister(mn: MmuNotifier, mm: MmStruct): Promise<void> {
  checkInstance('mmu_notifier_unregister', 'mn', mn, MmuNotifier, 'an MmuNotifier');
  checkMmStruct('mmu_notifier_unregister', 'mm', mm);
  const m = mmuNotifierMmOf(mm);
  if (accessReporting) noteRead(mn);
  if (mn.mm !== mm || m === null) {
    throw new KernelBugError(
      `mmu_notifier_unregister(mm${mm.id}): the notifier is not registered on this mm; expected a registered notifier`,
    );
  }
  if (mn.users === 0) {
    throw new KernelBugError(
      `mmu_notifier_unregister(mm${mm.id}): the notifier was already released by its last mmu_notifier_put() ` +
        '(free_notifier is pending); expected either unregister or the get/put pair, not both (mm_count would be dropped twice)',
    );
  }
  if (mn.hashed) {
    const idx = srcuReadLock(m.srcu);
    try {
      if (accessReporting) noteRead(mn);
      const release = mn.ops.release;
      if (release !== undefined) {
        const log = mmuNotifierLogOf(mm.machine.sched);
        log?.record({ kind: 'hlist-cb-enter', mn, op: 'release' });
        await release.call(mn.ops, mn, mm);
        log?.record({ kind: 'hlist-cb-exit', mn, op: 'release' });
      }
    } finally {
      srcuReadUnlock(m.srcu, idx);
    }
    await spinLock(m.lock);
    m.hlistDelInit(mn);
    spinUnlock(m.lock);
  }
  await synchronizeSrcu(m.srcu);
  if (mm.mmCount <= 0) {
    throw new KernelBugError(
      `BUG: mmu_notifier_unregister(mm${mm.id}) with mm_count ${mm.mmCount}; expected the registration pin`,
    );
  }
  if (accessReporting) noteWrite(mn);
  mn.mm = null;
  mmuNotifierLogOf(mm.machine.sched)?.record({ kind: 'unregister-done', mn });
  if (accessReporting) noteWrite(m, MMN_FIELD.pins);
  m.pins--;
  mmdrop(mm);
}

/**
 * Wait until every free_notifier queued by mmu_notifier_put() has run (module unload).
 * Mirrors mm/mmu_notifier.c:mmu_notifier_synchronize().
 */
export async function mmuNotifierSynchronize(sched: Scheduler): Promise<void> {
  checkObject('mmu_notifier_synchronize', 'sched', sched, 'the machine scheduler (machine.sched)');
  await srcuBarrier(mmuNotifierSrcu(sched));
}
