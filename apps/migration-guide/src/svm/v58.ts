/**
 * The SVM driver on v5.8: the customizable entry format is gone. hmm_range_fault() no longer
 * writes the GPU's PTE words; it fills `hmmPfns` with fixed HMM_PFN_VALID / HMM_PFN_WRITE /
 * HMM_PFN_ERROR bits around the pfn, takes HMM_PFN_REQ_FAULT / HMM_PFN_REQ_WRITE in the same
 * words as requests, and returns 0 or a negative errno (only -EBUSY means "take a new sequence").
 * The driver now converts each result into a PTE word itself (`nouveauHmmConvertPfn`, which
 * replaces nouveau_dmem_convert_pfn), using hmmPfnToPage(). Because results overwrite requests,
 * the requests are written again before every pass.
 *
 * Mirrors drivers/gpu/drm/nouveau/nouveau_svm.c (v5.8) after be957c886d92 "mm/hmm: make
 * hmm_range_fault return 0 or -1" and 2733ea144dcc "mm/hmm: remove the customizable pfn format
 * from hmm_range_fault" (<5-v1-4eb72686de3c+5062-hmm_no_flags_jgg@mellanox.com>), with the
 * requests rebuilt on every pass (the FIXME that patch left, which v5.9 resolved otherwise).
 */
import { HMM_RANGE_DEFAULT_TIMEOUT } from '@hmmsim/hmm-mirror';
import {
  createHmmRange,
  HMM_PFN_REQ_FAULT,
  HMM_PFN_REQ_WRITE,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  type HmmRange,
  hmmPfnToPage,
  hmmRangeFault,
} from '@hmmsim/hmm-range/v5.8';
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
import { isDevicePrivatePage } from '@hmmsim/migrate';
import { findVmaIntersection, type MmStruct, mmgetNotZero, mmput } from '@hmmsim/mm';
import {
  type MmuIntervalNotifier,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
} from '@hmmsim/mmu-notifier';
import {
  NVIF_VMM_PFNMAP_V0_HOST,
  NVIF_VMM_PFNMAP_V0_NONE,
  NVIF_VMM_PFNMAP_V0_V,
  NVIF_VMM_PFNMAP_V0_VRAM,
  NVIF_VMM_PFNMAP_V0_W,
  nvifPte,
  type SvmGpu,
  traceFault,
} from './gpu.ts';
import { SVM_FAULT_WINDOW } from './v54.ts';
import { SvmmV552, type SvmmV552Options, SvmNotifier } from './v55-2-interval.ts';

/**
 * The v5.8 svmm: the v5.7 one with the v5.8 fault handler (the owner is always set).
 * Mirrors drivers/gpu/drm/nouveau/nouveau_svm.c:struct nouveau_svmm (v5.8).
 */
export class SvmmV58 extends SvmmV552 {
  constructor(owner: MmStruct, start: number, npages: number, opts: SvmmV552Options = {}) {
    super(owner, start, npages, { ...opts, name: opts.name ?? 'svm-v5.8-gpu' });
  }

  override async fault(write: boolean): Promise<number> {
    if (typeof write !== 'boolean') {
      throw new InvalidArgumentError(
        `SvmmV58.fault: write is ${String(write)}; expected a boolean`,
      );
    }
    for (let addr = this.start; addr < this.limit; addr += SVM_FAULT_WINDOW * PAGE_SIZE) {
      const ret = await nouveauSvmFault(this, addr, write);
      if (ret !== 0) return ret;
    }
    return 0;
  }
}

// #region convert
/**
 * Turn hmm_range_fault()'s results into the GPU's PTE words: nothing for an entry without
 * HMM_PFN_VALID; this GPU's VRAM address for one of its device-private pages (the owner filter
 * guarantees no other driver's page is VALID); the system page otherwise; W where HMM_PFN_WRITE.
 * Call under the svmm mutex, after mmu_interval_read_retry() said the results are current.
 * Mirrors nouveau_svm.c:nouveau_hmm_convert_pfn() (v5.8).
 */
