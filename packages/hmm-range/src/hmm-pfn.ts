/**
 * The driver-defined entry format and the device-entry helpers of the seed header.
 *
 * An entry is `(pfn << pfnShift) | flag bits`, or one of the driver's whole-entry `values[]`. The
 * kernel stores it in a uint64_t; the model stores it in a JavaScript number, so **every entry is a
 * safe integer in [0, 2^53)** (HMM_ENTRY_MAX = 2^53 - 1): `pfn << pfnShift` is computed as
 * `pfn * 2^pfnShift` and flags (each < 2^31, bits 0..30) are OR-ed into the low 31 bits only
 * (`x - x % 2^31 + (x % 2^31 | f)`), so no bitwise operator ever sees a value of 2^31 or more. Real driver tables whose values use the top bits
 * (amdgpu's 0xfffffffffffffffe, nouveau's ~NVIF_VMM_PFNMAP_V0_V) need a 53-bit stand-in:
 * hmmEntryComplement(1) is the 53-bit `~1`.
 *
 * The model's `struct page *` is the page's pfn (an index into the memmap).
 */
import { InvalidArgumentError, ULONG_MAX } from '@hmmsim/kernel';
import {
  HMM_ENTRY_MAX,
  HMM_FLAG_LIMIT,
  HMM_PFN_ERROR,
  HMM_PFN_NONE,
  HMM_PFN_SPECIAL,
  HMM_PFN_VALID,
  type HmmRange,
} from './hmm-range.ts';

const LOW = 2 ** 31;

/** The low 31 bits of an entry (a non-negative safe integer), where all flag bits live. Model helper. */
export function hmmEntryLowBits(x: number): number {
  // Not `x % LOW`: on doubles above 2^31 V8 calls the C library's fmod (~40 ns). Dividing by a
  // power of two, flooring and multiplying back is exact below 2^53 and a few instructions.
  return x - Math.floor(x / LOW) * LOW;
}

/**
 * `x | f` for an entry `x` (safe integer >= 0) and flag bits `f` (< 2^31): only the low 31 bits
 * change. Model helper of the kernel's 64-bit OR.
 */
export function hmmEntryOr(x: number, f: number): number {
  const lo = hmmEntryLowBits(x);
  return x - lo + (lo | f);
}

/** True if any bit of `f` (< 2^31) is set in entry `x`. Model helper of `x & f`. */
export function hmmEntryTest(x: number, f: number): boolean {
  return (hmmEntryLowBits(x) & f) !== 0;
}

/**
 * The 53-bit complement of `v` (HMM_ENTRY_MAX - v), the model's stand-in for `~v` in driver
 * tables (nouveau's ERROR = SPECIAL = ~NVIF_VMM_PFNMAP_V0_V). Model helper.
 */
export function hmmEntryComplement(v: number): number {
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new InvalidArgumentError(`hmmEntryComplement: ${v} is not a safe integer >= 0`);
  }
  return HMM_ENTRY_MAX - v;
}

/** flags[HMM_PFN_VALID] after checking it and pfnShift (InvalidArgumentError otherwise). */
function validFlag(range: HmmRange, fn: string): number {
  const s = range.pfnShift;
  if (!Number.isInteger(s) || s < 0 || s > 52) {
    throw new InvalidArgumentError(
      `${fn}: range.pfnShift ${s} is out of bounds; expected an integer in [0, 52]`,
    );
  }
  const f = range.flags[HMM_PFN_VALID];
  if (typeof f !== 'number' || !Number.isInteger(f) || f < 0 || f >= HMM_FLAG_LIMIT) {
    throw new InvalidArgumentError(
      `${fn}: range.flags[HMM_PFN_VALID] = ${String(f)}; expected an integer bit mask in [0, 2^31)`,
    );
  }
  return f;
}

function checkEntry(fn: string, entry: number): void {
  if (!Number.isSafeInteger(entry) || entry < 0) {
    throw new InvalidArgumentError(
      `${fn}: entry ${entry} is not a device entry; expected a safe integer in [0, 2^53)`,
    );
  }
}

/** True if `entry` is a NONE/ERROR/SPECIAL value or lacks the valid bit. */
function entryInvalid(range: HmmRange, entry: number, valid: number): boolean {
  const v = range.values;
  return (
    entry === v[HMM_PFN_NONE] ||
    entry === v[HMM_PFN_ERROR] ||
    entry === v[HMM_PFN_SPECIAL] ||
    !hmmEntryTest(entry, valid)
  );
}

/**
 * The page (its pfn) a device entry points at, or null for NONE/ERROR/SPECIAL values and entries
 * without flags[HMM_PFN_VALID]. Does not exclude device-private pages: test
 * flags[HMM_PFN_DEVICE_PRIVATE] yourself. Mirrors include/linux/hmm.h:hmm_device_entry_to_page().
 */
export function hmmDeviceEntryToPage(range: HmmRange, entry: number): number | null {
  const valid = validFlag(range, 'hmm_device_entry_to_page');
  checkEntry('hmm_device_entry_to_page', entry);
  if (entryInvalid(range, entry, valid)) return null;
  return Math.floor(entry / 2 ** range.pfnShift);
}

/**
 * The pfn stored in a device entry, or ULONG_MAX (the kernel's -1UL) for NONE/ERROR/SPECIAL values
 * and entries without flags[HMM_PFN_VALID] — where hmmDeviceEntryToPage() says null (NULL) for the
 * same entries: the two helpers differ exactly as the kernel's do.
 * Mirrors include/linux/hmm.h:hmm_device_entry_to_pfn().
 */
export function hmmDeviceEntryToPfn(range: HmmRange, entry: number): number {
  const valid = validFlag(range, 'hmm_device_entry_to_pfn');
  checkEntry('hmm_device_entry_to_pfn', entry);
  if (entryInvalid(range, entry, valid)) return ULONG_MAX;
  return Math.floor(entry / 2 ** range.pfnShift);
}

function fromPfn(fn: string, range: HmmRange, pfn: number): number {
  const valid = validFlag(range, fn);
  if (!Number.isSafeInteger(pfn) || pfn < 0) {
    throw new InvalidArgumentError(`${fn}: pfn ${pfn} is not a safe integer >= 0`);
  }
  const base = pfn * 2 ** range.pfnShift;
  const e = Number.isSafeInteger(base) ? hmmEntryOr(base, valid) : Number.POSITIVE_INFINITY;
  if (e > HMM_ENTRY_MAX) {
    throw new InvalidArgumentError(
      `${fn}: pfn ${pfn} << pfnShift ${range.pfnShift} | flags is not representable below 2^53; ` +
        'expected (pfn * 2^pfnShift | flags[HMM_PFN_VALID]) <= HMM_ENTRY_MAX',
    );
  }
  return e;
}

/**
 * A valid device entry for a page (given as its pfn): `(pfn << pfnShift) | flags[HMM_PFN_VALID]`;
 * InvalidArgumentError if not representable below 2^53.
 * Mirrors include/linux/hmm.h:hmm_device_entry_from_page().
 */
export function hmmDeviceEntryFromPage(range: HmmRange, page: number): number {
  return fromPfn('hmm_device_entry_from_page', range, page);
}

/**
 * A valid device entry for `pfn`: `(pfn << pfnShift) | flags[HMM_PFN_VALID]`; InvalidArgumentError
 * if not representable below 2^53. Mirrors include/linux/hmm.h:hmm_device_entry_from_pfn().
 */
export function hmmDeviceEntryFromPfn(range: HmmRange, pfn: number): number {
  return fromPfn('hmm_device_entry_from_pfn', range, pfn);
}
