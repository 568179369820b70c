/**
 * The SVM driver as it was in Linux v5.4, nouveau-style: one `Svmm` per process that shares its
 * address space with the GPU, registered as an hmm_mirror; a GPU fault handler that mirrors a
 * window of up to 16 pages starting at the faulting address, asking hmm_range_fault() to write
 * the GPU's own PTE words directly (the flags/values/pfnShift table); and an invalidation callback
 * that clears the GPU's PTEs under the svmm mutex.
 *
 * It is written against the `HmmMirrorApi` interface, so the same code runs on the v5.4
 * implementation (`legacyHmmMirrorApi`, with its racy `valid` flag) and on the compat shim
 * (`shimHmmMirrorApi`, which implements the same calls on mmu_interval_notifier).
 *
 * Faithful to v5.4: mmap_sem is taken before the VMA lookup and held until the GPU is programmed,
 * so invalidations that need mmap_sem for write (munmap, mprotect, fork's write-protect) cannot run
 * in between; those that run under mmap_sem for read or none (reclaim, the copy-on-write fault
 * after fork, migration) can. A wait timeout leaves the range registered (R6) and a retry reuses
 * the previous results as requests (R12), as nouveau did. `holdMmapSem: false` builds the same
 * driver with mmap_sem dropped right after hmm_range_fault() (amdgpu's and the usage example's
 * order), which munmap and mprotect can race too.
 *
 * Mirrors drivers/gpu/drm/nouveau/nouveau_svm.c (v5.4): nouveau_svmm_init(), nouveau_svmm_fini(),
 * nouveau_svmm_sync_cpu_device_pagetables(), nouveau_svmm_release(), nouveau_range_fault(),
 * nouveau_range_done(), nouveau_svm_fault(); drivers/gpu/drm/nouveau/nouveau_dmem.c (v5.4):
 * nouveau_dmem_convert_pfn().
 */
import {
  type DevicePageTable,
  HMM_RANGE_DEFAULT_TIMEOUT,
  HmmMirror,
  type HmmMirrorApi,
  legacyHmmMirrorApi,
} from '@hmmsim/hmm-mirror';
import {
  createHmmRange,
  HMM_PFN_DEVICE_PRIVATE,
  HMM_PFN_ERROR,
  HMM_PFN_FLAGS_MASK_ALL,
  HMM_PFN_NONE,
  HMM_PFN_SPECIAL,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  type HmmRange,
  hmmDeviceEntryToPage,
  hmmEntryComplement,
  hmmRangeFault,
} from '@hmmsim/hmm-range';
import {
  downRead,
  downWrite,
  EAGAIN,
  EBUSY,
  EFAULT,
  InvalidArgumentError,
  Mutex,
  mutexLock,
  mutexUnlock,
  PAGE_SIZE,
  upRead,
  upWrite,
} from '@hmmsim/kernel';
import {
  findVmaIntersection,
  type MmStruct,
  type MmuNotifierRange,
  mmuNotifierRangeBlockable,
} from '@hmmsim/mm';
import type { GuideDriver } from '../harness/driver.ts';
import {
  hmmTable,
  NVIF_VMM_PFNMAP_V0_ADDR_SHIFT,
  NVIF_VMM_PFNMAP_V0_NONE,
  NVIF_VMM_PFNMAP_V0_V,
  NVIF_VMM_PFNMAP_V0_VRAM,
  NVIF_VMM_PFNMAP_V0_W,
  SvmGpu,
  traceFault,
} from './gpu.ts';

/** Pages one GPU fault mirrors at most (the PFNMAP method's argument array). Mirrors the args.phys[16] of nouveau_svm_fault(). */
export const SVM_FAULT_WINDOW = 16;

// #region format
/**
 * What hmm_range_fault() must write for each HMM flag: the GPU's own PTE bits, so its output is
 * handed to the GPU as is. Mirrors nouveau_svm_pfn_flags (v5.4).
 */
