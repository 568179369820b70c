/**
 * Building measurements: a figure from its per-run samples (median, min, max), and ratios taken
 * run by run between two figures measured in the same run.
 */
import { summarize } from '@hmmsim-bench/common';
import type { Measurement, Prediction, Ratio, Scenario, Subject, Unit } from '../results/schema.ts';

/** What a measurement is made of; the summary is computed. */
export interface MeasurementInit {
  readonly id: string;
  readonly scenario: Scenario;
  readonly implementation: Subject;
  readonly parameters: Readonly<Record<string, string | number | boolean>>;
  readonly unit: Unit;
  readonly samples: readonly number[];
  readonly ratios?: readonly Ratio[];
  readonly prediction?: Prediction;
}

/** A measurement with its median and min–max over `samples`. */
export function measurement(init: MeasurementInit): Measurement {
  const { median, min, max } = summarize(init.samples);
  return {
    id: init.id,
    scenario: init.scenario,
    implementation: init.implementation,
    parameters: { ...init.parameters },
    unit: init.unit,
    median,
    min,
    max,
    samples: [...init.samples],
    ratios: [...(init.ratios ?? [])],
    ...(init.prediction === undefined ? {} : { prediction: init.prediction }),
  };
}

/** The ratio num[i] / den[i] of run i, summarised; `to` names the denominator's measurement. */
export function runRatio(to: string, num: readonly number[], den: readonly number[]): Ratio {
  if (num.length !== den.length || num.length === 0) {
    throw new Error(`runRatio(${to}): ${num.length} runs against ${den.length}`);
  }
  return { to, ...summarize(num.map((v, i) => v / den[i]!)) };
}