export function nouveauHmmConvertPfn(gpu: SvmGpu, range: HmmRange, phys: Float64Array): void {
  const machine = gpu.mm.machine;
  for (let i = 0; i < range.hmmPfns.length; i++) {
    const e = range.hmmPfns[i] as number;
    if ((e & HMM_PFN_VALID) === 0) {
      phys[i] = NVIF_VMM_PFNMAP_V0_NONE;
      continue;
    }
    const page = hmmPfnToPage(e);
    const w = (e & HMM_PFN_WRITE) !== 0 ? NVIF_VMM_PFNMAP_V0_W : 0;
    phys[i] = isDevicePrivatePage(machine, page)
      ? nvifPte(gpu.vramPageOf(page), NVIF_VMM_PFNMAP_V0_V | NVIF_VMM_PFNMAP_V0_VRAM | w)
      : nvifPte(page, NVIF_VMM_PFNMAP_V0_V | NVIF_VMM_PFNMAP_V0_HOST | w);
  }
}
// #endregion convert

// #region requests
/**
 * Per-page requests, in the same words the results come back in: fault every page in, for
 * writing if the GPU wrote. Mirrors the request setup of nouveau_svm_fault() (v5.8).
 */
export function nouveauSvmRequests(range: HmmRange, write: boolean): void {
  range.hmmPfns.fill(HMM_PFN_REQ_FAULT | (write ? HMM_PFN_REQ_WRITE : 0));
}
// #endregion requests

// #region range-fault
/**
 * v5.7's loop on the v5.8 API: the requests are written again before each pass (a pass that
 * returned -EBUSY left results in some entries, and a result with HMM_PFN_VALID reads as
 * HMM_PFN_REQ_FAULT, one without as no request at all), and success is 0.
 * Mirrors nouveau_range_fault() (v5.8).
 */
export async function nouveauRangeFault(
  svmm: SvmmV58,
  range: HmmRange,
  write: boolean,
): Promise<number> {
  const notifier = range.notifier as MmuIntervalNotifier;
  const mm = notifier.mm as MmStruct;
  const clock = mm.machine.clock;
  const timeout = clock.jiffies + msecsToJiffies(HMM_RANGE_DEFAULT_TIMEOUT);
  const phys = new Float64Array(range.hmmPfns.length);
  for (;;) {
    if (clock.jiffies > timeout) return -EBUSY;
    range.notifierSeq = await mmuIntervalReadBegin(notifier);
    nouveauSvmRequests(range, write);
    await downRead(mm.mmapSem);
    const ret = await hmmRangeFault(range);
    upRead(mm.mmapSem);
    traceFault(mm, ret);
    if (ret !== 0) {
      if (ret === -EBUSY) continue;
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
    nouveauHmmConvertPfn(gpu, range, phys);
    await gpu.pfnmap(range.start, phys);
  }
  mutexUnlock(svmm.mutex);
  return 0;
}
// #endregion range-fault

// #region fault
/**
 * A GPU fault at `addr`: no tables and no pfnShift on the range any more; the requests are the
 * range fault's business. Mirrors nouveau_svm_fault() (v5.8), for one fault.
 */
export async function nouveauSvmFault(
  svmm: SvmmV58,
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
    pfnFlagsMask: HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE,
    devPrivateOwner: svmm.vmm?.owner,
  });

  const notifier = new SvmNotifier(svmm);
  let ret = await mmuIntervalNotifierInsert(notifier, mm, start, limit - start, svmm.mniOps);
  if (ret === 0) {
    range.notifier = notifier;
    ret = await nouveauRangeFault(svmm, range, write);
    await mmuIntervalNotifierRemove(notifier);
  }
  await mmput(mm);
  return ret;
}
// #endregion fault
