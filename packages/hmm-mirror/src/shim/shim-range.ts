/**
 * Compat shim, range side: the legacy range API answered from a sequence instead of a bool.
 *
 * - `hmmRangeRegister` inserts a private mmu_interval_notifier over `[start, end)` and sets
 *   `range.notifier` to it, so hmm_range_fault() uses the notifier's sequence (the seed's
 *   transitional mode). `range.notifierSeq` is the notifier's sequence at insertion — the
 *   read_begin of the range — unless the insert landed inside an invalidation window (the core
 *   then gives the notifier the window's odd value): the range then starts invalid (an even
 *   sentinel that no notifier sequence can equal), as a legacy range registered while
 *   invalidations are in flight does.
 * - `hmmRangeValid` is `!mmu_interval_read_retry(notifier, notifierSeq)`: false as soon as an
 *   invalidation of the range called set_seq after the read section began, even if it has ended
 *   since (the bool of v5.4 was reset to true by that end: race R1).
 * - `hmmRangeWaitUntilValid` is a read_begin bounded by the timeout: if the current read section
 *   is intact it returns true at once; otherwise it sleeps (on the notifier core's wait queue)
 *   only while this range's notifier is inside the current invalidation window, then starts a new
 *   read section (`notifierSeq` = the notifier's sequence) and returns true; false on timeout.
 * - The notifier's `invalidate` calls set_seq without a lock: the mirror's
 *   sync_cpu_device_pagetables, which takes the driver lock, runs after every interval callback of
 *   the same invalidation, so set_seq happens before the sync callback takes the lock and thus
 *   before any later locked hmmRangeValid(); a locked check that missed it ran before the sync
 *   callback, which then zaps what the driver programmed.
 * - `hmmRangeUnregister` never sleeps (legacy drivers call it under the lock their sync callback
 *   takes, and mmu_interval_notifier_remove may wait for the current window to end, which needs
 *   that lock): the notifier is detached from the range and left in the tree, inert, and removed
 *   later by hmmRangeWaitUntilValid (when no window is open) or hmmMirrorUnregister.
 *
 * Model compat shim; mirrors the semantics of mm/hmm.c (v5.4) hmm_range_register(),
 * hmm_range_unregister() and include/linux/hmm.h hmm_range_valid(),
 * hmm_range_wait_until_valid(), implemented with mm/mmu_notifier.c's interval notifier
 * (mmu_interval_notifier_insert/remove, mmu_interval_read_begin/read_retry/set_seq).
 */

import type { HmmRange } from '@hmmsim/hmm-range';
import {
  accessReporting,
  KernelBugError,
  msecsToJiffies,
  noteRead,
  noteWrite,
  ObjectSlot,
  spinLock,
  spinUnlock,
  waitEventTimeout,
} from '@hmmsim/kernel';
import { type MmuNotifierRange, mmput } from '@hmmsim/mm';
import {
  MMN_FIELD,
  MmuIntervalNotifier,
  type MmuIntervalNotifierOps,
  type MmuNotifierMm,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
  mmuNotifierMmOf,
} from '@hmmsim/mmu-notifier';
import type { Hmm } from '../hmm.ts';
import type { HmmMirror } from '../hmm-mirror.ts';
import {
  assertRegistrationIntact,
  checkRangeArg,
  checkTimeout,
  hmmRangeRegisterBegin,
  registrationOf,
  unlinkRange,
} from '../hmm-range-register.ts';
import { HMM_RANGE_POISON, rangeRegistration, recordRangeRegistration } from '../range-registry.ts';

/**
 * The interval notifier backing one shim range; `range` is null once the range was unregistered
 * (the notifier then waits, inert, to be removed). Accesses to `range` are reported on the
 * notifier object.
 * Model compat shim (no kernel counterpart).
 */
export class ShimRangeNotifier extends MmuIntervalNotifier {
  constructor(public range: HmmRange | null) {
    super();
  }
}

/**
 * The shim notifiers' ops: record the invalidation's sequence. No lock (see the file comment for
 * why the mirror's locked sync callback orders it), never fails, so also fine when not blockable.
 * Model compat shim; mirrors the semantics of a mmu_interval_notifier_ops.invalidate that calls
 * mmu_interval_set_seq().
 */
export const shimIntervalOps: MmuIntervalNotifierOps = Object.freeze({
  invalidate(mni: MmuIntervalNotifier, _range: MmuNotifierRange, curSeq: number): boolean {
    mmuIntervalSetSeq(mni, curSeq);
    return true;
  },
});

/**
 * Notifiers of unregistered ranges still in the tree, per shim struct hmm (accesses reported on
 * the map itself, as one object).
 */
const orphansOf = new ObjectSlot<Hmm, ShimRangeNotifier[]>('hmm.shim_orphans');

/**
 * The interval notifiers of unregistered ranges of `hmm` that still wait for removal.
 * Model compat shim (introspection for tests).
 */
