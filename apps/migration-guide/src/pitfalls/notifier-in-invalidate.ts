/**
 * Pitfall: changing the interval tree from inside the invalidate callback. Here the driver wants
 * to follow the process's new layout after an munmap and re-subscribes from the callback: it
 * removes its notifier and inserts it again. remove() finds its own invalidation window open and
 * waits for it to end, which cannot happen before the callback returns: the task deadlocks on
 * itself. (insert() is no better in the kernel: it may take mmap_sem for write to switch the
 * interval tree on, and says so to lockdep with might_lock().)
 *
 * Rule: neither insert nor remove may be called from a callback (mmu_interval_notifier_remove()
 * kerneldoc, 99cb252f5e68; the attempt to allow inserts, mmu_interval_notifier_insert_safe(),
 * <20200113224703.5917-2-rcampbell@nvidia.com>, was dropped and test_hmm uses one notifier for the
 * whole process instead).
 */
import { mutexLock, mutexTrylock, mutexUnlock } from '@hmmsim/kernel';
import {
  MMU_NOTIFY_UNMAP,
  type MmStruct,
  type MmuNotifierRange,
  mmuNotifierRangeBlockable,
} from '@hmmsim/mm';
import {
  type MmuIntervalNotifier,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  mmuIntervalSetSeq,
} from '@hmmsim/mmu-notifier';
import {
  DMIRROR_SPAN,
  Dmirror,
  type DmirrorOptions,
  dmirrorDoUpdate,
  REFERENCE_OPS,
} from './reference.ts';

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
  // Always, and under the mutex: this is the value mmu_interval_read_retry() compares.
  mmuIntervalSetSeq(mni, curSeq);
  dmirrorDoUpdate(dmirror, range.start, range.end);
  dmirror.stats.invalidations++;
  mutexUnlock(dmirror.mutex);
  // Part of the process was unmapped: subscribe again, to follow the new layout.
  if (range.event === MMU_NOTIFY_UNMAP) {
    const ops = mni.ops!;
    await mmuIntervalNotifierRemove(mni);
    await mmuIntervalNotifierInsert(mni, dmirror.mm, 0, DMIRROR_SPAN, ops);
  }
  return true;
}
// #endregion invalidate

/**
 * The reference driver that re-subscribes its notifier from inside the invalidate callback.
 * Mirrors: model-only (a porting mistake against lib/test_hmm.c:dmirror_interval_invalidate()).
 */
export class NotifierInInvalidateDriver extends Dmirror {
  constructor(mm: MmStruct, start: number, npages: number, opts: DmirrorOptions = {}) {
    super(mm, start, npages, opts, { ...REFERENCE_OPS, invalidate: dmirrorIntervalInvalidate });
  }
}
