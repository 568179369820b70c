/**
 * Assembling results.json from a run: options, environment, measurements, the acceptance
 * evaluation and the notes a reader needs to interpret the figures.
 */
import { evaluateAcceptance } from './acceptance.ts';
import {
  type Environment,
  type Measurement,
  RESULTS_SCHEMA_VERSION,
  type Results,
  type RunOptions,
} from './schema.ts';

/** File name of the schema written next to results.json. */
export const SCHEMA_FILE = 'results.schema.json';

/** How to read the figures (also in report.md). */
export const RESULT_NOTES: readonly string[] = [
  'Every figure is the median with the min–max over the repeated runs; every ratio is taken within each run (numerator and denominator measured back to back) and then summarised the same way.',
  'Wall-clock figures (fault throughput, invalidation cost, memory) are for the JavaScript model on this machine; contention figures are in virtual scheduler time and are exact functions of the seed.',
  "Fault throughput goes through each implementation's driver fault loop: the package drivers' fault() for fault-in; for snapshot, the same loop with HMM_FAULT_SNAPSHOT run on the drivers' public parts (the package drivers take no fault flags). Baselines in the same run: hmm_range_fault with no notifier and no driver (bare walk) and a raw Float64Array fill of the same entry count.",
  "Invalidation cost: one single-page MMU_NOTIFY_CLEAR start+end through the mm's hooks, every subscriber's work included (legacy: struct hmm, every mirror's sync with its driver lock; shim: interval notifier + the same mirror side; interval: the interval tree and the driver's invalidate under its lock); the median of thousands of invalidations per run.",
  "Contention: CPU0 moves uniformly drawn pages of a 64-page space (MADV_DONTNEED of the page — one single-page invalidation — then write faults on a scratch page and on the page, so it gets a new frame) as a Poisson process in CPU1's scheduler time; an invalidation runs to completion before CPU1's next step (the model serialises the two CPUs; CPU0's steps are not charged to CPU1). W is probed: an invalidation is injected before each step of two consecutive faults and the steps that make the second fault's first attempt retry are its read section (W = their number × 1 µs). Legacy runs the shim's driver code, so its λ uses the shim's W.",
  "The retry probability is that of a fault's first attempt (one Bernoulli trial per fault, independent by memorylessness); the prediction's 95% interval holds the central 95% of Binomial(trials, 1 − exp(−λ·f·W)) pooled over the runs.",
  'Memory: JS heap + ArrayBuffer bytes after two full GCs, per mirrored page (one range, bound and faulted in) and per registered one-page range.',
];

/** What buildResults needs. */
export interface ResultsInput {
  readonly command: string;
  readonly startedAt: Date;
  readonly durationMs: number;
  readonly options: RunOptions;
  readonly environment: Environment;
  readonly measurements: readonly Measurement[];
}

/** The results document of a run. */
export function buildResults(i: ResultsInput): Results {
  return {
    $schema: `./${SCHEMA_FILE}`,
    schemaVersion: RESULTS_SCHEMA_VERSION,
    tool: 'hmmsim bench',
    command: i.command,
    startedAt: i.startedAt.toISOString(),
    durationMs: Math.round(i.durationMs),
    options: i.options,
    environment: i.environment,
    measurements: [...i.measurements],
    acceptance: evaluateAcceptance(i.measurements),
    notes: [...RESULT_NOTES],
  };
}
