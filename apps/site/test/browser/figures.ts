// The measured figures of the browser tests: each test records its own in
// test-results/figures/<name>.json (no two writers share a file) and prints it; the global
// teardown prints them all as one table against their targets.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RESULTS_DIR } from './site.ts';

/** One measured figure and the target the issue sets for it. */
export interface Figure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** The target is value < target. */
  readonly target?: number;
  readonly note?: string;
}

const FIGURES_DIR = join(RESULTS_DIR, 'figures');

/** Removes the figures of an earlier run. */
export function clearFigures(): void {
  rmSync(FIGURES_DIR, { recursive: true, force: true });
}

/** Formats one figure as a line: name, value, target and whether it is met. */
export function formatFigure(f: Figure): string {
  const value = `${Number.isInteger(f.value) ? f.value : f.value.toFixed(1)} ${f.unit}`;
  const target =
    f.target === undefined
      ? ''
      : ` (target < ${f.target} ${f.unit}: ${f.value < f.target ? 'met' : 'MISSED'})`;
  return `${f.name}: ${value}${target}${f.note ? ` — ${f.note}` : ''}`;
}

/** Records a figure and prints it. */
export function recordFigure(f: Figure): void {
  mkdirSync(FIGURES_DIR, { recursive: true });
  const file = `${f.name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.json`;
  writeFileSync(join(FIGURES_DIR, file), `${JSON.stringify(f, null, 2)}\n`);
  console.log(`[figure] ${formatFigure(f)}`);
}

/** Every figure recorded so far, in name order. */
export function readFigures(): Figure[] {
  let files: string[];
  try {
    files = readdirSync(FIGURES_DIR).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  return files
    .map((f) => JSON.parse(readFileSync(join(FIGURES_DIR, f), 'utf8')) as Figure)
    .sort((a, b) => a.name.localeCompare(b.name));
}
