import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, View } from 'vega';
import { compile } from 'vega-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BENCH_EXIT_MISSED, BENCH_EXIT_OK } from '../src/command.ts';
import { IMPLS } from '../src/drivers/impl.ts';
import { type Chart, reportCharts, SUBJECT_COLOURS } from '../src/report/charts.ts';
import { type Results, resultsJsonSchema, SUBJECTS } from '../src/results/schema.ts';
import { validateResults } from '../src/results/validate.ts';
import { runCli } from './helpers.ts';

// The CI smoke test: one `hmmsim bench --quick` into a temporary folder, its results.json
// checked against the schema (and the schema written beside it), the report and charts present.
const dir = mkdtempSync(join(tmpdir(), 'hmmsim-bench-'));
let run: Awaited<ReturnType<typeof runCli>>;

beforeAll(async () => {
  run = await runCli(['--quick', '--out', dir], true);
}, 180_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('hmmsim bench --quick', () => {
  it('exits 0 and writes results.json, its schema, report.md and the charts', () => {
    expect(run.io.stderr.filter((l) => !/^\[\s*\d+\/\d+\]/.test(l))).toEqual([]);
    expect(run.code).toBe(BENCH_EXIT_OK);
    expect(readdirSync(dir).sort()).toEqual([
      'invalidation-mirrors.svg',
      'invalidation-ranges.svg',
      'report.md',
      'results.json',
      'results.schema.json',
      'retry-probability.svg',
      'throughput-fault-read.svg',
      'throughput-fault-write.svg',
      'throughput-snapshot.svg',
    ]);
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.svg'))) {
      expect(readFileSync(join(dir, f), 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>$/);
    }
  });

  it('writes a results.json that validates against its schema', () => {
    const doc = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Results;
    expect(validateResults(doc)).toEqual([]);
    expect(doc.$schema).toBe('./results.schema.json');
    expect(doc.options).toEqual({ quick: true, seed: 1, filter: null, repetitions: 2 });
    expect(doc.command).toBe(`hmmsim bench --quick --out ${dir}`);
    const scenarios = new Set(doc.measurements.map((m) => m.scenario));
    expect([...scenarios].sort()).toEqual([
      'contention',
      'fault-throughput',
      'invalidation-mirrors',
      'invalidation-ranges',
      'memory',
    ]);
    expect(doc.acceptance.map((a) => a.id)).toContain('retry-probability');
    expect(doc.acceptance.every((a) => a.pass !== null)).toBe(true);
  });

  it('writes the schema it validates against', () => {
    const schema = JSON.parse(readFileSync(join(dir, 'results.schema.json'), 'utf8'));
    expect(schema).toEqual(resultsJsonSchema());
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
  });

  it('prints the summary and where the report is; progress goes to stderr as plain lines', () => {
    const out = run.io.stdout.join('\n');
    expect(out).toContain('Fault throughput, snapshot (Mpages/s)');
    expect(out).toContain('One single-page invalidation with n registered ranges (ns)');
    expect(out).toContain('Under contention');
    expect(out).toMatch(/Acceptance\n {2}(met|MISSED)/);
    expect(out).not.toMatch(/\bnative\b/);
    expect(run.io.stdout.at(-1)).toMatch(new RegExp(`^report: ${join(dir, 'report.md')}`));
    expect(run.io.stderr.at(-1)).toMatch(/^\[\d+\/\d+\] memory run 2 \(\d+\.\d s\)$/);
  });

  it('gives every MISSED line its one-line reason on screen', () => {
    const doc = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Results;
    const missed = doc.acceptance.filter((a) => a.pass === false);
    // legacy's linear growth is ~26x, never 1,000x, in this model: at least that one is missed.
    expect(missed.map((a) => a.id)).toContain('invalidation-legacy-linear');
    const lines = run.io.stdout;
    for (const a of missed) {
      const at = lines.indexOf(`  MISSED  ${a.target}`);
      expect(at, a.id).toBeGreaterThan(0);
      expect(lines[at + 1]).toBe(`          ${a.measured}`);
      expect(lines[at + 2]).toBe(`          why: ${a.reason}`);
      expect(a.reason).toMatch(/^\S.*\S$/);
    }
    expect(lines.filter((l) => l.startsWith('          why: '))).toHaveLength(missed.length);
    const report = readFileSync(join(dir, 'report.md'), 'utf8');
    for (const a of missed) expect(report).toContain(`**why:** ${a.reason}.`);
  });

  it('names the implementations legacy, shim and interval in results.json and report.md', () => {
    const text = readFileSync(join(dir, 'results.json'), 'utf8');
    const doc = JSON.parse(text) as Results;
    const impls = new Set(doc.measurements.map((m) => m.implementation));
    for (const i of ['legacy', 'shim', 'interval']) expect(impls.has(i as never)).toBe(true);
    expect(text).not.toMatch(/\bnative\b/);
    const report = readFileSync(join(dir, 'report.md'), 'utf8');
    expect(report).toContain('| impl | λ·f·W |');
    expect(report).toMatch(/^\| interval \| 0\.01 \|/m);
    expect(report).toContain('÷ interval');
    expect(report).toContain('**interval** — v5.5 driver on mmu_interval_notifier');
    expect(report).not.toMatch(/\bnative\b/);
  });

  it('gives each implementation and baseline one colour in every chart', () => {
    const doc = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Results;
    const charts = reportCharts(doc.measurements);
    expect(charts).toHaveLength(6);
    const seen = new Map<string, Set<string>>();
    for (const c of charts) {
      const scales = colourScales(c);
      expect(scales.length, c.file).toBeGreaterThan(0);
      for (const { domain, range } of scales) {
        domain.forEach((s, i) => {
          if (!seen.has(s)) seen.set(s, new Set());
          seen.get(s)!.add(range[i]!);
        });
      }
      // The rendered chart draws interval in its colour.
      const svg = readFileSync(join(dir, c.file), 'utf8');
      expect(svg, c.file).toContain(`stroke="${SUBJECT_COLOURS.interval}"`);
    }
    expect([...seen.keys()].sort()).toEqual(['bare-walk', 'raw-fill', ...IMPLS].sort());
    for (const [s, colours] of seen) expect([...colours], s).toEqual([SUBJECT_COLOURS[s as never]]);
    expect(new Set(SUBJECTS.map((s) => SUBJECT_COLOURS[s])).size).toBe(SUBJECTS.length);
  });

  it('fits every axis to the data (the retry chart spans 0.01–1, not 0.001–10)', async () => {
    const doc = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Results;
    const retry = doc.measurements.filter((m) => m.prediction !== undefined);
    const xs = retry.map((m) => Number(m.parameters['x']));
    expect([Math.min(...xs), Math.max(...xs)]).toEqual([0.01, 1]);
    for (const c of reportCharts(doc.measurements)) {
      const domains = await scaleDomains(c);
      const data = dataRange(doc, c);
      for (const axis of ['x', 'y'] as const) {
        const d = domains.get(axis);
        const r = data[axis];
        if (d === undefined || r === undefined) continue; // faceted: per-panel scales
        // Holds the data, with at most a factor of 1.25 of room at either end.
        expect(d[0], `${c.file} ${axis}`).toBeLessThanOrEqual(r[0]);
        expect(d[1], `${c.file} ${axis}`).toBeGreaterThanOrEqual(r[1]);
        expect(d[0], `${c.file} ${axis}`).toBeGreaterThanOrEqual(r[0] / 1.26);
        expect(d[1], `${c.file} ${axis}`).toBeLessThanOrEqual(r[1] * 1.26);
      }
    }
    const x = (await scaleDomains(reportCharts(doc.measurements).at(-1)!)).get('x')!;
    expect(x[0]).toBeCloseTo(0.008, 6);
    expect(x[1]).toBeCloseTo(1.25, 6);
  });

  it('shows the race: legacy leaves stale mappings, shim and interval none', () => {
    const doc = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Results;
    const stale = (impl: string) =>
      doc.measurements
        .filter((m) => m.id.startsWith(`contention/${impl}/`) && m.id.endsWith('/stale-mappings'))
        .reduce((a, m) => a + m.samples.reduce((s, v) => s + v, 0), 0);
    expect(stale('legacy')).toBeGreaterThan(0);
    expect(stale('shim')).toBe(0);
    expect(stale('interval')).toBe(0);
  });
});

/** Every colour scale (domain and range) in a chart's spec. */
function colourScales(c: Chart): { domain: string[]; range: string[] }[] {
  const out: { domain: string[]; range: string[] }[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) for (const x of v) walk(x);
    else if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      const color = o['color'] as { scale?: { domain: string[]; range: string[] } } | undefined;
      if (color?.scale !== undefined) out.push(color.scale);
      for (const x of Object.values(o)) walk(x);
    }
  };
  walk(c.spec);
  return out;
}