export function shimPendingRemovals(hmm: Hmm): readonly ShimRangeNotifier[] {
  return orphansOf.get(hmm) ?? [];
}

/** The notifier core of the mm of `mni` (inserted notifiers only). */
function coreOf(mni: MmuIntervalNotifier, fn: string): MmuNotifierMm {
  if (accessReporting) noteRead(mni); // `mm`
  const m = mni.mm === null ? null : mmuNotifierMmOf(mni.mm);
  if (m === null) {
    throw new KernelBugError(
      `${fn}: the range's interval notifier is not inserted; expected a registered shim range`,
    );
  }
  return m;
}

/**
 * Remove the interval notifiers of ranges unregistered earlier. With `onlyOutsideWindows`, stop
 * as soon as an invalidation window is open (so the caller does not sleep for it); otherwise
 * remove them all, sleeping until the current window ends if needed.
 * Model compat shim; mirrors the semantics of mm/mmu_notifier.c:mmu_interval_notifier_remove().
 */
export async function reapShimNotifiers(hmm: Hmm, onlyOutsideWindows: boolean): Promise<void> {
  if (accessReporting) noteRead(orphansOf);
  const list = orphansOf.get(hmm);
  if (list === undefined) return;
  for (;;) {
    // Read again in every step (after each removal slept).
    if (accessReporting) noteRead(orphansOf);
    if (list.length === 0) return;
    const mni = list[0] as ShimRangeNotifier;
    if (accessReporting) noteRead(mni); // `state`
    if (mni.state === 'idle') {
      if (accessReporting) noteWrite(orphansOf);
      list.shift(); // removed behind the shim's back: nothing left to do
      continue;
    }
    if (onlyOutsideWindows && coreOf(mni, 'hmm_range_wait_until_valid').isInvalidating()) return;
    if (accessReporting) noteWrite(orphansOf);
    list.shift();
    await mmuIntervalNotifierRemove(mni);
  }
}

/** The interval notifier of a registered shim range. */
function notifierOf(range: HmmRange, fn: string, allowRemoved = false): ShimRangeNotifier {
  if (accessReporting) noteRead(range);
  const mni = range.notifier;
  if (mni !== null) noteRead(mni); // `range`, `state`
  if (!(mni instanceof ShimRangeNotifier) || mni.range !== range) {
    throw new KernelBugError(
      `${fn}: range.notifier was changed after hmm_range_register(); expected the shim's notifier to stay in place until hmm_range_unregister()`,
    );
  }
  if (mni.state === 'idle' && !allowRemoved) {
    throw new KernelBugError(
      `${fn}: the range's interval notifier was removed (mmu_interval_notifier_remove() on the shim's notifier); ` +
        'expected it to stay inserted until hmm_range_unregister(): the range can no longer see invalidations',
    );
  }
  return mni;
}

/**
 * Register `range` for `mirror`: 0, -EINVAL (unaligned or empty; `valid` false, `hmm` null),
 * -EFAULT (the mm is exiting), or the errno of mmu_interval_notifier_insert. Pins mm_users until
 * unregister. Starts invalid if the insert fell inside an invalidation window of the mm.
 * Model compat shim; mirrors the semantics of mm/hmm.c:hmm_range_register().
 */
export async function hmmRangeRegister(range: HmmRange, mirror: HmmMirror): Promise<number> {
  const begun = hmmRangeRegisterBegin(range, mirror, 'shim');
  if (typeof begun === 'number') return begun;
  const { hmm, mm } = begun;
  const mni = new ShimRangeNotifier(range);
  const ret = await mmuIntervalNotifierInsert(
    mni,
    mm,
    range.start,
    range.end - range.start,
    shimIntervalOps,
  );
  if (ret !== 0) {
    await mmput(mm);
    return ret;
  }
  // The read_begin of the range, without sleeping: inside a window, start invalid instead.
  const m = coreOf(mni, 'hmm_range_register');
  if (accessReporting) noteRead(m, MMN_FIELD.seq);
  const seq = mni.invalidateSeq;
  const inWindow = seq === m.invalidateSeq;
  if (accessReporting) noteWrite(range);
  range.notifier = mni;
  range.notifierSeq = inWindow ? seq - 1 : seq;
  range.valid = !inWindow;
  await spinLock(hmm.rangesLock);
  if (accessReporting) noteWrite(range);
  range.hmm = hmm;
  if (accessReporting) noteWrite(hmm.ranges);
  hmm.ranges.unshift(range);
  recordRangeRegistration(range, hmm, mirror);
  spinUnlock(hmm.rangesLock);
  const sched = mm.machine.sched;
  if (sched.trace.enabled) {
    sched.trace.emit(
      'hmm_shim.range_register',
      `[0x${range.start.toString(16)}, 0x${range.end.toString(16)}) seq=${range.notifierSeq}${inWindow ? ' (in a window: invalid)' : ''}`,
    );
  }
  return 0;
}

