/**
 * `struct hmm_range` of the seed header (include/linux/hmm.h at 04ec32fbc2b2), its flag and value
 * indexes, the HMM_FAULT_* flags, the collision check of the transitional seed (interval notifier
 * sequence or the legacy `valid` flag) and the version/quirk switches of hmm_range_fault().
 *
 * Entries of `pfns` and of `values` are numbers, safe integers in [0, 2^53) (see hmm-pfn.ts);
 * `flags` are bit masks below 2^31 (bits 0..30), so every flag test works on the low 31 bits of an
 * entry and no bitwise operator sees a value of 2^31 or more.
 */
import {
  accessReporting,
  checkIntIn,
  checkUlong,
  InvalidArgumentError,
  noteRead,
  PAGE_SHIFT,
  PAGE_SIZE,
} from '@hmmsim/kernel';
import type { MmStruct, VmArea } from '@hmmsim/mm';
import { type MmuIntervalNotifier, mmuIntervalCheckRetry } from '@hmmsim/mmu-notifier';
import type { HmmPfnsRange } from './hmm-pfns-range.ts';
import { checkRangeInit } from './hmm-range-init.ts';
import { hmmRangeCollisionSource } from './hmm-range-notifier.ts';

// ---- enum hmm_pfn_flag_e: indexes into HmmRange.flags ----

/** Index of the driver's "valid (at least readable)" bit. Mirrors include/linux/hmm.h:HMM_PFN_VALID. */
export const HMM_PFN_VALID = 0;
/** Index of the driver's "CPU entry writable" bit. Mirrors include/linux/hmm.h:HMM_PFN_WRITE. */
export const HMM_PFN_WRITE = 1;
/** Index of the driver's "device-private page" bit. Mirrors include/linux/hmm.h:HMM_PFN_DEVICE_PRIVATE. */
export const HMM_PFN_DEVICE_PRIVATE = 2;
/** Number of flag indexes. Mirrors include/linux/hmm.h:HMM_PFN_FLAG_MAX. */
export const HMM_PFN_FLAG_MAX = 3;

// ---- enum hmm_pfn_value_e: indexes into HmmRange.values ----

/** Index of the driver's whole-entry "error / poisoned" value. Mirrors include/linux/hmm.h:HMM_PFN_ERROR. */
export const HMM_PFN_ERROR = 0;
/** Index of the driver's whole-entry "nothing mapped" value. Mirrors include/linux/hmm.h:HMM_PFN_NONE. */
export const HMM_PFN_NONE = 1;
/** Index of the driver's whole-entry "special mapping" value. Mirrors include/linux/hmm.h:HMM_PFN_SPECIAL. */
export const HMM_PFN_SPECIAL = 2;
/** Number of value indexes. Mirrors include/linux/hmm.h:HMM_PFN_VALUE_MAX. */
export const HMM_PFN_VALUE_MAX = 3;

// ---- hmm_range_fault() flags ----

/** The fault handler may drop mmap_sem; the call then returns -EAGAIN. Mirrors include/linux/hmm.h:HMM_FAULT_ALLOW_RETRY. */
export const HMM_FAULT_ALLOW_RETRY = 1 << 0;
/** Never fault: only report the current CPU page-table state. Mirrors include/linux/hmm.h:HMM_FAULT_SNAPSHOT. */
export const HMM_FAULT_SNAPSHOT = 1 << 1;

/**
 * Milliseconds a driver waits for a range to settle before giving up (its retry-loop deadline:
 * `jiffies + msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT)`), in every generation's header.
 * Mirrors include/linux/hmm.h:HMM_RANGE_DEFAULT_TIMEOUT.
 */
export const HMM_RANGE_DEFAULT_TIMEOUT = 1000;

/** Largest entry value (2^53 - 1): entries, values[], defaultFlags and pfnFlagsMask stay at or below it. */
export const HMM_ENTRY_MAX = Number.MAX_SAFE_INTEGER;
/** `pfnFlagsMask` with every bit set, the model's `~0ULL` (53 ones). */
export const HMM_PFN_FLAGS_MASK_ALL = HMM_ENTRY_MAX;
/** Flags (HmmRange.flags[i]) must be below this (bits 0..30): they are OR-ed into the low 31 bits only. */
export const HMM_FLAG_LIMIT = 2 ** 31;

