/**
 * Step 3 of the v5.5 port (81fa1af31b5d, "drm/amdgpu: Use mmu_interval_notifier instead of
 * hmm_mirror", <20191112202231.3856-13-jgg@ziepe.ca>): the hmm_mirror and the per-process
 * notifier context are gone. The BO's own interval notifier is now also the collision check:
 * its invalidate callback calls mmu_interval_set_seq() right after taking the device-wide
 * `notifier_lock`; get_user_pages takes a sequence with mmu_interval_read_begin() before each
 * hmm_range_fault() (retrying on 0 or -EBUSY until a one-second deadline), and the submission
 * checks mmu_interval_read_retry() under the same `notifier_lock`, which replaces amn->lock.
 *
 * The commit left four FIXMEs, each a rule the driver still bends: three are comments in the
 * code modelled here, the fourth is in the KFD path (not modelled). ./v55.ts answers them.
 *
 * Mirrors drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c, the userptr part of amdgpu_ttm.c and
 * amdgpu_cs.c after 81fa1af31b5d (v5.5); HSA notifier and KFD left out.
 */
import { DevicePageTable } from '@hmmsim/hmm-mirror';
import {
  createHmmRange,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  HMM_RANGE_DEFAULT_TIMEOUT,
  type HmmRange,
  hmmDeviceEntryToPage,
  hmmEntryComplement,
  hmmRangeFault,
} from '@hmmsim/hmm-range';
import {
  downRead,
  EAGAIN,
  EBUSY,
  EFAULT,
  ENOMEM,
  EPERM,
  ESRCH,
  Mutex,
  msecsToJiffies,
  mutexLock,
  mutexUnlock,
  PAGE_SHIFT,
  PAGE_SIZE,
  upRead,
} from '@hmmsim/kernel';
import {
  findVma,
  type MmStruct,
  type MmuNotifierRange,
  mmgetNotZero,
  mmput,
  mmuNotifierRangeBlockable,
} from '@hmmsim/mm';
import {
  MmuIntervalNotifier,
  type MmuIntervalNotifierOps,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
} from '@hmmsim/mmu-notifier';
import type { GuideDriver } from '../harness/driver.ts';
import {
  amdgpuBoWaitIdle,
  amdgpuCsPublish,
  checkUserptrArgs,
  checkWriteArg,
  drmIoctl,
  type UserptrOptions,
  type UserptrSettings,
} from './common.ts';

// #region structs
/**
 * The device, as far as userptrs go: the lock every BO notifier and every submission take, and
 * the process's GPU VM (the device page table the invariant reads).
 * Mirrors the userptr members of drivers/gpu/drm/amd/amdgpu/amdgpu.h:struct amdgpu_device
 * (81fa1af31b5d).
 */
export interface AmdgpuDevice {
  readonly notifierLock: Mutex;
  readonly vm: DevicePageTable;
}

/**
 * A userptr buffer object: where it is in the process, its flags, its interval notifier, the
 * range between get_user_pages and its _done(), and the pages the GPU uses.
 * Mirrors the userptr members of struct amdgpu_bo and amdgpu_ttm.c:struct amdgpu_ttm_tt
 * (81fa1af31b5d).
 */
export interface AmdgpuBo {
  readonly adev: AmdgpuDevice;
  readonly npages: number;
  userptr: number;
  /** AMDGPU_GEM_USERPTR_READONLY. */
  readonly readonly: boolean;
  /** AMDGPU_GEM_USERPTR_ANONONLY (libdrm always sets it). */
  readonly anonOnly: boolean;
  readonly notifier: MmuIntervalNotifier;
  range: HmmRange | null;
  /** ttm->pages: the pfns the GPU maps. */
  readonly pages: Float64Array;
}

/** amdgpu's HMM flag bits: VALID, WRITE; no bit for device-private pages. */
const HMM_RANGE_FLAGS: readonly number[] = Object.freeze([1 << 0, 1 << 1, 0]);
/** amdgpu's special values: ERROR = ~1, NONE = 0, SPECIAL = ~3 (53-bit stand-ins). */
const HMM_RANGE_VALUES: readonly number[] = Object.freeze([
  hmmEntryComplement(1),
  0,
  hmmEntryComplement(3),
]);
// #endregion structs

// #region mn-register
/** container_of(mni, struct amdgpu_bo, notifier): the model keeps the link in a map. */
const BO_OF_NOTIFIER = new WeakMap<MmuIntervalNotifier, AmdgpuBo>();

