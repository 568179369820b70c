/**
 * The limit every per-entry benchmark is compared with: a plain JS loop writing one Float64Array
 * entry per page (what any page-table walk must at least do to report an entry).
 */

/** A raw typed-array fill of `entries` entries. */
export interface RawFill {
  readonly entries: number;
  /** Writes every entry once (`i * 4096 + 3`: an address with two flag bits). */
  readonly fill: () => void;
}

/**
 * The loop itself, a top-level function taking the array, as hmm_range_fault() writes an array it
 * is handed (range.pfns). It runs at the same speed however many fills a process creates; a loop
 * closed over one particular array runs up to 2x faster only while V8 can fold that array in as a
 * constant (a single closure instance) and up to 3x slower once a second fill exists.
 */
function fillEntries(raw: Float64Array): void {
  const n = raw.length;
  for (let i = 0; i < n; i++) raw[i] = i * 4096 + 3;
}

/** A raw fill over a fresh Float64Array of `entries` entries. */
export function createRawFill(entries: number): RawFill {
  const raw = new Float64Array(entries);
  return { entries, fill: () => fillEntries(raw) };
}
