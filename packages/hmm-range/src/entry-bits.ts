/**
 * The 31-bit flag arithmetic on 53-bit entries, unchecked, for the walk's per-entry loop (the
 * exported hmmEntryLowBits/Or/Test of hmm-pfn.ts check their arguments and call these). Callers
 * guarantee `x` is a safe integer >= 0 and `f` a flag word below 2^31.
 *
 * Mirrors: model-only (the kernel's 64-bit `&` and `|` on an entry).
 */

const LOW = 2 ** 31;

/** The low 31 bits of entry `x`. Model helper. */
export function entryLowBits(x: number): number {
  // Not `x % LOW`: on doubles above 2^31 V8 calls the C library's fmod (~40 ns). Dividing by a
  // power of two, flooring and multiplying back is exact below 2^53 and a few instructions.
  return x - Math.floor(x / LOW) * LOW;
}

/** `x | f`: only the low 31 bits change. Model helper. */
export function entryOr(x: number, f: number): number {
  const lo = entryLowBits(x);
  return x - lo + (lo | f);
}

/** True if any bit of `f` is set in entry `x`. Model helper of `x & f`. */
export function entryTest(x: number, f: number): boolean {
  return (entryLowBits(x) & f) !== 0;
}
