/**
 * Render the guide's snippet markers from the code (and, for `output:` markers, from a run), and
 * check or rewrite the chapters. Node file access lives here, not in the driver examples.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  extractRegion,
  findSnippetBlocks,
  lineDiff,
  parseRef,
  type SnippetSource,
} from './regions.ts';

/** The package root (apps/migration-guide). */
export const GUIDE_ROOT = new URL('../../', import.meta.url).pathname;
/** Where the chapters are. */
export const CHAPTER_DIR = join(GUIDE_ROOT, 'guide');

/** Produces the text of an `output:` or `mermaid:` marker (from a run of a catalogue entry). */
export type OutputRenderer = (
  src: Extract<SnippetSource, { kind: 'output' | 'mermaid' }>,
) => Promise<string>;

/** Read one region, by a 'src/x.ts#name' reference relative to the package root. */
export function readRegion(ref: string): string {
  const { file, region } = parseRef(ref);
  return extractRegion(readFileSync(join(GUIDE_ROOT, file), 'utf8'), region, file);
}

/** The text a marker stands for. */
export async function renderSource(src: SnippetSource, output?: OutputRenderer): Promise<string> {
  if (src.kind === 'code') return readRegion(src.ref);
  if (src.kind === 'diff') return lineDiff(readRegion(src.from), readRegion(src.to));
  if (output === undefined) throw new Error(`${src.kind} marker '${src.id}' needs a renderer`);
  return (await output(src)).trimEnd();
}

/** A block whose text is not what its marker renders to. */
export interface StaleBlock {
  readonly file: string;
  /** 1-based line of the marker. */
  readonly line: number;
  readonly expected: string;
  readonly actual: string;
}

/** The chapter files (guide/*.md), sorted. */
export function chapterFiles(): string[] {
  return readdirSync(CHAPTER_DIR)
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => join(CHAPTER_DIR, f));
}

/**
 * Render every marker of `file`; with `write`, rewrite the stale blocks in place. Returns the
 * blocks that differed (before any rewrite).
 */
export async function syncChapter(
  file: string,
  opts: { readonly write: boolean; readonly output?: OutputRenderer },
): Promise<StaleBlock[]> {
  const text = readFileSync(file, 'utf8');
  const blocks = findSnippetBlocks(text, file);
  const lines = text.split('\n');
  const stale: StaleBlock[] = [];
  for (const b of [...blocks].reverse()) {
    const run = b.source.kind === 'output' || b.source.kind === 'mermaid';
    if (run && opts.output === undefined) continue;
    const expected = await renderSource(b.source, opts.output);
    if (expected === b.text) continue;
    stale.push({ file, line: b.line + 1, expected, actual: b.text });
    lines.splice(b.open + 1, b.close - b.open - 1, ...expected.split('\n'));
  }
  if (opts.write && stale.length > 0) writeFileSync(file, lines.join('\n'));
  return stale.reverse();
}
