/**
 * The fixed `hmm_pfns` entry format of v5.8 and later (include/linux/hmm.h after 2733ea144dcc,
 * "mm/hmm: remove the customizable pfn format from hmm_range_fault"), with the v5.9 map order.
 *
 * ## The kernel's word and the model's word
 *
 * The kernel's entry is an `unsigned long`: the flag byte at the top (bit 63 `HMM_PFN_VALID`,
 * bit 62 `HMM_PFN_WRITE`, bit 61 `HMM_PFN_ERROR`, and from v5.9 the map order in bits 56..60)
 * and the pfn below. A JavaScript number holds 53 bits exactly, and bitwise operators only see
 * the low 32, so the model keeps **the same flag byte in the low 8 bits** and the pfn above it:
 *
 *     kernel word  = flagByte << 56 | pfn          (64 bits)
 *     model entry  = pfn * 256 + flagByte          (a safe integer: the kernel word rotated left by 8)
 *
 * Every flag keeps its kernel name and its place inside the byte (`HMM_PFN_VALID` is the byte's
 * top bit, 0x80), so driver code reads as in the kernel — `(hmmPfns[i] & HMM_PFN_VALID) !== 0`,
 * `defaultFlags = HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE` — and stays exact for every entry,
 * because a 32-bit `&` keeps the low byte of any safe integer. Only the pfn is reached
 * differently: `hmmPfnToPage(e)` (not `e & ~HMM_PFN_FLAGS`, which would truncate to 32 bits).
 * `hmmPfnToKernelWord(e)` gives the kernel's 64-bit value (a BigInt, for display and tests only;
 * no BigInt is ever used on a hot path), `hmmPfnFormat(e)` a readable form. `hmmPfns` is a
 * `Float64Array`, written in place with no per-entry allocation.
 */
import { checkIntIn, checkUlong, InvalidArgumentError, isUlong } from '@hmmsim/kernel';

/** The entry maps a page (output); with HMM_PFN_REQ_FAULT, "fault it in" (input). Kernel bit 63. Mirrors include/linux/hmm.h:HMM_PFN_VALID (v5.8). */
export const HMM_PFN_VALID = 0x80;
/** The CPU mapping is writable (output); with HMM_PFN_REQ_WRITE, "fault it writable" (input). Kernel bit 62. Mirrors include/linux/hmm.h:HMM_PFN_WRITE (v5.8). */
export const HMM_PFN_WRITE = 0x40;
/** The page cannot be mirrored (no VMA, special or poisoned). Kernel bit 61. Mirrors include/linux/hmm.h:HMM_PFN_ERROR (v5.8). */
export const HMM_PFN_ERROR = 0x20;
/**
 * Shift of the 5-bit map order inside the flag byte. The kernel's is BITS_PER_LONG - 8 = 56 (the
 * byte's lowest bit); the model's byte is at bit 0. Mirrors include/linux/hmm.h:HMM_PFN_ORDER_SHIFT (v5.9).
 */
export const HMM_PFN_ORDER_SHIFT = 0;
/** Input: fault the page in. Same bit as HMM_PFN_VALID. Mirrors include/linux/hmm.h:HMM_PFN_REQ_FAULT (v5.8). */
export const HMM_PFN_REQ_FAULT = HMM_PFN_VALID;
/** Input: fault it writable; only together with HMM_PFN_REQ_FAULT. Mirrors include/linux/hmm.h:HMM_PFN_REQ_WRITE (v5.8). */
export const HMM_PFN_REQ_WRITE = HMM_PFN_WRITE;
/** Every flag bit of v5.8 (VALID | WRITE | ERROR). Mirrors include/linux/hmm.h:HMM_PFN_FLAGS (v5.8). */
export const HMM_PFN_FLAGS_V58 = HMM_PFN_VALID | HMM_PFN_WRITE | HMM_PFN_ERROR;
/** The whole flag byte, map order included (0xFF << HMM_PFN_ORDER_SHIFT). Mirrors include/linux/hmm.h:HMM_PFN_FLAGS (v5.9). */
export const HMM_PFN_FLAGS_V59 = 0xff << HMM_PFN_ORDER_SHIFT;

/** Multiplier of the pfn in a model entry (2^8: the flag byte sits below it). Model constant. */
export const HMM_PFN_PFN_SCALE = 256;
/** Pfns must be below this (2^45) so that every entry is a safe integer. Model constant. */
export const HMM_PFN_PFN_LIMIT = 2 ** 45;
/** Mask of the 5-bit order field. Mirrors the `& 0x1F` of include/linux/hmm.h:hmm_pfn_to_map_order() (v5.9). */
const ORDER_MASK = 0x1f;

function checkHmmPfn(fn: string, e: number): void {
  if (!isUlong(e))
    checkUlong(fn, 'hmm_pfn', e, 'an hmm_pfns entry (pfn * 256 + flag byte, a safe integer >= 0)');
}

