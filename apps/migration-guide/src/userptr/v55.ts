/**
 * The v5.5 userptr driver, finished: step 3 (81fa1af31b5d) with each of its four FIXMEs answered
 * and amdgpu's blind spot for device-private pages closed. The FIXMEs (paraphrased, numbered as
 * in chapter 4b) and what answers them:
 *
 * 1. The pages were read out of the range outside notifier_lock: get_user_pages now leaves the
 *    results in the range; the submission reads the pages out of it under notifier_lock, after
 *    mmu_interval_read_retry() said they are current.
 * 2. get_user_pages_done() must run under notifier_lock and its answer must be used: the check is
 *    only ever made under notifier_lock (the notifier declares it as its driver lock, so the
 *    model's lockdep rejects a check without it), and it hands out pages only when it passes.
 * 3. The KFD path ignored that answer: here no path queues a job without it.
 * 4. The deadline did not cover a failed read_retry: one deadline, taken when the submission
 *    starts, bounds both kinds of retry — an -EBUSY from hmm_range_fault() and a failed
 *    read_retry, which now loops inside the ioctl instead of bouncing -EAGAIN to user space.
 *
 * Not a FIXME: amdgpu's flag table gave HMM_PFN_DEVICE_PRIVATE no bit, so another driver's
 * device-private page read as an ordinary page, which the GPU cannot reach. The table now has one
 * and the driver asks for it: hmm_range_fault() (v5.5) then migrates such a page back to system
 * memory before reporting it.
 *
 * Mirrors drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c, amdgpu_ttm.c and amdgpu_cs.c after
 * 81fa1af31b5d (v5.5), corrected as above (model-only corrections, cited by the FIXME they
 * answer); Documentation/vm/hmm.rst (v5.5), the usage pattern.
 */
import { DevicePageTable } from '@hmmsim/hmm-mirror';
import {
  createHmmRange,
  HMM_PFN_DEVICE_PRIVATE,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  HMM_RANGE_DEFAULT_TIMEOUT,
  type HmmRange,
  hmmDeviceEntryToPage,
  hmmEntryComplement,
  hmmEntryTest,
  hmmRangeFault,
} from '@hmmsim/hmm-range';
import {
  downRead,
  EBUSY,
  EFAULT,
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
  type UserptrOptions,
  type UserptrSettings,
} from './common.ts';

// #region structs
/**
 * The device, as far as userptrs go: the lock every BO notifier and every submission take, and
 * the process's GPU VM (the device page table the invariant reads).
 * Mirrors the userptr members of drivers/gpu/drm/amd/amdgpu/amdgpu.h:struct amdgpu_device (v5.5).
 */
export interface AmdgpuDevice {
  readonly notifierLock: Mutex;
  readonly vm: DevicePageTable;
}

/**
 * A userptr buffer object: where it is in the process, its flags, its interval notifier, and
 * the range between get_user_pages and the submission's check.
 * Mirrors the userptr members of struct amdgpu_bo and amdgpu_ttm.c:struct amdgpu_ttm_tt (v5.5).
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
}

/**
 * HMM flag bits: VALID, WRITE, and a bit for device-private pages (amdgpu's table had 0 there,
 * which makes every device-private page look like an ordinary one).
 */
const HMM_RANGE_FLAGS: readonly number[] = Object.freeze([1 << 0, 1 << 1, 1 << 2]);
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
 * Watch the BO's pages with its own interval notifier, declaring notifier_lock as the lock its
 * callback and the submission's check share. Returns 0 or a -errno.
 * Mirrors drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c:amdgpu_mn_register() (v5.5).
 */
export async function amdgpuMnRegister(bo: AmdgpuBo, mm: MmStruct, addr: number): Promise<number> {
  BO_OF_NOTIFIER.set(bo.notifier, bo);
  const ops: MmuIntervalNotifierOps = { ...AMDGPU_MN_GFX_OPS, userLock: bo.adev.notifierLock };
  return mmuIntervalNotifierInsert(bo.notifier, mm, addr, bo.npages * PAGE_SIZE, ops);
}

