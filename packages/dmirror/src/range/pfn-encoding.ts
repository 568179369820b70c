/**
 * The entry format the dmirror hands to hmm_range_fault(): the page's pfn at PAGE_SHIFT and the
 * driver bits VALID = 1, WRITE = 2, DEVICE_PRIVATE = 4 below it; ERROR (and SPECIAL) = 8 with no
 * VALID bit, NONE = 0. Every entry is a safe integer (pfn * 4096 + bits).
 *
 * Mirrors the v5.7+ HMM_PFN_VALID / HMM_PFN_WRITE / HMM_PFN_ERROR bits lib/test_hmm.c tests,
 * expressed in the seed header's driver-defined flags[]/values[] tables (include/linux/hmm.h at
 * 04ec32fbc2b2) that @hmmsim/hmm-range implements.
 */
import {
  createHmmRange,
  HMM_PFN_DEVICE_PRIVATE,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  type HmmRange,
} from '@hmmsim/hmm-range';
import { PAGE_SHIFT, PAGE_SIZE } from '@hmmsim/kernel';

/** Entry bit: the entry maps a page. Mirrors include/linux/hmm.h:HMM_PFN_VALID (v5.7+). */
export const DMIRROR_PFN_VALID = 1;
/** Entry bit: the CPU mapping is writable. Mirrors include/linux/hmm.h:HMM_PFN_WRITE (v5.7+). */
export const DMIRROR_PFN_WRITE = 2;
/** Entry bit: a device-private page. Mirrors include/linux/hmm.h:HMM_PFN_DEVICE_PRIVATE (seed). */
export const DMIRROR_PFN_DEVICE_PRIVATE = 4;
/** Whole-entry value: error (no VMA, unreadable, special). Mirrors include/linux/hmm.h:HMM_PFN_ERROR (v5.7+). */
export const DMIRROR_PFN_ERROR = 8;
/** Whole-entry value: nothing mapped. Mirrors a v5.7+ entry without HMM_PFN_VALID. */
export const DMIRROR_PFN_NONE = 0;

/** flags[] of the dmirror's ranges, indexed by HMM_PFN_VALID/WRITE/DEVICE_PRIVATE. Mirrors struct hmm_range.flags (seed). */
export const DMIRROR_PFN_FLAGS: readonly number[] = Object.freeze([
  DMIRROR_PFN_VALID,
  DMIRROR_PFN_WRITE,
  DMIRROR_PFN_DEVICE_PRIVATE,
]);
/** values[] of the dmirror's ranges: ERROR, NONE, SPECIAL. Mirrors struct hmm_range.values (seed). */
export const DMIRROR_PFN_VALUES: readonly number[] = Object.freeze([
  DMIRROR_PFN_ERROR,
  DMIRROR_PFN_NONE,
  DMIRROR_PFN_ERROR,
]);

const BITS = 16;

/**
 * A range over `[start, end)` with the dmirror's tables: per-range requests (`pfnFlagsMask` 0)
 * `defaultFlags`, as dmirror_fault() sets up its hmm_range.
 * Mirrors the struct hmm_range initialisers of lib/test_hmm.c.
 */
export function dmirrorHmmRange(start: number, end: number, defaultFlags: number): HmmRange {
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

/** The request of a fault pass: FAULT, plus WRITE for a write. Mirrors HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE. */
export function faultRequest(range: HmmRange, write: boolean): number {
  return range.flags[HMM_PFN_VALID]! | (write ? range.flags[HMM_PFN_WRITE]! : 0);
}

/** The request that also faults device-private pages back (seed header). Model helper. */
export function devicePrivateRequest(range: HmmRange): number {
  return range.flags[HMM_PFN_DEVICE_PRIVATE]!;
}

/** True if the entry maps a page. Mirrors `entry & HMM_PFN_VALID`. */
export function entryValid(e: number): boolean {
  return e !== DMIRROR_PFN_ERROR && ((e % BITS) & DMIRROR_PFN_VALID) !== 0;
}

/** True for the error value. Mirrors `entry & HMM_PFN_ERROR`. */
export function entryError(e: number): boolean {
  return e === DMIRROR_PFN_ERROR;
}

/** True if a valid entry is writable. Mirrors `entry & HMM_PFN_WRITE`. */
export function entryWrite(e: number): boolean {
  return entryValid(e) && ((e % BITS) & DMIRROR_PFN_WRITE) !== 0;
}

/** True if a valid entry is a device-private page. Model helper (seed header flag). */
export function entryDevicePrivate(e: number): boolean {
  return entryValid(e) && ((e % BITS) & DMIRROR_PFN_DEVICE_PRIVATE) !== 0;
}

/** The pfn of a valid entry. Mirrors include/linux/hmm.h:hmm_pfn_to_page() (a page is its pfn). */
export function entryPfn(e: number): number {
  return Math.floor(e / PAGE_SIZE);
}
