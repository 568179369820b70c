/**
 * Compat shim, mirror side: the shim's struct hmm is a legacy mmu_notifier (get/put, one per mm,
 * its own ops so it never mixes with a v5.4 struct hmm of the same mm) whose only job is to keep
 * delivering `syncCpuDevicePagetables` for every invalidation of the mm and `release` at
 * teardown — exactly as the legacy struct hmm does, with the same mirrors_sem / -EAGAIN rules. It
 * keeps no `notifiers` count and touches no range: range validity comes from each range's own
 * interval notifier (shim-range.ts). Mirror registration also switches the mm's interval tree on
 * (mmap_sem is held for write there), so that range registration never needs mmap_sem.
 *
 * Model compat shim; mirrors the semantics of mm/hmm.c (v5.4) hmm_mirror_register(),
 * hmm_mirror_unregister() and hmm_mmu_notifier_ops.
 */
import { noteRead } from '@hmmsim/kernel';
import type { MmStruct, MmuNotifierRange } from '@hmmsim/mm';
import {
  __mmuNotifierRegister,
  MMN_FIELD,
  type MmuNotifier,
  type MmuNotifierOps,
  mmuNotifierMmOf,
} from '@hmmsim/mmu-notifier';
import { asHmm, Hmm, hmmFreeNotifier, hmmOfMirror, hmmRelease, hmmSyncMirrors } from '../hmm.ts';
import { type HmmMirror, hmmMirrorRegisterWith, hmmMirrorUnregisterWith } from '../hmm-mirror.ts';
import { reapShimNotifiers } from './shim-range.ts';

/**
 * The shim struct hmm's notifier ops: release and invalidate_range_start (mirror sync) as in
 * v5.4; no invalidate_range_end (nothing to count down).
 * Model compat shim; mirrors the semantics of mm/hmm.c:hmm_mmu_notifier_ops.
 */
export const shimMmuNotifierOps: MmuNotifierOps = Object.freeze({
  release: (mn: MmuNotifier, mm: MmStruct) => hmmRelease(asHmm(mn), mm),
  invalidateRangeStart: (mn: MmuNotifier, r: MmuNotifierRange) => hmmSyncMirrors(asHmm(mn), r),
  allocNotifier: (mm: MmStruct) => new Hmm(shimMmuNotifierOps, mm, 'shim'),
  freeNotifier: (mn: MmuNotifier) => hmmFreeNotifier(asHmm(mn)),
});

/**
 * Register `mirror` on `mm` (caller holds mmap_sem for write): as the legacy call, plus the
 * interval tree of `mm` is switched on. 0, -EINVAL, or an allocation errno.
 * Model compat shim; mirrors the semantics of mm/hmm.c:hmm_mirror_register().
 */
export function hmmMirrorRegister(
  mirror: HmmMirror | null | undefined,
  mm: MmStruct | null | undefined,
): Promise<number> {
  return hmmMirrorRegisterWith(
    mirror,
    mm,
    shimMmuNotifierOps,
    'shim',
    'hmm_mirror_register',
    switchTreeOn,
  );
}

/** After the checks, before the struct hmm is got: switch the interval tree of `mm` on. */
async function switchTreeOn(mm: MmStruct): Promise<number> {
  const m = mmuNotifierMmOf(mm);
  if (m !== null) noteRead(m, MMN_FIELD.hasItree);
  if (m?.hasItree) return 0;
  // Needs mmap_sem for write, which the caller holds (checked before this runs).
  return __mmuNotifierRegister(null, mm);
}

/**
 * Unregister `mirror`: first finish removing the interval notifiers of ranges unregistered
 * while an invalidation window was open (this may sleep until that window ends, like the legacy
 * call may sleep on mirrors_sem), then as the legacy call.
 * Model compat shim; mirrors the semantics of mm/hmm.c:hmm_mirror_unregister().
 */
export async function hmmMirrorUnregister(mirror: HmmMirror): Promise<void> {
  const hmm = hmmOfMirror(mirror, 'hmm_mirror_unregister', 'shim');
  await reapShimNotifiers(hmm, false);
  await hmmMirrorUnregisterWith(mirror, 'shim', 'hmm_mirror_unregister');
}