/** The x and y scale domains Vega computes for a (non-faceted) chart. */
async function scaleDomains(c: Chart): Promise<Map<string, [number, number]>> {
  const vg = compile(c.spec).spec;
  const view = new View(parse(vg), { renderer: 'none' });
  await view.runAsync();
  const out = new Map<string, [number, number]>();
  for (const s of vg.scales ?? []) {
    if (s.name === 'x' || s.name === 'y') out.set(s.name, view.scale(s.name).domain());
  }
  view.finalize();
  return out;
}

/** The data range each axis of a chart must show (min–max bars included). */
function dataRange(doc: Results, c: Chart): { x?: [number, number]; y?: [number, number] } {
  const span = (v: number[]): [number, number] => [Math.min(...v), Math.max(...v)];
  const scenario = c.file.replace('.svg', '');
  if (scenario.startsWith('invalidation-')) {
    const ms = doc.measurements.filter((m) => m.scenario === scenario);
    const key = scenario === 'invalidation-ranges' ? 'n' : 'm';
    return {
      x: span(ms.map((m) => Number(m.parameters[key]))),
      y: span(ms.flatMap((m) => [m.min, m.max])),
    };
  }
  if (scenario === 'retry-probability') {
    const ms = doc.measurements.filter((m) => m.prediction !== undefined);
    return { x: span(ms.map((m) => Number(m.parameters['x']))) };
  }
  return {};
}