/**
 * Stop tracking `range`: unlink it, detach its interval notifier (removed later, see the file
 * comment), drop the mm_users reference, clear `valid` and `notifier`, poison `hmm`. Never sleeps
 * on the notifier core. KernelBugError for a range that is not registered.
 * Model compat shim; mirrors the semantics of mm/hmm.c:hmm_range_unregister().
 */
export async function hmmRangeUnregister(range: HmmRange): Promise<void> {
  const { hmm } = registrationOf(range, 'hmm_range_unregister', 'shim');
  // A notifier removed behind the shim's back is not queued again (its remove already ran).
  const mni = notifierOf(range, 'hmm_range_unregister', true);
  await unlinkRange(hmm, range);
  if (accessReporting) noteWrite(mni);
  mni.range = null;
  if (mni.state !== 'idle') {
    if (accessReporting) noteWrite(orphansOf);
    const list = orphansOf.get(hmm);
    if (list === undefined) orphansOf.set(hmm, [mni]);
    else list.push(mni);
  }
  if (accessReporting) noteWrite(range);
  range.notifier = null;
  range.valid = false;
  range.hmm = HMM_RANGE_POISON;
  if (accessReporting) noteRead(hmm); // the notifier's `mm`
  const mm = hmm.mm;
  if (mm === null) {
    throw new KernelBugError(
      'hmm_range_unregister: the struct hmm has no mm; expected a live registration',
    );
  }
  await mmput(mm);
}

/**
 * True unless an invalidation of the range called set_seq since the current read section began
 * (registration or the last successful hmmRangeWaitUntilValid) — including one that has already
 * ended. Call it under the lock the mirror's sync callback takes. An unregistered range reads its
 * `valid` field (false), as in v5.4.
 * Model compat shim; mirrors the semantics of include/linux/hmm.h:hmm_range_valid() with
 * mmu_interval_read_retry().
 */
export function hmmRangeValid(range: HmmRange): boolean {
  checkRangeArg('hmm_range_valid', range);
  const reg = rangeRegistration(range);
  if (reg === undefined) return range.valid;
  assertRegistrationIntact(range, reg, 'hmm_range_valid');
  const mni = notifierOf(range, 'hmm_range_valid');
  const valid = !mmuIntervalReadRetry(mni, range.notifierSeq);
  if (accessReporting) noteWrite(range);
  range.valid = valid;
  return valid;
}

/**
 * A read_begin bounded by `timeout` ms of virtual time: true at once if the current read section
 * is intact; otherwise sleep while the range's notifier is inside the current invalidation
 * window, then begin a new read section and return true; false on timeout (the range stays
 * invalid). First removes notifiers of unregistered ranges if no window is open (a window that
 * opens just then makes that removal wait for its end, which can outlast the timeout).
 * KernelBugError for a range that is not registered.
 * Model compat shim; mirrors the semantics of include/linux/hmm.h:hmm_range_wait_until_valid()
 * with mm/mmu_notifier.c:mmu_interval_read_begin().
 */
export async function hmmRangeWaitUntilValid(range: HmmRange, timeout: number): Promise<boolean> {
  checkTimeout(timeout, 'hmm_range_wait_until_valid');
  const reg = registrationOf(range, 'hmm_range_wait_until_valid', 'shim');
  assertRegistrationIntact(range, reg, 'hmm_range_wait_until_valid');
  const { hmm } = reg;
  const mni = notifierOf(range, 'hmm_range_wait_until_valid');
  await reapShimNotifiers(hmm, true);
  if (accessReporting) noteRead(range); // `notifierSeq`
  if (!mmuIntervalReadRetry(mni, range.notifierSeq)) {
    if (accessReporting) noteWrite(range);
    range.valid = true;
    return true;
  }
  const m = coreOf(mni, 'hmm_range_wait_until_valid');
  await spinLock(m.lock);
  if (accessReporting) noteRead(mni);
  if (accessReporting) noteRead(m, MMN_FIELD.seq);
  const seq = mni.invalidateSeq;
  const inWindow = seq === m.invalidateSeq;
  spinUnlock(m.lock);
  if (inWindow) {
    const seqMoved = (): boolean => {
      if (accessReporting) noteRead(m, MMN_FIELD.seq);
      return m.invalidateSeq !== seq;
    };
    const left = await waitEventTimeout(m.wq, seqMoved, msecsToJiffies(timeout));
    if (left === 0) {
      if (accessReporting) noteWrite(range);
      range.valid = false;
      return false;
    }
  }
  if (accessReporting) noteWrite(range);
  range.notifierSeq = seq;
  range.valid = true;
  const sched = m.mm.machine.sched;
  if (sched.trace.enabled) {
    sched.trace.emit('hmm_shim.read_begin', `seq=${seq}${inWindow ? ' (slept)' : ''}`);
  }
  return true;
}