/**
 * The part of the legacy per-mm `struct hmm` that hmm_range_fault() reads (`hmm->mmu_notifier.mm`).
 * `@hmmsim/hmm-mirror`'s struct hmm satisfies it structurally.
 * Mirrors include/linux/hmm.h:struct hmm (its mmu_notifier member).
 */
export interface HmmPerMm {
  readonly mmuNotifier: { readonly mm: MmStruct | null };
}

/**
 * A range being mirrored: input requests and output entries in `pfns`, the driver's flag bits and
 * special values, and the collision state (`notifier` + `notifierSeq`, or the legacy `hmm` +
 * `valid`). Fields are written by the driver (and `hmm`/`valid` by hmm-mirror's register and
 * invalidation code); hmm_range_fault() only writes `pfns`.
 * Mirrors include/linux/hmm.h:struct hmm_range (the seed; `list` lives in hmm-mirror's own list).
 */
export interface HmmRange {
  /** Optional interval notifier (v5.5 path). Null: legacy path through `hmm` and `valid`. */
  notifier: MmuIntervalNotifier | null;
  /** Result of mmuIntervalReadBegin(notifier) taken before the call. */
  notifierSeq: number;
  /** The per-mm struct hmm set by hmm_range_register (legacy path only). */
  hmm: HmmPerMm | null;
  /** First address, inclusive, page aligned. */
  start: number;
  /** Last address, exclusive, page aligned. */
  end: number;
  /** One entry per page: requests on input, results on output (safe integers). */
  pfns: Float64Array;
  /** Driver bit for HMM_PFN_VALID / HMM_PFN_WRITE / HMM_PFN_DEVICE_PRIVATE (each < 2^31, may be 0). */
  flags: readonly number[];
  /** Driver whole-entry value for HMM_PFN_ERROR / HMM_PFN_NONE / HMM_PFN_SPECIAL. */
  values: readonly number[];
  /** Request bits applied to every page: req(i) = (pfns[i] & pfnFlagsMask) | defaultFlags. */
  defaultFlags: number;
  /** Which request bits of pfns[i] count (0: only defaultFlags; HMM_PFN_FLAGS_MASK_ALL: all). */
  pfnFlagsMask: number;
  /** Output pfn position: entry = (pfn << pfnShift) | flags. */
  pfnShift: number;
  /** Legacy collision flag: false once an invalidation touched the registered range. */
  valid: boolean;
  /**
   * v5.7+: device-private pages whose dev_pagemap.owner is this are reported (VALID); others are
   * not. Must stay null for v5.4–v5.5, which report every device's pages.
   */
  devPrivateOwner: unknown;
}

/** Fields of createHmmRange(); everything but start, end, flags and values has a default. */
export interface HmmRangeInit {
  readonly start: number;
  readonly end: number;
  readonly flags: readonly number[];
  readonly values: readonly number[];
  /** Default: a zero-filled array of (end - start) / PAGE_SIZE entries. */
  readonly pfns?: Float64Array;
  readonly notifier?: MmuIntervalNotifier | null;
  readonly notifierSeq?: number;
  readonly hmm?: HmmPerMm | null;
  readonly defaultFlags?: number;
  readonly pfnFlagsMask?: number;
  /** Default PAGE_SHIFT. */
  readonly pfnShift?: number;
  /** Default false (as hmm_range_register leaves it before the first check). */
  readonly valid?: boolean;
  /** Default null (v5.7+ only). */
  readonly devPrivateOwner?: unknown;
}

/**
 * A new HmmRange with the given fields and the defaults listed in HmmRangeInit. Only what a C
 * initializer could not hold is refused (InvalidArgumentError: NaN, a fraction, a negative or
 * 2^53 for an address, sequence or mask); an unaligned or empty range is a value the kernel
 * refuses, with -EINVAL, in hmmRangeFault(). Model helper (a C designated initializer of struct
 * hmm_range).
 */
