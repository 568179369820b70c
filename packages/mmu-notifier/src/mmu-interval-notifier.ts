/**
 * The v5.5 `mmu_interval_notifier`: a subscription to the closed interval `[start, last]` of an
 * mm, called for every intersecting invalidation, with the odd/even sequence protocol that lets a
 * driver detect — under its own lock — that an invalidation touched its interval since it took a
 * snapshot (read_begin → fault → lock → read_retry → program → unlock).
 *
 * Global state (in the mm's container): `invalidateSeq` (even idle / odd fully excluded, shared by
 * overlapping invalidations), `activeInvalidateRanges`, the deferred list, the wait queue.
 * Per notifier: `invalidateSeq` (always odd once inserted), written by the driver with
 * `mmuIntervalSetSeq` inside its `invalidate` callback.
 *
 * The interval-tree half of every invalidation lives here too (start: count it, make the seq odd
 * if a notifier is hit, call the intersecting notifiers in tree order; end: the last end of a
 * window makes the seq even, applies the deferred list, then wakes the waiters).
 *
 * For the explorer's partial-order reduction every notifier is one shared object
 * (noteRead(mni)/noteWrite(mni) at each access of its fields: its sequence, tree node, state,
 * ops, interval) and the mm container's fields elements of another (noteRead(m, MMN_FIELD.seq));
 * the tree reports
 * itself, and so do the MmStruct's fields (@hmmsim/mm accessors).
 *
 * Mirrors mm/mmu_notifier.c (mmu_interval_notifier_insert[_locked], mmu_interval_notifier_remove,
 * mmu_interval_read_begin, mn_itree_inv_start_range/_next/_invalidate/_inv_end/_release) and include/linux/mmu_notifier.h (struct mmu_interval_notifier, ops,
 * mmu_interval_set_seq, mmu_interval_read_retry, mmu_interval_check_retry).
 */
import {
  accessReporting,
  checkFunction,
  checkUlong,
  EAGAIN,
  EOVERFLOW,
  isUlong,
  KernelBugError,
  mightSleep,
  noteRead,
  noteWrite,
  spinLock,
  spinUnlock,
  ULONG_MAX,
  waitEvent,
  wakeUpAll,
} from '@hmmsim/kernel';
import {
  MMU_NOTIFIER_RANGE_BLOCKABLE,
  MMU_NOTIFY_RELEASE,
  type MmStruct,
  type MmuNotifierRange,
  mmdrop,
  mmgrab,
  mmuNotifierRangeBlockable,
  mmuNotifierRangeInit,
} from '@hmmsim/mm';
import { checkInstance, checkMmStruct, checkObject, checkUserLock } from './arg-checks.ts';
import { mmuNotifierLogOf } from './event-log.ts';
import { IT_NIL } from './interval-tree.ts';
import {
  assertNoCallbackLockHeld,
  explainNonBlockSleep,
  lockHeldBy,
  lockName,
  nonBlockEnd,
  nonBlockStart,
  type UserLock,
} from './lockdep.ts';
import { __mmuNotifierRegister, mmuNotifierRegister } from './mmu-notifier.ts';
import {
  MMN_FIELD,
  type MmuNotifierMm,
  mmuNotifierMmOf,
  mmuNotifierRangeLabel,
} from './mmu-notifier-mm.ts';

/**
 * The driver side of an interval subscription.
 * Mirrors include/linux/mmu_notifier.h:struct mmu_interval_notifier_ops.
 */
export interface MmuIntervalNotifierOps {
  /**
   * `range` intersects the notifier: tear down device mappings of the intersection, calling
   * mmuIntervalSetSeq(mni, curSeq) under the driver lock. Return false only when the range is
   * not blockable and the driver would have to sleep.
   */
  invalidate(
    mni: MmuIntervalNotifier,
    range: MmuNotifierRange,
    curSeq: number,
  ): boolean | Promise<boolean>;
  /**
   * Model-only (lockdep): the lock `invalidate` takes and under which read_retry/set_seq run.
   * When given, read_retry/set_seq without it and read_begin/remove while holding it are bugs.
   */
  readonly userLock?: UserLock;
}

