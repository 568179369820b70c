/**
 * `struct hmm_mirror`: a device driver's subscription to the CPU page-table updates of one mm.
 * Registration finds or creates the mm's struct hmm (the legacy mmu_notifier, get/put scheme)
 * and links the mirror at the head of its list; from then on every invalidation of the mm calls
 * the mirror's `syncCpuDevicePagetables` (unfiltered: the driver filters), and the mm's teardown
 * calls its `release`.
 *
 * Mirrors include/linux/hmm.h:struct hmm_mirror / struct hmm_mirror_ops (seed) and mm/hmm.c
 * (v5.4): hmm_mirror_register(), hmm_mirror_unregister().
 */
import {
  accessReporting,
  downWrite,
  EINVAL,
  InvalidArgumentError,
  KernelBugError,
  noteRead,
  noteWrite,
  upWrite,
} from '@hmmsim/kernel';
import type { MmStruct, MmuNotifierRange } from '@hmmsim/mm';
import {
  checkMmStruct,
  describeArgument,
  type MmuNotifierOps,
  mmuNotifierGetLocked,
  mmuNotifierPut,
} from '@hmmsim/mmu-notifier';
import { Hmm, type HmmKind, hmmMmuNotifierOps, hmmOfMirror } from './hmm.ts';
import { rangesOfMirror } from './range-registry.ts';

/**
 * The driver's callbacks. Callbacks that may sleep return Promises.
 * Mirrors include/linux/hmm.h:struct hmm_mirror_ops.
 */
export interface HmmMirrorOps {
  /**
   * The mm is being torn down: stop every device access to pages obtained through this mirror
   * before returning (later accesses must fault). Optional. Must not call hmmMirrorUnregister().
   */
  release?(mirror: HmmMirror): void | Promise<void>;
  /**
   * Called for every invalidation start of the mm (the driver filters by `update.start/end`):
   * update the device page table (and flush its TLB) before returning. Return 0, or -EAGAIN
   * when `mmuNotifierRangeBlockable(update)` is false and it would have to sleep.
   */
  syncCpuDevicePagetables(mirror: HmmMirror, update: MmuNotifierRange): number | Promise<number>;
}

/**
 * A mirror. Drivers may extend it to carry their own state (container_of). `hmm` is set by
 * registration; accesses to `hmm` and `ops` are reported on the mirror object (and the count of
 * its registered ranges, range-registry.ts, too). Mirrors include/linux/hmm.h:struct hmm_mirror.
 */
export class HmmMirror {
  /** The mm's struct hmm while registered, else null. */
  hmm: Hmm | null = null;

  constructor(public ops: HmmMirrorOps | null) {}
}

/** Throw InvalidArgumentError unless `mirror` is an HmmMirror and `mm` an MmStruct. Model helper. */
export function checkMirrorArgs(fn: string, mirror: unknown, mm: unknown): void {
  if (!(mirror instanceof HmmMirror)) {
    throw new InvalidArgumentError(
      `${fn}: mirror is ${describeArgument(mirror)}; expected an HmmMirror (or NULL for -EINVAL)`,
    );
  }
  checkMmStruct(fn, 'mm', mm);
}

/** Throw unless the current task holds `mm.mmapSem` for write (lockdep). */
function assertMmapSemWriteHeld(mm: MmStruct, fn: string): void {
  const t = mm.machine.sched.current;
  if (mm.mmapSem.writer !== t) {
    throw new KernelBugError(
      `lockdep: ${fn}(mm${mm.id}) called by task '${t.name}' without mmap_sem held for write; expected ` +
        'the caller to hold it (down_write(&mm->mmap_sem) around the call)',
    );
  }
}

/**
 * The common part of legacy and shim mirror registration: checks, `prepare` (the shim switches
 * the interval tree on there), get the struct hmm of `ops`, link the mirror. Returns 0, -EINVAL, or the errno of mmu_notifier_get_locked().
 * Mirrors mm/hmm.c:hmm_mirror_register() (v5.4).
 */