export const NOUVEAU_SVM_PFN_FLAGS = hmmTable([
  [HMM_PFN_VALID, NVIF_VMM_PFNMAP_V0_V],
  [HMM_PFN_WRITE, NVIF_VMM_PFNMAP_V0_W],
  [HMM_PFN_DEVICE_PRIVATE, NVIF_VMM_PFNMAP_V0_VRAM],
]);

/**
 * The whole-entry values: errors and special pages become a word without V (the GPU unmaps it),
 * an empty entry the GPU's "none". `hmmEntryComplement` is the 53-bit `~`.
 * Mirrors nouveau_svm_pfn_values (v5.4).
 */
export const NOUVEAU_SVM_PFN_VALUES = hmmTable([
  [HMM_PFN_ERROR, hmmEntryComplement(NVIF_VMM_PFNMAP_V0_V)],
  [HMM_PFN_NONE, NVIF_VMM_PFNMAP_V0_NONE],
  [HMM_PFN_SPECIAL, hmmEntryComplement(NVIF_VMM_PFNMAP_V0_V)],
]);
// #endregion format

/**
 * Options of the v5.4 driver.
 * Mirrors: model-only.
 */
export interface SvmmV54Options {
  /** The hmm_mirror implementation the driver runs on (default legacyHmmMirrorApi). */
  readonly api?: HmmMirrorApi;
  /**
   * Hold mmap_sem from the VMA lookup until the GPU is programmed, as v5.4 nouveau did (default
   * true); false drops it right after hmm_range_fault(), before the svmm mutex is taken.
   */
  readonly holdMmapSem?: boolean;
}

/**
 * One process's shared address space with the GPU: the mirror, the mutex its invalidation callback
 * and the fault handler's final check share, and the GPU's page tables over the mirrored range.
 * Mirrors drivers/gpu/drm/nouveau/nouveau_svm.c:struct nouveau_svmm (v5.4).
 */
export class SvmmV54 implements GuideDriver {
  readonly mirror: HmmMirror;
  /** svmm->mutex: taken by the invalidation callback and around "valid? then program". */
  readonly mutex: Mutex;
  readonly gpu: SvmGpu;
  readonly dev: DevicePageTable;
  readonly api: HmmMirrorApi;
  readonly holdMmapSem: boolean;
  /** The first and last + 1 address the GPU mirrors (nouveau: outside the unmanaged window). */
  readonly start: number;
  readonly limit: number;

  constructor(
    /** svmm->mm: a raw pointer, kept without a reference once init returns (as v5.4 did). */
    readonly mm: MmStruct,
    start: number,
    npages: number,
    opts: SvmmV54Options = {},
  ) {
    this.gpu = new SvmGpu(mm, start, npages, 'svm-v5.4-gpu');
    const api = opts.api ?? legacyHmmMirrorApi;
    if (typeof api !== 'object' || api === null || (api.name !== 'legacy' && api.name !== 'shim')) {
      throw new InvalidArgumentError(
        `SvmmV54: opts.api is ${String(api)}; expected legacyHmmMirrorApi or shimHmmMirrorApi`,
      );
    }
    const hold = opts.holdMmapSem ?? true;
    if (typeof hold !== 'boolean') {
      throw new InvalidArgumentError(
        `SvmmV54: opts.holdMmapSem is ${String(hold)}; expected a boolean`,
      );
    }
    this.api = api;
    this.holdMmapSem = hold;
    this.dev = this.gpu.dev;
    this.start = start;
    this.limit = start + npages * PAGE_SIZE;
    this.mutex = new Mutex(mm.machine.sched, 'svmm.mutex');
    this.mirror = new HmmMirror({
      syncCpuDevicePagetables: (_mirror, update) =>
        nouveauSvmmSyncCpuDevicePagetables(this, update),
      release: () => nouveauSvmmRelease(this),
    });
  }

  /** Enable SVM for the process: register the mirror. */
  bind(): Promise<number> {
    return nouveauSvmmInit(this);
  }

