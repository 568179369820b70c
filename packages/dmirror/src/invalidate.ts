/**
 * The mirror's invalidate callback, shared by every implementation: ignore the invalidations of
 * this device's own migrations (MMU_NOTIFY_MIGRATE carrying this device as the migrating pgmap
 * owner: the migration code keeps the table up to date itself), take the mirror mutex (trylock when the range may not block), record the new
 * sequence (interval notifier only), and erase the table entries from `start >> PAGE_SHIFT`
 * through `end >> PAGE_SHIFT` — inclusive, so one page past the end goes too, as in the kernel.
 *
 * Mirrors lib/test_hmm.c: dmirror_interval_invalidate(), dmirror_do_update().
 */
import {
  accessReporting,
  mutexLock,
  mutexTrylock,
  mutexUnlock,
  noteWrite,
  PAGE_SIZE,
} from '@hmmsim/kernel';
import { MMU_NOTIFY_MIGRATE, type MmuNotifierRange, mmuNotifierRangeBlockable } from '@hmmsim/mm';
import type { Dmirror } from './dmirror.ts';

/**
 * Erase the entries of `[start, end]` (page numbers of start through end, inclusive); returns how
 * many there were. Call with the mirror mutex held. Mirrors lib/test_hmm.c:dmirror_do_update().
 */
export function dmirrorDoUpdate(dmirror: Dmirror, start: number, end: number): number {
  return dmirror.pt.eraseRange(Math.floor(start / PAGE_SIZE), Math.floor(end / PAGE_SIZE));
}

/**
 * React to one invalidation of the mirrored mm: true when handled, false only when the range is
 * not blockable and the mutex is taken. `setSeq` records the notifier's new sequence under the
 * mutex (interval notifier); null for the legacy hmm_mirror callback, which has none.
 * Mirrors lib/test_hmm.c:dmirror_interval_invalidate().
 */
export async function dmirrorInvalidate(
  dmirror: Dmirror,
  range: MmuNotifierRange,
  setSeq: (() => void) | null,
): Promise<boolean> {
  if (range.event === MMU_NOTIFY_MIGRATE && range.migratePgmapOwner === dmirror.mdevice) {
    if (accessReporting) noteWrite(dmirror.stats);
    dmirror.stats.ownMigrationsIgnored++;
    return true;
  }
  if (mmuNotifierRangeBlockable(range)) await mutexLock(dmirror.mutex);
  else if (mutexTrylock(dmirror.mutex) === 0) {
    if (accessReporting) noteWrite(dmirror.stats);
    dmirror.stats.invalidationsRefused++;
    return false;
  }
  setSeq?.();
  dmirrorDoUpdate(dmirror, range.start, range.end);
  if (accessReporting) noteWrite(dmirror.stats);
  dmirror.stats.invalidations++;
  mutexUnlock(dmirror.mutex);
  return true;
}

/**
 * The temporary snapshot notifier's callback: only record the new sequence (under the mirror
 * mutex; trylock when the range may not block) — any invalidation voids the whole snapshot.
 * Mirrors lib/test_hmm.c:dmirror_snapshot_invalidate().
 */
export async function dmirrorSnapshotInvalidate(
  dmirror: Dmirror,
  range: MmuNotifierRange,
  setSeq: () => void,
): Promise<boolean> {
  if (mmuNotifierRangeBlockable(range)) await mutexLock(dmirror.mutex);
  else if (mutexTrylock(dmirror.mutex) === 0) return false;
  setSeq();
  mutexUnlock(dmirror.mutex);
  return true;
}