/**
 * Where a notifier is in its life.
 * Mirrors: model-only (the kernel infers it from RB_EMPTY_NODE and the deferred list).
 */
export type MmuIntervalNotifierState = 'idle' | 'inserted' | 'removing';

/**
 * One interval subscription. Drivers may extend it to carry their own state (container_of).
 * Fields are read-only outside this package.
 * Mirrors include/linux/mmu_notifier.h:struct mmu_interval_notifier.
 */
export class MmuIntervalNotifier {
  mm: MmStruct | null = null;
  ops: MmuIntervalNotifierOps | null = null;
  /** First address covered. */
  itStart = 0;
  /** Last address covered (inclusive). */
  itLast = 0;
  /** Tree node id, IT_NIL while not linked (RB_EMPTY_NODE). */
  itNode = IT_NIL;
  /** True while on the deferred list (a pending insert or remove). */
  deferred = false;
  /** The notifier's sequence: odd once inserted. */
  invalidateSeq = 0;
  /** Model bookkeeping: between insert and the end of remove. */
  state: MmuIntervalNotifierState = 'idle';
}

/** Throw InvalidArgumentError unless `mni` is an MmuIntervalNotifier. */
function checkMni(fn: string, mni: unknown): asserts mni is MmuIntervalNotifier {
  checkInstance(fn, 'mni', mni, MmuIntervalNotifier, 'an MmuIntervalNotifier');
}

/** Why `mni` (not between insert and the end of remove) cannot be used by `fn`. */
function notInsertedError(mni: MmuIntervalNotifier, fn: string): KernelBugError {
  if (accessReporting) noteRead(mni);
  const what =
    mni.mm === null
      ? 'it was never inserted'
      : `it was removed from mm${mni.mm.id}: mmu_interval_notifier_remove() returned`;
  return new KernelBugError(
    `${fn}: the interval notifier is not inserted (${what}); expected a notifier between mmu_interval_notifier_insert() and mmu_interval_notifier_remove()`,
  );
}

/** The container of an inserted notifier (throws if it is not inserted). */
function containerOf(mni: MmuIntervalNotifier, fn: string): MmuNotifierMm {
  if (accessReporting) noteRead(mni);
  const mm = mni.mm;
  const m = mm === null ? null : mmuNotifierMmOf(mm);
  if (mni.state === 'idle' || mm === null || m === null) throw notInsertedError(mni, fn);
  return m;
}

/** Check insert() arguments: the notifier, the mm, the unsigned longs and the ops. */
function checkInsertArgs(
  fn: string,
  mni: unknown,
  mm: unknown,
  start: unknown,
  length: unknown,
  ops: unknown,
): void {
  checkMni(fn, mni);
  checkMmStruct(fn, 'mm', mm);
  checkUlong(fn, 'start', start, 'an address');
  checkUlong(fn, 'length', length, 'a length in bytes');
  checkObject(fn, 'ops', ops, 'an MmuIntervalNotifierOps object with an invalidate function');
  checkFunction(fn, 'ops.invalidate', (ops as MmuIntervalNotifierOps).invalidate);
  const lock = (ops as MmuIntervalNotifierOps).userLock;
  if (lock !== undefined) checkUserLock(fn, 'ops.userLock', lock);
  if (accessReporting) noteRead(mni);
  if (mni.state !== 'idle') {
    throw new KernelBugError(
      `${fn}: the notifier is already ${mni.state}${mni.mm === null ? '' : ` on mm${mni.mm.id}`}; expected a notifier that is not in any tree (remove it first)`,
    );
  }
}