  /** The GPU touches every page of the mirrored range: one fault per window. */
  async fault(write: boolean): Promise<number> {
    if (typeof write !== 'boolean') {
      throw new InvalidArgumentError(
        `SvmmV54.fault: write is ${String(write)}; expected a boolean`,
      );
    }
    for (let addr = this.start; addr < this.limit; addr += SVM_FAULT_WINDOW * PAGE_SIZE) {
      const ret = await nouveauSvmFault(this, addr, write);
      if (ret !== 0) return ret;
    }
    return 0;
  }

  /** Disable SVM: unregister the mirror. */
  unbind(): Promise<void> {
    return nouveauSvmmFini(this);
  }
}

// #region init
/**
 * Register the svmm's mirror on the process; hmm_mirror_register() wants mmap_sem for write.
 * Mirrors nouveau_svmm_init() (v5.4).
 */
export async function nouveauSvmmInit(svmm: SvmmV54): Promise<number> {
  const mm = svmm.mm;
  await downWrite(mm.mmapSem);
  const ret = await svmm.api.hmmMirrorRegister(svmm.mirror, mm);
  upWrite(mm.mmapSem);
  return ret;
}

/** Mirrors nouveau_svmm_fini() (v5.4). */
export async function nouveauSvmmFini(svmm: SvmmV54): Promise<void> {
  await svmm.api.hmmMirrorUnregister(svmm.mirror);
}
// #endregion init

// #region sync
/**
 * The CPU is about to change `update`'s range: clear the GPU's PTEs there. Sleeping on the mutex
 * is only allowed when the caller says the range is blockable; otherwise give up with -EAGAIN
 * (the OOM reaper then leaves this mm alone).
 * Mirrors nouveau_svmm_sync_cpu_device_pagetables() (v5.4).
 */
export async function nouveauSvmmSyncCpuDevicePagetables(
  svmm: SvmmV54,
  update: MmuNotifierRange,
): Promise<number> {
  if (!mmuNotifierRangeBlockable(update)) return -EAGAIN;
  await mutexLock(svmm.mutex);
  svmm.gpu.pfnclr(update.start, update.end - update.start);
  mutexUnlock(svmm.mutex);
  return 0;
}

/** Nothing to do at exit: v5.4 nouveau left this empty. Mirrors nouveau_svmm_release() (v5.4). */
export function nouveauSvmmRelease(_svmm: SvmmV54): void {}
// #endregion sync

// #region range-fault
/**
 * Register the range, wait for it to be valid, and fault it in. Called with mmap_sem held for
 * read; returns 0 with mmap_sem still held and the range registered, or an errno with mmap_sem
 * released. On a wait timeout the range is left registered, as nouveau did (R6).
 * Mirrors nouveau_range_fault() (v5.4).
 */
export async function nouveauRangeFault(svmm: SvmmV54, range: HmmRange): Promise<number> {
  const mm = svmm.mm;
  range.defaultFlags = 0;
  range.pfnFlagsMask = HMM_PFN_FLAGS_MASK_ALL;
  let ret = await svmm.api.hmmRangeRegister(range, svmm.mirror);
  if (ret !== 0) {
    upRead(mm.mmapSem);
    return ret;
  }
  if (!(await svmm.api.hmmRangeWaitUntilValid(range, HMM_RANGE_DEFAULT_TIMEOUT))) {
    upRead(mm.mmapSem);
    return -EBUSY;
  }
  ret = await hmmRangeFault(range, 0, { version: '5.4' });
  traceFault(mm, ret);
  if (ret <= 0) {
    if (ret === 0) ret = -EBUSY;
    upRead(mm.mmapSem);
    await svmm.api.hmmRangeUnregister(range);
    return ret;
  }
  return 0;
}

/**
 * The final check, under svmm->mutex: was the range invalidated since it was registered? The
 * range is unregistered either way.
 * Mirrors nouveau_range_done() (v5.4).
 */
