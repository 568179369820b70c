/**
 * Step 1 of the port to v5.5: the GPU invalidation no longer comes through hmm_mirror. The svmm
 * embeds a plain mmu_notifier whose invalidate_range_start clears the GPU's PTEs under the svmm
 * mutex; the mirror stays, but only for its ranges (hmm_range_register / _valid), and its sync
 * callback does nothing. The notifier now owns the svmm (freed by free_notifier after the last
 * put) and pins the mm, so the raw `svmm->mm` pointer is gone: the mm is `notifier.mm`.
 *
 * The fault path is v5.4's unchanged, so the collision check is still hmm's `valid` flag: on the
 * legacy implementation the explorer still finds the reclaim, copy-on-write and migration races;
 * on the shim it finds none.
 *
 * Mirrors drivers/gpu/drm/nouveau/nouveau_svm.c after c625c274ee00 "nouveau: use mmu_notifier
 * directly for invalidate_range_start" (<20191112202231.3856-9-jgg@ziepe.ca>).
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
  HMM_PFN_FLAGS_MASK_ALL,
  type HmmRange,
  hmmRangeFault,
} from '@hmmsim/hmm-range';
import {
  downRead,
  downWrite,
  EAGAIN,
  EBUSY,
  EFAULT,
  InvalidArgumentError,
  KernelBugError,
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
import {
  __mmuNotifierRegister,
  MmuNotifier,
  type MmuNotifierOps,
  mmuNotifierPut,
} from '@hmmsim/mmu-notifier';
import type { GuideDriver } from '../harness/driver.ts';
import {
  NVIF_VMM_PFNMAP_V0_ADDR_SHIFT,
  NVIF_VMM_PFNMAP_V0_V,
  NVIF_VMM_PFNMAP_V0_W,
  SvmGpu,
  traceFault,
} from './gpu.ts';
import {
  NOUVEAU_SVM_PFN_FLAGS,
  NOUVEAU_SVM_PFN_VALUES,
  nouveauDmemConvertPfn,
  SVM_FAULT_WINDOW,
} from './v54.ts';

/**
 * Options of the step-1 driver.
 * Mirrors: model-only.
 */
export interface SvmmV551Options {
  /** The hmm_mirror implementation the ranges still use (default legacyHmmMirrorApi). */
  readonly api?: HmmMirrorApi;
}

/**
 * What the mm-wide notifier's callbacks use of an svmm (steps 1 to 3 share them).
 * Mirrors the fields of struct nouveau_svmm that nouveau_mn_ops read (c625c274ee00).
 */
export interface SvmmNotifierOwner {
  readonly mutex: Mutex;
  /** The GPU, or null once fini has run. */
  readonly vmm: SvmGpu | null;
  /** free_notifier ran. */
  freed: boolean;
}

/**
 * The svmm's mm-wide notifier (container_of gives the svmm back).
 * Mirrors the struct mmu_notifier embedded in struct nouveau_svmm after c625c274ee00.
 */
export class SvmmNotifier extends MmuNotifier {
  constructor(
    readonly svmm: SvmmNotifierOwner,
    ops: MmuNotifierOps = NOUVEAU_MN_OPS,
  ) {
    super(ops);
  }
}

/**
 * The svmm after step 1.
 * Mirrors drivers/gpu/drm/nouveau/nouveau_svm.c:struct nouveau_svmm (c625c274ee00).
 */
export class SvmmV551 implements GuideDriver {
  readonly notifier: SvmmNotifier;
  readonly mirror: HmmMirror;
  readonly mutex: Mutex;
  /** svmm->vmm: the GPU, or null once fini has run (the notifier may still be called then). */
  vmm: SvmGpu | null;
  readonly dev: DevicePageTable;
  readonly api: HmmMirrorApi;
  readonly start: number;
  readonly limit: number;
  /** free_notifier ran: the svmm's memory is gone. */
  freed = false;

  constructor(
    /** The process enabling SVM (current->mm at init time). */
    readonly owner: MmStruct,
    start: number,
    npages: number,
    opts: SvmmV551Options = {},
  ) {
    const gpu = new SvmGpu(owner, start, npages, 'svm-v5.5-1-gpu');
    const api = opts.api ?? legacyHmmMirrorApi;
    if (typeof api !== 'object' || api === null || (api.name !== 'legacy' && api.name !== 'shim')) {
      throw new InvalidArgumentError(
        `SvmmV551: opts.api is ${String(api)}; expected legacyHmmMirrorApi or shimHmmMirrorApi`,
      );
    }
    this.api = api;
    this.vmm = gpu;
    this.dev = gpu.dev;
    this.start = start;
    this.limit = start + npages * PAGE_SIZE;
    this.mutex = new Mutex(owner.machine.sched, 'svmm.mutex');
    this.notifier = new SvmmNotifier(this);
    // Still registered, for hmm_range_register(); its sync callback has nothing left to do.
    this.mirror = new HmmMirror({ syncCpuDevicePagetables: () => 0 });
  }

  bind(): Promise<number> {
    return nouveauSvmmInit(this);
  }

  async fault(write: boolean): Promise<number> {
    if (typeof write !== 'boolean') {
      throw new InvalidArgumentError(
        `SvmmV551.fault: write is ${String(write)}; expected a boolean`,
      );
    }
    for (let addr = this.start; addr < this.limit; addr += SVM_FAULT_WINDOW * PAGE_SIZE) {
      const ret = await nouveauSvmFault(this, addr, write);
      if (ret !== 0) return ret;
    }
    return 0;
  }

