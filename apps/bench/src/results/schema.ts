/**
 * The schema of results.json, as a TypeBox schema (a plain JSON Schema, draft-07, written next to
 * every results.json as results.schema.json) and the TypeScript types derived from it. Other
 * tools validate results with any JSON Schema validator; `validateResults` adds the checks JSON
 * Schema cannot express (unique ids, ratio targets that exist, min <= median <= max).
 */
import { type Static, Type } from '@sinclair/typebox';

/**
 * Version of the document layout; bumped on any incompatible change (2: the implementation
 * `native` is named `interval`, as in every other hmmsim command; acceptance entries have a
 * `reason`).
 */
export const RESULTS_SCHEMA_VERSION = 2;

/** Where the schema says it lives (its `$id`). */
export const RESULTS_SCHEMA_ID = `urn:hmmsim:bench-results:v${RESULTS_SCHEMA_VERSION}`;

/** The benchmark scenarios. */
export const SCENARIOS = [
  'fault-throughput',
  'invalidation-ranges',
  'invalidation-mirrors',
  'contention',
  'memory',
] as const;

/** Who was measured: the three implementations and the baselines. */
export const SUBJECTS = [
  'legacy',
  'shim',
  'interval',
  'raw-fill',
  'bare-walk',
  'device-table',
] as const;

/** Units of measured values. */
export const UNITS = [
  'pages/s',
  'ns',
  'B/page',
  'B/range',
  'probability',
  'retries/fault',
  'count',
] as const;

/** One of the given strings. */
function literals<T extends string>(values: readonly T[]) {
  return Type.Union(values.map((v) => Type.Literal(v)));
}

const closed = { additionalProperties: false } as const;

/** A ratio of this measurement to another one, taken within each run, then summarised. */
export const RatioSchema = Type.Object(
  {
    to: Type.String({ minLength: 1, description: 'id of the measurement divided by' }),
    median: Type.Number(),
    min: Type.Number(),
    max: Type.Number(),
  },
  { ...closed, description: 'this measurement / the `to` measurement, per run; median and range' },
);

/** A predicted probability with its 95% binomial acceptance interval. */
export const PredictionSchema = Type.Object(
  {
    value: Type.Number({ minimum: 0, maximum: 1, description: 'predicted probability' }),
    low: Type.Number({ minimum: 0, maximum: 1 }),
    high: Type.Number({ minimum: 0, maximum: 1 }),
    confidence: Type.Literal(0.95),
    trials: Type.Integer({ minimum: 1, description: 'Bernoulli trials, pooled over the runs' }),
    observed: Type.Integer({ minimum: 0, description: 'trials that came out true' }),
    within: Type.Boolean({ description: 'observed / trials lies in [low, high]' }),
  },
  {
    ...closed,
    description: '[low, high] holds 95% of Binomial(trials, value) / trials (central quantiles)',
  },
);

/** One measured figure: median and range over repeated runs, with its samples and ratios. */
export const MeasurementSchema = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z0-9][a-zA-Z0-9./=_-]*$' }),
    scenario: literals(SCENARIOS),
    implementation: literals(SUBJECTS),
    parameters: Type.Record(
      Type.String(),
      Type.Union([Type.String(), Type.Number(), Type.Boolean()]),
    ),
    unit: literals(UNITS),
    median: Type.Number(),
    min: Type.Number(),
    max: Type.Number(),
    samples: Type.Array(Type.Number(), { minItems: 1, description: 'one value per run' }),
    ratios: Type.Array(RatioSchema, { description: 'the first is the ratio to its baseline' }),
    prediction: Type.Optional(PredictionSchema),
  },
  closed,
);

/** One acceptance target of the issue and how the run did against it. */
export const AcceptanceSchema = Type.Object(
  {
    id: Type.String({ minLength: 1 }),
    target: Type.String(),
    measured: Type.String(),
    pass: Type.Union([Type.Boolean(), Type.Null()], { description: 'null: not measured' }),
    reason: Type.Union([Type.String({ minLength: 1 }), Type.Null()], {
      description: 'why the target was missed, in one line (null unless pass is false)',
    }),
    note: Type.String({ description: 'what the figures behind the verdict were' }),
  },
  closed,
);

/** Where the run happened. */
export const EnvironmentSchema = Type.Object(
  {
    machine: Type.Object(
      {
        platform: Type.String(),
        arch: Type.String(),
        cpus: Type.Integer({ minimum: 1 }),
        cpuModel: Type.String(),
        totalMemoryBytes: Type.Integer({ minimum: 0 }),
      },
      closed,
    ),
    node: Type.String({ pattern: '^v\\d+\\.\\d+\\.\\d+' }),
    commit: Type.Union([Type.String({ pattern: '^[0-9a-f]{7,40}$' }), Type.Null()]),
    dirty: Type.Union([Type.Boolean(), Type.Null()], {
      description: 'uncommitted changes in the work tree (null: not a git checkout)',
    }),
  },
  closed,
);

/** The options the run was started with. */
export const RunOptionsSchema = Type.Object(
  {
    quick: Type.Boolean(),
    seed: Type.Integer({ minimum: 0 }),
    filter: Type.Union([Type.String(), Type.Null()]),
    repetitions: Type.Integer({ minimum: 1 }),
  },
  closed,
);

/** results.json. */
export const ResultsSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    schemaVersion: Type.Literal(RESULTS_SCHEMA_VERSION),
    tool: Type.Literal('hmmsim bench'),
    command: Type.String({ description: 'the command line that produced the document' }),
    startedAt: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z$' }),
    durationMs: Type.Number({ minimum: 0 }),
    options: RunOptionsSchema,
    environment: EnvironmentSchema,
    measurements: Type.Array(MeasurementSchema),
    acceptance: Type.Array(AcceptanceSchema),
    notes: Type.Array(Type.String()),
  },
  {
    ...closed,
    $id: RESULTS_SCHEMA_ID,
    title: 'hmmsim bench results',
    description:
      'Fault throughput, invalidation scaling, contention and memory of legacy (the hmm_mirror ' +
      'API), shim (the same driver on the compat shim) and interval (a driver on ' +
      'mmu_interval_notifier) (hmmsim bench).',
  },
);

export type Ratio = Static<typeof RatioSchema>;
export type Prediction = Static<typeof PredictionSchema>;
export type Measurement = Static<typeof MeasurementSchema>;
export type Acceptance = Static<typeof AcceptanceSchema>;
export type Environment = Static<typeof EnvironmentSchema>;
export type RunOptions = Static<typeof RunOptionsSchema>;
export type Results = Static<typeof ResultsSchema>;
export type Scenario = (typeof SCENARIOS)[number];
export type Subject = (typeof SUBJECTS)[number];
export type Unit = (typeof UNITS)[number];

/** The schema as a JSON Schema document (draft-07), ready to write to a file. */
export function resultsJsonSchema(): Record<string, unknown> {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    ...(JSON.parse(JSON.stringify(ResultsSchema)) as Record<string, unknown>),
  };
}
