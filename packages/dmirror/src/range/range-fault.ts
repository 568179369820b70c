/**
 * The native build's hmm_range_fault() call: the one-argument v5.8 / v5.9 call of
 * @hmmsim/hmm-range on the range's `hmm_pfns`, 0 or a negative errno, with the owner check done
 * by the core (`dev_private_owner`), ERROR entries for pages without a usable VMA in a snapshot,
 * and (v5.9) the map order in every entry. The quirk Q13 follows the file's
 * `foreignPrivateFault`. A range reaching past the model's 2^48 address space is called on its
 * part below (address-limit.ts). The caller holds mmap_sem for read and an mm_users reference,
 * and has taken `notifierSeq`; -EBUSY means "take a new sequence and call again".
 *
 * Mirrors the hmm_range_fault() calls of lib/test_hmm.c: dmirror_range_fault(),
 * dmirror_range_snapshot().
 */
import { type HmmPfnsRange, type HmmRangeFaultOptions, hmmRangeFault } from '@hmmsim/hmm-range';
import { HMM_PFN_ERROR, HMM_PFN_REQ_FAULT } from '@hmmsim/hmm-range/v5.9';
import { PAGE_SIZE } from '@hmmsim/kernel';
import type { DmirrorIntervalConfig } from '../options.ts';
import { dmirrorBelowAddressLimit } from './address-limit.ts';

/** The hmm_range_fault() options of a native file. Model helper. */
export function dmirrorHmmFaultOptions(config: DmirrorIntervalConfig): HmmRangeFaultOptions {
  return {
    version: config.hmmVersion,
    quirks: { q13ForeignPrivateFaultFails: config.foreignPrivateFault === 'efault' },
  };
}

/** The range cut at `end` (same notifier, sequence, requests and owner; a view of the entries). */
function clipped(range: HmmPfnsRange, end: number): HmmPfnsRange {
  if (end === range.end) return range;
  return { ...range, end, hmmPfns: range.hmmPfns.subarray(0, (end - range.start) / PAGE_SIZE) };
}

/**
 * Fill `range.hmmPfns`: 0, -EBUSY (collided: retry with a new sequence), -EFAULT (no VMA or an
 * unreadable one in a fault pass, a failed fault, another device's page with `'efault'`), -EPERM
 * (a write to a VMA without VM_WRITE). Mirrors the hmm_range_fault(range) call of
 * lib/test_hmm.c:dmirror_range_fault().
 */
export function dmirrorHmmRangeFault(
  range: HmmPfnsRange,
  config: DmirrorIntervalConfig,
): Promise<number> {
  const opts = dmirrorHmmFaultOptions(config);
  return dmirrorBelowAddressLimit(
    range.start,
    range.end,
    (range.defaultFlags & HMM_PFN_REQ_FAULT) === 0,
    (end) => hmmRangeFault(clipped(range, end), opts),
    (first) => range.hmmPfns.fill(HMM_PFN_ERROR, first),
  );
}
