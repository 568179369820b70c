/**
 * The SVM driver on v5.9, with the three changes of that release and its nouveau patches:
 *
 * - every entry carries the order of the CPU mapping (hmmPfnToMapOrder): a page the CPU maps with
 *   a 2 MiB PMD is mapped by the GPU with one 2 MiB PTE;
 * - the fault handler faults one page at a time, asking with `defaultFlags` instead of per-page
 *   requests (which also ends the "requests destroyed on -EBUSY" problem for good);
 * - migrate_vma_setup() announces a migration as MMU_NOTIFY_MIGRATE carrying the dev_pagemap owner
 *   of the driver that migrates: the mm-wide invalidate skips the GPU teardown when that owner is
 *   this GPU, because the driver's own migration code remaps the GPU to the new VRAM pages before
 *   migrate_vma_finalize() releases the old ones. The interval notifier still moves its sequence,
 *   so a fault racing with the migration retries.
 *
 * Mirrors drivers/gpu/drm/nouveau/nouveau_svm.c and nouveau_dmem.c (v5.9): "nouveau/hmm: fault
 * one page at a time", "nouveau/svm: use the new migration invalidation", the map order of
 * "nouveau/hmm: support mapping large sysmem pages" (hmm_pfn_to_map_order()).
 */
import { HMM_RANGE_DEFAULT_TIMEOUT } from '@hmmsim/hmm-mirror';
import {
  createHmmRange,
  HMM_PFN_REQ_FAULT,
  HMM_PFN_REQ_WRITE,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  type HmmRange,
  hmmPfnToMapOrder,
  hmmPfnToPage,
  hmmRangeFault,
} from '@hmmsim/hmm-range/v5.9';
import {
  downRead,
  EAGAIN,
  EBUSY,
  EFAULT,
  EINVAL,
  InvalidArgumentError,
  KernelBugError,
  msecsToJiffies,
  mutexLock,
  mutexUnlock,
  PAGE_SIZE,
  upRead,
} from '@hmmsim/kernel';
import {
  createMigrateVma,
  isDevicePrivatePage,
  MIGRATE_PFN_LOCKED,
  MIGRATE_PFN_MIGRATE,
  MIGRATE_PFN_WRITE,
  MIGRATE_VMA_SELECT_SYSTEM,
  type MigrateVma,
  migratePfn,
  migratePfnHas,
  migratePfnToPage,
  migrateVmaFinalize,
  migrateVmaPages,
  migrateVmaSetup,
} from '@hmmsim/migrate';
import {
  findVmaIntersection,
  MMU_NOTIFY_MIGRATE,
  type MmStruct,
  type MmuNotifierRange,
  mmgetNotZero,
  mmput,
  mmuNotifierRangeBlockable,
} from '@hmmsim/mm';
import {
  type MmuIntervalNotifier,
  type MmuNotifier,
  type MmuNotifierOps,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
} from '@hmmsim/mmu-notifier';
import { copyPage } from '@hmmsim/pagetable';
import {
  NVIF_VMM_PFNMAP_V0_ADDR_SHIFT,
  NVIF_VMM_PFNMAP_V0_HOST,
  NVIF_VMM_PFNMAP_V0_NONE,
  NVIF_VMM_PFNMAP_V0_V,
  NVIF_VMM_PFNMAP_V0_VRAM,
  NVIF_VMM_PFNMAP_V0_W,
  nvifPte,
  type SvmGpu,
  traceFault,
} from './gpu.ts';
import { nouveauSvmmFreeNotifier, type SvmmNotifier } from './v55-1-notifier.ts';
import { SvmmV552, type SvmmV552Options, SvmNotifier } from './v55-2-interval.ts';

/**
 * The v5.9 svmm: its mm-wide notifier filters out its own migrations.
 * Mirrors drivers/gpu/drm/nouveau/nouveau_svm.c:struct nouveau_svmm (v5.9).
 */
export class SvmmV59 extends SvmmV552 {
  constructor(owner: MmStruct, start: number, npages: number, opts: SvmmV552Options = {}) {
    super(owner, start, npages, { ...opts, name: opts.name ?? 'svm-v5.9-gpu' });
  }

  protected override notifierOps(): MmuNotifierOps {
    return NOUVEAU_MN_OPS_V59;
  }

  /** One fault per page; a fault that mapped a large page covers the pages after it too. */
  override async fault(write: boolean): Promise<number> {
    if (typeof write !== 'boolean') {
      throw new InvalidArgumentError(
        `SvmmV59.fault: write is ${String(write)}; expected a boolean`,
      );
    }
    for (let addr = this.start; addr < this.limit; ) {
      const ret = await nouveauSvmFault(this, addr, write);
      if (ret < 0) return ret;
      addr = ret;
    }
    return 0;
  }