/** The common part of both inserts. Mirrors mm/mmu_notifier.c:__mmu_interval_notifier_insert(). */
async function __mmuIntervalNotifierInsert(
  mni: MmuIntervalNotifier,
  mm: MmStruct,
  m: MmuNotifierMm,
  start: number,
  length: number,
  ops: MmuIntervalNotifierOps,
): Promise<number> {
  const require = m.options.insertRequires;
  if (require === 'mm_count' ? mm.mmCount <= 0 : mm.mmUsers <= 0) {
    throw new KernelBugError(
      `WARN: mmu_interval_notifier_insert(mm${mm.id}) with ${require} ${require === 'mm_count' ? mm.mmCount : mm.mmUsers}; ` +
        `expected the caller to hold ${require === 'mm_count' ? 'a live mm (mm_count > 0)' : 'an mmget() reference (mm_users > 0)'}`,
    );
  }
  if (accessReporting) noteWrite(mni);
  mni.mm = mm;
  mni.ops = ops;
  mni.itNode = IT_NIL;
  mni.itStart = start;
  mni.itLast = start + (length - 1);
  mmgrab(mm);
  if (accessReporting) noteWrite(m, MMN_FIELD.pins);
  m.pins++;
  if (ops.userLock !== undefined) noteWrite(m, MMN_FIELD.userLocks);
  if (ops.userLock !== undefined)
    m.userLocks.set(ops.userLock, (m.userLocks.get(ops.userLock) ?? 0) + 1);
  const log = mmuNotifierLogOf(mm.machine.sched);
  await spinLock(m.lock);
  if (accessReporting) noteRead(m, MMN_FIELD.active);
  if (accessReporting) noteWrite(mni);
  let deferred = false;
  if (m.activeInvalidateRanges > 0) {
    if (m.isInvalidating()) {
      // Fully excluded: the tree is frozen; link when the window ends.
      if (accessReporting) noteWrite(m, MMN_FIELD.deferred);
      m.deferredList.unshift(mni);
      mni.deferred = true;
      deferred = true;
    } else {
      // Partially excluded: an invalidation may be changing PTEs here; make readers wait for it.
      const before = m.invalidateSeq;
      if (accessReporting) noteWrite(m, MMN_FIELD.seq);
      m.invalidateSeq++;
      mni.itNode = m.itree.insert(mni.itStart, mni.itLast, mni);
      log?.record({ kind: 'tree-link', mni, seqBefore: before, deferred: false });
    }
    mni.invalidateSeq = m.invalidateSeq;
  } else {
    if (m.isInvalidating()) {
      spinUnlock(m.lock);
      throw new KernelBugError(
        `WARN: mm${mm.id} invalidate_seq ${m.invalidateSeq} is odd with no active invalidation; expected an even sequence when idle`,
      );
    }
    // Odd and different from the current even value: the first read_begin does not wait.
    mni.invalidateSeq = m.invalidateSeq - 1;
    mni.itNode = m.itree.insert(mni.itStart, mni.itLast, mni);
    log?.record({ kind: 'tree-link', mni, seqBefore: m.invalidateSeq, deferred: false });
  }
  mni.state = 'inserted';
  log?.record({ kind: 'insert', mni, deferred, seq: mni.invalidateSeq });
  spinUnlock(m.lock);
  return 0;
}

/**
 * Both inserts: check the arguments, switch the interval tree on with `register(NULL, mm)` the
 * first time (the locking and non-locking registration differ only there), then insert.
 * Mirrors the shared body of mmu_interval_notifier_insert() and _insert_locked().
 */
async function insertWith(
  fn: string,
  register: (mn: null, mm: MmStruct) => Promise<number>,
  mni: MmuIntervalNotifier,
  mm: MmStruct,
  start: number,
  length: number,
  ops: MmuIntervalNotifierOps,
): Promise<number> {
  checkInsertArgs(fn, mni, mm, start, length, ops);
  // last = start + length - 1 must not pass ULONG_MAX; length 0 is an overflow too. Checked
  // before the tree is switched on (the kernel switches it on first): bad input changes nothing.
  if (length === 0 || length - 1 > ULONG_MAX - start) return -EOVERFLOW;
  let m = mmuNotifierMmOf(mm);
  if (m !== null) noteRead(m, MMN_FIELD.hasItree);
  if (m === null || !m.hasItree) {
    if (mm.mmUsers <= 0) {
      throw new KernelBugError(
        `BUG: ${fn}(mm${mm.id}) on an mm that has exited (mm_users ${mm.mmUsers}) before any interval notifier: ` +
          '__mmu_notifier_register(NULL, mm) would BUG_ON; expected the caller to hold an mmget() reference',
      );
    }
    const ret = await register(null, mm);
    if (ret !== 0) return ret;
    m = mmuNotifierMmOf(mm) as MmuNotifierMm;
  }
  return __mmuIntervalNotifierInsert(mni, mm, m, start, length, ops);
}