/**
 * Stop watching the BO's pages (may sleep until a running invalidation is over).
 * Mirrors drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c:amdgpu_mn_unregister() (v5.5).
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
 * Mirrors drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c:amdgpu_mn_invalidate_gfx() (v5.5).
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
 * Fault the BO's pages in with the notifier's collision check and leave the results in
 * `bo.range` with their sequence; nothing is read out of them here. `timeout` is the
 * submission's deadline (jiffies). Returns 0 or a -errno (-EBUSY: still colliding at the
 * deadline).
 * Mirrors drivers/gpu/drm/amd/amdgpu/amdgpu_ttm.c:amdgpu_ttm_tt_get_user_pages() (v5.5),
 * corrected (FIXMEs 1 and 4).
 */
export async function amdgpuTtmTtGetUserPages(bo: AmdgpuBo, timeout: number): Promise<number> {
  const mm = bo.notifier.mm;
  const start = bo.userptr;
  if (mm === null) return -EFAULT; // the BO is not registered
  if (bo.range !== null) return -EFAULT; // another get_user_pages is running
  if (!mmgetNotZero(mm)) return -ESRCH; // the process is exiting
  const range = createHmmRange({
    notifier: bo.notifier,
    start: bo.notifier.itStart,
    end: bo.notifier.itLast + 1,
    flags: HMM_RANGE_FLAGS,
    values: HMM_RANGE_VALUES,
    pfnShift: PAGE_SHIFT,
    // Every page, writable unless the BO is read-only, and in system memory: a page that another
    // driver moved to its device-private memory is migrated back.
    defaultFlags:
      HMM_RANGE_FLAGS[HMM_PFN_VALID]! |
      (bo.readonly ? 0 : HMM_RANGE_FLAGS[HMM_PFN_WRITE]!) |
      HMM_RANGE_FLAGS[HMM_PFN_DEVICE_PRIVATE]!,
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
  for (;;) {
    range.notifierSeq = await mmuIntervalReadBegin(bo.notifier);
    await downRead(mm.mmapSem);
    r = await hmmRangeFault(range, 0, { version: '5.5' });
    upRead(mm.mmapSem);
    traceGetUserPages(mm, r, range);
    if (r > 0) break;
    if ((r === 0 || r === -EBUSY) && clock.jiffies <= timeout) continue;
    await mmput(mm);
    // A 0 at the deadline is no success (81fa1af31b5d passed it up as one).
    return r === 0 ? -EBUSY : r;
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
 * The submission's check, under notifier_lock: if no invalidation of the BO's notifier ran since
 * the sequence get_user_pages used, read the pages out of the range into `pages` and return
 * true; else false (look them up again). The range is forgotten either way.
 * Mirrors drivers/gpu/drm/amd/amdgpu/amdgpu_ttm.c:amdgpu_ttm_tt_get_user_pages_done() (v5.5),
 * corrected (FIXMEs 1, 2 and 3).
 */
export function amdgpuTtmTtGetUserPagesDone(bo: AmdgpuBo, pages: Float64Array): boolean {
  const range = bo.range;
  if (range === null) return false; // nothing was looked up: nothing is current
  bo.range = null;
  const retry = mmuIntervalReadRetry(bo.notifier, range.notifierSeq);
  traceDone(bo, `read_retry=${retry}`);
  if (retry) return false;
  const devicePrivate = range.flags[HMM_PFN_DEVICE_PRIVATE]!;
  for (let i = 0; i < bo.npages; i++) {
    const e = range.pfns[i]!;
    const page = hmmDeviceEntryToPage(range, e);
    // A successful fault of every page leaves none missing and none in device memory.
    if (page === null || hmmEntryTest(e, devicePrivate)) return false;
    pages[i] = page;
  }
  return true;
}
// #endregion get-user-pages-done

// #region cs
/**
 * One command submission in flight: the device, the submitting process, its (single) userptr
 * BO, and the pages the job will use.
 * Mirrors the userptr members of drivers/gpu/drm/amd/amdgpu/amdgpu.h:struct amdgpu_cs_parser.
 */
interface AmdgpuCsParser {
  readonly adev: AmdgpuDevice;
  readonly mm: MmStruct;
  readonly bo: AmdgpuBo;
  readonly userPages: Float64Array;
}

/**
 * Under notifier_lock: check the pages and, if they are current, queue the job with them.
 * True when the job was queued, false when the userptr was invalidated meanwhile.
 * Mirrors the userptr part of drivers/gpu/drm/amd/amdgpu/amdgpu_cs.c:amdgpu_cs_submit() (v5.5),
 * corrected (FIXMEs 1 to 3).
 */
async function amdgpuCsSubmit(p: AmdgpuCsParser): Promise<boolean> {
  const bo = p.bo;
  await mutexLock(p.adev.notifierLock);
  if (!amdgpuTtmTtGetUserPagesDone(bo, p.userPages)) {
    mutexUnlock(p.adev.notifierLock);
    return false;
  }
  await amdgpuCsPublish(p.mm, p.adev.vm, bo.userptr, p.userPages, !bo.readonly);
  mutexUnlock(p.adev.notifierLock);
  return true;
}

/**
 * The command-submission ioctl, reduced to its userptr steps: look the pages up, check and
 * publish under the lock, and look them up again when an invalidation got in between, all
 * within one deadline (and `maxTries` passes, which the model needs: its clock only reaches the
 * deadline after a million scheduling points). 0 when the job was queued, else a -errno
 * (-EBUSY: invalidations kept coming until the deadline).
 * Mirrors drivers/gpu/drm/amd/amdgpu/amdgpu_cs.c:amdgpu_cs_ioctl() (v5.5), corrected (FIXME 4).
 */
export async function amdgpuCsIoctl(
  adev: AmdgpuDevice,
  mm: MmStruct,
  bo: AmdgpuBo,
  maxTries: number,
): Promise<number> {
  const clock = mm.machine.clock;
  const timeout = clock.jiffies + msecsToJiffies(HMM_RANGE_DEFAULT_TIMEOUT);
  const p: AmdgpuCsParser = { adev, mm, bo, userPages: new Float64Array(bo.npages) };
  for (let tries = 0; tries < maxTries && clock.jiffies <= timeout; tries++) {
    const r = await amdgpuTtmTtGetUserPages(bo, timeout);
    if (r !== 0) return r;
    if (await amdgpuCsSubmit(p)) return 0;
  }
  return -EBUSY;
}
// #endregion cs

// #region userptr-ioctl
/**
 * Create the userptr BO's tracking: remember the address, then insert the BO's notifier
 * (AMDGPU_GEM_USERPTR_REGISTER). Returns 0 or a -errno.
 * Mirrors drivers/gpu/drm/amd/amdgpu/amdgpu_gem.c:amdgpu_gem_userptr_ioctl() (v5.5)
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
 * The finished v5.5 userptr driver for the guide's harness: bind = the userptr ioctl, fault = a
 * command submission using the BO (it retries by itself within its deadline), unbind = the BO
 * freed.
 * `fault(write)`: a userptr BO's access is fixed when it is created (`readonly`), so `write`
 * only has to be a boolean.
 * Mirrors: model-only (a process with one userptr BO submitting jobs on amdgpu, v5.5 corrected).
 */
export class UserptrV55Driver implements GuideDriver {
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
    this.settings = checkUserptrArgs('UserptrV55Driver', mm, start, npages, opts);
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
    };
  }

  /** The userptr ioctl over the range: 0 or a -errno. */
  bind(): Promise<number> {
    return amdgpuGemUserptrIoctl(this.bo, this.mm, this.dev.start);
  }

  /** A command submission using the BO. */
  fault(write: boolean): Promise<number> {
    checkWriteArg('UserptrV55Driver.fault', write);
    return amdgpuCsIoctl(this.adev, this.mm, this.bo, this.settings.maxTries);
  }

  /** Free the BO. */
  unbind(): Promise<void> {
    return amdgpuMnUnregister(this.bo);
  }
}
