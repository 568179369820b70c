/**
 * Two of the rules 81fa1af31b5d wrote down as FIXMEs, broken on purpose: drivers built from the
 * step-3 functions (./v55-3-interval-notifier.ts) with the submission rearranged the way other
 * amdgpu paths of that commit still worked.
 *
 * - `UserptrIgnoreDoneDriver`: the answer of get_user_pages_done() is ignored, as the KFD path
 *   (update_invalid_user_pages(), whose FIXME says the answer must be used and notifier_lock
 *   held) and the userptr ioctl's VALIDATE pass did: the job is queued with whatever
 *   get_user_pages found.
 * - `UserptrPublishBeforeCheckDriver`: the pages are made reachable by the GPU (the VM updated,
 *   amdgpu_cs_vm_handling()) before the submission's check, outside notifier_lock (the FIXME in
 *   get_user_pages: the pages may only be used under notifier_lock); a failed check then returns -EAGAIN, but
 *   the GPU VM already points at the old pages.
 *
 * Mirrors: model-only (mistakes named by the FIXMEs of 81fa1af31b5d; the fixed driver is
 * ./v55.ts).
 */
import { DevicePageTable } from '@hmmsim/hmm-mirror';
import { EAGAIN, Mutex, mutexLock, mutexUnlock } from '@hmmsim/kernel';
import type { MmStruct } from '@hmmsim/mm';
import { MmuIntervalNotifier } from '@hmmsim/mmu-notifier';
import type { GuideDriver } from '../harness/driver.ts';
import {
  amdgpuCsPublish,
  checkUserptrArgs,
  checkWriteArg,
  drmIoctl,
  type UserptrOptions,
  type UserptrSettings,
} from './common.ts';
import {
  type AmdgpuBo,
  type AmdgpuDevice,
  amdgpuGemUserptrIoctl,
  amdgpuMnUnregister,
  amdgpuTtmTtGetUserPages,
  amdgpuTtmTtGetUserPagesDone,
} from './v55-3-interval-notifier.ts';

/** A mistaken submission: the device, the process, the BO. */
type Submission = (adev: AmdgpuDevice, mm: MmStruct, bo: AmdgpuBo) => Promise<number>;

// #region ignore-done
/**
 * A submission that asks whether the pages are still current and goes ahead whatever the
 * answer: the job is queued with the pages get_user_pages found.
 * Mirrors the pattern of drivers/gpu/drm/amd/amdgpu/amdgpu_amdkfd_gpuvm.c:
 * update_invalid_user_pages() after 81fa1af31b5d (its FIXME), in a command submission.
 */
async function amdgpuCsIoctlIgnoringDone(
  adev: AmdgpuDevice,
  mm: MmStruct,
  bo: AmdgpuBo,
): Promise<number> {
  const r = await amdgpuTtmTtGetUserPages(bo, bo.pages);
  if (r !== 0) return r;
  await mutexLock(adev.notifierLock);
  amdgpuTtmTtGetUserPagesDone(bo); // the answer is dropped
  await amdgpuCsPublish(mm, adev.vm, bo.userptr, bo.pages, !bo.readonly);
  mutexUnlock(adev.notifierLock);
  return 0;
}
// #endregion ignore-done

// #region publish-before-check
/**
 * A submission that updates the GPU VM with the pages it found before the locked check; the
 * check still sends user space back with -EAGAIN, but too late.
 * Mirrors the order of drivers/gpu/drm/amd/amdgpu/amdgpu_cs.c:amdgpu_cs_ioctl() (v5.5) —
 * amdgpu_cs_vm_handling() before amdgpu_cs_submit() — with the VM update reaching the device.
 */
async function amdgpuCsIoctlPublishingFirst(
  adev: AmdgpuDevice,
  mm: MmStruct,
  bo: AmdgpuBo,
): Promise<number> {
  const r = await amdgpuTtmTtGetUserPages(bo, bo.pages);
  if (r !== 0) return r;
  await amdgpuCsPublish(mm, adev.vm, bo.userptr, bo.pages, !bo.readonly);
  await mutexLock(adev.notifierLock);
  const valid = amdgpuTtmTtGetUserPagesDone(bo);
  mutexUnlock(adev.notifierLock);
  return valid ? 0 : -EAGAIN;
}
// #endregion publish-before-check

/**
 * The step-3 userptr driver with a mistaken submission path.
 * Mirrors: model-only.
 */
class MistakenUserptrDriver implements GuideDriver {
  readonly dev: DevicePageTable;
  readonly adev: AmdgpuDevice;
  readonly bo: AmdgpuBo;
  private readonly settings: UserptrSettings;

  constructor(
    private readonly fn: string,
    private readonly submit: Submission,
    readonly mm: MmStruct,
    start: number,
    npages: number,
    opts: UserptrOptions,
  ) {
    this.settings = checkUserptrArgs(fn, mm, start, npages, opts);
    this.dev = new DevicePageTable('amdgpu-vm', start, npages);
    this.adev = { notifierLock: new Mutex(mm.machine.sched, 'adev->notifier_lock'), vm: this.dev };
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
    checkWriteArg(`${this.fn}.fault`, write);
    return drmIoctl(() => this.submit(this.adev, this.mm, this.bo), this.settings.maxTries);
  }

  /** Free the BO. */
  unbind(): Promise<void> {
    return amdgpuMnUnregister(this.bo);
  }
}

/**
 * The userptr driver whose submission ignores get_user_pages_done()'s answer.
 * Mirrors: model-only (the KFD FIXME of 81fa1af31b5d).
 */
export class UserptrIgnoreDoneDriver extends MistakenUserptrDriver {
  constructor(mm: MmStruct, start: number, npages: number, opts: UserptrOptions = {}) {
    super('UserptrIgnoreDoneDriver', amdgpuCsIoctlIgnoringDone, mm, start, npages, opts);
  }
}

/**
 * The userptr driver whose submission updates the GPU VM before the locked check.
 * Mirrors: model-only (the FIXME of 81fa1af31b5d about using the pages outside
 * notifier_lock).
 */
export class UserptrPublishBeforeCheckDriver extends MistakenUserptrDriver {
  constructor(mm: MmStruct, start: number, npages: number, opts: UserptrOptions = {}) {
    super('UserptrPublishBeforeCheckDriver', amdgpuCsIoctlPublishingFirst, mm, start, npages, opts);
  }
}
