/**
 * Pitfall: the v5.5–v5.7 return check kept on v5.8. Until v5.7 hmm_range_fault() returned the
 * number of pages it walked, and the drivers of the day retried on "0 or -EBUSY". From v5.8 it
 * returns 0 on success: the old check reads every success as "try again", so the device access
 * never completes (it spins until the deadline and then fails with -EBUSY).
 *
 * Rule: from v5.8, 0 is success and -EBUSY the only "again" (be957c886d92 "mm/hmm: make
 * hmm_range_fault return 0 or -1", which changed exactly these lines in nouveau and amdgpu).
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
    upRead(mm.mmapSem);
    if (ret <= 0) {
      if (ret === 0 || ret === -EBUSY) continue;
      return ret;
    }
    // The check and the programming are one step for the callback, which takes the mutex.
    await mutexLock(dmirror.mutex);
    if (mmuIntervalReadRetry(dmirror.notifier, range.notifierSeq)) {
      mutexUnlock(dmirror.mutex);
      continue;
    }
    const r = await dmirrorDoFault(dmirror, range, write);
    mutexUnlock(dmirror.mutex);
    return r;
  }
  // #endregion fault-loop
}
// #endregion range-fault

/**
 * The reference driver with the v5.7 check of hmm_range_fault()'s return value.
 * Mirrors: model-only (drivers/gpu/drm/nouveau/nouveau_svm.c:nouveau_range_fault() before be957c886d92).
 */
export class V57ReturnCheckDriver extends Dmirror {
  constructor(mm: MmStruct, start: number, npages: number, opts: DmirrorOptions = {}) {
    super(mm, start, npages, opts, { ...REFERENCE_OPS, rangeFault: dmirrorRangeFault });
  }
}