export function createHmmRange(init: HmmRangeInit): HmmRange {
  checkRangeInit('createHmmRange', init);
  if (init.pfnShift !== undefined) {
    checkIntIn('createHmmRange', 'pfnShift', init.pfnShift, 0, 52, 'a shift in [0, 52]');
  }
  const npages = Math.max(0, Math.floor((init.end - init.start) / PAGE_SIZE));
  return {
    notifier: init.notifier ?? null,
    notifierSeq: init.notifierSeq ?? 0,
    hmm: init.hmm ?? null,
    start: init.start,
    end: init.end,
    pfns: init.pfns ?? new Float64Array(Number.isSafeInteger(npages) ? npages : 0),
    flags: init.flags,
    values: init.values,
    defaultFlags: init.defaultFlags ?? 0,
    pfnFlagsMask: init.pfnFlagsMask ?? 0,
    pfnShift: init.pfnShift ?? PAGE_SHIFT,
    valid: init.valid ?? false,
    devPrivateOwner: init.devPrivateOwner ?? null,
  };
}

/** Number of pages of a (page-aligned) range. Model helper ((end - start) >> PAGE_SHIFT). */
export function hmmRangeNpages(range: HmmRange): number {
  return (range.end - range.start) / PAGE_SIZE;
}

/**
 * The mm of the range: the notifier's when there is one, else the legacy hmm's. KernelBugError
 * when neither is set up (the kernel would oops on the NULL pointer), when the notifier is not
 * inserted (never, or already removed: collision detection would silently be off) or does not
 * cover [start, end) (an invalidation of the uncovered part would go unseen).
 * Mirrors the seed's `range->notifier ? range->notifier->mm : range->hmm->mmu_notifier.mm`.
 */
export function hmmRangeMm(range: HmmRange | HmmPfnsRange, fn = 'hmm_range_fault'): MmStruct {
  return hmmRangeCollisionSource(range, fn);
}

/**
 * True if the range collided with an invalidation: mmuIntervalCheckRetry(notifier, notifierSeq)
 * with a notifier (KernelBugError if it is no longer inserted, InvalidArgumentError for a
 * notifierSeq that is not an unsigned long), else `!range.valid` (the legacy flag, race R1
 * included; InvalidArgumentError unless a boolean).
 * Mirrors the seed's needs-retry test in mm/hmm.c (hmm_range_fault()/hmm_range_dma_map()).
 */
export function hmmRangeNeedsRetry(range: HmmRange | HmmPfnsRange): boolean {
  if (accessReporting) noteRead(range); // `valid` is written by invalidations on other CPUs (hmm-mirror)
  if (range.notifier !== null) return mmuIntervalCheckRetry(range.notifier, range.notifierSeq);
  const valid = (range as HmmRange).valid;
  if (typeof valid !== 'boolean') {
    throw new InvalidArgumentError(
      `hmm_range_fault: range.valid is ${valid === null ? 'null' : `a ${typeof valid}`}; expected a boolean (false until hmm_range_register)`,
    );
  }
  return !valid;
}

// ---- versions and quirks ----

/**
 * Which hmm_range_fault() to run — one switch over the API generations a 2019–2020 driver port
 * went through:
 * - '5.4' (per-VMA loop with find_vma, all its quirks), 'seed' (the same loop at 04ec32fbc2b2,
 *   where the zero-page fix Q3 is already in), '5.5' (one walk_page_range per pass with a per-VMA
 *   test_walk): `hmmRangeFault(range, flags)`, driver tables, the collision check of the seed
 *   (interval notifier or the legacy `valid`), the count of valid pages returned;
 * - '5.7': `hmmRangeFault(range)` with no flags (a snapshot requests nothing), `devPrivateOwner`,
 *   tables without HMM_PFN_DEVICE_PRIVATE, a notifier required, still the count returned;
 * - '5.8': the fixed `hmmPfns` format (hmm-pfns.ts) on an HmmPfnsRange, 0 or -errno;
 * - '5.9': '5.8' plus the map order of each entry (hmmPfnToMapOrder).
 */
export type HmmVersion = '5.4' | 'seed' | '5.5' | '5.7' | '5.8' | '5.9';

/** The generations called as `hmmRangeFault(range, flags)`: driver tables and HMM_FAULT_* flags. */
export type HmmFlagsVersion = '5.4' | 'seed' | '5.5';

