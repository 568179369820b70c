/**
 * Step 2 of the port to v5.5: hmm_mirror is gone. Each GPU fault inserts a temporary
 * mmu_interval_notifier over its window; the notifier's invalidate callback takes the svmm mutex
 * (or, when it may not sleep, tries to and reports failure), calls mmu_interval_set_seq() under
 * it and unlocks; the fault path samples the sequence with mmu_interval_read_begin() before
 * hmm_range_fault() (which now answers -EBUSY as soon as the sequence moved) and, under the svmm
 * mutex, programs the GPU only if mmu_interval_read_retry() says nothing happened since.
 *
 * The GPU PTEs are still cleared by step 1's mm-wide notifier: the core calls every interval
 * notifier of an invalidation before the mm-wide ones, so the sequence has moved (under the mutex)
 * before the PTEs are cleared (under the mutex). mmap_sem is now dropped after the VMA lookup,
 * because inserting a notifier may take it for write, and held only around hmm_range_fault().
 *
 * Still missing, for step 3: an mm reference across the fault (the svmm only pins the mm's
 * memory, not its address space) and a time bound on the retry loop.
 *
 * Mirrors drivers/gpu/drm/nouveau/nouveau_svm.c after 20fef4ef84bf "nouveau: use
 * mmu_interval_notifier instead of hmm_mirror" (<20191112202231.3856-10-jgg@ziepe.ca>), without
 * its mmget_not_zero() and its deadline.
 */
