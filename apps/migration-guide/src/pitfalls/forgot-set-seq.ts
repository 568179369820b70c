/**
 * Pitfall: mmu_interval_set_seq() forgotten in the invalidate callback. The callback still takes
 * the mutex and drops the device entries, but the notifier's sequence never moves, so a fault that
 * sampled it before the invalidation passes mmu_interval_read_retry() and programs the device from
 * a snapshot of page tables that no longer exist.
 *
 * Rule: the callback calls mmu_interval_set_seq(mni, cur_seq) unconditionally, under the lock the
 * fault path holds around mmu_interval_read_retry() (mmu_interval_set_seq() kerneldoc, 99cb252f5e68
 * "mm/mmu_notifier: add an interval tree notifier"; every converted driver of the v5.5 series does
 * it first thing under its lock, e.g. amdgpu 81fa1af31b5d).
 */
// biome-ignore-all lint/correctness/noUnusedFunctionParameters: the mistake of this file is that cur_seq is never recorded
import { mutexLock, mutexTrylock, mutexUnlock } from '@hmmsim/kernel';
import { type MmStruct, type MmuNotifierRange, mmuNotifierRangeBlockable } from '@hmmsim/mm';
import type { MmuIntervalNotifier } from '@hmmsim/mmu-notifier';
import { Dmirror, type DmirrorOptions, dmirrorDoUpdate, REFERENCE_OPS } from './reference.ts';

// #region invalidate
/**
 * The notifier callback: the range is about to change on the CPU side. Bump the sequence and
 * drop the device entries under the mutex; refuse (false) only a range that may not sleep when
 * the mutex is taken.
 * Mirrors lib/test_hmm.c:dmirror_interval_invalidate().
 */
export async function dmirrorIntervalInvalidate(
  dmirror: Dmirror,
  mni: MmuIntervalNotifier,
  range: MmuNotifierRange,
  curSeq: number,
): Promise<boolean> {
  // Some callers (the OOM reaper) may not sleep: take the mutex only if it is free, and
  // otherwise let the core answer -EAGAIN so the caller comes back later.
  if (mmuNotifierRangeBlockable(range)) await mutexLock(dmirror.mutex);
  else if (mutexTrylock(dmirror.mutex) === 0) {
    dmirror.stats.refused++;
    return false;
  }
  dmirrorDoUpdate(dmirror, range.start, range.end);
  dmirror.stats.invalidations++;
  mutexUnlock(dmirror.mutex);
  return true;
}
// #endregion invalidate

/**
 * The reference driver whose invalidate callback never calls mmu_interval_set_seq().
 * Mirrors: model-only (a porting mistake against lib/test_hmm.c:dmirror_interval_invalidate()).
 */
export class ForgotSetSeqDriver extends Dmirror {
  constructor(mm: MmStruct, start: number, npages: number, opts: DmirrorOptions = {}) {
    super(mm, start, npages, opts, { ...REFERENCE_OPS, invalidate: dmirrorIntervalInvalidate });
  }
}
