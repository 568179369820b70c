/**
 * Pitfall: mmu_interval_read_begin() called after hmm_range_fault() instead of before. The
 * sequence then describes the page tables after the snapshot was taken: an invalidation that ran
 * while hmm_range_fault() was walking, or right after it, is older than the sequence and
 * mmu_interval_read_retry() never reports it.
 *
 * Rule: sample the sequence before reading the CPU page tables (mmu_interval_read_begin()
 * kerneldoc, 99cb252f5e68; hfi1 pinned pages before establishing its notifier and carried a FIXME
 * saying so from 3889551db212 until b3deec25847b "IB/hfi1: Remove user expected buffer invalidate
 * race" in 2023).
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
    // hmm_range_fault() overwrites requests with results: write them on every pass.
    dmirrorSetRequests(range, write);
    dmirror.stats.passes++;
    await downRead(mm.mmapSem);
    const ret = await hmmRangeFault(range, dmirror.hmmOptions);
    upRead(mm.mmapSem);
    // Now that the snapshot is taken, note which sequence it belongs to.
    range.notifierSeq = await mmuIntervalReadBegin(dmirror.notifier);
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
 * The reference driver that samples the sequence after hmm_range_fault().
 * Mirrors: model-only (a porting mistake against lib/test_hmm.c:dmirror_range_fault()).
 */
export class BeginAfterFaultDriver extends Dmirror {
  constructor(mm: MmStruct, start: number, npages: number, opts: DmirrorOptions = {}) {
    super(mm, start, npages, opts, { ...REFERENCE_OPS, rangeFault: dmirrorRangeFault });
  }
}