  /** Move `[start, end)` into this GPU's VRAM (the SVM_BIND ioctl). */
  migrateToVram(start: number, end: number): Promise<number> {
    return nouveauDmemMigrateVma(this, start, end);
  }
}

// #region invalidate
/**
 * Step 1's mm-wide invalidate, minus the migrations this GPU runs itself: for those, the
 * migration code replaces the GPU's PTEs with VRAM ones before the old pages are released.
 * Mirrors nouveau_svmm_invalidate_range_start() (v5.9).
 */
export async function nouveauSvmmInvalidateRangeStart(
  mn: MmuNotifier,
  update: MmuNotifierRange,
): Promise<number> {
  const svmm = (mn as SvmmNotifier).svmm;
  if (!mmuNotifierRangeBlockable(update)) return -EAGAIN;
  await mutexLock(svmm.mutex);
  const gpu = svmm.vmm;
  const ours = update.event === MMU_NOTIFY_MIGRATE && update.migratePgmapOwner === gpu?.owner;
  if (gpu !== null && !ours) gpu.pfnclr(update.start, update.end - update.start);
  mutexUnlock(svmm.mutex);
  return 0;
}

/** The v5.9 notifier callbacks. Mirrors nouveau_mn_ops (v5.9). */
export const NOUVEAU_MN_OPS_V59: MmuNotifierOps = Object.freeze({
  invalidateRangeStart: nouveauSvmmInvalidateRangeStart,
  freeNotifier: nouveauSvmmFreeNotifier,
});
// #endregion invalidate

// #region convert
/**
 * The PTE word for the one faulted entry, and the size of the GPU page to map it with: a page the
 * CPU maps with a larger page-table entry (map order > 0) is mapped whole, from its first 4 KiB.
 * Returns the word and the page shift; `addr` is where the GPU page starts.
 * Mirrors nouveau_svm.c:nouveau_hmm_convert_pfn() (v5.9).
 */
export function nouveauHmmConvertPfn(
  gpu: SvmGpu,
  e: number,
  faultAddr: number,
): { word: number; addr: number; pageShift: number } {
  if ((e & HMM_PFN_VALID) === 0) {
    return { word: NVIF_VMM_PFNMAP_V0_NONE, addr: faultAddr, pageShift: 12 };
  }
  let page = hmmPfnToPage(e);
  const pageShift = NVIF_VMM_PFNMAP_V0_ADDR_SHIFT + hmmPfnToMapOrder(e);
  const size = 2 ** pageShift;
  const addr = Math.floor(faultAddr / size) * size;
  page -= (faultAddr - addr) / PAGE_SIZE;
  const w = (e & HMM_PFN_WRITE) !== 0 ? NVIF_VMM_PFNMAP_V0_W : 0;
  const word = isDevicePrivatePage(gpu.mm.machine, page)
    ? nvifPte(gpu.vramPageOf(page), NVIF_VMM_PFNMAP_V0_V | NVIF_VMM_PFNMAP_V0_VRAM | w)
    : nvifPte(page, NVIF_VMM_PFNMAP_V0_V | NVIF_VMM_PFNMAP_V0_HOST | w);
  return { word, addr, pageShift };
}
// #endregion convert

// #region range-fault
/**
 * One page: the request is `defaultFlags`, which hmm_range_fault() never overwrites, so a retry
 * asks again for exactly the same thing. Returns the address after the GPU page it mapped, or
 * a negative errno. Mirrors nouveau_range_fault() (v5.9).
 */
