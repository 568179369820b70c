/**
 * The SVM driver on v5.7: hmm_range_fault() takes the range alone (the flags argument and its
 * HMM_FAULT_SNAPSHOT / HMM_FAULT_ALLOW_RETRY are gone), the flags table loses its
 * HMM_PFN_DEVICE_PRIVATE entry, and a device-private page is reported only to the driver whose
 * dev_pagemap owner the range names in `devPrivateOwner`. A driver that owns device memory must
 * therefore say so: without the owner, its own VRAM pages are "someone else's" and a fault
 * requested on one fails with -EFAULT (the GPU fault is cancelled and the GPU program dies).
 * The entries, the pfnShift and the count returned are still v5.5's.
 *
 * Everything else is the v5.5 driver.
 *
 * Mirrors drivers/gpu/drm/nouveau/nouveau_svm.c and nouveau_dmem.c (v5.7) after 6bfef2f91945
 * "mm/hmm: remove HMM_FAULT_SNAPSHOT", 08ddddda667b "mm/hmm: check the device private page owner
 * in hmm_range_fault()" and its fix for nouveau, ed710a6ed797 "drm/nouveau/nouveau: fix page
 * fault on device private memory" (5.7.y: <20200727134933.700692019@linuxfoundation.org>).
 */
import { HMM_RANGE_DEFAULT_TIMEOUT } from '@hmmsim/hmm-mirror';
import { HMM_PFN_FLAGS_MASK_ALL } from '@hmmsim/hmm-range';
import {
  createHmmRange,
  HMM_PFN_ERROR,
  HMM_PFN_NONE,
  HMM_PFN_SPECIAL,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  type HmmRange,
  hmmDeviceEntryToPage,
  hmmEntryComplement,
  hmmRangeFault,
} from '@hmmsim/hmm-range/v5.7';
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
  hmmTable,
  NVIF_VMM_PFNMAP_V0_ADDR_SHIFT,
  NVIF_VMM_PFNMAP_V0_NONE,
  NVIF_VMM_PFNMAP_V0_V,
  NVIF_VMM_PFNMAP_V0_VRAM,
  NVIF_VMM_PFNMAP_V0_W,
  type SvmGpu,
  traceFault,
} from './gpu.ts';
import { SVM_FAULT_WINDOW } from './v54.ts';
import { SvmmV552, type SvmmV552Options, SvmNotifier } from './v55-2-interval.ts';

// #region format
/**
 * v5.7's table has two flags: a device-private page is no longer a flag of the entry but a
 * matter of ownership (devPrivateOwner). Mirrors nouveau_svm_pfn_flags (v5.7).
 */
export const NOUVEAU_SVM_PFN_FLAGS = hmmTable([
  [HMM_PFN_VALID, NVIF_VMM_PFNMAP_V0_V],
  [HMM_PFN_WRITE, NVIF_VMM_PFNMAP_V0_W],
]);

/** Unchanged. Mirrors nouveau_svm_pfn_values (v5.7). */
export const NOUVEAU_SVM_PFN_VALUES = hmmTable([
  [HMM_PFN_ERROR, hmmEntryComplement(NVIF_VMM_PFNMAP_V0_V)],
  [HMM_PFN_NONE, NVIF_VMM_PFNMAP_V0_NONE],
  [HMM_PFN_SPECIAL, hmmEntryComplement(NVIF_VMM_PFNMAP_V0_V)],
]);
// #endregion format

/**
 * Options of the v5.7 driver.
 * Mirrors: model-only.
 */
export interface SvmmV57Options extends SvmmV552Options {
  /**
   * Leave `devPrivateOwner` unset, as nouveau did in v5.7 until ed710a6ed797 (default false:
   * the fixed driver).
   */
  readonly forgetOwner?: boolean;
}

/**
 * The v5.7 svmm: the v5.5 one with the v5.7 fault handler.
 * Mirrors drivers/gpu/drm/nouveau/nouveau_svm.c:struct nouveau_svmm (v5.7).
 */
export class SvmmV57 extends SvmmV552 {
  readonly forgetOwner: boolean;

  constructor(owner: MmStruct, start: number, npages: number, opts: SvmmV57Options = {}) {
    super(owner, start, npages, { ...opts, name: opts.name ?? 'svm-v5.7-gpu' });
    const forget = opts.forgetOwner ?? false;
    if (typeof forget !== 'boolean') {
      throw new InvalidArgumentError(
        `SvmmV57: opts.forgetOwner is ${String(forget)}; expected a boolean`,
      );
    }
    this.forgetOwner = forget;
  }

  override async fault(write: boolean): Promise<number> {
    if (typeof write !== 'boolean') {
      throw new InvalidArgumentError(
        `SvmmV57.fault: write is ${String(write)}; expected a boolean`,
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
 * Only this GPU's device-private pages can come back now (the owner filter), each as a valid
 * entry holding its pfn: point the entry at the page's VRAM address and mark the aperture.
 * Mirrors nouveau_dmem.c:nouveau_dmem_convert_pfn() (v5.7).
 */
export function nouveauDmemConvertPfn(gpu: SvmGpu, range: HmmRange): void {
  const shift = 2 ** range.pfnShift;
  const machine = gpu.mm.machine;
  for (let i = 0; i < range.pfns.length; i++) {
    const e = range.pfns[i] as number;
    const page = hmmDeviceEntryToPage(range, e);
    if (page === null || !isDevicePrivatePage(machine, page)) continue;
    range.pfns[i] = gpu.vramPageOf(page) * shift + (e % shift) + NVIF_VMM_PFNMAP_V0_VRAM;
  }
}
// #endregion convert

// #region range-fault
/**
 * v5.5's loop with the one-argument call. Mirrors nouveau_range_fault() (v5.7).
 */
export async function nouveauRangeFault(svmm: SvmmV57, range: HmmRange): Promise<number> {
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
    const ret = await hmmRangeFault(range);
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
 * A GPU fault at `addr`; the range now names this GPU as the owner of the device-private pages
 * it may be shown. Mirrors nouveau_svm_fault() (v5.7 with ed710a6ed797), for one fault.
 */
export async function nouveauSvmFault(
  svmm: SvmmV57,
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
    devPrivateOwner: svmm.forgetOwner ? null : svmm.vmm?.owner,
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
