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
import { checkIntIn, checkUlong, InvalidArgumentError, isUlong, ULONG_MAX } from '@hmmsim/kernel';
import { entryLowBits, entryOr, entryTest } from './entry-bits.ts';
import {
  HMM_ENTRY_MAX,
  HMM_FLAG_LIMIT,
  HMM_PFN_ERROR,
  HMM_PFN_NONE,
  HMM_PFN_SPECIAL,
  HMM_PFN_VALID,
  type HmmRange,
} from './hmm-range.ts';

const ENTRY = 'an entry (a safe integer >= 0)';
const FLAG = 'flag bits below 2^31 (bits 0..30)';

/** Throw InvalidArgumentError unless `f` is a flag word below 2^31. */
function checkFlag(fn: string, arg: string, f: number): void {
  if (!(isUlong(f) && f < HMM_FLAG_LIMIT)) checkIntIn(fn, arg, f, 0, HMM_FLAG_LIMIT - 1, FLAG);
}

/**
 * The low 31 bits of an entry (a non-negative safe integer), where all flag bits live;
 * InvalidArgumentError for anything else. Model helper.
 */
export function hmmEntryLowBits(x: number): number {
  if (!isUlong(x)) checkUlong('hmmEntryLowBits', 'x', x, ENTRY);
  return entryLowBits(x);
}

/**
 * `x | f` for an entry `x` (safe integer >= 0) and flag bits `f` (< 2^31): only the low 31 bits
 * change. Model helper of the kernel's 64-bit OR.
 */
export function hmmEntryOr(x: number, f: number): number {
  if (!isUlong(x)) checkUlong('hmmEntryOr', 'x', x, ENTRY);
  checkFlag('hmmEntryOr', 'f', f);
  return entryOr(x, f);
}

/** True if any bit of `f` (< 2^31) is set in entry `x`. Model helper of `x & f`. */
export function hmmEntryTest(x: number, f: number): boolean {
  if (!isUlong(x)) checkUlong('hmmEntryTest', 'x', x, ENTRY);
  checkFlag('hmmEntryTest', 'f', f);
  return entryTest(x, f);
}

/**
 * The 53-bit complement of `v` (HMM_ENTRY_MAX - v), the model's stand-in for `~v` in driver
 * tables (nouveau's ERROR = SPECIAL = ~NVIF_VMM_PFNMAP_V0_V). Model helper.
 */
export function hmmEntryComplement(v: number): number {
  checkUlong('hmmEntryComplement', 'v', v, ENTRY);
  return HMM_ENTRY_MAX - v;
}

/** flags[HMM_PFN_VALID] after checking it and pfnShift (InvalidArgumentError otherwise). */
function validFlag(range: HmmRange, fn: string): number {
  if (typeof range !== 'object' || range === null) {
    throw new InvalidArgumentError(
      `${fn}: range is ${range === null ? 'null' : `a ${typeof range}`}; expected an HmmRange (createHmmRange)`,
    );
  }
  checkIntIn(fn, 'range.pfnShift', range.pfnShift, 0, 52, 'a shift in [0, 52]');
  const flags: unknown = range.flags;
  if (!Array.isArray(flags) && !ArrayBuffer.isView(flags)) {
    throw new InvalidArgumentError(
      `${fn}: range.flags is not an array; expected the driver flags table`,
    );
  }
  const f = (flags as ArrayLike<number>)[HMM_PFN_VALID];
  checkIntIn(fn, 'range.flags[HMM_PFN_VALID]', f, 0, HMM_FLAG_LIMIT - 1, FLAG);
  return f;
}

function checkEntry(fn: string, entry: number): void {
  if (!isUlong(entry))
    checkUlong(fn, 'entry', entry, 'a device entry (a safe integer in [0, 2^53))');
}

/** True if `entry` is a NONE/ERROR/SPECIAL value or lacks the valid bit. */
function entryInvalid(range: HmmRange, entry: number, valid: number): boolean {
  const v = range.values;
  return (
    entry === v[HMM_PFN_NONE] ||
    entry === v[HMM_PFN_ERROR] ||
    entry === v[HMM_PFN_SPECIAL] ||
    !entryTest(entry, valid)
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

function fromPfn(fn: string, arg: string, range: HmmRange, pfn: number): number {
  const valid = validFlag(range, fn);
  checkUlong(fn, arg, pfn, 'a pfn (a safe integer >= 0)');
  const base = pfn * 2 ** range.pfnShift;
  const e = Number.isSafeInteger(base) ? entryOr(base, valid) : Number.POSITIVE_INFINITY;
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
  return fromPfn('hmm_device_entry_from_page', 'page', range, page);
}

/**
 * A valid device entry for `pfn`: `(pfn << pfnShift) | flags[HMM_PFN_VALID]`; InvalidArgumentError
 * if not representable below 2^53. Mirrors include/linux/hmm.h:hmm_device_entry_from_pfn().
 */
export function hmmDeviceEntryFromPfn(range: HmmRange, pfn: number): number {
  return fromPfn('hmm_device_entry_from_pfn', 'pfn', range, pfn);
}
