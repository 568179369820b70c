/**
 * The native build: the kernel driver's own design. One mmu_interval_notifier over the whole user
 * address space `[0, ULONG_MAX & PAGE_MASK)` whose invalidate erases table entries and calls
 * set_seq under the mirror mutex; fault passes take read_begin / read_retry on it; each snapshot
 * chunk registers a temporary notifier over exactly that chunk. Every pass is a v5.8+ struct
 * hmm_range (hmm_pfns, dev_private_owner = the device) given to the one-argument
 * hmm_range_fault().
 *
 * Mirrors lib/test_hmm.c: dmirror_fops_open()/release() (insert/remove), dmirror_range_fault(),
 * dmirror_range_snapshot(), dmirror_min_ops, dmirror_mrn_ops.
 */
import type { HmmPfnsRange } from '@hmmsim/hmm-range';
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
import type { DmirrorIntervalConfig } from '../options.ts';
import { dmirrorHmmRange, dmirrorRangeRequest } from '../range/dmirror-range.ts';
import { dmirrorHmmRangeFault } from '../range/range-fault.ts';
import type { DmirrorRangePass, MirrorBinding } from './mirror-binding.ts';

/** A pass over `range` protected by its notifier's sequence. */
function sequencePass(
  range: HmmPfnsRange,
  mni: MmuIntervalNotifier,
  config: DmirrorIntervalConfig,
  finish: () => Promise<void>,
): DmirrorRangePass {
  return {
    start: range.start,
    end: range.end,
    hmmPfns: range.hmmPfns,
    async begin() {
      range.notifierSeq = await mmuIntervalReadBegin(mni);
      return true;
    },
    fault: () => dmirrorHmmRangeFault(range, config),
    retry: () => mmuIntervalReadRetry(mni, range.notifierSeq),
    finish,
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

  constructor(
    readonly dmirror: Dmirror,
    readonly config: DmirrorIntervalConfig,
  ) {}

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

  /** A range on the mirror's notifier requesting faults. Mirrors dmirror_fault() / dmirror_range_fault(). */
  async rangeFault(start: number, end: number, write: boolean): Promise<DmirrorRangePass> {
    const req = dmirrorRangeRequest(false, write);
    const range = dmirrorHmmRange(this.dmirror.mdevice, this.notifier, start, end, req);
    return sequencePass(range, this.notifier, this.config, async () => {});
  }

  /** A temporary notifier over exactly the range, nothing requested. Mirrors dmirror_range_snapshot(). */
  async rangeSnapshot(start: number, end: number): Promise<DmirrorRangePass | number> {
    const d = this.dmirror;
    const tmp = new MmuIntervalNotifier();
    const ret = await mmuIntervalNotifierInsert(tmp, d.mm, start, end - start, {
      invalidate: (mni, r, curSeq) =>
        dmirrorSnapshotInvalidate(d, r, () => mmuIntervalSetSeq(mni, curSeq)),
      userLock: d.mutex,
    });
    if (ret !== 0) return ret;
    const range = dmirrorHmmRange(d.mdevice, tmp, start, end, dmirrorRangeRequest(true, false));
    return sequencePass(range, tmp, this.config, () => mmuIntervalNotifierRemove(tmp));
  }
}
