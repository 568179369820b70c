/**
 * Finding measurements and their ratios by id.
 */
import type { Measurement, Ratio } from './schema.ts';

/** Measurements by id. */
export type MeasurementIndex = ReadonlyMap<string, Measurement>;

/** Index `ms` by id. */
export function indexMeasurements(ms: readonly Measurement[]): MeasurementIndex {
  return new Map(ms.map((m) => [m.id, m]));
}

/** The ratio of measurement `id` to measurement `to`, if both were measured. */
export function ratioOf(ix: MeasurementIndex, id: string, to: string): Ratio | undefined {
  return ix.get(id)?.ratios.find((r) => r.to === to);
}
