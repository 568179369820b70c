/**
 * The device-entry format the model drivers hand to hmm_range_fault(): nouveau's 2019 table
 * (V = 0x1, W = 0x2, VRAM = 0x10; NONE = 0; ERROR = SPECIAL = ~V, here the 53-bit complement)
 * with the address at bit 12, and the helpers that build requests and read results.
 *
 * Mirrors drivers/gpu/drm/nouveau/nouveau_svm.c (v5.4): nouveau_svm_pfn_flags,
 * nouveau_svm_pfn_values, NVIF_VMM_PFNMAP_V0_ADDR_SHIFT.
 */
import {
  createHmmRange,
  HMM_PFN_DEVICE_PRIVATE,
  HMM_PFN_ERROR,
  HMM_PFN_FLAGS_MASK_ALL,
  HMM_PFN_NONE,
  HMM_PFN_SPECIAL,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  type HmmFlagsVersion,
  type HmmRange,
  hmmDeviceEntryToPfn,
  hmmEntryComplement,
  hmmEntryTest,
} from '@hmmsim/hmm-range';
import {
  accessReporting,
  checkIntIn,
  checkUlong,
  InvalidArgumentError,
  noteWrite,
  PAGE_SIZE,
  ULONG_MAX,
} from '@hmmsim/kernel';
import { DEV_PTE_VALID, DEV_PTE_WRITE, type DevicePageTable } from './device-pagetable.ts';

/**
 * Throw InvalidArgumentError unless `write` is a boolean (a write fault or not).
 * Model helper.
 */
export function checkWrite(fn: string, write: unknown): void {
  if (typeof write !== 'boolean') {
    throw new InvalidArgumentError(`${fn}: write is ${String(write)}; expected a boolean`);
  }
}

/**
 * Throw InvalidArgumentError unless `v` is undefined or a generation called with a flags
 * argument ('5.4', 'seed', '5.5'), the ones the model drivers run. Model helper.
 */
export function checkFlagsVersion(
  fn: string,
  v: unknown,
): asserts v is HmmFlagsVersion | undefined {
  if (v !== undefined && v !== '5.4' && v !== 'seed' && v !== '5.5') {
    throw new InvalidArgumentError(
      `${fn}: hmmVersion is '${String(v)}'; expected '5.4', 'seed' or '5.5' (the drivers call hmmRangeFault(range, flags))`,
    );
  }
}

/** Valid bit. Mirrors NVIF_VMM_PFNMAP_V0_V. */
export const DRV_V = 0x1;
/** Writable bit. Mirrors NVIF_VMM_PFNMAP_V0_W. */
export const DRV_W = 0x2;
/** VRAM aperture (device-private page). Mirrors NVIF_VMM_PFNMAP_V0_VRAM. */
export const DRV_VRAM = 0x10;
/** Address shift. Mirrors NVIF_VMM_PFNMAP_V0_ADDR_SHIFT. */
export const DRV_ADDR_SHIFT = 12;

/** flags[] of the driver. Mirrors nouveau_svm_pfn_flags. */
export const DRIVER_PFN_FLAGS: readonly number[] = Object.freeze([DRV_V, DRV_W, DRV_VRAM]);
/** values[] of the driver: ERROR = ~V, NONE = 0, SPECIAL = ~V. Mirrors nouveau_svm_pfn_values. */
export const DRIVER_PFN_VALUES: readonly number[] = Object.freeze([
  hmmEntryComplement(DRV_V),
  0,
  hmmEntryComplement(DRV_V),
]);

/**
 * A range over `[start, start + npages pages)` with the driver's table and per-page requests
 * (pfnFlagsMask all ones, defaultFlags 0: nouveau's setting).
 * Mirrors the range setup of nouveau_svm_fault() (v5.4).
 */
export function driverRange(start: number, npages: number): HmmRange {
  checkUlong('driverRange', 'start', start, 'an address');
  checkIntIn('driverRange', 'npages', npages, 1, Number.MAX_SAFE_INTEGER, 'a page count >= 1');
  if (!Number.isSafeInteger(start + npages * PAGE_SIZE)) {
    throw new InvalidArgumentError(
      `driverRange: ${npages} pages from 0x${start.toString(16)} end past 2^53; expected a range of addresses`,
    );
  }
  return createHmmRange({
    start,
    end: start + npages * PAGE_SIZE,
    flags: DRIVER_PFN_FLAGS,
    values: DRIVER_PFN_VALUES,
    defaultFlags: 0,
    pfnFlagsMask: HMM_PFN_FLAGS_MASK_ALL,
    pfnShift: DRV_ADDR_SHIFT,
  });
}