/**
 * Subscribe `mni` to `[start, start + length - 1]` of `mm` (the caller holds an mmget reference).
 * Switches the interval tree on (taking mmap_sem for write) the first time. Returns 0, -EOVERFLOW
 * (length 0 or past ULONG_MAX), or a registration error. On return the notifier may still be
 * pending (deferred) until the current invalidation window ends.
 * Mirrors mm/mmu_notifier.c:mmu_interval_notifier_insert().
 */
export function mmuIntervalNotifierInsert(
  mni: MmuIntervalNotifier,
  mm: MmStruct,
  start: number,
  length: number,
  ops: MmuIntervalNotifierOps,
): Promise<number> {
  return insertWith(
    'mmu_interval_notifier_insert',
    mmuNotifierRegister,
    mni,
    mm,
    start,
    length,
    ops,
  );
}

/**
 * mmuIntervalNotifierInsert() for a caller that already holds mmap_sem for write.
 * Mirrors mm/mmu_notifier.c:mmu_interval_notifier_insert_locked().
 */
export async function mmuIntervalNotifierInsertLocked(
  mni: MmuIntervalNotifier,
  mm: MmStruct,
  start: number,
  length: number,
  ops: MmuIntervalNotifierOps,
): Promise<number> {
  const fn = 'mmu_interval_notifier_insert_locked';
  checkInsertArgs(fn, mni, mm, start, length, ops);
  const t = mm.machine.sched.current;
  if (mm.mmapSem.writer !== t) {
    throw new KernelBugError(
      `lockdep: mmu_interval_notifier_insert_locked(mm${mm.id}) by task '${t.name}' without mmap_sem held for write; ` +
        'expected the caller to hold it (or use mmu_interval_notifier_insert)',
    );
  }
  return insertWith(fn, __mmuNotifierRegister, mni, mm, start, length, ops);
}

/**
 * Unsubscribe `mni`. May sleep: if an invalidation window is open and `mni` is in the tree, the
 * removal is deferred and this waits until the window ends. On return no `invalidate` of `mni`
 * is running or will run. Must not be called from a callback or with the driver lock held.
 * Mirrors mm/mmu_notifier.c:mmu_interval_notifier_remove().
 */
export async function mmuIntervalNotifierRemove(mni: MmuIntervalNotifier): Promise<void> {
  checkMni('mmu_interval_notifier_remove', mni);
  const m = containerOf(mni, 'mmu_interval_notifier_remove');
  if (mni.state === 'removing') {
    throw new KernelBugError(
      'mmu_interval_notifier_remove: a remove of this notifier is already in progress; expected one remove per insert',
    );
  }
  const mm = m.mm;
  const sched = mm.machine.sched;
  mightSleep(sched, 'mmu_interval_notifier_remove', `mm${mm.id}`);
  if (accessReporting) noteRead(m, MMN_FIELD.userLocks);
  assertNoCallbackLockHeld(sched, m.userLocks.keys(), 'mmu_interval_notifier_remove');
  if (accessReporting) noteWrite(mni);
  mni.state = 'removing';
  const log = mmuNotifierLogOf(sched);
  let waitSeq: number | null = null;
  await spinLock(m.lock);
  if (accessReporting) noteWrite(mni);
  if (m.isInvalidating()) {
    if (accessReporting) noteWrite(m, MMN_FIELD.deferred);
    if (mni.itNode === IT_NIL) {
      // A pending insert that never reached the tree: just cancel it.
      const i = m.deferredList.indexOf(mni);
      if (i < 0) {
        spinUnlock(m.lock);
        throw new KernelBugError(
          'mmu_interval_notifier_remove: notifier neither in the tree nor deferred; expected one or the other',
        );
      }
      m.deferredList.splice(i, 1);
      mni.deferred = false;
    } else {
      m.deferredList.unshift(mni);
      mni.deferred = true;
      waitSeq = m.invalidateSeq;
    }
  } else {
    if (mni.itNode === IT_NIL) {
      spinUnlock(m.lock);
      throw new KernelBugError(
        'WARN: mmu_interval_notifier_remove: notifier not in the tree while idle; expected it to be linked',
      );
    }
    m.itree.remove(mni.itNode);
    mni.itNode = IT_NIL;
    log?.record({ kind: 'tree-unlink', mni, seqBefore: m.invalidateSeq, deferred: false });
  }
  spinUnlock(m.lock);
  if (waitSeq !== null) {
    const w = waitSeq;
    await waitEvent(m.wq, () => {
      if (accessReporting) noteRead(m, MMN_FIELD.seq);
      return m.invalidateSeq !== w;
    });
  }
  if (accessReporting) noteWrite(mni);
  if (accessReporting) noteWrite(m, MMN_FIELD.pins);
  const lock = mni.ops?.userLock;
  if (lock !== undefined) {
    if (accessReporting) noteWrite(m, MMN_FIELD.userLocks);
    const n = (m.userLocks.get(lock) ?? 1) - 1;
    if (n === 0) m.userLocks.delete(lock);
    else m.userLocks.set(lock, n);
  }
  mni.state = 'idle';
  log?.record({ kind: 'remove-done', mni });
  m.pins--;
  mmdrop(mm);
}

