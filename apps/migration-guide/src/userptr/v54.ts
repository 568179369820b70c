/**
 * The v5.4 userptr driver: amdgpu's GFX userptr path on the legacy hmm_mirror API, written
 * against `HmmMirrorApi` so that the same code runs on the v5.4 implementation (`legacy`) and on
 * the compat shim over mmu_interval_notifier (`shim`).
 *
 *   userptr ioctl: remember the address, amdgpu_mn_register(): find or create the process's
 *       notifier context (mn_lock, mmap_sem for write, hmm_mirror_register), file the BO in its
 *       interval tree under amn->lock (write)
 *   invalidation (sync_cpu_device_pagetables): amn->lock for read (-EAGAIN if it cannot sleep),
 *       wait for the fences of every BO the range touches
 *   command submission: amdgpu_mn_get(); get_user_pages (range registered, wait_until_valid
 *       with its answer ignored, hmm_range_fault under mmap_sem, pages read out);
 *       amdgpu_cs_submit(): amn->lock for write, get_user_pages_done() (hmm_range_valid +
 *       unregister) for the BO, -EAGAIN if it was invalidated, else publish the job; unlock
 *
 * What the model simplifies: one device, one process, one userptr BO, the GFX notifier only
 * (the HSA/KFD one evicts user queues instead of waiting for fences); the interval tree is a
 * list of disjoint nodes (same merging as amdgpu's); the GPU VM update done before the submit
 * check in amdgpu (amdgpu_cs_vm_handling) is folded into the publish under the lock, see
 * common.ts; the userptr ioctl's optional VALIDATE pass is left out.
 *
 * Two 2019 bugs are kept as they were and are not visible in the model: find_vma() is called
 * without mmap_sem, on the task's mm without a reference (fixed by a9ae8731e6e5). The model's
 * VMA lookup is one synchronous step and its objects are never freed under a reader, so neither
 * can fail here; the chapter describes them.
 *
 * Mirrors drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c, the userptr part of amdgpu_ttm.c and
 * amdgpu_cs.c of v5.4 (as the "-" lines of 62914a99dee5, 81fa1af31b5d and a9ae8731e6e5 show them).
 */
import {
  DevicePageTable,
  HMM_RANGE_DEFAULT_TIMEOUT,
  HmmMirror,
  type HmmMirrorApi,
  legacyHmmMirrorApi,
} from '@hmmsim/hmm-mirror';
import {
  createHmmRange,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  type HmmRange,
  hmmDeviceEntryToPage,
  hmmEntryComplement,
  hmmRangeFault,
} from '@hmmsim/hmm-range';
import {
  downRead,
  downReadTrylock,
  downWrite,
  EAGAIN,
  EFAULT,
  ENOMEM,
  EPERM,
  ESRCH,
  InvalidArgumentError,
  Mutex,
  mutexLock,
  mutexUnlock,
  PAGE_SHIFT,
  PAGE_SIZE,
  RwSemaphore,
  upRead,
  upWrite,
} from '@hmmsim/kernel';
import {
  findVma,
  type MmStruct,
  type MmuNotifierRange,
  mmuNotifierRangeBlockable,
} from '@hmmsim/mm';
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
 * The device, as far as userptrs go: the lock around notifier-context creation, the contexts by
 * process, the hmm_mirror implementation of the kernel it runs on, and the process's GPU VM
 * (the device page table the invariant reads).
 * Mirrors the userptr members of drivers/gpu/drm/amd/amdgpu/amdgpu.h:struct amdgpu_device (v5.4).
 */
export interface AmdgpuDevice {
  readonly api: HmmMirrorApi;
  readonly mnLock: Mutex;
  readonly mnHash: Map<MmStruct, AmdgpuMn>;
  readonly vm: DevicePageTable;
}

/**
 * An address span of the process (inclusive) and the userptr BOs inside it.
 * Mirrors drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c:struct amdgpu_mn_node (v5.4).
 */
export interface AmdgpuMnNode {
  start: number;
  last: number;
  readonly bos: AmdgpuBo[];
}

/**
 * The task that created the BO, as the BO remembers it: only its mm pointer matters here.
 * Mirrors the `usertask` of drivers/gpu/drm/amd/amdgpu/amdgpu_ttm.c:struct amdgpu_ttm_tt.
 */
export interface UserTask {
  mm: MmStruct | null;
}