describe('hmmsim bench --check', () => {
  it('exits 1 when a target is missed, naming each with its reason (--json-only: on stderr)', async () => {
    const out = mkdtempSync(join(tmpdir(), 'hmmsim-bench-'));
    try {
      const r = await runCli(
        ['--quick', '--filter', '^invalidation-ranges$', '--json-only', '--check', '--out', out],
        true,
      );
      expect(r.code).toBe(BENCH_EXIT_MISSED);
      const doc = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
      expect(doc.command).toContain('--check');
      const missed = doc.acceptance.filter((a) => a.pass === false);
      // Deterministic misses of the model (legacy is ~26x, not 1,000x, and not 50x interval);
      // the wall-clock targets next to them (shim within 1.5x of interval) may miss on a busy
      // machine, and must then be listed the same way.
      expect(missed.map((a) => a.id)).toEqual(
        expect.arrayContaining(['invalidation-legacy-linear', 'invalidation-interval-vs-legacy']),
      );
      const err = r.io.stderr.filter((l) => !/^\[\s*\d+\/\d+\]/.test(l));
      expect(err).toEqual([
        ...missed.map((a) => `MISSED  ${a.target}: ${a.reason}`),
        `hmmsim bench --check: ${missed.length} of ${doc.acceptance.length} acceptance targets ` +
          `missed (${missed.map((a) => a.id).join(', ')})`,
      ]);
      const legacy = missed.find((a) => a.id === 'invalidation-legacy-linear')!;
      expect(legacy.reason).toMatch(/^missed by \d+(\.\d+)?x: the cost is linear, a \+ b·n/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);

  it('exits 0 when every measured target is met; unmeasured ones are not misses', async () => {
    const out = mkdtempSync(join(tmpdir(), 'hmmsim-bench-'));
    try {
      const r = await runCli(
        // Seed 2: every retry probability of this matrix falls inside its 95% interval (with
        // seed 1 one of the eight misses by chance, as 1 in 3 such runs do).
        [
          '--quick',
          '--filter',
          '^contention/(shim|interval)$',
          '--seed',
          '2',
          '--check',
          '--out',
          out,
        ],
        true,
      );
      const doc = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
      expect(doc.acceptance.filter((a) => a.pass === false)).toEqual([]);
      expect(doc.acceptance.filter((a) => a.pass === null).length).toBeGreaterThan(0);
      expect(r.code).toBe(BENCH_EXIT_OK);
      expect(r.io.stderr.filter((l) => !/^\[\s*\d+\/\d+\]/.test(l))).toEqual([]);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('hmmsim bench --filter --json-only', () => {
  it('runs only the matching cases and writes only results.json and its schema', async () => {
    const out = mkdtempSync(join(tmpdir(), 'hmmsim-bench-'));
    try {
      const r = await runCli(
        ['--quick', '--filter', '^contention/native$', '--json-only', '--seed', '7', '--out', out],
        true,
      );
      expect(r.code).toBe(BENCH_EXIT_OK);
      expect(readdirSync(out).sort()).toEqual(['results.json', 'results.schema.json']);
      expect(r.io.stdout).toEqual([join(out, 'results.json')]);
      const doc = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
      expect(validateResults(doc)).toEqual([]);
      expect(new Set(doc.measurements.map((m) => m.id.split('/').slice(0, 2).join('/')))).toEqual(
        new Set(['contention/interval']),
      );
      expect(doc.options.seed).toBe(7);
      expect(doc.options.filter).toBe('^contention/native$');
      expect(doc.acceptance.find((a) => a.id === 'snapshot-vs-raw-fill')?.pass).toBeNull();
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);
});