/**
 * Begin a read section on `mni`: returns its sequence, sleeping first only if `mni` itself is
 * inside the current fully-excluded window (its seq equals the odd global seq). Never loops; the
 * value may already be stale — only mmuIntervalReadRetry() under the driver lock decides.
 * Must not be called with the driver lock held.
 * Mirrors mm/mmu_notifier.c:mmu_interval_read_begin().
 */
export async function mmuIntervalReadBegin(mni: MmuIntervalNotifier): Promise<number> {
  checkMni('mmu_interval_read_begin', mni);
  const m = containerOf(mni, 'mmu_interval_read_begin');
  const sched = m.mm.machine.sched;
  if (accessReporting) noteRead(m, MMN_FIELD.userLocks);
  assertNoCallbackLockHeld(sched, m.userLocks.keys(), 'mmu_interval_read_begin');
  await spinLock(m.lock);
  if (accessReporting) noteRead(mni);
  if (accessReporting) noteRead(m, MMN_FIELD.seq);
  const seq = mni.invalidateSeq;
  const isInvalidating = seq === m.invalidateSeq;
  spinUnlock(m.lock);
  if (isInvalidating) {
    await waitEvent(m.wq, () => {
      if (accessReporting) noteRead(m, MMN_FIELD.seq);
      return m.invalidateSeq !== seq;
    });
  }
  if (accessReporting) noteRead(m, MMN_FIELD.seq); // globalAtReturn below
  mmuNotifierLogOf(sched)?.record({
    kind: 'read-begin',
    mni,
    seq,
    slept: isInvalidating,
    globalAtReturn: m.invalidateSeq,
  });
  if (sched.trace.enabled)
    sched.trace.emit('mmu_interval.read_begin', `seq=${seq}${isInvalidating ? ' (slept)' : ''}`);
  return seq;
}

/** Throw if `mni` declares a driver lock that the current task does not hold. */
function assertUserLockHeld(mni: MmuIntervalNotifier, fn: string): void {
  if (accessReporting) noteRead(mni);
  const lock = mni.ops?.userLock;
  const mm = mni.mm;
  if (lock === undefined || mm === null) return;
  const t = mm.machine.sched.current;
  if (!lockHeldBy(lock, t)) {
    throw new KernelBugError(
      `${fn}() by task '${t.name}' without ${lockName(lock)}; expected it under the same driver lock ` +
        'that invalidate() holds when it calls mmu_interval_set_seq()',
    );
  }
}

/**
 * The checks of the lock-free sequence helpers: `mni` a notifier between insert and the end of
 * remove (a removing notifier may still be called, so set_seq and read_retry stay legal until
 * remove returns), `seq` an unsigned long. Cheap on the fast path (every read_retry is checked).
 */
function checkSeqArgs(fn: string, mni: MmuIntervalNotifier, seq: number, arg: string): void {
  if (!(mni instanceof MmuIntervalNotifier)) checkMni(fn, mni);
  if (!isUlong(seq)) checkUlong(fn, arg, seq, 'a sequence number from mmu_interval_read_begin()');
  if (accessReporting) noteRead(mni);
  if (mni.state === 'idle') throw notInsertedError(mni, fn);
}

