/**
 * Summaries of repeated measurements: every figure is reported as its median with the min–max
 * over the repeated runs.
 */

/** Median and range of a set of samples. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** Median (mean of the two middle values for an even count), min and max; throws when empty. */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new Error('summarize: no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}
