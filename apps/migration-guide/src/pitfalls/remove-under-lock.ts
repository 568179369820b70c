/**
 * Pitfall: mmu_interval_notifier_remove() called with the driver lock held. If an invalidation is
 * in progress, remove() waits for its window to end; if that invalidation's callback is waiting for
 * the lock, it never does.
 *
 * Rule: remove() may sleep until the running invalidation ends; do not call it from a callback or
 * with a lock a callback takes (mmu_interval_notifier_remove() kerneldoc, 99cb252f5e68).
 */
import { mutexLock, mutexUnlock, ULONG_MAX } from '@hmmsim/kernel';
import type { MmStruct } from '@hmmsim/mm';
import { mmuIntervalNotifierRemove } from '@hmmsim/mmu-notifier';
import { Dmirror, type DmirrorOptions, dmirrorDoUpdate, REFERENCE_OPS } from './reference.ts';

// #region release
/**
 * Closing the device file: the device stops using the mirror, then the notifier goes.
 * Mirrors lib/test_hmm.c:dmirror_fops_release().
 */
export async function dmirrorFopsRelease(dmirror: Dmirror): Promise<void> {
  await mutexLock(dmirror.mutex);
  dmirrorDoUpdate(dmirror, 0, ULONG_MAX);
  // Under the mutex, so that no invalidation runs while the notifier goes.
  await mmuIntervalNotifierRemove(dmirror.notifier);
  mutexUnlock(dmirror.mutex);
}
// #endregion release

/**
 * The reference driver that removes its notifier with the mutex held.
 * Mirrors: model-only (a porting mistake against lib/test_hmm.c:dmirror_fops_release()).
 */
export class RemoveUnderLockDriver extends Dmirror {
  constructor(mm: MmStruct, start: number, npages: number, opts: DmirrorOptions = {}) {
    super(mm, start, npages, opts, { ...REFERENCE_OPS, release: dmirrorFopsRelease });
  }
}