/**
 * True if an invalidation of `mni` called set_seq since mmuIntervalReadBegin() returned `seq`:
 * discard the snapshot and start over. Call with the driver lock held. On a notifier that is not
 * inserted (never, or already removed) KernelBugError: its sequence can no longer change, so the
 * answer would silently be "no collision".
 * Mirrors include/linux/mmu_notifier.h:mmu_interval_read_retry().
 */
export function mmuIntervalReadRetry(mni: MmuIntervalNotifier, seq: number): boolean {
  checkSeqArgs('mmu_interval_read_retry', mni, seq, 'seq');
  assertUserLockHeld(mni, 'mmu_interval_read_retry');
  if (accessReporting) noteRead(mni);
  const ret = mni.invalidateSeq !== seq;
  const mm = mni.mm;
  if (mm !== null) {
    const sched = mm.machine.sched;
    mmuNotifierLogOf(sched)?.record({ kind: 'read-retry', mni, seq, ret });
    if (sched.trace.enabled) {
      sched.trace.emit(
        'mmu_interval.read_retry',
        `seq=${seq} (now ${mni.invalidateSeq}) -> ${ret}`,
      );
    }
  }
  return ret;
}

/**
 * Lock-free hint of mmuIntervalReadRetry(): true is reliable (a later read_retry will be true),
 * false may be stale. Used to bail out of long operations early. Same argument checks as
 * mmuIntervalReadRetry().
 * Mirrors include/linux/mmu_notifier.h:mmu_interval_check_retry().
 */
export function mmuIntervalCheckRetry(mni: MmuIntervalNotifier, seq: number): boolean {
  checkSeqArgs('mmu_interval_check_retry', mni, seq, 'seq');
  if (accessReporting) noteRead(mni);
  const ret = mni.invalidateSeq !== seq;
  const mm = mni.mm;
  if (mm !== null) {
    const sched = mm.machine.sched;
    mmuNotifierLogOf(sched)?.record({ kind: 'check-retry', mni, seq, ret });
    if (sched.trace.enabled) {
      sched.trace.emit(
        'mmu_interval.check_retry',
        `seq=${seq} (now ${mni.invalidateSeq}) -> ${ret}`,
      );
    }
  }
  return ret;
}

/**
 * Record `curSeq` as the notifier's sequence; called by the driver's `invalidate`,
 * unconditionally, under the driver lock that read_retry is called with. `curSeq` must be the
 * value invalidate() was given — the odd sequence of the invalidation in progress on the mm;
 * anything else (a stale or invented value, a call outside a callback) would make a later
 * read_retry answer wrongly, so it is a KernelBugError that changes nothing.
 * Mirrors include/linux/mmu_notifier.h:mmu_interval_set_seq().
 */
export function mmuIntervalSetSeq(mni: MmuIntervalNotifier, curSeq: number): void {
  const fn = 'mmu_interval_set_seq';
  if (!(mni instanceof MmuIntervalNotifier)) checkMni(fn, mni);
  if (!isUlong(curSeq)) checkUlong(fn, 'cur_seq', curSeq, 'the cur_seq passed to invalidate()');
  const m = containerOf(mni, fn);
  assertUserLockHeld(mni, fn);
  if (accessReporting) noteRead(m, MMN_FIELD.seq);
  if (curSeq !== m.invalidateSeq || m.invalidateSeq % 2 === 0) {
    throw new KernelBugError(
      `${fn}: cur_seq ${curSeq} is not the sequence of an invalidation in progress on mm${m.mm.id} ` +
        `(its invalidate_seq is ${m.invalidateSeq}${m.invalidateSeq % 2 === 0 ? ', even: none is' : ''}); ` +
        'expected the cur_seq passed to invalidate(), from inside that callback',
    );
  }
  if (accessReporting) noteWrite(mni);
  mni.invalidateSeq = curSeq;
  const sched = m.mm.machine.sched;
  mmuNotifierLogOf(sched)?.record({ kind: 'set-seq', mni, seq: curSeq });
  if (sched.trace.enabled) sched.trace.emit('mmu_interval.set_seq', `seq=${curSeq}`);
}

