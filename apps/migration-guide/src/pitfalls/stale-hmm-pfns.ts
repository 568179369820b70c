/**
 * Pitfall: the per-page requests written once, before the retry loop. hmm_range_fault() writes its
 * results over the requests (since v5.8 the bits even share their meaning: an output HMM_PFN_VALID
 * reads as HMM_PFN_REQ_FAULT, HMM_PFN_WRITE as HMM_PFN_REQ_WRITE). After a retry the call reads
 * the previous pass's results as requests: a read access whose pages were writable now asks for
 * write access; once the range is read-only that write request fails with -EPERM, and the device
 * read fails although the pages are readable.
 *
 * Rule: write the requests again before every call (nouveau's conversion to hmm_pfns,
 * 2733ea144dcc, carried a FIXME about exactly this, and its reviewers asked that nobody copy it,
 * <c0d02b98-c356-60b1-6043-5b8d1a9be19a@nvidia.com> and the reply <20200506162103.GH26002@ziepe.ca>;
 * inside one call hmm_range_fault() itself keeps track of which entries are already outputs,
 * be957c886d92).
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
  // Every page, for the access the device made.
  dmirrorSetRequests(range, write);
  const clock = mm.machine.clock;
  const timeout = clock.jiffies + msecsToJiffies(HMM_RANGE_DEFAULT_TIMEOUT);
  // #endregion fault-setup
  // #region fault-loop
  for (;;) {
    // mmu_interval_read_begin() never gives up by itself: the time bound is ours.
    if (clock.jiffies > timeout) return -EBUSY;
    // The sequence first: any change to the page tables after this point is seen below.
    range.notifierSeq = await mmuIntervalReadBegin(dmirror.notifier);
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
 * The reference driver that writes its per-page requests once, before the retry loop.
 * Mirrors: model-only (the FIXME of drivers/gpu/drm/nouveau/nouveau_svm.c after 2733ea144dcc).
 */
export class StaleHmmPfnsDriver extends Dmirror {
  constructor(mm: MmStruct, start: number, npages: number, opts: DmirrorOptions = {}) {
    super(mm, start, npages, opts, { ...REFERENCE_OPS, rangeFault: dmirrorRangeFault });
  }
}
