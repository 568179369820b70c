/**
 * Number formatting for tables: values in their unit's natural scale, with the min–max range
 * when detail is wanted, and ratios as '0.0146x'.
 */
import type { Measurement, Ratio, Unit } from '../results/schema.ts';

/** Three significant digits, without exponent for ordinary magnitudes. */
export function sig(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  return v.toPrecision(3);
}

/** A value of `unit` in its display scale (pages/s as Mpages/s, probabilities with 4 decimals). */
export function fmtUnit(v: number, unit: Unit): string {
  switch (unit) {
    case 'pages/s':
      return sig(v / 1e6);
    case 'probability':
      return v.toFixed(4);
    case 'count':
      return Number.isInteger(v) ? String(v) : v.toFixed(1);
    case 'B/page':
    case 'B/range':
      return v.toFixed(1);
    default:
      return sig(v);
  }
}

/** The display name of a unit (pages/s shown as Mpages/s). */
export function unitLabel(unit: Unit): string {
  return unit === 'pages/s' ? 'Mpages/s' : unit;
}

/** 'median' or 'median (min–max)'. */
export function fmtMeasure(m: Measurement | undefined, detailed: boolean): string {
  if (m === undefined) return '–';
  const v = fmtUnit(m.median, m.unit);
  if (!detailed || m.samples.length < 2) return v;
  return `${v} (${fmtUnit(m.min, m.unit)}–${fmtUnit(m.max, m.unit)})`;
}

/** '0.0146x' or '0.0146x (0.0141–0.0150)'. */
export function fmtRatio(r: Ratio | undefined, detailed: boolean): string {
  if (r === undefined) return '–';
  const v = `${sig(r.median)}x`;
  return detailed ? `${v} (${sig(r.min)}–${sig(r.max)})` : v;
}
