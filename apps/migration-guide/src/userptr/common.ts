/**
 * What every step of the userptr driver shares and never changes across the port: the argument
 * checks, user space's restart loop around the command-submission ioctl, and the "publish" of a
 * validated buffer to the GPU.
 *
 * The model's reading of amdgpu's GFX userptr path: a userptr buffer object (BO) is a range of
 * the process's memory that GPU jobs read and write. A job may only touch the BO's pages while
 * the CPU still maps them there. amdgpu guarantees this with fences: a command submission checks,
 * under the lock the invalidation callback takes, that nothing invalidated the pages since they
 * were looked up, and only then adds its job's fence to the BO; an invalidation waits for every
 * fence on the BO before the CPU page table changes. The model's device page table stands for
 * "what submitted, unfinished jobs may access": the submission programs it (publish) under the
 * lock, and the invalidation clears it where amdgpu waits for the BO's fences (the jobs are then
 * done). The invariant the harness checks — no device entry for a page the CPU does not map there
 * — is exactly "no running job uses a page the process gave up".
 */
import { checkDeviceSpan, type DevicePageTable } from '@hmmsim/hmm-mirror';
import { checkFunction, checkIntIn, EAGAIN, InvalidArgumentError, PAGE_SIZE } from '@hmmsim/kernel';
import type { MmStruct } from '@hmmsim/mm';
import { checkMmStruct } from '@hmmsim/mmu-notifier';

/**
 * Options every step of the userptr driver takes.
 * Mirrors: model-only.
 */
export interface UserptrOptions {
  /**
   * The BO was created with AMDGPU_GEM_USERPTR_READONLY: its pages are asked for read access
   * only and the GPU maps them read-only. Default false.
   */
  readonly readonly?: boolean;
  /**
   * How many times one submission looks the pages up: user space reissuing the ioctl while it
   * answers -EAGAIN (libdrm does so without limit), or, in the finished v5.5 driver, the ioctl's
   * own retry within its deadline. The explorer needs a bound. Default 3.
   */
  readonly maxTries?: number;
}

/** The options with their defaults filled in. Mirrors: model-only. */
export interface UserptrSettings {
  readonly readonly: boolean;
  readonly maxTries: number;
}

/**
 * Check the constructor arguments every userptr driver takes; InvalidArgumentError naming `fn`
 * and what was expected. Returns the settings.
 * Mirrors the argument checks of amdgpu_gem_userptr_ioctl() (page-aligned address and size).
 */
export function checkUserptrArgs(
  fn: string,
  mm: unknown,
  start: unknown,
  npages: unknown,
  opts: unknown,
): UserptrSettings {
  checkMmStruct(fn, 'mm', mm);
  checkDeviceSpan(fn, start, npages);
  if (opts === null || typeof opts !== 'object') {
    throw new InvalidArgumentError(
      `${fn}: opts is ${opts === null ? 'null' : `a ${typeof opts}`}; expected an options object (or nothing)`,
    );
  }
  const o = opts as UserptrOptions;
  if (o.readonly !== undefined && typeof o.readonly !== 'boolean') {
    throw new InvalidArgumentError(
      `${fn}: opts.readonly is ${String(o.readonly)}; expected a boolean (AMDGPU_GEM_USERPTR_READONLY)`,
    );
  }
  const maxTries = o.maxTries ?? 3;
  checkIntIn(fn, 'opts.maxTries', maxTries, 1, 1000, 'a number of attempts in [1, 1000]');
  return { readonly: o.readonly ?? false, maxTries };
}

/**
 * Throw InvalidArgumentError unless `write` is a boolean.
 * Mirrors: model-only.
 */
export function checkWriteArg(fn: string, write: unknown): void {
  if (typeof write !== 'boolean') {
    throw new InvalidArgumentError(`${fn}: write is ${String(write)}; expected a boolean`);
  }
}

// #region drm-ioctl
/**
 * User space's side of a command submission: issue the ioctl again while it answers -EAGAIN
 * (the kernel's way of saying "a userptr was invalidated under you, start over"), at most
 * `maxTries` times in the model.
 * Mirrors libdrm xf86drm.c:drmIoctl() (its restart on EINTR/EAGAIN).
 */
export async function drmIoctl(ioctl: () => Promise<number>, maxTries: number): Promise<number> {
  checkFunction('drmIoctl', 'ioctl', ioctl);
  checkIntIn('drmIoctl', 'maxTries', maxTries, 1, 1000, 'a number of attempts in [1, 1000]');
  let r = -EAGAIN;
  for (let i = 0; i < maxTries && r === -EAGAIN; i++) r = await ioctl();
  return r;
}
// #endregion drm-ioctl

/** The scheduling point of a job being handed to the GPU. */
const PUBLISH_EVENT = Object.freeze({
  kind: 'amdgpu.publish',
  label: 'update the GPU VM, queue the job',
});

// #region publish
/**
 * Hand the job to the GPU: map the BO's pages (`pages[i]`, a pfn, for the i-th page of the BO
 * at `userptr`) in the GPU VM, writable unless the BO is read-only, and queue the job with its
 * fence on the BO. Call it with the lock the invalidation callback takes held, after the check
 * that the pages are still current. Updating the VM and queueing take time (commands to the
 * GPU): another CPU may run meanwhile, which is exactly what that lock must make harmless.
 * Mirrors the tail of amdgpu_cs_submit() (drm_sched_entity_push_job, fence on the BO), with the
 * VM update of amdgpu_cs_vm_handling() folded in (see the module comment).
 */
export async function amdgpuCsPublish(
  mm: MmStruct,
  vm: DevicePageTable,
  userptr: number,
  pages: Float64Array,
  writable: boolean,
): Promise<void> {
  const sched = mm.machine.sched;
  await sched.point(PUBLISH_EVENT);
  const first = (userptr - vm.start) / PAGE_SIZE;
  for (let i = 0; i < pages.length; i++) vm.set(first + i, pages[i] as number, writable);
  if (sched.trace.enabled) {
    const list = Array.from(pages, (p) => `pfn ${p}`).join(', ');
    sched.trace.emit('amdgpu.publish', `GPU VM ${writable ? 'rw' : 'r'}: ${list}`);
  }
}
// #endregion publish

// #region wait-idle
/**
 * Wait for the BO's fences: every job that uses its pages is done, so the GPU no longer
 * accesses them (in the model: the BO's device entries are cleared). The fences waited for are
 * the ones on the BO when the wait starts; the wait itself sleeps (a scheduling point), and a job
 * queued meanwhile is not waited for.
 * Mirrors dma_resv_wait_timeout_rcu(bo->tbo.base.resv, true, false, MAX_SCHEDULE_TIMEOUT) as
 * amdgpu's invalidation calls it (v5.4, v5.5).
 */
export async function amdgpuBoWaitIdle(
  mm: MmStruct,
  vm: DevicePageTable,
  userptr: number,
  npages: number,
): Promise<void> {
  const sched = mm.machine.sched;
  const n = vm.clearRange(userptr, userptr + npages * PAGE_SIZE);
  if (sched.trace.enabled) sched.trace.emit('amdgpu.wait_idle', `jobs using the BO: ${n} page(s)`);
  await sched.point(WAIT_EVENT);
}
// #endregion wait-idle

/** The scheduling point of a fence wait. */
const WAIT_EVENT = Object.freeze({ kind: 'amdgpu.wait_idle', label: 'wait for the BO fences' });