/**
 * Watch the BO's pages with its own interval notifier. Returns 0 or a -errno.
 * Mirrors drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c:amdgpu_mn_register() (81fa1af31b5d).
 */
export async function amdgpuMnRegister(bo: AmdgpuBo, mm: MmStruct, addr: number): Promise<number> {
  BO_OF_NOTIFIER.set(bo.notifier, bo);
  return mmuIntervalNotifierInsert(bo.notifier, mm, addr, bo.npages * PAGE_SIZE, AMDGPU_MN_GFX_OPS);
}

/**
 * Stop watching the BO's pages (may sleep until a running invalidation is over).
 * Mirrors drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c:amdgpu_mn_unregister() (81fa1af31b5d).
 */
export async function amdgpuMnUnregister(bo: AmdgpuBo): Promise<void> {
  if (bo.notifier.mm === null) return;
  await mmuIntervalNotifierRemove(bo.notifier);
}
// #endregion mn-register

// #region sync
/**
 * Whether `[start, end]` (inclusive) touches the BO's pages.
 * Mirrors drivers/gpu/drm/amd/amdgpu/amdgpu_ttm.c:amdgpu_ttm_tt_affect_userptr().
 */
function amdgpuTtmTtAffectUserptr(bo: AmdgpuBo, start: number, end: number): boolean {
  const size = bo.npages * PAGE_SIZE;
  return !(bo.userptr > end || bo.userptr + size <= start);
}

/**
 * The BO's pages are about to change in the CPU page table: under notifier_lock, record the
 * invalidation in the notifier's sequence (so that a submission checking later sees it) and wait
 * for the jobs using the BO. False when it would have to sleep and may not.
 * Mirrors drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c:amdgpu_mn_invalidate_gfx() (81fa1af31b5d).
 */
async function amdgpuMnInvalidateGfx(
  mni: MmuIntervalNotifier,
  range: MmuNotifierRange,
  curSeq: number,
): Promise<boolean> {
  const bo = BO_OF_NOTIFIER.get(mni);
  if (bo === undefined || mni.mm === null) return true;
  const adev = bo.adev;
  // Left over from the tree walk; the notifier only covers this BO.
  if (!amdgpuTtmTtAffectUserptr(bo, range.start, range.end)) return true;
  if (!mmuNotifierRangeBlockable(range)) return false;
  await mutexLock(adev.notifierLock);
  mmuIntervalSetSeq(mni, curSeq);
  await amdgpuBoWaitIdle(mni.mm, adev.vm, bo.userptr, bo.npages);
  mutexUnlock(adev.notifierLock);
  return true;
}

/** The interval-notifier callbacks of a GFX userptr BO. */
const AMDGPU_MN_GFX_OPS: MmuIntervalNotifierOps = Object.freeze({
  invalidate: amdgpuMnInvalidateGfx,
});
// #endregion sync

// #region get-user-pages
/**
 * Look up the pages behind the BO with the notifier's collision check: `pages` gets one pfn
 * per page of the BO; the range (with its sequence) stays in `bo.range` until
 * amdgpuTtmTtGetUserPagesDone(). Returns 0 or a -errno.
 * Mirrors drivers/gpu/drm/amd/amdgpu/amdgpu_ttm.c:amdgpu_ttm_tt_get_user_pages() (81fa1af31b5d).
 */