// ---- the interval-tree half of an invalidation (called by the mm's dispatcher) ---------------------------------------------------------------------

/**
 * Begin an interval-tree invalidation under the lock: count it, find the first intersecting
 * notifier, and if there is one make the sequence odd. Returns that node and the current seq.
 * Mirrors mm/mmu_notifier.c:mn_itree_inv_start_range().
 */
export async function mnItreeInvStartRange(
  m: MmuNotifierMm,
  range: MmuNotifierRange,
): Promise<{ first: number; curSeq: number }> {
  await spinLock(m.lock);
  if (accessReporting) noteWrite(m, MMN_FIELD.active);
  m.activeInvalidateRanges++;
  m.openItreeRanges++;
  const first = m.itree.iterFirst(range.start, range.end - 1);
  if (accessReporting) noteRead(m, MMN_FIELD.seq);
  if (first !== IT_NIL && m.invalidateSeq % 2 === 0) {
    if (accessReporting) noteWrite(m, MMN_FIELD.seq);
    m.invalidateSeq++;
  }
  const curSeq = m.invalidateSeq;
  spinUnlock(m.lock);
  return { first, curSeq };
}

/**
 * The next notifier after node `id` intersecting the range (the tree is frozen: no lock).
 * Mirrors mm/mmu_notifier.c:mn_itree_inv_next().
 */
export function mnItreeInvNext(m: MmuNotifierMm, id: number, range: MmuNotifierRange): number {
  return m.itree.iterNext(id, range.start, range.end - 1);
}

/** Call `mni.ops.invalidate` with events and the non-blockable bracket. */
async function callInterval(
  m: MmuNotifierMm,
  mni: MmuIntervalNotifier,
  range: MmuNotifierRange,
  curSeq: number,
): Promise<boolean> {
  const sched = m.mm.machine.sched;
  const log = mmuNotifierLogOf(sched);
  if (accessReporting) noteRead(mni);
  if (accessReporting) noteRead(m, MMN_FIELD.seq); // the log records the global sequence, which the history checks read
  const ops = mni.ops;
  if (ops === null)
    throw new KernelBugError(
      'mmu_interval_notifier in the tree without ops; expected insert() to set them',
    );
  log?.record({
    kind: 'itree-cb-enter',
    mni,
    range,
    curSeq,
    globalSeq: m.invalidateSeq,
    itStart: mni.itStart,
    itLast: mni.itLast,
  });
  if (sched.trace.enabled) {
    sched.trace.emit(
      'mmu_interval.invalidate',
      `[0x${mni.itStart.toString(16)}, 0x${mni.itLast.toString(16)}] ${mmuNotifierRangeLabel(range)} cur_seq=${curSeq}`,
      `mm${m.mm.id}`,
    );
  }
  const t = mmuNotifierRangeBlockable(range) ? undefined : nonBlockStart(sched);
  let ok: boolean;
  try {
    ok = await ops.invalidate(mni, range, curSeq);
  } catch (error) {
    throw explainNonBlockSleep(error, 'mmu_interval_notifier invalidate callback');
  } finally {
    if (t !== undefined) nonBlockEnd(t);
  }
  if (typeof ok !== 'boolean') {
    throw new KernelBugError(
      `mmu_interval_notifier invalidate returned ${String(ok)}; expected true or false`,
    );
  }
  log?.record({ kind: 'itree-cb-exit', mni, ok });
  return ok;
}

/**
 * The interval-tree half of invalidate_range_start: call every intersecting notifier in tree
 * order. A notifier returning false on a non-blockable range ends the tree's part at once and
 * makes the whole start fail with -EAGAIN (hlist subscribers are not called).
 * Mirrors mm/mmu_notifier.c:mn_itree_invalidate().
 */
