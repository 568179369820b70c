/**
 * Pitfall: the invalidate callback sleeps although the range is not blockable. The OOM reaper
 * invalidates with mmu_notifier_invalidate_range_start_nonblock(): callbacks must not sleep, and
 * one that cannot proceed without sleeping returns false, which makes the core answer -EAGAIN so
 * the reaper tries again later. This callback takes its mutex with mutex_lock() regardless: a
 * sleeping function in a context that may not sleep (with CONFIG_DEBUG_ATOMIC_SLEEP the kernel
 * reports it at the first call, contended or not).
 *
 * Rule: if !mmu_notifier_range_blockable(range), trylock or return false (mmu_interval_notifier_ops
 * kerneldoc, 99cb252f5e68; the same contract as v5.4's -EAGAIN from sync_cpu_device_pagetables(),
 * introduced with the reaper's non-blocking mode in 93065ac753e4 "mm, oom: distinguish blockable
 * mode for mmu notifiers").
 */
import { mutexLock, mutexUnlock } from '@hmmsim/kernel';
import type { MmStruct, MmuNotifierRange } from '@hmmsim/mm';
import { type MmuIntervalNotifier, mmuIntervalSetSeq } from '@hmmsim/mmu-notifier';
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
  // The mutex is only ever held briefly: waiting for it is fine.
  await mutexLock(dmirror.mutex);
  // Always, and under the mutex: this is the value mmu_interval_read_retry() compares.
  mmuIntervalSetSeq(mni, curSeq);
  dmirrorDoUpdate(dmirror, range.start, range.end);
  dmirror.stats.invalidations++;
  mutexUnlock(dmirror.mutex);
  return true;
}
// #endregion invalidate

/**
 * The reference driver whose invalidate callback sleeps on its mutex even when the range may not
 * block.
 * Mirrors: model-only (a porting mistake against lib/test_hmm.c:dmirror_interval_invalidate()).
 */
export class BlockInNonblockableDriver extends Dmirror {
  constructor(mm: MmStruct, start: number, npages: number, opts: DmirrorOptions = {}) {
    super(mm, start, npages, opts, { ...REFERENCE_OPS, invalidate: dmirrorIntervalInvalidate });
  }
}
