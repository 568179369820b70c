/**
 * Step 3 of the port, the v5.5 driver: step 2 plus the two lifetime rules of the conversion. The
 * svmm's notifier pins the mm's memory (mm_count) but not its address space, so every fault first
 * takes an mm_users reference with mmget_not_zero() (and cancels the fault if the process is
 * exiting) and drops it with mmput() at the end; and the retry loop gets a deadline of
 * HMM_RANGE_DEFAULT_TIMEOUT, because mmu_interval_read_begin() deliberately never loops: bounding
 * the retries is the driver's job.
 *
 * The svmm, its init/fini, the mm-wide notifier and the interval notifier's invalidate callback
 * are step 2's, unchanged.
 *
 * Mirrors drivers/gpu/drm/nouveau/nouveau_svm.c after 20fef4ef84bf "nouveau: use
 * mmu_interval_notifier instead of hmm_mirror" (<20191112202231.3856-10-jgg@ziepe.ca>), v5.5.
 */

import { HMM_RANGE_DEFAULT_TIMEOUT } from '@hmmsim/hmm-mirror';
import {
  createHmmRange,
  HMM_PFN_FLAGS_MASK_ALL,
  type HmmRange,
  hmmRangeFault,
} from '@hmmsim/hmm-range';
import {
  downRead,
  EBUSY,
  EFAULT,
  InvalidArgumentError,
  KernelBugError,
  msecsToJiffies,
  mutexLock,
  mutexUnlock,
  PAGE_SIZE,
  upRead,
} from '@hmmsim/kernel';
import { findVmaIntersection, type MmStruct, mmgetNotZero, mmput } from '@hmmsim/mm';
import {
  type MmuIntervalNotifier,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
} from '@hmmsim/mmu-notifier';
import {
  NVIF_VMM_PFNMAP_V0_ADDR_SHIFT,
  NVIF_VMM_PFNMAP_V0_V,
  NVIF_VMM_PFNMAP_V0_W,
  traceFault,
} from './gpu.ts';
import {
  NOUVEAU_SVM_PFN_FLAGS,
  NOUVEAU_SVM_PFN_VALUES,
  nouveauDmemConvertPfn,
  SVM_FAULT_WINDOW,
} from './v54.ts';
import { SvmmV552, type SvmmV552Options, SvmNotifier } from './v55-2-interval.ts';

/**
 * The v5.5 svmm: step 2's, with step 3's fault handler.
 * Mirrors drivers/gpu/drm/nouveau/nouveau_svm.c:struct nouveau_svmm (v5.5).
 */
export class SvmmV55 extends SvmmV552 {
  constructor(owner: MmStruct, start: number, npages: number, opts: SvmmV552Options = {}) {
    super(owner, start, npages, { ...opts, name: opts.name ?? 'svm-v5.5-gpu' });
  }

  override async fault(write: boolean): Promise<number> {
    if (typeof write !== 'boolean') {
      throw new InvalidArgumentError(
        `SvmmV55.fault: write is ${String(write)}; expected a boolean`,
      );
    }
    for (let addr = this.start; addr < this.limit; addr += SVM_FAULT_WINDOW * PAGE_SIZE) {
      const ret = await nouveauSvmFault(this, addr, write);
      if (ret !== 0) return ret;
    }
    return 0;
  }
}

// #region range-fault
/**
 * Step 2's loop with a deadline: give up with -EBUSY once HMM_RANGE_DEFAULT_TIMEOUT has passed
 * (the GPU fault is then cancelled). Call with an mm_users reference held.
 * Mirrors nouveau_range_fault() (v5.5).
 */
export async function nouveauRangeFault(svmm: SvmmV55, range: HmmRange): Promise<number> {
  const notifier = range.notifier as MmuIntervalNotifier;
  const mm = notifier.mm as MmStruct;
  const clock = mm.machine.clock;
  const timeout = clock.jiffies + msecsToJiffies(HMM_RANGE_DEFAULT_TIMEOUT);
  for (;;) {
    if (clock.jiffies > timeout) return -EBUSY;
    range.notifierSeq = await mmuIntervalReadBegin(notifier);
    range.defaultFlags = 0;
    range.pfnFlagsMask = HMM_PFN_FLAGS_MASK_ALL;
    await downRead(mm.mmapSem);
    const ret = await hmmRangeFault(range, 0, { version: '5.5' });
    upRead(mm.mmapSem);
    traceFault(mm, ret);
    if (ret <= 0) {
      if (ret === 0 || ret === -EBUSY) continue;
      return ret;
    }
    await mutexLock(svmm.mutex);
    if (mmuIntervalReadRetry(notifier, range.notifierSeq)) {
      mutexUnlock(svmm.mutex);
      continue;
    }
    break;
  }
  const gpu = svmm.vmm;
  if (gpu !== null) {
    nouveauDmemConvertPfn(gpu, range);
    await gpu.pfnmap(range.start, range.pfns);
  }
  mutexUnlock(svmm.mutex);
  return 0;
}
// #endregion range-fault

// #region fault
/**
 * A GPU fault at `addr`, holding an mm_users reference throughout: without one the process could
 * exit (and its page tables be torn down) between the VMA lookup and hmm_range_fault().
 * Mirrors nouveau_svm_fault() (v5.5), for one fault.
 */
export async function nouveauSvmFault(
  svmm: SvmmV55,
  addr: number,
  write: boolean,
): Promise<number> {
  const mm = svmm.notifier.mm;
  if (mm === null) {
    throw new KernelBugError('nouveau_svm_fault: the svmm is not initialised (no notifier.mm)');
  }
  if (!mmgetNotZero(mm)) return -EFAULT;
  let start = addr;
  let limit = Math.min(addr + SVM_FAULT_WINDOW * PAGE_SIZE, svmm.limit);

  await downRead(mm.mmapSem);
  const vma = findVmaIntersection(mm, start, limit);
  if (vma === undefined) {
    upRead(mm.mmapSem);
    await mmput(mm);
    return -EFAULT;
  }
  start = Math.max(start, vma.vmStart);
  limit = Math.min(limit, vma.vmEnd);
  upRead(mm.mmapSem);

  const range = createHmmRange({
    start,
    end: limit,
    flags: NOUVEAU_SVM_PFN_FLAGS,
    values: NOUVEAU_SVM_PFN_VALUES,
    pfnShift: NVIF_VMM_PFNMAP_V0_ADDR_SHIFT,
  });
  range.pfns.fill(NVIF_VMM_PFNMAP_V0_V | (write ? NVIF_VMM_PFNMAP_V0_W : 0));

  const notifier = new SvmNotifier(svmm);
  let ret = await mmuIntervalNotifierInsert(notifier, mm, start, limit - start, svmm.mniOps);
  if (ret === 0) {
    range.notifier = notifier;
    ret = await nouveauRangeFault(svmm, range);
    await mmuIntervalNotifierRemove(notifier);
  }
  await mmput(mm);
  return ret;
}
// #endregion fault