  unbind(): Promise<void> {
    return nouveauSvmmFini(this);
  }
}

/** The mm the svmm mirrors: the notifier's, pinned by its registration. */
function svmmMm(svmm: SvmmV551): MmStruct {
  const mm = svmm.notifier.mm;
  if (mm === null) {
    throw new KernelBugError('nouveau_svm_fault: the svmm is not initialised (no notifier.mm)');
  }
  return mm;
}

// #region init
/**
 * Register the notifier, then the mirror (only used for ranges now), both under mmap_sem for
 * write. From here on the notifier owns the svmm.
 * Mirrors nouveau_svmm_init() (c625c274ee00).
 */
export async function nouveauSvmmInit(svmm: SvmmV551): Promise<number> {
  const mm = svmm.owner;
  await downWrite(mm.mmapSem);
  let ret = await __mmuNotifierRegister(svmm.notifier, mm);
  if (ret === 0) ret = await svmm.api.hmmMirrorRegister(svmm.mirror, mm);
  upWrite(mm.mmapSem);
  return ret;
}

/**
 * Tear down: the mirror first; then, under the mutex, forget the GPU so that a callback still
 * in flight does nothing; then drop the notifier (free_notifier frees the svmm later).
 * Mirrors nouveau_svmm_fini() (c625c274ee00).
 */
export async function nouveauSvmmFini(svmm: SvmmV551): Promise<void> {
  await svmm.api.hmmMirrorUnregister(svmm.mirror);
  await mutexLock(svmm.mutex);
  svmm.vmm = null;
  mutexUnlock(svmm.mutex);
  await mmuNotifierPut(svmm.notifier);
}
// #endregion init

// #region invalidate
/**
 * What sync_cpu_device_pagetables did, now called directly by the mm for every invalidation:
 * clear the GPU's PTEs of the range under the mutex (-EAGAIN when it may not sleep).
 * Mirrors nouveau_svmm_invalidate_range_start() (c625c274ee00).
 */
export async function nouveauSvmmInvalidateRangeStart(
  mn: MmuNotifier,
  update: MmuNotifierRange,
): Promise<number> {
  const svmm = (mn as SvmmNotifier).svmm;
  if (!mmuNotifierRangeBlockable(update)) return -EAGAIN;
  await mutexLock(svmm.mutex);
  if (svmm.vmm !== null) svmm.vmm.pfnclr(update.start, update.end - update.start);
  mutexUnlock(svmm.mutex);
  return 0;
}

/** The last reference is gone: free the svmm. Mirrors nouveau_svmm_free_notifier() (c625c274ee00). */
export function nouveauSvmmFreeNotifier(mn: MmuNotifier): void {
  (mn as SvmmNotifier).svmm.freed = true;
}

/** The notifier's callbacks. Mirrors nouveau_mn_ops (c625c274ee00). */
export const NOUVEAU_MN_OPS: MmuNotifierOps = Object.freeze({
  invalidateRangeStart: nouveauSvmmInvalidateRangeStart,
  freeNotifier: nouveauSvmmFreeNotifier,
});
// #endregion invalidate

// #region range-fault
/**
 * v5.4's, with the mm taken from the notifier. Mirrors nouveau_range_fault() (c625c274ee00).
 */
export async function nouveauRangeFault(svmm: SvmmV551, range: HmmRange): Promise<number> {
  const mm = svmmMm(svmm);
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
  ret = await hmmRangeFault(range, 0, { version: '5.5' });
  traceFault(mm, ret);
  if (ret <= 0) {
    if (ret === 0) ret = -EBUSY;
    upRead(mm.mmapSem);
    await svmm.api.hmmRangeUnregister(range);
    return ret;
  }
  return 0;
}

/** Mirrors nouveau_range_done() (c625c274ee00, unchanged from v5.4). */
export async function nouveauRangeDone(svmm: SvmmV551, range: HmmRange): Promise<boolean> {
  const valid = svmm.api.hmmRangeValid(range);
  const trace = svmm.owner.machine.sched.trace;
  if (trace.enabled) trace.emit('driver.range_done', `hmm_range_valid: ${valid}`);
  await svmm.api.hmmRangeUnregister(range);
  return valid;
}
// #endregion range-fault

// #region fault
/**
 * v5.4's GPU fault handler, with the mm taken from the notifier and the GPU from svmm->vmm.
 * Mirrors nouveau_svm_fault() (c625c274ee00), for one fault.
 */
export async function nouveauSvmFault(
  svmm: SvmmV551,
  addr: number,
  write: boolean,
): Promise<number> {
  const mm = svmmMm(svmm);
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
    await mutexLock(svmm.mutex);
    if (!(await nouveauRangeDone(svmm, range))) {
      mutexUnlock(svmm.mutex);
      continue; // goto again
    }
    const gpu = svmm.vmm;
    if (gpu !== null) {
      nouveauDmemConvertPfn(gpu, range);
      await gpu.pfnmap(range.start, range.pfns);
    }
    mutexUnlock(svmm.mutex);
    upRead(mm.mmapSem);
    return 0;
  }
}
// #endregion fault
