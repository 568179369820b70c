import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BENCH_EXIT_OK } from '../src/command.ts';
import { type Results, resultsJsonSchema } from '../src/results/schema.ts';
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
    expect(run.io.stdout.at(-1)).toMatch(new RegExp(`^report: ${join(dir, 'report.md')}`));
    expect(run.io.stderr.at(-1)).toMatch(/^\[\d+\/\d+\] memory run 2 \(\d+\.\d s\)$/);
  });

  it('shows the race: legacy leaves stale mappings, shim and native none', () => {
    const doc = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Results;
    const stale = (impl: string) =>
      doc.measurements
        .filter((m) => m.id.startsWith(`contention/${impl}/`) && m.id.endsWith('/stale-mappings'))
        .reduce((a, m) => a + m.samples.reduce((s, v) => s + v, 0), 0);
    expect(stale('legacy')).toBeGreaterThan(0);
    expect(stale('shim')).toBe(0);
    expect(stale('native')).toBe(0);
  });
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
        new Set(['contention/native']),
      );
      expect(doc.options.seed).toBe(7);
      expect(doc.options.filter).toBe('^contention/native$');
      expect(doc.acceptance.find((a) => a.id === 'snapshot-vs-raw-fill')?.pass).toBeNull();
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);
});
