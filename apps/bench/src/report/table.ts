/**
 * A table as data (title, header, rows of cells), rendered as aligned text for stdout or as
 * Markdown for report.md.
 */

/** A titled table of string cells. */
export interface Table {
  readonly title: string;
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
  /** Leading columns that are text (left-aligned); the rest are numbers. Default 1. */
  readonly leftColumns?: number;
}

/** Aligned text lines: the title, the header, a rule, the rows. */
export function renderText(t: Table): string[] {
  const widths = t.header.map((h, i) =>
    Math.max(h.length, ...t.rows.map((r) => (r[i] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i < (t.leftColumns ?? 1) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [
    t.title,
    line(t.header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...t.rows.map(line),
  ];
}

/** Markdown lines: a bold title line, then the table. */
export function renderMarkdown(t: Table): string[] {
  const esc = (c: string) => c.replaceAll('|', '\\|');
  return [
    `**${t.title}**`,
    '',
    `| ${t.header.map(esc).join(' | ')} |`,
    `|${t.header.map((_, i) => (i < (t.leftColumns ?? 1) ? '---' : '---:')).join('|')}|`,
    ...t.rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ];
}
