/**
 * The native build: the kernel driver's own design. One mmu_interval_notifier over the whole user
 * address space `[0, ULONG_MAX & PAGE_MASK)` whose invalidate erases table entries and calls
 * set_seq under the mirror mutex; fault passes use read_begin / read_retry on it; each snapshot
 * chunk registers a temporary notifier over exactly that chunk.
 *
 * Mirrors lib/test_hmm.c: dmirror_fops_open()/release() (insert/remove), dmirror_range_fault(),
 * dmirror_range_snapshot(), dmirror_min_ops, dmirror_mrn_ops.
 */
import type { HmmRange } from '@hmmsim/hmm-range';
import { pageAlignDown, ULONG_MAX } from '@hmmsim/kernel';
import {
  MmuIntervalNotifier,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
} from '@hmmsim/mmu-notifier';
import type { Dmirror } from '../dmirror.ts';
import { dmirrorInvalidate, dmirrorSnapshotInvalidate } from '../invalidate.ts';
import type { CollisionTracker, MirrorBinding } from './mirror-binding.ts';

/** read_begin / read_retry on `mni` for `range`. */
function sequenceTracker(
  range: HmmRange,
  mni: MmuIntervalNotifier,
  end: () => Promise<void>,
): CollisionTracker {
  range.notifier = mni;
  return {
    async begin() {
      range.notifierSeq = await mmuIntervalReadBegin(mni);
      return true;
    },
    retry: () => mmuIntervalReadRetry(mni, range.notifierSeq),
    end,
  };
}

/**
 * The interval-notifier binding of one mirror.
 * Mirrors lib/test_hmm.c: struct dmirror.notifier and its users.
 */
export class IntervalBinding implements MirrorBinding {
  readonly impl = 'interval' as const;
  /** The mirror's whole-address-space notifier. */
  readonly notifier = new MmuIntervalNotifier();

  constructor(readonly dmirror: Dmirror) {}

  /** mmu_interval_notifier_insert() over `[0, ULONG_MAX & PAGE_MASK)`. Mirrors dmirror_fops_open(). */
  bind(): Promise<number> {
    const d = this.dmirror;
    return mmuIntervalNotifierInsert(this.notifier, d.mm, 0, pageAlignDown(ULONG_MAX), {
      invalidate: (mni, range, curSeq) =>
        dmirrorInvalidate(d, range, () => mmuIntervalSetSeq(mni, curSeq)),
      userLock: d.mutex,
    });
  }

  /** mmu_interval_notifier_remove(). Mirrors dmirror_fops_release(). */
  unbind(): Promise<void> {
    return mmuIntervalNotifierRemove(this.notifier);
  }

  /** Fault passes use the mirror's notifier. Mirrors dmirror_range_fault(). */
  async trackFault(range: HmmRange): Promise<CollisionTracker> {
    return sequenceTracker(range, this.notifier, async () => {});
  }

  /** A temporary notifier over exactly the range. Mirrors dmirror_range_snapshot(). */
  async trackSnapshot(range: HmmRange): Promise<CollisionTracker | number> {
    const d = this.dmirror;
    const tmp = new MmuIntervalNotifier();
    const ret = await mmuIntervalNotifierInsert(tmp, d.mm, range.start, range.end - range.start, {
      invalidate: (mni, r, curSeq) =>
        dmirrorSnapshotInvalidate(d, r, () => mmuIntervalSetSeq(mni, curSeq)),
      userLock: d.mutex,
    });
    if (ret !== 0) return ret;
    return sequenceTracker(range, tmp, () => mmuIntervalNotifierRemove(tmp));
  }
}