export async function amdgpuTtmTtGetUserPages(bo: AmdgpuBo, pages: Float64Array): Promise<number> {
  const mm = bo.notifier.mm;
  const start = bo.userptr;
  if (mm === null) return -EFAULT; // the BO is not registered
  if (bo.range !== null) return -EFAULT; // amdgpu WARNs: another get_user_pages is running
  if (!mmgetNotZero(mm)) return -ESRCH; // the process is exiting
  const range = createHmmRange({
    notifier: bo.notifier,
    start: bo.notifier.itStart,
    end: bo.notifier.itLast + 1,
    flags: HMM_RANGE_FLAGS,
    values: HMM_RANGE_VALUES,
    pfnShift: PAGE_SHIFT,
    defaultFlags:
      HMM_RANGE_FLAGS[HMM_PFN_VALID]! | (bo.readonly ? 0 : HMM_RANGE_FLAGS[HMM_PFN_WRITE]!),
  });
  await downRead(mm.mmapSem);
  const vma = findVma(mm, start);
  let r = 0;
  if (vma === undefined || start < vma.vmStart) r = -EFAULT;
  else if (bo.anonOnly && vma.vmFile !== null) r = -EPERM;
  upRead(mm.mmapSem);
  if (r !== 0) {
    await mmput(mm);
    return r;
  }
  const clock = mm.machine.clock;
  const timeout = clock.jiffies + msecsToJiffies(HMM_RANGE_DEFAULT_TIMEOUT);
  for (;;) {
    range.notifierSeq = await mmuIntervalReadBegin(bo.notifier);
    await downRead(mm.mmapSem);
    r = await hmmRangeFault(range, 0, { version: '5.5' });
    upRead(mm.mmapSem);
    traceGetUserPages(mm, r, range);
    if (r > 0) break;
    // FIXME (81fa1af31b5d): the deadline does not cover a failed read_retry at submission.
    if ((r === 0 || r === -EBUSY) && clock.jiffies <= timeout) continue;
    await mmput(mm);
    return r;
  }
  for (let i = 0; i < bo.npages; i++) {
    // FIXME (81fa1af31b5d): these pages are read outside notifier_lock.
    const page = hmmDeviceEntryToPage(range, range.pfns[i]!);
    if (page === null) {
      await mmput(mm);
      return -ENOMEM;
    }
    pages[i] = page;
  }
  bo.range = range;
  await mmput(mm);
  return 0;
}
// #endregion get-user-pages

/** Record what hmm_range_fault() answered (traces only). */
function traceGetUserPages(mm: MmStruct, r: number, range: HmmRange): void {
  const trace = mm.machine.sched.trace;
  if (!trace.enabled) return;
  const got = Array.from(range.pfns, (e) => {
    const p = hmmDeviceEntryToPage(range, e);
    return p === null ? 'none' : `pfn ${p}`;
  });
  trace.emit('amdgpu.get_user_pages', `hmm_range_fault=${r}${r > 0 ? `: ${got.join(', ')}` : ''}`);
}

/** Record the final check's answer (traces only). */
function traceDone(bo: AmdgpuBo, what: string): void {
  const trace = bo.notifier.mm?.machine.sched.trace;
  if (trace?.enabled) trace.emit('amdgpu.get_user_pages_done', what);
}

// #region get-user-pages-done
/**
 * Forget the BO's range: true if no invalidation of the BO's notifier ran since the sequence
 * get_user_pages used (the pages are still current).
 * Mirrors drivers/gpu/drm/amd/amdgpu/amdgpu_ttm.c:amdgpu_ttm_tt_get_user_pages_done()
 * (81fa1af31b5d).
 */
export function amdgpuTtmTtGetUserPagesDone(bo: AmdgpuBo): boolean {
  const range = bo.range;
  // amdgpu WARNs that there is nothing to check and, from this commit on, answers "current".
  if (range === null) return true;
  // FIXME (81fa1af31b5d): callers must hold notifier_lock here and use the answer.
  const retry = mmuIntervalReadRetry(bo.notifier, range.notifierSeq);
  traceDone(bo, `read_retry=${retry}`);
  bo.range = null;
  return !retry;
}
// #endregion get-user-pages-done

// #region cs
/**
 * One command submission in flight: the device, the submitting process and its (single)
 * userptr BO.
 * Mirrors the userptr members of drivers/gpu/drm/amd/amdgpu/amdgpu.h:struct amdgpu_cs_parser.
 */
interface AmdgpuCsParser {
  readonly adev: AmdgpuDevice;
  readonly mm: MmStruct;
  readonly bo: AmdgpuBo;
}

/**
 * Reserve and validate the submission's BOs: fetch the userptr BO's pages (outside any lock)
 * and install them in the BO. Returns 0 or a -errno.
 * Mirrors the userptr part of drivers/gpu/drm/amd/amdgpu/amdgpu_cs.c:amdgpu_cs_parser_bos()
 * and amdgpu_cs_list_validate() (81fa1af31b5d).
 */
async function amdgpuCsParserBos(p: AmdgpuCsParser): Promise<number> {
  const userPages = new Float64Array(p.bo.npages);
  const r = await amdgpuTtmTtGetUserPages(p.bo, userPages);
  if (r !== 0) return r;
  p.bo.pages.set(userPages);
  return 0;
}