export async function mnItreeInvalidate(
  m: MmuNotifierMm,
  range: MmuNotifierRange,
): Promise<number> {
  const { first, curSeq } = await mnItreeInvStartRange(m, range);
  const blockable = mmuNotifierRangeBlockable(range);
  for (let id = first; id !== IT_NIL; id = mnItreeInvNext(m, id, range)) {
    const mni = m.itree.payload(id);
    if (await callInterval(m, mni, range, curSeq)) continue;
    if (blockable) {
      throw new KernelBugError(
        `WARN: mmu_interval_notifier [0x${mni.itStart.toString(16)}, 0x${mni.itLast.toString(16)}] ` +
          'invalidate returned false for a blockable range; expected false only when ' +
          'mmu_notifier_range_blockable() is false',
      );
    }
    await mnItreeInvEnd(m);
    return -EAGAIN;
  }
  return 0;
}

/**
 * End of one interval-tree invalidation: the last end of a fully-excluded window makes the seq
 * even, applies the deferred inserts/removes (list head first), and only then wakes waiters.
 * Mirrors mm/mmu_notifier.c:mn_itree_inv_end().
 */
export async function mnItreeInvEnd(m: MmuNotifierMm): Promise<void> {
  await spinLock(m.lock);
  if (accessReporting) noteWrite(m, MMN_FIELD.active);
  if (accessReporting) noteRead(m, MMN_FIELD.seq);
  if (m.activeInvalidateRanges <= 0) {
    spinUnlock(m.lock);
    throw new KernelBugError(
      `mmu_notifier: invalidate_range_end on mm${m.mm.id} without a matching start (active_invalidate_ranges ` +
        `is ${m.activeInvalidateRanges}); expected every end to pair with a successful start`,
    );
  }
  m.activeInvalidateRanges--;
  m.openItreeRanges--;
  if (m.activeInvalidateRanges > 0 || m.invalidateSeq % 2 === 0) {
    spinUnlock(m.lock);
    return;
  }
  if (accessReporting) noteWrite(m, MMN_FIELD.seq);
  m.invalidateSeq++;
  if (accessReporting) noteWrite(m, MMN_FIELD.deferred);
  const log = mmuNotifierLogOf(m.mm.machine.sched);
  for (const mni of m.deferredList) {
    if (accessReporting) noteWrite(mni);
    mni.deferred = false;
    if (mni.itNode === IT_NIL) {
      mni.itNode = m.itree.insert(mni.itStart, mni.itLast, mni);
      log?.record({ kind: 'tree-link', mni, seqBefore: m.invalidateSeq, deferred: true });
    } else {
      m.itree.remove(mni.itNode);
      mni.itNode = IT_NIL;
      log?.record({ kind: 'tree-unlink', mni, seqBefore: m.invalidateSeq, deferred: true });
    }
  }
  m.deferredList.length = 0;
  spinUnlock(m.lock);
  log?.record({
    kind: 'wake',
    mm: m.mm,
    globalSeq: m.invalidateSeq,
    deferredLeft: m.deferredList.length,
  });
  const sched = m.mm.machine.sched;
  if (sched.trace.enabled)
    sched.trace.emit('mmu_interval.window_end', `seq=${m.invalidateSeq}`, `mm${m.mm.id}`);
  wakeUpAll(m.wq);
}

/**
 * Exit teardown of the interval tree: one blockable MMU_NOTIFY_RELEASE invalidation over
 * `[0, ULONG_MAX)`; every callback must succeed. Notifiers stay in the tree.
 * Mirrors mm/mmu_notifier.c:mn_itree_release().
 */
export async function mnItreeRelease(m: MmuNotifierMm): Promise<void> {
  const range = mmuNotifierRangeInit(
    MMU_NOTIFY_RELEASE,
    MMU_NOTIFIER_RANGE_BLOCKABLE,
    null,
    m.mm,
    0,
    ULONG_MAX,
  );
  const { first, curSeq } = await mnItreeInvStartRange(m, range);
  for (let id = first; id !== IT_NIL; id = mnItreeInvNext(m, id, range)) {
    const mni = m.itree.payload(id);
    if (!(await callInterval(m, mni, range, curSeq))) {
      throw new KernelBugError(
        'WARN: mmu_interval_notifier invalidate returned false for the MMU_NOTIFY_RELEASE ' +
          'invalidation at exit; expected release invalidations (blockable) always to succeed',
      );
    }
  }
  await mnItreeInvEnd(m);
}
