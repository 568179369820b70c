import { describe, expect, it } from 'vitest';
import { buildResults } from '../src/results/build-results.ts';
import type { Measurement, Results } from '../src/results/schema.ts';
import { validateResults } from '../src/results/validate.ts';
import { measurement, runRatio } from '../src/run/measurement.ts';
import { TEST_ENVIRONMENT } from './helpers.ts';

/** A small valid document. */
function validDoc(): Results {
  const raw = measurement({
    id: 'fault-throughput/snapshot/4k/4KiB/raw-fill',
    scenario: 'fault-throughput',
    implementation: 'raw-fill',
    parameters: { mode: 'snapshot', pages: '4k', rangeBytes: 4096, rangePages: 1 },
    unit: 'pages/s',
    samples: [100, 120, 110],
  });
  const interval = measurement({
    id: 'fault-throughput/snapshot/4k/4KiB/interval',
    scenario: 'fault-throughput',
    implementation: 'interval',
    parameters: { mode: 'snapshot', pages: '4k', rangeBytes: 4096, rangePages: 1 },
    unit: 'pages/s',
    samples: [10, 12, 11],
    ratios: [runRatio(raw.id, [10, 12, 11], [100, 120, 110])],
  });
  return buildResults({
    command: 'hmmsim bench --quick',
    startedAt: new Date('2026-01-02T03:04:05.000Z'),
    durationMs: 1234,
    options: { quick: true, seed: 1, filter: null, repetitions: 3 },
    environment: TEST_ENVIRONMENT,
    measurements: [raw, interval],
  });
}

/** A document as plain JSON, to be broken anywhere. */
// biome-ignore lint/suspicious/noExplicitAny: the tests break a JSON document in arbitrary places
type Doc = Record<string, any>;

/** A deep copy of the valid document, changed by `edit`. */
function broken(edit: (d: Doc) => void): unknown {
  const d = structuredClone(validDoc()) as Doc;
  edit(d);
  return d;
}

describe('results.json schema', () => {
  it('accepts a valid document', () => {
    expect(validateResults(validDoc())).toEqual([]);
    expect(validateResults(JSON.parse(JSON.stringify(validDoc())))).toEqual([]);
  });

  const cases: [string, (d: Doc) => void, RegExp][] = [
    ['a missing required field', (d) => delete d['environment'], /environment/],
    ['an unknown top-level field', (d) => (d['extra'] = 1), /extra|additional/i],
    ['a wrong schema version', (d) => (d['schemaVersion'] = 1), /schemaVersion/],
    [
      "the old name 'native' for interval (schema 1)",
      (d) => (d['measurements'][1]['implementation'] = 'native'),
      /measurements\/1\/implementation/,
    ],
    [
      'a missed target without its reason',
      (d) => (d['acceptance'][5]['reason'] = null),
      /acceptance snapshot-vs-raw-fill: missed without a reason/,
    ],
    [
      'a reason on a target that was not missed',
      (d) => (d['acceptance'][0]['reason'] = 'because'),
      /acceptance invalidation-interval-log-n: a reason but not missed/,
    ],
    [
      'a reason of more than one line',
      (d) => (d['acceptance'][5]['reason'] = 'one\ntwo'),
      /the reason is not one line/,
    ],
    ['an acceptance entry without reason', (d) => delete d['acceptance'][0]['reason'], /reason/],
    [
      'a measurement without its unit',
      (d) => delete d['measurements'][0]['unit'],
      /measurements\/0\/unit/,
    ],
    [
      'an unknown unit',
      (d) => (d['measurements'][0]['unit'] = 'furlongs'),
      /measurements\/0\/unit/,
    ],
    [
      'an unknown scenario',
      (d) => (d['measurements'][0]['scenario'] = 'vibes'),
      /measurements\/0\/scenario/,
    ],
    [
      'an unknown implementation',
      (d) => (d['measurements'][1]['implementation'] = 'v6.0'),
      /implementation/,
    ],
    [
      'a NaN that JSON turned into null',
      (d) => (d['measurements'][0]['median'] = null),
      /measurements\/0\/median/,
    ],
    ['no samples', (d) => (d['measurements'][0]['samples'] = []), /samples/],
    ['a non-numeric sample', (d) => (d['measurements'][0]['samples'][1] = '120'), /samples\/1/],
    ['a malformed commit', (d) => (d['environment']['commit'] = 'HEAD'), /commit/],
    ['a malformed date', (d) => (d['startedAt'] = 'yesterday'), /startedAt/],
    [
      'an acceptance entry without pass',
      (d) => delete d['acceptance'][0]['pass'],
      /acceptance\/0\/pass/,
    ],
    [
      'a ratio to a measurement that does not exist',
      (d) => (d['measurements'][1]['ratios'][0]['to'] = 'nowhere'),
      /ratio to unknown measurement nowhere/,
    ],
    [
      'a duplicate id',
      (d) => (d['measurements'][1]['id'] = d['measurements'][0]['id']),
      /duplicate measurement id/,
    ],
    ['min above the median', (d) => (d['measurements'][0]['min'] = 1000), /min <= median <= max/],
    [
      'max that is not the largest sample',
      (d) => (d['measurements'][0]['max'] = 200),
      /not the samples' extremes|min <= median/,
    ],
  ];
  for (const [what, edit, message] of cases) {
    it(`rejects ${what}`, () => {
      const problems = validateResults(broken(edit));
      expect(problems.length).toBeGreaterThan(0);
      expect(problems.join('\n')).toMatch(message);
    });
  }

  it('gives a missed target its one-line reason, and no other target one', () => {
    const acc = validDoc().acceptance;
    const snap = acc.find((a) => a.id === 'snapshot-vs-raw-fill')!;
    expect(snap.pass).toBe(false);
    expect(snap.reason).toMatch(/^missed by 2\.50x through the drivers: /);
    expect(snap.reason).not.toContain('\n');
    for (const a of acc.filter((x) => x.pass !== false)) expect(a.reason).toBeNull();
    expect(acc.filter((a) => a.pass === null).length).toBe(acc.length - 1);
  });

  it('rejects what is not a document at all', () => {
    for (const v of [null, 42, 'results', [], {}])
      expect(validateResults(v).length).toBeGreaterThan(0);
  });

  it('keeps measurement summaries consistent with their samples', () => {
    const m: Measurement = measurement({
      id: 'memory/per-page/interval',
      scenario: 'memory',
      implementation: 'interval',
      parameters: {},
      unit: 'B/page',
      samples: [9, 8, 10, 11],
    });
    expect([m.min, m.median, m.max]).toEqual([8, 9.5, 11]);
  });
});