/**
 * A userptr buffer object: where it is in the process, its flags, its notifier context, the
 * registered range between get_user_pages and its _done(), and the pages the GPU uses.
 * Mirrors the userptr members of struct amdgpu_bo and amdgpu_ttm.c:struct amdgpu_ttm_tt (v5.4).
 */
export interface AmdgpuBo {
  readonly adev: AmdgpuDevice;
  readonly npages: number;
  userptr: number;
  usertask: UserTask;
  /** AMDGPU_GEM_USERPTR_READONLY. */
  readonly readonly: boolean;
  /** AMDGPU_GEM_USERPTR_ANONONLY (libdrm always sets it). */
  readonly anonOnly: boolean;
  mn: AmdgpuMn | null;
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

/**
 * The notifier context of one process: the hmm_mirror (embedded: this class extends it, so
 * container_of is a cast), `lock` (read side in the invalidation, write side around the final
 * check of a submission) and the interval tree of userptr BOs, kept as a list of disjoint nodes.
 * Mirrors drivers/gpu/drm/amd/amdgpu/amdgpu_mn.h:struct amdgpu_mn (v5.4).
 */
export class AmdgpuMn extends HmmMirror {
  readonly lock: RwSemaphore;
  readonly objects: AmdgpuMnNode[] = [];

