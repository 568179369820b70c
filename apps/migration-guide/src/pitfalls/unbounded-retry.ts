/**
 * Pitfall: no bound on the retry loop. mmu_interval_read_begin() never gives up and never loops:
 * every collision is the caller's to retry. Without a deadline, a device access under a stream of
 * invalidations that never lets a pass complete never returns.
 *
 * Rule: bound the loop by time, as every converted driver does with HMM_RANGE_DEFAULT_TIMEOUT
 * (mmu_interval_read_begin() kerneldoc, 99cb252f5e68: avoiding loops there lets the user provide
 * a global time bound; nouveau 20fef4ef84bf, amdgpu 81fa1af31b5d, test_hmm).
 */
import {
  createHmmRange,
  HMM_PFN_REQ_FAULT,
  HMM_PFN_REQ_WRITE,
  hmmRangeFault,
} from '@hmmsim/hmm-range/v5.8';
import { downRead, EBUSY, mutexLock, mutexUnlock, upRead } from '@hmmsim/kernel';
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
  // #endregion fault-setup
  // #region fault-loop
  for (;;) {
    // The sequence first: any change to the page tables after this point is seen below.
    range.notifierSeq = await mmuIntervalReadBegin(dmirror.notifier);
    // hmm_range_fault() overwrites requests with results: write them on every pass.
    dmirrorSetRequests(range, write);
    dmirror.stats.passes++;
    await downRead(mm.mmapSem);
    const ret = await hmmRangeFault(range, dmirror.hmmOptions);
    upRead(mm.mmapSem);
    if (ret !== 0) {
      if (ret === -EBUSY) continue;
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
 * The reference driver whose retry loop has no deadline.
 * Mirrors: model-only (a porting mistake against lib/test_hmm.c:dmirror_range_fault()).
 */
export class UnboundedRetryDriver extends Dmirror {
  constructor(mm: MmStruct, start: number, npages: number, opts: DmirrorOptions = {}) {
    super(mm, start, npages, opts, { ...REFERENCE_OPS, rangeFault: dmirrorRangeFault });
  }
}