export async function nouveauRangeFault(
  svmm: SvmmV59,
  range: HmmRange,
  write: boolean,
): Promise<number> {
  const notifier = range.notifier as MmuIntervalNotifier;
  const mm = notifier.mm as MmStruct;
  const clock = mm.machine.clock;
  const timeout = clock.jiffies + msecsToJiffies(HMM_RANGE_DEFAULT_TIMEOUT);
  range.defaultFlags = HMM_PFN_REQ_FAULT | (write ? HMM_PFN_REQ_WRITE : 0);
  range.pfnFlagsMask = 0;
  for (;;) {
    if (clock.jiffies > timeout) return -EBUSY;
    range.notifierSeq = await mmuIntervalReadBegin(notifier);
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
  let next = range.end;
  const gpu = svmm.vmm;
  if (gpu !== null) {
    const pte = nouveauHmmConvertPfn(gpu, range.hmmPfns[0] as number, range.start);
    await gpu.pfnmap(pte.addr, [pte.word], pte.pageShift);
    next = Math.max(next, pte.addr + 2 ** pte.pageShift);
  }
  mutexUnlock(svmm.mutex);
  return next;
}
// #endregion range-fault

// #region fault
/**
 * A GPU fault at `addr`: one page, no VMA lookup (hmm_range_fault() reports a hole itself).
 * Returns the next address to fault, or a negative errno.
 * Mirrors nouveau_svm_fault() (v5.9), for one fault.
 */
export async function nouveauSvmFault(
  svmm: SvmmV59,
  addr: number,
  write: boolean,
): Promise<number> {
  const mm = svmm.notifier.mm;
  if (mm === null) {
    throw new KernelBugError('nouveau_svm_fault: the svmm is not initialised (no notifier.mm)');
  }
  if (!mmgetNotZero(mm)) return -EFAULT;
  const range = createHmmRange({
    start: addr,
    end: addr + PAGE_SIZE,
    devPrivateOwner: svmm.vmm?.owner,
  });
  const notifier = new SvmNotifier(svmm);
  let ret = await mmuIntervalNotifierInsert(notifier, mm, addr, PAGE_SIZE, svmm.mniOps);
  if (ret === 0) {
    range.notifier = notifier;
    ret = await nouveauRangeFault(svmm, range, write);
    await mmuIntervalNotifierRemove(notifier);
  }
  await mmput(mm);
  return ret;
}
// #endregion fault

// #region migrate
/**
 * Move `[start, end)` of the process into this GPU's VRAM: collect the system pages (the
 * invalidation is MMU_NOTIFY_MIGRATE with this GPU as owner, so the mm-wide notifier leaves the
 * GPU's PTEs alone), copy each page, and before finalizing point the GPU at the new VRAM pages
 * itself. Returns the pages moved, or an errno.
 * Mirrors nouveau_dmem.c:nouveau_dmem_migrate_vma() (v5.9).
 */
export async function nouveauDmemMigrateVma(
  svmm: SvmmV59,
  start: number,
  end: number,
): Promise<number> {
  const mm = svmm.owner;
  const gpu = svmm.vmm;
  if (gpu === null) return -EINVAL;
  await downRead(mm.mmapSem);
  try {
    const vma = findVmaIntersection(mm, start, end);
    if (vma === undefined || start < vma.vmStart || end > vma.vmEnd) return -EINVAL;
    const args = createMigrateVma(vma, start, end);
    args.pgmapOwner = gpu.owner;
    args.flags = MIGRATE_VMA_SELECT_SYSTEM;
    const ret = await migrateVmaSetup(args, { version: '5.9' });
    if (ret !== 0) return ret;
    return args.cpages === 0 ? 0 : await nouveauDmemMigrateChunk(svmm, gpu, args);
  } finally {
    upRead(mm.mmapSem);
  }
}

/**
 * Copy every collected page into a fresh VRAM page, commit the move, map the GPU to the VRAM
 * pages (under the svmm mutex), then let migrate_vma_finalize() release the old pages.
 * Mirrors nouveau_dmem.c:nouveau_dmem_migrate_chunk() and nouveau_pfns_map() (v5.9).
 */
async function nouveauDmemMigrateChunk(
  svmm: SvmmV59,
  gpu: SvmGpu,
  args: MigrateVma,
): Promise<number> {
  const src = args.src as Float64Array;
  const dst = args.dst as Float64Array;
  const pfns = new Float64Array(args.npages);
  let moved = 0;
  for (let i = 0; i < args.npages; i++) {
    const spage = migratePfnToPage(src[i] as number);
    if (!migratePfnHas(src[i] as number, MIGRATE_PFN_MIGRATE) || spage < 0) continue;
    const dpage = gpu.dmem.allocPage();
    if (dpage < 0) break;
    copyPage(gpu.mm.machine.phys, dpage, spage);
    dst[i] = migratePfn(dpage) + MIGRATE_PFN_LOCKED;
    const w = migratePfnHas(src[i] as number, MIGRATE_PFN_WRITE) ? NVIF_VMM_PFNMAP_V0_W : 0;
    pfns[i] = nvifPte(gpu.vramPageOf(dpage), NVIF_VMM_PFNMAP_V0_V | NVIF_VMM_PFNMAP_V0_VRAM | w);
    moved++;
  }
  await gpu.mm.machine.sched.point({ kind: 'dma', label: 'copy to VRAM' });
  await migrateVmaPages(args);
  for (let i = 0; i < args.npages; i++) {
    if (!migratePfnHas(src[i] as number, MIGRATE_PFN_MIGRATE)) pfns[i] = NVIF_VMM_PFNMAP_V0_NONE;
  }
  await mutexLock(svmm.mutex);
  await gpu.pfnmap(args.start, pfns);
  mutexUnlock(svmm.mutex);
  await migrateVmaFinalize(args);
  return moved;
}
// #endregion migrate
