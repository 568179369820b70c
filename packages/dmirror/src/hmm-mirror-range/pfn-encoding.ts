/**
 * The entry format the hmm_mirror builds hand to the v5.4-style hmm_range_fault(): the page's pfn
 * at PAGE_SHIFT and the driver bits VALID = 1, WRITE = 2, DEVICE_PRIVATE = 4 below it; ERROR (and
 * SPECIAL) = 8 with no VALID bit, NONE = 0. Every entry is a safe integer (pfn * 4096 + bits).
 * A v5.4 driver chose such tables itself (struct hmm_range.flags / values / pfn_shift); these
 * entries never leave the hmm_mirror builds (to-hmm-pfns.ts converts them for the commit).
 *
 * Mirrors the driver-defined flags[] / values[] tables of include/linux/hmm.h (v5.4, the seed at
 * 04ec32fbc2b2, v5.5) as a dmirror ported to that API would define them.
 */
import {
  createHmmRange,
  HMM_PFN_DEVICE_PRIVATE,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  type HmmRange,
} from '@hmmsim/hmm-range';
import { PAGE_SHIFT, PAGE_SIZE } from '@hmmsim/kernel';

/** Driver bit: the entry maps a page. Mirrors flags[HMM_PFN_VALID] of a v5.4 driver. */
export const DMIRROR_PFN_VALID = 1;
/** Driver bit: the CPU mapping is writable. Mirrors flags[HMM_PFN_WRITE] of a v5.4 driver. */
export const DMIRROR_PFN_WRITE = 2;
/** Driver bit: a device-private page. Mirrors flags[HMM_PFN_DEVICE_PRIVATE] of a v5.4 driver. */
export const DMIRROR_PFN_DEVICE_PRIVATE = 4;
/** Whole-entry value: error (no VMA, unreadable, special). Mirrors values[HMM_PFN_ERROR] of a v5.4 driver. */
export const DMIRROR_PFN_ERROR = 8;
/** Whole-entry value: nothing mapped. Mirrors values[HMM_PFN_NONE] of a v5.4 driver. */
export const DMIRROR_PFN_NONE = 0;

/** flags[] of the hmm_mirror builds' ranges, indexed by HMM_PFN_VALID/WRITE/DEVICE_PRIVATE. Mirrors struct hmm_range.flags (v5.4). */
export const DMIRROR_PFN_FLAGS: readonly number[] = Object.freeze([
  DMIRROR_PFN_VALID,
  DMIRROR_PFN_WRITE,
  DMIRROR_PFN_DEVICE_PRIVATE,
]);
/** values[] of the hmm_mirror builds' ranges: ERROR, NONE, SPECIAL. Mirrors struct hmm_range.values (v5.4). */
export const DMIRROR_PFN_VALUES: readonly number[] = Object.freeze([
  DMIRROR_PFN_ERROR,
  DMIRROR_PFN_NONE,
  DMIRROR_PFN_ERROR,
]);

const BITS = 16;

/**
 * A range over `[start, end)` with the driver tables: per-range requests (`pfnFlagsMask` 0)
 * `defaultFlags`, as a v5.4 port of dmirror_fault() would set up its hmm_range.
 * Mirrors the struct hmm_range initialiser of a v5.4 driver (Documentation/vm/hmm.rst).
 */
export function dmirrorTableRange(start: number, end: number, defaultFlags: number): HmmRange {
  return createHmmRange({
    start,
    end,
    flags: DMIRROR_PFN_FLAGS,
    values: DMIRROR_PFN_VALUES,
    defaultFlags,
    pfnFlagsMask: 0,
    pfnShift: PAGE_SHIFT,
  });
}

/** The request of a pass: VALID (fault), plus WRITE for a write; 0 for a snapshot. Mirrors range->flags[HMM_PFN_VALID] | range->flags[HMM_PFN_WRITE]. */
export function tableRequest(range: HmmRange, snapshot: boolean, write: boolean): number {
  if (snapshot) return 0;
  return range.flags[HMM_PFN_VALID]! | (write ? range.flags[HMM_PFN_WRITE]! : 0);
}

/** The request that also faults device-private pages back (v5.4 header). Model helper. */
export function devicePrivateRequest(range: HmmRange): number {
  return range.flags[HMM_PFN_DEVICE_PRIVATE]!;
}

/** True if the entry maps a page. Mirrors `entry & range->flags[HMM_PFN_VALID]`. */
export function entryValid(e: number): boolean {
  return e !== DMIRROR_PFN_ERROR && ((e % BITS) & DMIRROR_PFN_VALID) !== 0;
}

/** True for the error value. Mirrors `entry == range->values[HMM_PFN_ERROR]`. */
export function entryError(e: number): boolean {
  return e === DMIRROR_PFN_ERROR;
}

/** True if a valid entry is writable. Mirrors `entry & range->flags[HMM_PFN_WRITE]`. */
export function entryWrite(e: number): boolean {
  return entryValid(e) && ((e % BITS) & DMIRROR_PFN_WRITE) !== 0;
}

/** True if a valid entry is a device-private page. Mirrors `entry & range->flags[HMM_PFN_DEVICE_PRIVATE]`. */
export function entryDevicePrivate(e: number): boolean {
  return entryValid(e) && ((e % BITS) & DMIRROR_PFN_DEVICE_PRIVATE) !== 0;
}

/** The pfn of a valid entry. Mirrors include/linux/hmm.h:hmm_device_entry_to_pfn() (v5.4). */
export function entryPfn(e: number): number {
  return Math.floor(e / PAGE_SIZE);
}