/**
 * (Re)write the per-page requests: VALID, plus WRITE for a write fault. Done before every
 * hmm_range_fault() call because the call overwrites `pfns` with results (not doing it is R12).
 * Mirrors the request setup of nouveau_svm_fault().
 */
export function setRequests(range: HmmRange, write: boolean): void {
  checkWrite('setRequests', write);
  const req = range.flags[HMM_PFN_VALID]! | (write ? range.flags[HMM_PFN_WRITE]! : 0);
  range.pfns.fill(req);
}

/**
 * Program `dev` from the results in `range.pfns` (page i of the range is page i of the device
 * table): valid entries map their pfn (writable if the result has WRITE), the others are
 * cleared; device-private entries are skipped (not CPU addressable). Returns the number mapped.
 * Call with the driver lock held, after the collision check.
 * Mirrors the PFNMAP programming of nouveau_svm_fault() (nouveau_dmem_convert_pfn + the method).
 */
export function programDevice(dev: DevicePageTable, range: HmmRange): number {
  const lo = Math.max(range.start, dev.start);
  const hi = Math.min(range.start + range.pfns.length * PAGE_SIZE, dev.end);
  if (lo >= hi) return 0;
  const i0 = (lo - range.start) / PAGE_SIZE;
  // Validates pfnShift and flags[VALID] once; the loop then decodes as hmmDeviceEntryToPfn() does.
  hmmDeviceEntryToPfn(range, range.pfns[i0]!);
  const dec = decoderOf(range);
  const d0 = (lo - dev.start) / PAGE_SIZE;
  const n = (hi - lo) / PAGE_SIZE;
  const pfns = range.pfns;
  const devPfn = dev.pfn;
  const devFlags = dev.flags;
  let mapped = 0;
  for (let k = 0; k < n; k++) {
    const e = pfns[i0 + k]!;
    const low = entryLowBits(e);
    if (accessReporting) noteWrite(dev, d0 + k);
    if (!mappable(dec, e, low)) {
      devFlags[d0 + k] = 0;
      devPfn[d0 + k] = 0;
      continue;
    }
    devPfn[d0 + k] = Math.floor(e / dec.scale);
    devFlags[d0 + k] = (low & dec.write) !== 0 ? DEV_PTE_VALID | DEV_PTE_WRITE : DEV_PTE_VALID;
    mapped++;
  }
  if (accessReporting) noteWrite(dev, dev.npages);
  dev.programmed += mapped;
  return mapped;
}

/** A range's decoding table, read once per call (property loads stay out of the loop). */
interface Decoder {
  readonly none: number;
  readonly error: number;
  readonly special: number;
  readonly valid: number;
  readonly write: number;
  readonly devicePrivate: number;
  readonly scale: number;
}

/** The decoding table of `range`. */
function decoderOf(range: HmmRange): Decoder {
  return {
    none: range.values[HMM_PFN_NONE]!,
    error: range.values[HMM_PFN_ERROR]!,
    special: range.values[HMM_PFN_SPECIAL]!,
    valid: range.flags[HMM_PFN_VALID]!,
    write: range.flags[HMM_PFN_WRITE]!,
    devicePrivate: range.flags[HMM_PFN_DEVICE_PRIVATE]!,
    scale: 2 ** range.pfnShift,
  };
}

/** Low 31 bits of a safe-integer entry (exact; no fmod). Throws on a non-entry. */
function entryLowBits(e: number): number {
  if (!Number.isSafeInteger(e) || e < 0) {
    throw new InvalidArgumentError(`programDevice: entry ${e} is not a safe integer >= 0`);
  }
  return e - Math.floor(e / LOW31) * LOW31;
}

/**
 * True when the device may map the result entry: not a NONE/ERROR/SPECIAL value, VALID set (as
 * hmmDeviceEntryToPfn()), and not a device-private page (not CPU addressable).
 */
function mappable(d: Decoder, e: number, low: number): boolean {
  if (e === d.none || e === d.error || e === d.special || (low & d.valid) === 0) return false;
  return (low & d.devicePrivate) === 0;
}

const LOW31 = 2 ** 31;

/**
 * 'pfn 1 rw, pfn 2 r, none' for the results in `range.pfns` (traces).
 * Mirrors: model-only.
 */
export function describeResults(range: HmmRange): string {
  const w = range.flags[HMM_PFN_WRITE]!;
  const out: string[] = [];
  for (const e of range.pfns) {
    const pfn = hmmDeviceEntryToPfn(range, e);
    out.push(pfn === ULONG_MAX ? 'none' : `pfn ${pfn} ${hmmEntryTest(e, w) ? 'rw' : 'r'}`);
  }
  return out.join(', ');
}
