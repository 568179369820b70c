/**
 * Writing a run's files into the output folder: results.json and results.schema.json always;
 * report.md and the SVG charts unless --json-only. Returns the paths written.
 */
import { join } from 'node:path';
import type { BenchIo } from '../cli/bench-io.ts';
import { SCHEMA_FILE } from '../results/build-results.ts';
import { type Results, resultsJsonSchema } from '../results/schema.ts';
import { reportCharts } from './charts.ts';
import { renderSvg } from './render-svg.ts';
import { reportMarkdown } from './report-md.ts';

/** JSON with a trailing newline. */
function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Write the files of `r` under `dir`; the report and charts only when `withReport`. */
export async function writeOutputs(
  io: BenchIo,
  dir: string,
  r: Results,
  withReport: boolean,
): Promise<string[]> {
  const written: string[] = [];
  const put = (name: string, text: string) => {
    const path = join(dir, name);
    io.writeFile(path, text);
    written.push(path);
  };
  put('results.json', json(r));
  put(SCHEMA_FILE, json(resultsJsonSchema()));
  if (!withReport) return written;
  const charts = reportCharts(r.measurements);
  for (const c of charts) put(c.file, await renderSvg(c.spec));
  put('report.md', reportMarkdown(r, charts));
  return written;
}