import type { DevicePageTable } from '@hmmsim/hmm-mirror';
import {
  createHmmRange,
  HMM_PFN_FLAGS_MASK_ALL,
  type HmmRange,
  hmmRangeFault,
} from '@hmmsim/hmm-range';
import {
  downRead,
  downWrite,
  EBUSY,
  EFAULT,
  InvalidArgumentError,
  KernelBugError,
  Mutex,
  mutexLock,
  mutexTrylock,
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
  MmuIntervalNotifier,
  type MmuIntervalNotifierOps,
  type MmuNotifierOps,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
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
import { NOUVEAU_MN_OPS, SvmmNotifier } from './v55-1-notifier.ts';

/**
 * Options of the step-2 svmm (and of the later ones built on it).
 * Mirrors: model-only.
 */
export interface SvmmV552Options {
  /** The GPU's name in reports (default 'svm-v5.5-2-gpu'). */
  readonly name?: string;
}

/**
 * The svmm after step 2 (no mirror).
 * Mirrors drivers/gpu/drm/nouveau/nouveau_svm.c:struct nouveau_svmm (20fef4ef84bf).
 */
export class SvmmV552 implements GuideDriver {
  /** Step 1's mm-wide notifier: it still clears the GPU's PTEs. */
  readonly notifier: SvmmNotifier;
  readonly mutex: Mutex;
  vmm: SvmGpu | null;
  readonly dev: DevicePageTable;
  readonly start: number;
  readonly limit: number;
  /** The interval notifier callbacks, with the mutex as the lock read_retry needs. */
  readonly mniOps: MmuIntervalNotifierOps;
  freed = false;

  constructor(
    readonly owner: MmStruct,
    start: number,
    npages: number,
    opts: SvmmV552Options = {},
  ) {
    const name = opts.name ?? 'svm-v5.5-2-gpu';
    if (typeof name !== 'string' || name === '') {
      throw new InvalidArgumentError(
        `SvmmV552: opts.name is ${String(name)}; expected a non-empty string`,
      );
    }
    const gpu = new SvmGpu(owner, start, npages, name);
    this.vmm = gpu;
    this.dev = gpu.dev;
    this.start = start;
    this.limit = start + npages * PAGE_SIZE;
    this.mutex = new Mutex(owner.machine.sched, 'svmm.mutex');
    this.notifier = new SvmmNotifier(this, this.notifierOps());
    // #region mni-ops
    // The per-fault notifiers' callbacks. `userLock` is hmmsim's, not the kernel's: it names the
    // lock read_retry and set_seq must be called under, so the model can check that they are.
    this.mniOps = Object.freeze({ invalidate: nouveauSvmRangeInvalidate, userLock: this.mutex });
    // #endregion mni-ops
  }

  /** The mm-wide notifier's callbacks (step 1's; v5.9 adds a filter). */
  protected notifierOps(): MmuNotifierOps {
    return NOUVEAU_MN_OPS;
  }

  bind(): Promise<number> {
    return nouveauSvmmInit(this);
  }

  async fault(write: boolean): Promise<number> {
    if (typeof write !== 'boolean') {
      throw new InvalidArgumentError(
        `SvmmV552.fault: write is ${String(write)}; expected a boolean`,
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

// #region svmm-mm
/** The mm the svmm mirrors (pinned by the notifier's registration, not kept alive by it). */
function svmmMm(svmm: SvmmV552): MmStruct {
  const mm = svmm.notifier.mm;
  if (mm === null) {
    throw new KernelBugError('nouveau_svm_fault: the svmm is not initialised (no notifier.mm)');
  }
  return mm;
}
// #endregion svmm-mm

// #region init
/**
 * Register the mm-wide notifier under mmap_sem for write.
 * Mirrors nouveau_svmm_init() (20fef4ef84bf).
 */
export async function nouveauSvmmInit(svmm: SvmmV552): Promise<number> {
  const mm = svmm.owner;
  await downWrite(mm.mmapSem);
  const ret = await __mmuNotifierRegister(svmm.notifier, mm);
  upWrite(mm.mmapSem);
  return ret;
}

/** Forget the GPU under the mutex, drop the notifier. Mirrors nouveau_svmm_fini() (20fef4ef84bf). */
export async function nouveauSvmmFini(svmm: SvmmV552): Promise<void> {
  await mutexLock(svmm.mutex);
  svmm.vmm = null;
  mutexUnlock(svmm.mutex);
  await mmuNotifierPut(svmm.notifier);
}
// #endregion init

// #region svm-notifier
/**
 * A temporary notifier over one fault window (container_of gives the svmm back).
 * Mirrors nouveau_svm.c:struct svm_notifier (20fef4ef84bf).
 */
export class SvmNotifier extends MmuIntervalNotifier {
  constructor(readonly svmm: SvmmV552) {
    super();
  }
}
// #endregion svm-notifier

// #region range-invalidate
/**
 * An invalidation overlaps a window being faulted: move the notifier's sequence, under the same
 * mutex the fault path holds from read_retry to the end of the GPU update, so that the two
 * cannot interleave. The GPU's PTEs are cleared by the mm-wide notifier, which runs after this.
 * Mirrors nouveau_svm_range_invalidate() (20fef4ef84bf).
 */
export async function nouveauSvmRangeInvalidate(
  mni: MmuIntervalNotifier,
  range: MmuNotifierRange,
  curSeq: number,
): Promise<boolean> {
  const svmm = (mni as SvmNotifier).svmm;
  if (mmuNotifierRangeBlockable(range)) await mutexLock(svmm.mutex);
  else if (mutexTrylock(svmm.mutex) === 0) return false;
  mmuIntervalSetSeq(mni, curSeq);
  mutexUnlock(svmm.mutex);
  return true;
}
// #endregion range-invalidate

// #region range-fault
/**
 * Fault the window in and program the GPU, retrying whenever an invalidation got in the way:
 * sample the sequence, snapshot under mmap_sem, then under the mutex check the sequence and
 * program. Returns 0, or hmm_range_fault()'s errno. Loops for as long as invalidations keep
 * coming (step 3 bounds it).
 * Mirrors nouveau_range_fault() (20fef4ef84bf) without its deadline.
 */
export async function nouveauRangeFault(svmm: SvmmV552, range: HmmRange): Promise<number> {
  const notifier = range.notifier as MmuIntervalNotifier;
  const mm = notifier.mm as MmStruct;
  for (;;) {
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
 * A GPU fault at `addr`: find the window under mmap_sem, drop it, insert a notifier over the
 * window, fault and program, remove the notifier.
 * Mirrors nouveau_svm_fault() (20fef4ef84bf) without mmget_not_zero(), for one fault.
 */
export async function nouveauSvmFault(
  svmm: SvmmV552,
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
  if (ret !== 0) return ret;
  range.notifier = notifier;
  ret = await nouveauRangeFault(svmm, range);
  await mmuIntervalNotifierRemove(notifier);
  return ret;
}
// #endregion fault
