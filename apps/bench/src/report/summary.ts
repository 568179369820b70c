/**
 * The summary on stdout: every scenario table (medians) and the acceptance targets, as aligned
 * text; a missed target is followed by its one-line reason.
 */
import type { Results } from '../results/schema.ts';
import { renderText } from './table.ts';
import { scenarioTables } from './tables.ts';

/** The summary lines of `r`. */
export function summaryLines(r: Results): string[] {
  const out: string[] = [];
  for (const t of scenarioTables(r.measurements, false)) out.push(...renderText(t), '');
  out.push('Acceptance');
  for (const a of r.acceptance) {
    const verdict = a.pass === null ? 'n/a   ' : a.pass ? 'met   ' : 'MISSED';
    out.push(`  ${verdict}  ${a.target}`, `          ${a.measured}`);
    if (a.pass === false) out.push(`          why: ${a.reason ?? 'no reason given'}`);
  }
  return out;
}