  constructor(
    readonly adev: AmdgpuDevice,
    readonly mm: MmStruct,
  ) {
    super({
      syncCpuDevicePagetables: (mirror, update) =>
        amdgpuMnSyncPagetablesGfx(mirror as AmdgpuMn, update),
    });
    this.lock = new RwSemaphore(mm.machine.sched, 'amn->lock');
  }
}
// #endregion structs

// #region mn-lock
/**
 * Exclude invalidations of the process's userptrs (the submission's final check).
 * Mirrors drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c:amdgpu_mn_lock() (v5.4).
 */
export async function amdgpuMnLock(amn: AmdgpuMn): Promise<void> {
  await downWrite(amn.lock);
}

/**
 * Let invalidations run again.
 * Mirrors drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c:amdgpu_mn_unlock() (v5.4).
 */
export function amdgpuMnUnlock(amn: AmdgpuMn): void {
  upWrite(amn.lock);
}

/**
 * The invalidation's side of amn->lock: 0, or -EAGAIN when the caller may not sleep and the lock
 * is taken.
 * Mirrors drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c:amdgpu_mn_read_lock() (v5.4).
 */
async function amdgpuMnReadLock(amn: AmdgpuMn, blockable: boolean): Promise<number> {
  if (blockable) await downRead(amn.lock);
  else if (!downReadTrylock(amn.lock)) return -EAGAIN;
  return 0;
}

/** Mirrors drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c:amdgpu_mn_read_unlock() (v5.4). */
function amdgpuMnReadUnlock(amn: AmdgpuMn): void {
  upRead(amn.lock);
}
// #endregion mn-lock

// #region mn-get
/**
 * The calling process's notifier context, created on first use: its mirror is registered with
 * mmap_sem held for write, as hmm_mirror_register() requires. amdgpu takes both locks for every
 * lookup, including the one each command submission does. Returns the context or a -errno.
 * Mirrors drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c:amdgpu_mn_get() (v5.4), GFX type.
 */
export async function amdgpuMnGet(adev: AmdgpuDevice, mm: MmStruct): Promise<AmdgpuMn | number> {
  await mutexLock(adev.mnLock);
  await downWrite(mm.mmapSem);
  let amn = adev.mnHash.get(mm);
  if (amn === undefined) {
    const fresh = new AmdgpuMn(adev, mm);
    const r = await adev.api.hmmMirrorRegister(fresh, mm);
    if (r !== 0) {
      upWrite(mm.mmapSem);
      mutexUnlock(adev.mnLock);
      return r;
    }
    adev.mnHash.set(mm, fresh);
    amn = fresh;
  }
  upWrite(mm.mmapSem);
  mutexUnlock(adev.mnLock);
  return amn;
}
// #endregion mn-get

// #region mn-register
/** The first node of `amn` overlapping [start, last] (inclusive), or undefined. */
function amdgpuMnFirst(amn: AmdgpuMn, start: number, last: number): AmdgpuMnNode | undefined {
  return amn.objects.find((n) => n.start <= last && start <= n.last);
}

/**
 * File `bo` (at `addr`) in its process's interval tree, merging every node it overlaps into one,
 * so that an invalidation finds it. Returns 0 or the -errno of amdgpu_mn_get().
 * Mirrors drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c:amdgpu_mn_register() (v5.4).
 */
export async function amdgpuMnRegister(bo: AmdgpuBo, mm: MmStruct, addr: number): Promise<number> {
  let start = addr;
  let last = addr + bo.npages * PAGE_SIZE - 1;
  const amn = await amdgpuMnGet(bo.adev, mm);
  if (typeof amn === 'number') return amn;
  const bos: AmdgpuBo[] = [bo];
  await downWrite(amn.lock);
  for (let n = amdgpuMnFirst(amn, start, last); n; n = amdgpuMnFirst(amn, start, last)) {
    amn.objects.splice(amn.objects.indexOf(n), 1);
    start = Math.min(n.start, start);
    last = Math.max(n.last, last);
    bos.push(...n.bos);
  }
  bo.mn = amn;
  amn.objects.push({ start, last, bos });
  upWrite(amn.lock);
  return 0;
}

/**
 * Take `bo` out of its process's interval tree (the BO is being freed).
 * Mirrors drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c:amdgpu_mn_unregister() (v5.4).
 */
export async function amdgpuMnUnregister(bo: AmdgpuBo): Promise<void> {
  const adev = bo.adev;
  await mutexLock(adev.mnLock);
  const amn = bo.mn;
  if (amn !== null) {
    await downWrite(amn.lock);
    const node = amn.objects.find((n) => n.bos.includes(bo));
    if (node !== undefined) {
      node.bos.splice(node.bos.indexOf(bo), 1);
      if (node.bos.length === 0) amn.objects.splice(amn.objects.indexOf(node), 1);
    }
    bo.mn = null;
    upWrite(amn.lock);
  }
  mutexUnlock(adev.mnLock);
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
 * Wait until no job uses the BOs of `node` that the range touches.
 * Mirrors drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c:amdgpu_mn_invalidate_node() (v5.4).
 */
async function amdgpuMnInvalidateNode(
  amn: AmdgpuMn,
  node: AmdgpuMnNode,
  start: number,
  end: number,
): Promise<void> {
  for (const bo of node.bos) {
    if (!amdgpuTtmTtAffectUserptr(bo, start, end)) continue;
    await amdgpuBoWaitIdle(amn.mm, amn.adev.vm, bo.userptr, bo.npages);
  }
}

/**
 * The CPU page table of the process is about to change over `update`: wait for the jobs using
 * the BOs in it. Holding amn->lock for read is what keeps a submission (write side) from
 * checking and publishing in the middle. Returns 0, or -EAGAIN when it would have to sleep and
 * may not.
 * Mirrors drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c:amdgpu_mn_sync_pagetables_gfx() (v5.4).
 */
async function amdgpuMnSyncPagetablesGfx(amn: AmdgpuMn, update: MmuNotifierRange): Promise<number> {
  const blockable = mmuNotifierRangeBlockable(update);
  // The notification is [start, end), the tree is inclusive.
  const end = update.end - 1;
  if ((await amdgpuMnReadLock(amn, blockable)) !== 0) return -EAGAIN;
  for (const node of amn.objects.filter((n) => n.start <= end && update.start <= n.last)) {
    if (!blockable) {
      amdgpuMnReadUnlock(amn);
      return -EAGAIN;
    }
    await amdgpuMnInvalidateNode(amn, node, update.start, end);
  }
  amdgpuMnReadUnlock(amn);
  return 0;
}
// #endregion sync

// #region get-user-pages
/**
 * Look up the pages behind the BO and start tracking CPU page-table changes over them: `pages`
 * gets one pfn per page of the BO; the range stays registered in `bo.range` until
 * amdgpuTtmTtGetUserPagesDone(). Returns 0 or a -errno.
 * Mirrors drivers/gpu/drm/amd/amdgpu/amdgpu_ttm.c:amdgpu_ttm_tt_get_user_pages() (v5.4).
 */
export async function amdgpuTtmTtGetUserPages(bo: AmdgpuBo, pages: Float64Array): Promise<number> {
  const api = bo.adev.api;
  const mirror = bo.mn;
  // The creating task's mm, without a reference of our own (a9ae8731e6e5 fixed this).
  const mm = bo.usertask.mm;
  const start = bo.userptr;
  if (mm === null) return -ESRCH; // the process is exiting
  if (mirror === null) return -EFAULT;
  // Looked up without mmap_sem (a9ae8731e6e5 fixed this too): the VMA could go meanwhile.
  const vma = findVma(mm, start);
  if (vma === undefined || start < vma.vmStart) return -EFAULT;
  if (bo.anonOnly && vma.vmFile !== null) return -EPERM;
  const range = createHmmRange({
    start,
    end: start + bo.npages * PAGE_SIZE,
    flags: HMM_RANGE_FLAGS,
    values: HMM_RANGE_VALUES,
    pfnShift: PAGE_SHIFT,
    // Every page is wanted, writable unless the BO is read-only: no per-page requests.
    defaultFlags:
      HMM_RANGE_FLAGS[HMM_PFN_VALID]! | (bo.readonly ? 0 : HMM_RANGE_FLAGS[HMM_PFN_WRITE]!),
    pfnFlagsMask: 0,
  });
  // amdgpu ignored both answers: hmm_range_fault() says -EBUSY when the range is not valid.
  await api.hmmRangeRegister(range, mirror);
  await api.hmmRangeWaitUntilValid(range, HMM_RANGE_DEFAULT_TIMEOUT);
  await downRead(mm.mmapSem);
  const r = await hmmRangeFault(range, 0, { version: '5.4' });
  upRead(mm.mmapSem);
  traceGetUserPages(mm, r, range);
  if (r < 0) {
    await api.hmmRangeUnregister(range);
    return r;
  }
  for (let i = 0; i < bo.npages; i++) {
    const page = hmmDeviceEntryToPage(range, range.pfns[i]!);
    if (page === null) {
      await api.hmmRangeUnregister(range);
      return -ENOMEM;
    }
    pages[i] = page;
  }
  bo.range = range;
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
  const trace = bo.mn?.mm.machine.sched.trace;
  if (trace?.enabled) trace.emit('amdgpu.get_user_pages_done', what);
}

// #region get-user-pages-done
/**
 * Stop tracking the BO's range: true if no invalidation touched it since get_user_pages (the
 * pages are still current). Must be called under amn->lock for write to mean anything.
 * Mirrors drivers/gpu/drm/amd/amdgpu/amdgpu_ttm.c:amdgpu_ttm_tt_get_user_pages_done() (v5.4).
 */
export async function amdgpuTtmTtGetUserPagesDone(bo: AmdgpuBo): Promise<boolean> {
  const range = bo.range;
  if (range === null) return false; // amdgpu WARNs: no user pages to check
  const api = bo.adev.api;
  const valid = api.hmmRangeValid(range);
  traceDone(bo, `hmm_range_valid=${valid}`);
  await api.hmmRangeUnregister(range);
  bo.range = null;
  return valid;
}
// #endregion get-user-pages-done

// #region cs
/**
 * One command submission in flight: the device, the submitting process, its (single) userptr
 * BO, the process's notifier context and the pages looked up for the BO.
 * Mirrors the userptr members of drivers/gpu/drm/amd/amdgpu/amdgpu.h:struct amdgpu_cs_parser.
 */
interface AmdgpuCsParser {
  readonly adev: AmdgpuDevice;
  readonly mm: MmStruct;
  readonly bo: AmdgpuBo;
  mn: AmdgpuMn | null;
}

/**
 * Reserve and validate the submission's BOs: look up the notifier context, fetch the userptr
 * BO's pages (outside any lock) and install them in the BO. Returns 0 or a -errno.
 * Mirrors the userptr part of drivers/gpu/drm/amd/amdgpu/amdgpu_cs.c:amdgpu_cs_parser_bos()
 * and amdgpu_cs_list_validate() (v5.4).
 */
async function amdgpuCsParserBos(p: AmdgpuCsParser): Promise<number> {
  const mn = await amdgpuMnGet(p.adev, p.mm);
  if (typeof mn === 'number') return mn;
  p.mn = mn;
  const userPages = new Float64Array(p.bo.npages);
  const r = await amdgpuTtmTtGetUserPages(p.bo, userPages);
  if (r !== 0) return r;
  p.bo.pages.set(userPages);
  return 0;
}

/**
 * The final check and the publish, under amn->lock for write: if an invalidation touched the
 * userptr since its pages were looked up, -EAGAIN (libdrm restarts the ioctl); else the job goes
 * to the GPU and its fence on the BO makes later invalidations wait for it.
 * Mirrors the userptr part of drivers/gpu/drm/amd/amdgpu/amdgpu_cs.c:amdgpu_cs_submit() (v5.4).
 */
async function amdgpuCsSubmit(p: AmdgpuCsParser, mn: AmdgpuMn): Promise<number> {
  const bo = p.bo;
  await amdgpuMnLock(mn);
  if (!(await amdgpuTtmTtGetUserPagesDone(bo))) {
    amdgpuMnUnlock(mn);
    return -EAGAIN;
  }
  await amdgpuCsPublish(p.mm, p.adev.vm, bo.userptr, bo.pages, !bo.readonly);
  amdgpuMnUnlock(mn);
  return 0;
}

/**
 * The command-submission ioctl, reduced to its userptr steps: 0 when the job was queued, else a
 * -errno (-EAGAIN: start over).
 * Mirrors drivers/gpu/drm/amd/amdgpu/amdgpu_cs.c:amdgpu_cs_ioctl() (v5.4).
 */
export async function amdgpuCsIoctl(
  adev: AmdgpuDevice,
  mm: MmStruct,
  bo: AmdgpuBo,
): Promise<number> {
  const p: AmdgpuCsParser = { adev, mm, bo, mn: null };
  const r = await amdgpuCsParserBos(p);
  if (r !== 0 || p.mn === null) return r;
  return amdgpuCsSubmit(p, p.mn);
}
// #endregion cs

// #region userptr-ioctl
/**
 * Create the userptr BO's tracking: remember the address and the creating task, then file the
 * BO with the process's notifier (AMDGPU_GEM_USERPTR_REGISTER). Returns 0 or a -errno.
 * Mirrors drivers/gpu/drm/amd/amdgpu/amdgpu_gem.c:amdgpu_gem_userptr_ioctl() (v5.4) with
 * amdgpu_ttm_tt_set_userptr(), without the VALIDATE pass.
 */
export async function amdgpuGemUserptrIoctl(
  bo: AmdgpuBo,
  mm: MmStruct,
  addr: number,
): Promise<number> {
  bo.userptr = addr;
  bo.usertask = { mm };
  return amdgpuMnRegister(bo, mm, addr);
}
// #endregion userptr-ioctl

/**
 * Options of UserptrV54Driver: the hmm_mirror implementation and the common userptr options.
 * Mirrors: model-only.
 */
export interface UserptrV54Options extends UserptrOptions {
  /** The hmm_mirror implementation (default legacyHmmMirrorApi; shimHmmMirrorApi for the shim). */
  readonly api?: HmmMirrorApi;
}

/**
 * The v5.4 userptr driver for the guide's harness: bind = the userptr ioctl, fault = a command
 * submission using the BO (restarted by user space on -EAGAIN), unbind = the BO freed and the
 * process's notifier context torn down. `fault(write)`: a userptr BO's access is fixed when it
 * is created (`readonly`), so `write` only has to be a boolean.
 * Mirrors: model-only (a process with one userptr BO submitting jobs on amdgpu, v5.4).
 */
export class UserptrV54Driver implements GuideDriver {
  readonly dev: DevicePageTable;
  readonly adev: AmdgpuDevice;
  readonly bo: AmdgpuBo;
  private readonly settings: UserptrSettings;

  constructor(
    readonly mm: MmStruct,
    start: number,
    npages: number,
    opts: UserptrV54Options = {},
  ) {
    this.settings = checkUserptrArgs('UserptrV54Driver', mm, start, npages, opts);
    const api = opts.api ?? legacyHmmMirrorApi;
    if (typeof api !== 'object' || api === null || typeof api.hmmRangeValid !== 'function') {
      throw new InvalidArgumentError(
        'UserptrV54Driver: opts.api is not an HmmMirrorApi; expected legacyHmmMirrorApi or shimHmmMirrorApi',
      );
    }
    const sched = mm.machine.sched;
    this.dev = new DevicePageTable('amdgpu-vm', start, npages);
    this.adev = {
      api,
      mnLock: new Mutex(sched, 'adev->mn_lock'),
      mnHash: new Map(),
      vm: this.dev,
    };
    this.bo = {
      adev: this.adev,
      npages,
      userptr: start,
      usertask: { mm: null },
      readonly: this.settings.readonly,
      anonOnly: true,
      mn: null,
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
    checkWriteArg('UserptrV54Driver.fault', write);
    return drmIoctl(() => amdgpuCsIoctl(this.adev, this.mm, this.bo), this.settings.maxTries);
  }

  /** Free the BO; then (model teardown) unregister the process's mirror. */
  async unbind(): Promise<void> {
    await amdgpuMnUnregister(this.bo);
    const amn = this.adev.mnHash.get(this.mm);
    if (amn !== undefined && amn.objects.length === 0) {
      this.adev.mnHash.delete(this.mm);
      await this.adev.api.hmmMirrorUnregister(amn);
    }
  }
}
