/**
 * Code in the guide's chapters is never typed twice: every fenced block follows a marker that
 * names where it comes from, and `pnpm --filter hmmsim-migration-guide sync` regenerates it.
 *
 *   <!-- code: src/svm/v54.ts#fault -->      the named region of a source file, verbatim
 *   <!-- diff: src/a.ts#r src/b.ts#r -->     a unified line diff between two regions
 *   <!-- output: ID[@IMPL] -->               what `hmmsim guide run ID [--impl IMPL]` prints
 *   <!-- mermaid: ID[@IMPL] OP -->           the sequence diagram of that entry's minimal
 *                                            violation under invalidation OP (from its trace)
 *
 * A region is the lines between `// #region NAME` and `// #endregion NAME` (nested region
 * markers are dropped from the text; the common indentation is removed). A test renders every
 * marker again and fails when a block differs from what the code says now.
 */

/** A parsed marker: where a block's text comes from. */
export type SnippetSource =
  | { readonly kind: 'code'; readonly ref: string }
  | { readonly kind: 'diff'; readonly from: string; readonly to: string }
  | { readonly kind: 'output'; readonly id: string }
  | { readonly kind: 'mermaid'; readonly id: string; readonly op: string };

/** One marker + the fenced block after it, as found in a Markdown file. */
export interface SnippetBlock {
  readonly source: SnippetSource;
  /** The fence's info string ('ts', 'diff', 'text'). */
  readonly lang: string;
  /** The block's current text (without the fences). */
  readonly text: string;
  /** Line index (0-based) of the marker. */
  readonly line: number;
  /** Line indices of the opening and closing fences. */
  readonly open: number;
  readonly close: number;
}

const MARKER = /^<!--\s*(code|diff|output|mermaid):\s*(.+?)\s*-->\s*$/;
const REGION_START = /^\s*\/\/\s*#region\s+(\S+)\s*$/;
const REGION_END = /^\s*\/\/\s*#endregion(?:\s+(\S+))?\s*$/;

/** Parse a marker's arguments. */
function parseSource(kind: string, args: string, where: string): SnippetSource {
  const parts = args.split(/\s+/);
  if (kind === 'code' && parts.length === 1) return { kind, ref: parts[0]! };
  if (kind === 'diff' && parts.length === 2) return { kind, from: parts[0]!, to: parts[1]! };
  if (kind === 'output' && parts.length === 1) return { kind, id: parts[0]! };
  if (kind === 'mermaid' && parts.length === 2) return { kind, id: parts[0]!, op: parts[1]! };
  throw new Error(`${where}: marker '${kind}: ${args}' has the wrong arguments`);
}

/** Every marker of a Markdown text with the fenced block that must follow it (next line). */
export function findSnippetBlocks(markdown: string, where: string): SnippetBlock[] {
  const lines = markdown.split('\n');
  const out: SnippetBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = MARKER.exec(lines[i]!);
    if (m === null) continue;
    const source = parseSource(m[1]!, m[2]!, `${where}:${i + 1}`);
    const fence = /^(```+)(\S*)\s*$/.exec(lines[i + 1] ?? '');
    if (fence === null)
      throw new Error(`${where}:${i + 2}: expected a fenced block after the marker`);
    let close = i + 2;
    while (close < lines.length && lines[close] !== fence[1]) close++;
    if (close >= lines.length) throw new Error(`${where}:${i + 2}: the fenced block is not closed`);
    out.push({
      source,
      lang: fence[2] ?? '',
      text: lines.slice(i + 2, close).join('\n'),
      line: i,
      open: i + 1,
      close,
    });
    i = close;
  }
  return out;
}

/** Remove the indentation every non-blank line shares. */
function dedent(lines: readonly string[]): string[] {
  let min = Number.POSITIVE_INFINITY;
  for (const l of lines) if (l.trim() !== '') min = Math.min(min, /^ */.exec(l)![0].length);
  return lines.map((l) =>
    l.trim() === '' ? '' : l.slice(min === Number.POSITIVE_INFINITY ? 0 : min),
  );
}

/** The text of region `name` in `source` (throws when it is missing, unclosed or duplicated). */
export function extractRegion(source: string, name: string, where: string): string {
  const lines = source.split('\n');
  let start = -1;
  for (let i = 0; i < lines.length; i++) {
    const m = REGION_START.exec(lines[i]!);
    if (m?.[1] !== name) continue;
    if (start >= 0) throw new Error(`${where}: region '${name}' is defined twice`);
    start = i;
  }
  if (start < 0) throw new Error(`${where}: no region '${name}'`);
  const body: string[] = [];
  for (let i = start + 1; i < lines.length; i++) {
    const end = REGION_END.exec(lines[i]!);
    if (end !== null && (end[1] === undefined || end[1] === name)) return dedent(body).join('\n');
    if (end === null && !REGION_START.test(lines[i]!)) body.push(lines[i]!);
  }
  throw new Error(`${where}: region '${name}' is not closed`);
}

/** Split 'src/x.ts#name' into its file and region. */
export function parseRef(ref: string): { file: string; region: string } {
  const hash = ref.lastIndexOf('#');
  if (hash <= 0 || hash === ref.length - 1) {
    throw new Error(`snippet reference '${ref}': expected FILE#REGION`);
  }
  return { file: ref.slice(0, hash), region: ref.slice(hash + 1) };
}

/**
 * A unified diff of two texts, every line kept (' ' same, '-' removed, '+' added), from a
 * longest-common-subsequence table: exact, and fine for the few hundred lines of a region.
 */
export function lineDiff(a: string, b: string): string {
  const x = a.split('\n');
  const y = b.split('\n');
  const n = x.length;
  const m = y.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] =
        x[i] === y[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) {
      out.push(` ${x[i]}`);
      i++;
      j++;
    } else if (j < m && (i === n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) {
      out.push(`+${y[j]}`);
      j++;
    } else {
      out.push(`-${x[i]}`);
      i++;
    }
  }
  return out.map((l) => l.trimEnd()).join('\n');
}