export async function nouveauRangeDone(svmm: SvmmV54, range: HmmRange): Promise<boolean> {
  const valid = svmm.api.hmmRangeValid(range);
  const trace = svmm.mm.machine.sched.trace;
  if (trace.enabled) trace.emit('driver.range_done', `hmm_range_valid: ${valid}`);
  await svmm.api.hmmRangeUnregister(range);
  return valid;
}
// #endregion range-fault

// #region convert
/**
 * hmm_range_fault() wrote system pages in the GPU's format already; a page in device memory
 * comes back as its device-private pfn with the VRAM flag and must be turned into the VRAM
 * address the GPU knows. A device-private page of some other driver cannot be mapped: warn and
 * drop it (v5.4 had no owner check, so such pages reached the driver at all).
 * Mirrors nouveau_dmem.c:nouveau_dmem_convert_pfn() (v5.4).
 */
export function nouveauDmemConvertPfn(gpu: SvmGpu, range: HmmRange): void {
  const shift = 2 ** range.pfnShift;
  for (let i = 0; i < range.pfns.length; i++) {
    const e = range.pfns[i] as number;
    const page = hmmDeviceEntryToPage(range, e);
    if (page === null) continue;
    if ((e & (range.flags[HMM_PFN_DEVICE_PRIVATE] as number)) === 0) continue;
    if (!gpu.ownsPage(page)) {
      const trace = gpu.mm.machine.sched.trace;
      if (trace.enabled) trace.emit('driver.warn', `unknown device memory: pfn ${page}`);
      range.pfns[i] = NVIF_VMM_PFNMAP_V0_NONE;
      continue;
    }
    range.pfns[i] = gpu.vramPageOf(page) * shift + (e % shift);
  }
}
// #endregion convert

// #region fault
/**
 * A GPU fault at `addr`: mirror the window [addr, addr + 16 pages) clipped to the VMA and to the
 * mirrored range, then program the GPU. 0 when programmed; -EFAULT when there is no VMA (nouveau
 * cancels the fault, the GPU channel is killed); -EBUSY or hmm_range_fault()'s errno otherwise.
 * Mirrors nouveau_svm_fault() (v5.4), for one fault.
 */
export async function nouveauSvmFault(
  svmm: SvmmV54,
  addr: number,
  write: boolean,
): Promise<number> {
  const mm = svmm.mm;
  let start = addr;
  let limit = Math.min(addr + SVM_FAULT_WINDOW * PAGE_SIZE, svmm.limit);

  await downRead(mm.mmapSem);
  const vma = findVmaIntersection(mm, start, limit);
  if (vma === undefined) {
    upRead(mm.mmapSem);
    return -EFAULT;
  }
  start = Math.max(start, vma.vmStart);
  limit = Math.min(limit, vma.vmEnd);

  // The requests are written once: after a retry the previous results are the requests (R12).
  const range = createHmmRange({
    start,
    end: limit,
    flags: NOUVEAU_SVM_PFN_FLAGS,
    values: NOUVEAU_SVM_PFN_VALUES,
    pfnShift: NVIF_VMM_PFNMAP_V0_ADDR_SHIFT,
  });
  range.pfns.fill(NVIF_VMM_PFNMAP_V0_V | (write ? NVIF_VMM_PFNMAP_V0_W : 0));

  for (;;) {
    const ret = await nouveauRangeFault(svmm, range);
    if (ret !== 0) return ret;
    // #region early-unlock
    if (!svmm.holdMmapSem) upRead(mm.mmapSem);
    // #endregion early-unlock
    await mutexLock(svmm.mutex);
    if (!(await nouveauRangeDone(svmm, range))) {
      mutexUnlock(svmm.mutex);
      if (!svmm.holdMmapSem) await downRead(mm.mmapSem);
      continue; // goto again
    }
    nouveauDmemConvertPfn(svmm.gpu, range);
    await svmm.gpu.pfnmap(range.start, range.pfns);
    mutexUnlock(svmm.mutex);
    if (svmm.holdMmapSem) upRead(mm.mmapSem);
    return 0;
  }
}
// #endregion fault