/** Every generation, oldest first. Model helper (for tests and listings). */
export const HMM_VERSIONS: readonly HmmVersion[] = Object.freeze([
  '5.4',
  'seed',
  '5.5',
  '5.7',
  '5.8',
  '5.9',
]);

/**
 * Individual behaviours of the 2019 code (the quirks in docs/kernel/generations.md). `true` reproduces the kernel's
 * behaviour, `false` gives the later fixed behaviour. Q1 and Q8 only exist in the v5.4 loop.
 * Q6/Q7 (hugetlbfs), Q9 (by design of the encoding) and Q11 (hmm-mirror) are not switches here.
 */
export interface HmmQuirks {
  /** Q1: the v5.4 loop walks each VMA once more first and ignores that pass's result. */
  readonly q1StrayWalk: boolean;
  /** Q2: a fault at one page faults every page up to the end of the walk chunk with the same decision; false: only pages whose own request needs it. */
  readonly q2FaultWholeChunk: boolean;
  /** Q3: the zero page is reported SPECIAL and fails with -EFAULT. */
  readonly q3ZeroPageSpecial: boolean;
  /** Q4: PTE migration entries are never waited on (NONE even when a fault is requested); false: wait and re-walk. */
  readonly q4MigrationNoWait: boolean;
  /** Q5: a THP-migration PMD without a fault request leaves pfns untouched; false: NONE. */
  readonly q5PmdMigrationLeavesRequests: boolean;
  /** Q8: on error the v5.4 loop sets every entry from walk.last to the end to NONE. */
  readonly q8NoneFillOnError: boolean;
  /**
   * Q10: special PTEs and other non-present entries fail with -EFAULT even when nothing is
   * requested; false (v5.7): a special PTE gets the SPECIAL marker, other entries NONE, and
   * -EFAULT only when a fault is requested there.
   */
  readonly q10SpecialFailsInSnapshot: boolean;
  /**
   * Q12: an unfaulted PROT_NONE (NUMA hinting) entry is reported pfn|VALID — at PTE level up to
   * v5.5 (PMD level: NONE), at both levels in v5.7; false: NONE up to v5.5, the bare pfn (no
   * flags) from v5.7, as v5.8 reports it.
   */
  readonly q12ProtnoneReportedValid: boolean;
  /**
   * Q13 (v5.7–v5.18): a device-private page of another owner with a fault requested fails with
   * -EFAULT instead of being faulted back through its owner's migrate_to_ram; false: faulted
   * back, as since 8a295dbbaf72 ("mm/hmm: fault non-owner device private entries", v5.19).
   * No effect before v5.7 (every owner's page is reported).
   */
  readonly q13ForeignPrivateFaultFails: boolean;
}

const QUIRKS_2019: HmmQuirks = {
  q1StrayWalk: true,
  q2FaultWholeChunk: true,
  q3ZeroPageSpecial: true,
  q4MigrationNoWait: true,
  q5PmdMigrationLeavesRequests: true,
  q8NoneFillOnError: true,
  q10SpecialFailsInSnapshot: true,
  q12ProtnoneReportedValid: true,
  q13ForeignPrivateFaultFails: false,
};

/** v5.7 (after the "hmm_range_fault() cleanups" series): Q4, Q5, Q10 fixed; Q13 new. */
const QUIRKS_2020: HmmQuirks = {
  ...QUIRKS_2019,
  q1StrayWalk: false,
  q3ZeroPageSpecial: false,
  q4MigrationNoWait: false,
  q5PmdMigrationLeavesRequests: false,
  q8NoneFillOnError: false,
  q10SpecialFailsInSnapshot: false,
  q13ForeignPrivateFaultFails: true,
};

/**
 * The quirk settings of a version: '5.4' all on; 'seed' all but Q3; '5.5' without Q1, Q3, Q8
 * (fixed by d28c2c9a4877 and ac541f250372), the rest on; '5.7' also without Q4, Q5, Q10 (the
 * 2020 "hmm_range_fault() cleanups" and error-case series) but with Q13; '5.8'/'5.9' as '5.7'
 * with Q12 off (the fixed format encodes a protnone entry as the bare pfn). Model helper.
 */