/**
 * The page (its pfn) of an entry: the entry without its flag byte. Call it only on an entry with
 * HMM_PFN_VALID, under the driver lock after a successful read_begin/read_retry, as the kernel
 * requires; an entry without HMM_PFN_VALID throws InvalidArgumentError (the kernel would return
 * an unrelated page). Mirrors include/linux/hmm.h:hmm_pfn_to_page() (v5.8).
 */
export function hmmPfnToPage(hmmPfn: number): number {
  checkHmmPfn('hmm_pfn_to_page', hmmPfn);
  if ((hmmPfn & HMM_PFN_VALID) === 0) {
    throw new InvalidArgumentError(
      `hmm_pfn_to_page: entry ${hmmPfnFormat(hmmPfn)} has no HMM_PFN_VALID; expected callers to test HMM_PFN_VALID first`,
    );
  }
  return Math.floor(hmmPfn / HMM_PFN_PFN_SCALE);
}

/**
 * The order of the CPU mapping that holds the page (0 for a PTE, 9 for a PMD, 18 for a PUD on
 * x86-64): the driver may map 2^order pages at once. Only meaningful with HMM_PFN_VALID.
 * Mirrors include/linux/hmm.h:hmm_pfn_to_map_order() (v5.9).
 */
export function hmmPfnToMapOrder(hmmPfn: number): number {
  if (!(hmmPfn >= 0 && hmmPfn <= Number.MAX_SAFE_INTEGER) || hmmPfn !== Math.floor(hmmPfn)) {
    checkHmmPfn('hmm_pfn_to_map_order', hmmPfn);
  }
  // The model's order field starts at bit 0 (HMM_PFN_ORDER_SHIFT = 0): no shift. Not written as
  // a shift by the exported constant, whose module-cell load V8 does not hoist out of a loop.
  return hmmPfn & ORDER_MASK;
}

/**
 * A model entry for `pfn` with flag byte `flags` (HMM_PFN_* bits, map order included).
 * InvalidArgumentError for a pfn outside [0, 2^45) or flags outside a byte. Model helper.
 */
export function hmmPfnMake(pfn: number, flags: number): number {
  checkIntIn('hmmPfnMake', 'pfn', pfn, 0, HMM_PFN_PFN_LIMIT - 1, 'a pfn in [0, 2^45)');
  checkIntIn('hmmPfnMake', 'flags', flags, 0, 0xff, 'HMM_PFN_* bits (an integer in [0, 0xff])');
  return pfn * HMM_PFN_PFN_SCALE + flags;
}

/**
 * The kernel's 64-bit `unsigned long` for a model entry (flag byte << 56 | pfn). BigInt, for
 * display and tests only. Model helper.
 */
export function hmmPfnToKernelWord(hmmPfn: number): bigint {
  checkHmmPfn('hmmPfnToKernelWord', hmmPfn);
  const flags = BigInt(hmmPfn & 0xff);
  return (flags << 56n) | BigInt(Math.floor(hmmPfn / HMM_PFN_PFN_SCALE));
}

/**
 * The model entry of a kernel 64-bit word; InvalidArgumentError when the pfn part does not fit
 * below 2^45. Model helper.
 */
export function hmmPfnFromKernelWord(word: bigint): number {
  if (typeof word !== 'bigint' || word < 0n || word >= 1n << 64n) {
    throw new InvalidArgumentError(
      `hmmPfnFromKernelWord: word is ${typeof word === 'bigint' ? String(word) : `a ${typeof word}`}; expected a 64-bit unsigned BigInt`,
    );
  }
  return hmmPfnMake(Number(word & ((1n << 56n) - 1n)), Number(word >> 56n));
}

const NAMES: readonly (readonly [number, string])[] = [
  [HMM_PFN_VALID, 'VALID'],
  [HMM_PFN_WRITE, 'WRITE'],
  [HMM_PFN_ERROR, 'ERROR'],
];

/**
 * A readable entry: its kernel word in hex, the flag names, the order when not 0 and the pfn,
 * e.g. `0xc000000000001a2b (VALID|WRITE pfn 0x1a2b)`. Model helper for traces and messages.
 */
export function hmmPfnFormat(hmmPfn: number): string {
  if (!Number.isSafeInteger(hmmPfn) || hmmPfn < 0) return `<not an entry: ${hmmPfn}>`;
  const word = hmmPfnToKernelWord(hmmPfn).toString(16).padStart(16, '0');
  const names = NAMES.filter(([bit]) => (hmmPfn & bit) !== 0).map(([, n]) => n);
  const order = hmmPfnToMapOrder(hmmPfn);
  if (order !== 0) names.push(`order ${order}`);
  const pfn = Math.floor(hmmPfn / HMM_PFN_PFN_SCALE);
  const desc = names.length === 0 ? `none` : names.join('|');
  return `0x${word} (${desc} pfn 0x${pfn.toString(16)})`;
}
