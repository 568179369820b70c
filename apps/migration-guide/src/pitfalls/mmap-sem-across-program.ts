/**
 * Pitfall: mmap_sem kept across the device programming, as v5.4 nouveau did. It buys nothing: the
 * sequence check under the driver mutex is what keeps the device consistent (reclaim, for one,
 * changes page tables without mmap_sem). It costs every writer of mmap_sem — an mmap() or munmap()
 * anywhere in the process, and behind it every page fault of every thread — the whole time the
 * device is being programmed. No schedule breaks the device/CPU invariant, so the explorer finds
 * nothing; test/pitfalls-more.test.ts measures the stall.
 *
 * Rule: hold mmap_sem only around hmm_range_fault() (nouveau 20fef4ef84bf drops it before taking
 * svmm->mutex; the v5.5 example of Documentation/vm/hmm.rst, a22dd506400d, releases it before
 * taking the driver lock).
 */
import {
  createHmmRange,
  HMM_PFN_REQ_FAULT,
  HMM_PFN_REQ_WRITE,
  HMM_RANGE_DEFAULT_TIMEOUT,
  hmmRangeFault,
} from '@hmmsim/hmm-range/v5.8';
import { downRead, EBUSY, msecsToJiffies, mutexLock, mutexUnlock, upRead } from '@hmmsim/kernel';
import type { MmStruct } from '@hmmsim/mm';
import { mmuIntervalReadBegin, mmuIntervalReadRetry } from '@hmmsim/mmu-notifier';
import {
  Dmirror,
  type DmirrorOptions,
  dmirrorDoFault,
  dmirrorSetRequests,
  REFERENCE_OPS,
} from './reference.ts';

// #region range-fault
/**
 * Fault `[start, end)` of the process into the device: loop until a snapshot is known to be
 * current, then program the device from it under the mutex. 0, -EBUSY when the deadline passed,
 * or the errno of hmm_range_fault() / dmirrorDoFault().
 * Mirrors lib/test_hmm.c:dmirror_range_fault() and the commit of dmirror_fault() (v5.8).
 */
export async function dmirrorRangeFault(
  dmirror: Dmirror,
  start: number,
  end: number,
  write: boolean,
): Promise<number> {
  // #region fault-setup
  const mm = dmirror.mm;
  const range = createHmmRange({
    notifier: dmirror.notifier,
    start,
    end,
    pfnFlagsMask: HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE,
    devPrivateOwner: dmirror.owner,
  });
  const clock = mm.machine.clock;
  const timeout = clock.jiffies + msecsToJiffies(HMM_RANGE_DEFAULT_TIMEOUT);
  // #endregion fault-setup
  // #region fault-loop
  for (;;) {
    // mmu_interval_read_begin() never gives up by itself: the time bound is ours.
    if (clock.jiffies > timeout) return -EBUSY;
    // The sequence first: any change to the page tables after this point is seen below.
    range.notifierSeq = await mmuIntervalReadBegin(dmirror.notifier);
    // hmm_range_fault() overwrites requests with results: write them on every pass.
    dmirrorSetRequests(range, write);
    dmirror.stats.passes++;
    await downRead(mm.mmapSem);
    const ret = await hmmRangeFault(range, dmirror.hmmOptions);
    if (ret !== 0) {
      upRead(mm.mmapSem);
      if (ret === -EBUSY) continue;
      return ret;
    }
    // The check and the programming are one step for the callback, which takes the mutex.
    await mutexLock(dmirror.mutex);
    if (mmuIntervalReadRetry(dmirror.notifier, range.notifierSeq)) {
      mutexUnlock(dmirror.mutex);
      upRead(mm.mmapSem);
      continue;
    }
    // With mmap_sem still held nothing can change the page tables while we program.
    const r = await dmirrorDoFault(dmirror, range, write);
    mutexUnlock(dmirror.mutex);
    upRead(mm.mmapSem);
    return r;
  }
  // #endregion fault-loop
}
// #endregion range-fault

/**
 * The reference driver that keeps mmap_sem from hmm_range_fault() until the device is programmed.
 * Mirrors: model-only (drivers/gpu/drm/nouveau/nouveau_svm.c:nouveau_svm_fault() of v5.4).
 */
export class MmapSemAcrossProgramDriver extends Dmirror {
  constructor(mm: MmStruct, start: number, npages: number, opts: DmirrorOptions = {}) {
    super(mm, start, npages, opts, { ...REFERENCE_OPS, rangeFault: dmirrorRangeFault });
  }
}
