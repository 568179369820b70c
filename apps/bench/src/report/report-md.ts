/**
 * report.md: what was run and where, the acceptance targets with notes, every scenario table
 * with each figure's min–max, the charts, and how to read the figures.
 */
import { IMPL_TITLES, IMPLS } from '../drivers/impl.ts';
import type { Results } from '../results/schema.ts';
import type { Chart } from './charts.ts';
import { renderMarkdown } from './table.ts';
import { acceptanceTable, scenarioTables } from './tables.ts';

/** The environment line. */
function environmentLine(r: Results): string {
  const e = r.environment;
  const m = e.machine;
  const gib = (m.totalMemoryBytes / 2 ** 30).toFixed(0);
  const commit =
    e.commit === null
      ? 'no git commit'
      : `commit ${e.commit.slice(0, 12)}${e.dirty ? ' + uncommitted changes' : ''}`;
  return `${m.cpus} × ${m.cpuModel}, ${gib} GiB, ${m.platform}/${m.arch}, Node ${e.node}, ${commit}`;
}

/** The Markdown report of `r`, with `charts` (written next to it) embedded. */
export function reportMarkdown(r: Results, charts: readonly Chart[]): string {
  const lines = [
    '# hmmsim bench report',
    '',
    `Produced by \`${r.command}\` on ${r.startedAt} in ${(r.durationMs / 1000).toFixed(1)} s` +
      ` (${r.options.repetitions} runs per figure, seed ${r.options.seed}${r.options.filter === null ? '' : `, filter \`${r.options.filter}\``}).`,
    '',
    `Machine: ${environmentLine(r)}.`,
    '',
    'Each figure: median (min–max over the runs). Ratios are taken within each run. Data: ' +
      '[results.json](results.json) ([schema](results.schema.json)).',
    '',
    `Implementations: ${IMPLS.map((i) => `**${i}** — ${IMPL_TITLES[i]}`).join('; ')}.`,
    '',
    ...renderMarkdown(acceptanceTable(r.acceptance)),
    '',
  ];
  for (const t of scenarioTables(r.measurements, true)) lines.push(...renderMarkdown(t), '');
  if (charts.length > 0) lines.push('## Charts', '');
  for (const c of charts) lines.push(`![${c.title}](${c.file})`, '');
  lines.push('## How to read the figures', '', ...r.notes.map((n) => `- ${n}`), '');
  return lines.join('\n');
}