export async function hmmMirrorRegisterWith(
  mirror: HmmMirror | null | undefined,
  mm: MmStruct | null | undefined,
  ops: MmuNotifierOps,
  kind: HmmKind,
  fn: string,
  prepare?: (mm: MmStruct) => Promise<number>,
): Promise<number> {
  if (mm === null || mm === undefined || mirror === null || mirror === undefined) return -EINVAL;
  checkMirrorArgs(fn, mirror, mm);
  assertMmapSemWriteHeld(mm, fn);
  if (accessReporting) noteRead(mirror);
  if (mirror.ops === null || mirror.ops === undefined) return -EINVAL;
  if (typeof mirror.ops !== 'object') {
    throw new InvalidArgumentError(
      `${fn}: mirror.ops is ${describeArgument(mirror.ops)}; expected an HmmMirrorOps object`,
    );
  }
  if (mm.mmUsers <= 0) {
    throw new KernelBugError(
      `${fn}(mm${mm.id}): the mm has exited (mm_users ${mm.mmUsers}); expected a live mm with an mm_users ` +
        'reference (the kernel BUG_ONs in __mmu_notifier_register)',
    );
  }
  if (typeof mirror.ops.syncCpuDevicePagetables !== 'function') {
    throw new KernelBugError(
      `${fn}: mirror.ops has no syncCpuDevicePagetables; expected it (the kernel calls it unconditionally)`,
    );
  }
  const prev = mirror.hmm;
  if (prev !== null) noteRead(prev.mirrors);
  if (prev?.mirrors.includes(mirror)) {
    throw new KernelBugError(
      `${fn}: list_add corruption: the mirror is already registered (on mm${prev.mm?.id}); ` +
        'expected a mirror that is not on any list (hmm_mirror_unregister() it first)',
    );
  }
  if (prepare !== undefined) {
    const ret = await prepare(mm);
    if (ret !== 0) return ret;
  }
  const mn = await mmuNotifierGetLocked(ops, mm);
  if (typeof mn === 'number') return mn;
  if (!(mn instanceof Hmm) || mn.kind !== kind) {
    throw new KernelBugError(
      `${fn}: mmu_notifier_get_locked returned a notifier that is not a ${kind} struct hmm`,
    );
  }
  if (accessReporting) noteWrite(mirror);
  mirror.hmm = mn;
  await downWrite(mn.mirrorsSem);
  if (accessReporting) noteWrite(mn.mirrors);
  mn.mirrors.unshift(mirror);
  upWrite(mn.mirrorsSem);
  const sched = mm.machine.sched;
  if (sched.trace.enabled) sched.trace.emit('hmm.mirror_register', `${kind} mm${mm.id}`);
  return 0;
}

/**
 * The common part of legacy and shim mirror unregistration: unlink the mirror, put the struct hmm
 * (the last put frees it after a grace period).
 * Mirrors mm/hmm.c:hmm_mirror_unregister() (v5.4).
 */
export async function hmmMirrorUnregisterWith(
  mirror: HmmMirror,
  kind: HmmKind,
  fn: string,
): Promise<void> {
  if (!(mirror instanceof HmmMirror)) {
    throw new InvalidArgumentError(
      `${fn}: mirror is ${describeArgument(mirror)}; expected an HmmMirror`,
    );
  }
  const hmm = hmmOfMirror(mirror, fn, kind);
  const sched = mirror.hmm?.mm?.machine.sched;
  if (accessReporting) noteRead(hmm); // `releasing`
  if (sched !== undefined && hmm.releasing === sched.current) {
    throw new KernelBugError(
      `${fn}: called from the mirror's release callback; expected the driver to unregister later, ` +
        'outside hmm_release (it holds mirrors_sem for read: down_write would deadlock)',
    );
  }
  const left = rangesOfMirror(mirror);
  if (left > 0) {
    throw new KernelBugError(
      `${fn}: ${left} range(s) registered through this mirror are still registered; expected ` +
        'hmm_range_unregister() of each first (the kernel WARNs in hmm_free_notifier and the ranges keep a stale hmm)',
    );
  }
  await downWrite(hmm.mirrorsSem);
  if (accessReporting) noteWrite(hmm.mirrors);
  hmm.mirrors.splice(hmm.mirrors.indexOf(mirror), 1);
  upWrite(hmm.mirrorsSem);
  if (accessReporting) noteWrite(mirror);
  mirror.hmm = null;
  await mmuNotifierPut(hmm);
}

/**
 * Register `mirror` on `mm` (caller holds mmap_sem for write): 0, -EINVAL (null mm, mirror or
 * ops), or the error of allocating the mm's struct hmm. Registering a registered mirror again is
 * list corruption: KernelBugError. Modules using it must call mmuNotifierSynchronize() at unload.
 * Mirrors mm/hmm.c:hmm_mirror_register() (v5.4).
 */
export function hmmMirrorRegister(
  mirror: HmmMirror | null | undefined,
  mm: MmStruct | null | undefined,
): Promise<number> {
  return hmmMirrorRegisterWith(mirror, mm, hmmMmuNotifierOps, 'legacy', 'hmm_mirror_register');
}

/**
 * Unregister `mirror` and drop its reference on the struct hmm. Must not be called with ranges of
 * the mirror still registered, nor from its release callback (KernelBugError).
 * Mirrors mm/hmm.c:hmm_mirror_unregister() (v5.4).
 */
export function hmmMirrorUnregister(mirror: HmmMirror): Promise<void> {
  return hmmMirrorUnregisterWith(mirror, 'legacy', 'hmm_mirror_unregister');
}
