/**
 * What a run measures: the full matrix, or the reduced one of --quick (a CI smoke test that
 * finishes in well under a minute and still produces every kind of figure the report needs).
 */
import { type ContentionLayout, DEFAULT_LAYOUT } from '../contention/contention-layout.ts';

/** Page sizes of the CPU mapping behind a fault-throughput range. */
export type PageKind = '4k' | 'thp';

/** The matrix of one run. */
export interface BenchPlan {
  readonly quick: boolean;
  /** Runs of every measurement (each figure: median and min–max over them). */
  readonly repetitions: number;
  readonly throughput: {
    /** Range sizes in bytes, per page kind (THP only from 2 MiB: one huge page). */
    readonly sizes: Readonly<Record<PageKind, readonly number[]>>;
    /** tinybench time budget per task and run, ms. */
    readonly timeMs: number;
  };
  readonly invalidation: {
    readonly ranges: readonly number[];
    readonly mirrors: readonly number[];
    readonly timeMs: number;
  };
  readonly contention: {
    /** Target values of λ·f·W. */
    readonly x: readonly number[];
    readonly faultsPerRun: number;
    readonly layout: ContentionLayout;
  };
  readonly memory: {
    /** Pages of the one big mirrored range. */
    readonly mirroredPages: number;
    /** Single-page ranges for the per-range figure. */
    readonly ranges: number;
  };
}

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** The full matrix (about 3 minutes on a 2-core machine). */
export const FULL_PLAN: BenchPlan = {
  quick: false,
  repetitions: 7,
  throughput: {
    sizes: { '4k': [4 * KiB, 64 * KiB, 2 * MiB, 32 * MiB, GiB], thp: [2 * MiB, 32 * MiB, GiB] },
    timeMs: 60,
  },
  invalidation: {
    ranges: [1, 10, 100, 1_000, 10_000],
    mirrors: [1, 2, 4, 8, 16, 32, 64],
    timeMs: 100,
  },
  contention: {
    x: [0.01, 0.03, 0.1, 0.3, 0.5, 1, 2],
    faultsPerRun: 3000,
    layout: DEFAULT_LAYOUT,
  },
  memory: { mirroredPages: 131_072, ranges: 10_000 },
};

/** The --quick matrix: every scenario and every acceptance figure, fewer points and runs. */
export const QUICK_PLAN: BenchPlan = {
  quick: true,
  repetitions: 2,
  throughput: { sizes: { '4k': [4 * KiB, 2 * MiB], thp: [2 * MiB] }, timeMs: 15 },
  invalidation: { ranges: [1, 100, 10_000], mirrors: [1, 8, 64], timeMs: 15 },
  contention: { x: [0.01, 0.1, 0.5, 1], faultsPerRun: 400, layout: DEFAULT_LAYOUT },
  memory: { mirroredPages: 65_536, ranges: 2000 },
};

/** '4KiB', '2MiB', '1GiB'. */
export function sizeLabel(bytes: number): string {
  if (bytes >= GiB && bytes % GiB === 0) return `${bytes / GiB}GiB`;
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB}MiB`;
  return `${bytes / KiB}KiB`;
}