/**
 * The final check and the publish, under notifier_lock: if an invalidation touched the userptr
 * since its sequence was taken, -EAGAIN (libdrm restarts the ioctl); else the job goes to the
 * GPU and its fence on the BO makes later invalidations wait for it.
 * Mirrors the userptr part of drivers/gpu/drm/amd/amdgpu/amdgpu_cs.c:amdgpu_cs_submit()
 * (81fa1af31b5d).
 */
async function amdgpuCsSubmit(p: AmdgpuCsParser): Promise<number> {
  const bo = p.bo;
  await mutexLock(p.adev.notifierLock);
  if (!amdgpuTtmTtGetUserPagesDone(bo)) {
    mutexUnlock(p.adev.notifierLock);
    return -EAGAIN;
  }
  await amdgpuCsPublish(p.mm, p.adev.vm, bo.userptr, bo.pages, !bo.readonly);
  mutexUnlock(p.adev.notifierLock);
  return 0;
}

/**
 * The command-submission ioctl, reduced to its userptr steps: 0 when the job was queued, else a
 * -errno (-EAGAIN: start over).
 * Mirrors drivers/gpu/drm/amd/amdgpu/amdgpu_cs.c:amdgpu_cs_ioctl() (81fa1af31b5d).
 */
export async function amdgpuCsIoctl(
  adev: AmdgpuDevice,
  mm: MmStruct,
  bo: AmdgpuBo,
): Promise<number> {
  const p: AmdgpuCsParser = { adev, mm, bo };
  const r = await amdgpuCsParserBos(p);
  if (r !== 0) return r;
  return amdgpuCsSubmit(p);
}
// #endregion cs

// #region userptr-ioctl
/**
 * Create the userptr BO's tracking: remember the address, then insert the BO's notifier
 * (AMDGPU_GEM_USERPTR_REGISTER). Returns 0 or a -errno.
 * Mirrors drivers/gpu/drm/amd/amdgpu/amdgpu_gem.c:amdgpu_gem_userptr_ioctl() (81fa1af31b5d)
 * with amdgpu_ttm_tt_set_userptr(), without the VALIDATE pass.
 */
export async function amdgpuGemUserptrIoctl(
  bo: AmdgpuBo,
  mm: MmStruct,
  addr: number,
): Promise<number> {
  bo.userptr = addr;
  return amdgpuMnRegister(bo, mm, addr);
}
// #endregion userptr-ioctl

/**
 * The userptr driver after step 3 for the guide's harness: bind = the userptr ioctl, fault = a
 * command submission using the BO (restarted by user space on -EAGAIN), unbind = the BO freed.
 * `fault(write)`: a userptr BO's access is fixed when it is created (`readonly`), so `write`
 * only has to be a boolean.
 * Mirrors: model-only (a process with one userptr BO submitting jobs on amdgpu, 81fa1af31b5d).
 */
export class UserptrV55IntervalNotifierDriver implements GuideDriver {
  readonly dev: DevicePageTable;
  readonly adev: AmdgpuDevice;
  readonly bo: AmdgpuBo;
  private readonly settings: UserptrSettings;

  constructor(
    readonly mm: MmStruct,
    start: number,
    npages: number,
    opts: UserptrOptions = {},
  ) {
    this.settings = checkUserptrArgs('UserptrV55IntervalNotifierDriver', mm, start, npages, opts);
    this.dev = new DevicePageTable('amdgpu-vm', start, npages);
    this.adev = {
      notifierLock: new Mutex(mm.machine.sched, 'adev->notifier_lock'),
      vm: this.dev,
    };
    this.bo = {
      adev: this.adev,
      npages,
      userptr: start,
      readonly: this.settings.readonly,
      anonOnly: true,
      notifier: new MmuIntervalNotifier(),
      range: null,
      pages: new Float64Array(npages),
    };
  }

  /** The userptr ioctl over the range: 0 or a -errno. */
  bind(): Promise<number> {
    return amdgpuGemUserptrIoctl(this.bo, this.mm, this.dev.start);
  }

  /** A command submission using the BO, restarted while it answers -EAGAIN. */
  fault(write: boolean): Promise<number> {
    checkWriteArg('UserptrV55IntervalNotifierDriver.fault', write);
    return drmIoctl(() => amdgpuCsIoctl(this.adev, this.mm, this.bo), this.settings.maxTries);
  }

  /** Free the BO. */
  unbind(): Promise<void> {
    return amdgpuMnUnregister(this.bo);
  }
}
