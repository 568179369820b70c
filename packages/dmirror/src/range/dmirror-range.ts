/**
 * The struct hmm_range lib/test_hmm.c sets up for each fault pass and snapshot chunk: the
 * mirror's notifier (or the chunk's temporary one), `[start, end)`, a fresh `hmm_pfns` array,
 * per-range requests only (`pfn_flags_mask` 0, `default_flags` HMM_PFN_REQ_FAULT [|
 * HMM_PFN_REQ_WRITE], or 0 for a snapshot) and `dev_private_owner` = the dmirror device, so that
 * its own device-private pages are reported (and never faulted) and other devices' are not.
 *
 * Mirrors the struct hmm_range initialisers of lib/test_hmm.c: dmirror_fault(),
 * dmirror_range_snapshot().
 */
import { createHmmPfnsRange, type HmmPfnsRange } from '@hmmsim/hmm-range';
import { HMM_PFN_REQ_FAULT, HMM_PFN_REQ_WRITE } from '@hmmsim/hmm-range/v5.9';
import type { MmuIntervalNotifier } from '@hmmsim/mmu-notifier';
import type { DmirrorDevice } from '../dmirror-device.ts';

/**
 * The requests of a pass: HMM_PFN_REQ_FAULT, plus HMM_PFN_REQ_WRITE for a write; 0 for a
 * snapshot. Mirrors the `default_flags` of dmirror_fault() / dmirror_range_snapshot().
 */
export function dmirrorRangeRequest(snapshot: boolean, write: boolean): number {
  if (snapshot) return 0;
  return HMM_PFN_REQ_FAULT | (write ? HMM_PFN_REQ_WRITE : 0);
}

/**
 * A range over `[start, end)` of `notifier`'s mm owned by `mdevice`, requesting `defaultFlags`
 * for every page. Mirrors the struct hmm_range of lib/test_hmm.c: dmirror_fault().
 */
export function dmirrorHmmRange(
  mdevice: DmirrorDevice,
  notifier: MmuIntervalNotifier,
  start: number,
  end: number,
  defaultFlags: number,
): HmmPfnsRange {
  return createHmmPfnsRange({
    start,
    end,
    notifier,
    defaultFlags,
    pfnFlagsMask: 0,
    devPrivateOwner: mdevice,
  });
}