export function hmmQuirksFor(version: HmmVersion): HmmQuirks {
  if (!HMM_VERSIONS.includes(version)) {
    throw new InvalidArgumentError(
      `hmmQuirksFor: version is '${String(version)}'; expected one of ${HMM_VERSIONS.map((x) => `'${x}'`).join(', ')}`,
    );
  }
  if (version === '5.4') return QUIRKS_2019;
  if (version === 'seed') return { ...QUIRKS_2019, q3ZeroPageSpecial: false };
  if (version === '5.5') {
    return {
      ...QUIRKS_2019,
      q1StrayWalk: false,
      q3ZeroPageSpecial: false,
      q8NoneFillOnError: false,
    };
  }
  if (version === '5.7') return QUIRKS_2020;
  return { ...QUIRKS_2020, q12ProtnoneReportedValid: false };
}

/**
 * The page-fault entry point hmm_range_fault() calls; returns VM_FAULT_* bits. When it returns
 * VM_FAULT_RETRY it must have released mmap_sem (as handle_mm_fault does).
 */
export type HmmFaultHandler = (vma: VmArea, address: number, faultFlags: number) => Promise<number>;

/** Options of hmmRangeFault() (model-only; the kernel has one behaviour per build). */
export interface HmmRangeFaultOptions {
  /**
   * Default '5.5' for `hmmRangeFault(range, flags)`, '5.8' for `hmmRangeFault(range)` (the
   * one-argument shape; a v5.7 range with tables needs `version: '5.7'`).
   */
  readonly version?: HmmVersion;
  /** Overrides of single quirks on top of the version's set. */
  readonly quirks?: Partial<HmmQuirks>;
  /** Default @hmmsim/mm's handleMmFault (which never returns VM_FAULT_RETRY). */
  readonly faultHandler?: HmmFaultHandler;
}

function checkFlagTable(
  fn: string,
  name: string,
  table: unknown,
  count: number,
  limit: number,
  what: string,
): void {
  if (!Array.isArray(table) && !ArrayBuffer.isView(table)) {
    throw new InvalidArgumentError(
      `${fn}: range.${name} is ${table === null ? 'null' : `a ${typeof table}`}; expected an array of ${count}`,
    );
  }
  const t = table as ArrayLike<unknown>;
  if (t.length < count) {
    throw new InvalidArgumentError(
      `${fn}: range.${name} has ${t.length} entries; expected ${count} (indexes 0..${count - 1})`,
    );
  }
  for (let i = 0; i < count; i++) checkIntIn(fn, `range.${name}[${i}]`, t[i], 0, limit - 1, what);
}

/**
 * Check the driver tables and scalar fields of a range: flags[] integers in [0, 2^31), values[]
 * and defaultFlags/pfnFlagsMask safe integers in [0, 2^53), pfnShift an integer in [0, 52].
 * Throws InvalidArgumentError naming `fn`. Model helper (the kernel trusts the driver).
 */
export function hmmRangeCheckTables(
  range: HmmRange,
  flagMax = HMM_PFN_FLAG_MAX,
  fn = 'hmm_range_fault',
): void {
  checkFlagTable(
    fn,
    'flags',
    range.flags,
    flagMax,
    HMM_FLAG_LIMIT,
    'an integer bit mask in [0, 2^31) (bits 0..30)',
  );
  checkFlagTable(
    fn,
    'values',
    range.values,
    HMM_PFN_VALUE_MAX,
    2 ** 53,
    'a safe integer entry value in [0, 2^53)',
  );
  checkUlong(fn, 'range.defaultFlags', range.defaultFlags, 'request bits (a safe integer >= 0)');
  checkUlong(
    fn,
    'range.pfnFlagsMask',
    range.pfnFlagsMask,
    'a mask (a safe integer >= 0; use HMM_PFN_FLAGS_MASK_ALL for ~0)',
  );
  checkIntIn(
    fn,
    'range.pfnShift',
    range.pfnShift,
    0,
    52,
    'a shift in [0, 52] (entries are 53-bit numbers; the kernel expects <= PAGE_SHIFT)',
  );
}
