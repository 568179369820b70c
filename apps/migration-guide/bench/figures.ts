/**
 * What each step of the port costs or saves, measured on the guide's drivers:
 *
 * - device fault throughput: the driver's whole fault path over an N-page range (N = 64 and 512 by
 *   default), with the pages resident (the device re-validates what the CPU already has), faulted
 *   in from empty (MADV_DONTNEED before each fault, not timed), and, for whole 2 MiB pages,
 *   resident in transparent huge pages;
 * - invalidation cost: the time of one munmap, or one mprotect(PROT_READ), of a mirrored page
 *   while the driver is bound and the device maps that page (set up before each one and settled,
 *   not timed: world.ts:settle), and of one munmap of a page of the same process outside the
 *   mirrored range (which an hmm_mirror driver is told about and an interval notifier is not);
 *   a fixed count of invalidations per run.
 *
 * Every driver runs on a world of its own; the drivers of one family are measured back to back in
 * each run, so each figure is also a ratio to the family's v5.4 driver on the legacy API taken
 * within the run. Figures are medians of the per-operation times (a GC pause cannot move them),
 * reported as the median with the min–max over the runs. No absolute figure is a target: the model
 * runs in a JS VM, so only the ratios mean something.
 */
import { HPAGE_PMD_NR, InvalidArgumentError, PAGE_SIZE } from '@hmmsim/kernel';
import {
  type BenchTask,
  runRepeated,
  type SuiteOptions,
  type Summary,
  summarize,
} from '@hmmsim-bench/common';
import type { GuideDriver } from '../src/harness/driver.ts';
import { BENCH_DRIVERS, type BenchDriver } from './drivers.ts';
import {
  type BenchWorld,
  checkBenchPages,
  createBenchWorld,
  destroyBenchWorld,
  emptyRange,
  INVALIDATE,
  mapOutside,
  remapVictim,
  settle,
  unprotectVictim,
} from './world.ts';

/**
 * How a device fault finds the range: 4 KiB pages resident, every page faulted in from empty, or
 * the range resident in 2 MiB transparent huge pages (measured for ranges of whole huge pages
 * only, on worlds of their own: the step that reads the CPU's mapping size, v5.9, maps them large).
 * Mirrors: model-only.
 */
export type FaultMode = 'resident' | 'fault-in' | 'resident-thp';

/**
 * Every fault mode, in the order measured.
 * Mirrors: model-only.
 */
export const FAULT_MODES: readonly FaultMode[] = Object.freeze([
  'resident',
  'fault-in',
  'resident-thp',
]);

/**
 * The fault modes measured on a range of `npages` pages ('resident-thp' needs whole huge pages).
 * Mirrors: model-only.
 */
export function faultModesFor(npages: number): readonly FaultMode[] {
  return FAULT_MODES.filter((m) => m !== 'resident-thp' || npages % HPAGE_PMD_NR === 0);
}

/** What each mode's table says about the pages. */
const MODE_TEXT: Readonly<Record<FaultMode, string>> = Object.freeze({
  resident: '4 KiB pages resident',
  'fault-in': 'every 4 KiB page faulted in from empty',
  'resident-thp': 'resident in 2 MiB transparent huge pages',
});

/**
 * A timed invalidation: munmap / mprotect(PROT_READ) of a mirrored page, or munmap of a page of
 * the same process that no device mirrors.
 * Mirrors: model-only.
 */
export type BenchInvalidation = keyof typeof INVALIDATE;

/**
 * Every timed invalidation, in the order measured.
 * Mirrors: model-only.
 */
export const BENCH_INVALIDATIONS: readonly BenchInvalidation[] = Object.freeze([
  'munmap',
  'mprotect',
  'munmap-outside',
]);

/**
 * What a figure is about: one driver, its family and the family's baseline.
 * Mirrors: model-only.
 */
export interface FigureSubject {
  readonly driver: string;
  readonly family: string;
  readonly step: string;
  /** The family's v5.4 driver on the legacy API (the ratio's other side). */
  readonly baseline: string;
  readonly npages: number;
}

/**
 * Device fault throughput of one driver, range size and mode.
 * Mirrors: model-only.
 */
export interface FaultFigure extends FigureSubject {
  readonly mode: FaultMode;
  /** Microseconds per device fault over the whole range. */
  readonly usPerFault: Summary;
  readonly faultsPerSecond: Summary;
  readonly pagesPerSecond: Summary;
  /** Faults per second over the baseline's in the same run: above 1 is faster than v5.4 on legacy. */
  readonly vsBaseline: Summary;
}

/**
 * The cost of one invalidation with one driver bound.
 * Mirrors: model-only.
 */
export interface InvalidationFigure extends FigureSubject {
  readonly op: BenchInvalidation;
  /** Microseconds per invalidation (the whole syscall: the mm's work and the driver's callback). */
  readonly usPerInvalidation: Summary;
  /** Time over the baseline's in the same run: below 1 is cheaper than with v5.4 on legacy. */
  readonly vsBaseline: Summary;
}

/**
 * Everything one benchmark run measured.
 * Mirrors: model-only.
 */
export interface GuideBenchFigures {
  /** Runs per figure (each figure is the median with the min–max over them). */
  readonly runs: number;
  /** The drivers, in the order measured, with their family's baseline. */
  readonly drivers: readonly {
    readonly id: string;
    readonly family: string;
    readonly step: string;
    readonly title: string;
    readonly baseline: string;
  }[];
  readonly fault: readonly FaultFigure[];
  readonly invalidation: readonly InvalidationFigure[];
}

/**
 * The budget and subjects of a run.
 * Mirrors: model-only.
 */
export interface GuideBenchOptions {
  /** The drivers (default BENCH_DRIVERS); each family's first is its baseline. */
  readonly drivers?: readonly BenchDriver[];
  /** Range sizes in pages (default [64, 512]). */
  readonly npages?: readonly number[];
  /** Repeated runs (default 5). */
  readonly runs?: number;
  /** Minimum timed milliseconds per fault task and run (default 300; set-ups are not counted). */
  readonly timeMs?: number;
  /** Minimum operations per fault task and run (default 20). */
  readonly iterations?: number;
  /** Warm-up operations per task and run (default 10; 0 for none). */
  readonly warmupIterations?: number;
  /**
   * Timed invalidations per driver and run (default 200): a count, not a time budget, since each
   * one's untimed set-up (a device fault over the whole range) costs far more than it does.
   */
  readonly invalidations?: number;
  /** The clock in ms (default tinybench's, performance.now). */
  readonly now?: () => number;
  /** Progress, one line per finished suite run. */
  readonly onProgress?: (line: string) => void;
}

/** Throw InvalidArgumentError unless `v` is an integer in [min, max]. */
function checkInt(name: string, v: unknown, min: number, max: number): asserts v is number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new InvalidArgumentError(
      `measureGuideDrivers: ${name} is ${String(v)}; expected an integer in [${min}, ${max}]`,
    );
  }
}

/** The validated options. */
interface Plan {
  readonly drivers: readonly BenchDriver[];
  readonly baselines: ReadonlyMap<string, string>;
  readonly npages: readonly number[];
  readonly runs: number;
  readonly suite: SuiteOptions;
  /** Invalidations: a fixed count per run (each one's set-up costs far more than it does). */
  readonly invalidationSuite: SuiteOptions;
  readonly progress: (line: string) => void;
}

/** Validate the options; each family's first driver is its baseline. */
function plan(opts: GuideBenchOptions): Plan {
  if (opts === null || typeof opts !== 'object') {
    throw new InvalidArgumentError(
      `measureGuideDrivers: options are ${String(opts)}; expected an options object (or nothing)`,
    );
  }
  const drivers = opts.drivers ?? BENCH_DRIVERS;
  if (!Array.isArray(drivers) || drivers.length === 0) {
    throw new InvalidArgumentError(
      'measureGuideDrivers: drivers is empty; expected at least one BenchDriver (default BENCH_DRIVERS)',
    );
  }
  const baselines = new Map<string, string>();
  const ids = new Set<string>();
  for (const d of drivers as readonly BenchDriver[]) {
    if (
      typeof d?.create !== 'function' ||
      typeof d.id !== 'string' ||
      typeof d.family !== 'string'
    ) {
      throw new InvalidArgumentError(
        `measureGuideDrivers: drivers holds ${String(d)}; expected BenchDriver objects (id, family, step, title, create)`,
      );
    }
    if (ids.has(d.id)) {
      throw new InvalidArgumentError(
        `measureGuideDrivers: driver id '${d.id}' appears twice; ids must be unique`,
      );
    }
    ids.add(d.id);
    if (!baselines.has(d.family)) baselines.set(d.family, d.id);
  }
  const npages = opts.npages ?? [64, 512];
  if (!Array.isArray(npages) || npages.length === 0) {
    throw new InvalidArgumentError(
      `measureGuideDrivers: npages is ${String(npages)}; expected a non-empty list of page counts`,
    );
  }
  for (const n of npages) checkBenchPages('measureGuideDrivers', n);
  const runs = opts.runs ?? 5;
  checkInt('runs', runs, 1, 1000);
  const timeMs = opts.timeMs ?? 300;
  checkInt('timeMs', timeMs, 0, 600_000);
  const iterations = opts.iterations ?? 20;
  checkInt('iterations', iterations, 1, 1_000_000);
  const warmupIterations = opts.warmupIterations ?? 10;
  checkInt('warmupIterations', warmupIterations, 0, 1_000_000);
  const invalidations = opts.invalidations ?? 200;
  checkInt('invalidations', invalidations, 1, 1_000_000);
  if (opts.now !== undefined && typeof opts.now !== 'function') {
    throw new InvalidArgumentError(
      `measureGuideDrivers: now is ${String(opts.now)}; expected a clock function returning ms`,
    );
  }
  return {
    drivers,
    baselines,
    npages,
    runs,
    suite: {
      time: timeMs,
      iterations,
      warmupIterations,
      warmupTime: warmupIterations === 0 ? 0 : timeMs / 4,
      statistic: 'median',
      ...(opts.now === undefined ? {} : { now: opts.now }),
    },
    invalidationSuite: {
      time: 0,
      iterations: invalidations,
      warmupIterations,
      warmupTime: 0,
      statistic: 'median',
      ...(opts.now === undefined ? {} : { now: opts.now }),
    },
    progress: opts.onProgress ?? (() => {}),
  };
}

/** A driver bound on its own world. */
interface Bound {
  readonly spec: BenchDriver;
  readonly world: BenchWorld;
  readonly driver: GuideDriver;
  /** What the last timed invalidation left undone (restored before the next operation). */
  undo: BenchInvalidation | undefined;
}

/** Throw unless a driver call returned 0. */
function expectZero(spec: BenchDriver, what: string, ret: number): void {
  if (ret !== 0) throw new Error(`${spec.id}: ${what} returned ${ret}`);
}

/** The device accesses the whole range for writing; throws unless it was programmed. */
async function deviceFault(b: Bound): Promise<void> {
  expectZero(b.spec, 'fault(write)', await b.driver.fault(true));
}

/** Undo the last timed invalidation: the page mapped, writable and written again. */
async function restore(b: Bound): Promise<void> {
  const undo = b.undo;
  b.undo = undefined;
  if (undo === 'munmap') await remapVictim(b.world);
  else if (undo === 'mprotect') await unprotectVictim(b.world);
  else if (undo === 'munmap-outside') await mapOutside(b.world);
}

/** A world per driver (4 KiB pages or THP), each driver bound and its device programmed once. */
async function bindAll(p: Plan, npages: number, thp: boolean): Promise<Bound[]> {
  const out: Bound[] = [];
  try {
    for (const spec of p.drivers) {
      const world = await createBenchWorld(npages, { thp });
      const b: Bound = { spec, world, driver: spec.create(world), undo: undefined };
      expectZero(spec, 'bind()', await b.driver.bind());
      out.push(b);
      await deviceFault(b);
    }
  } catch (error) {
    await unbindAll(out);
    throw error;
  }
  return out;
}

/** Unbind every driver and end every world. */
async function unbindAll(bound: readonly Bound[]): Promise<void> {
  for (const b of bound) {
    await b.driver.unbind();
    await destroyBenchWorld(b.world);
  }
}

/** The timed device fault of one mode (fault-in: the range emptied first, not timed). */
function faultTask(b: Bound, mode: FaultMode): BenchTask {
  const before = mode === 'fault-in' ? () => emptyRange(b.world) : undefined;
  return [b.spec.id, () => deviceFault(b), before, true];
}

/**
 * The timed invalidation `op`, the world put back (and, for a mirrored page, the device made to
 * map it) before each one, then settled (world.ts:settle), not timed.
 */
function invalidationTask(b: Bound, op: BenchInvalidation): BenchTask {
  const before = async () => {
    await restore(b);
    if (op !== 'munmap-outside') await deviceFault(b);
    await settle(b.world);
  };
  const timed = async () => {
    const ret = await INVALIDATE[op](b.world);
    if (ret !== 0) throw new Error(`${b.spec.id}: ${op} returned ${ret}`);
    b.undo = op;
  };
  return [b.spec.id, timed, before, true];
}

/** Per-run samples of each driver's ms per operation. */
type Samples = ReadonlyMap<string, readonly number[]>;

/** The per-run values of `f(driver ms, baseline ms)`, summarised. */
function perRun(
  samples: Samples,
  id: string,
  baseline: string,
  f: (ms: number, base: number) => number,
): Summary {
  const mine = samples.get(id) ?? [];
  const base = samples.get(baseline) ?? [];
  return summarize(mine.map((ms, i) => f(ms, base[i] ?? Number.NaN)));
}

/** The subject fields of a figure. */
function subject(p: Plan, b: Bound, npages: number): FigureSubject {
  return {
    driver: b.spec.id,
    family: b.spec.family,
    step: b.spec.step,
    baseline: p.baselines.get(b.spec.family) ?? b.spec.id,
    npages,
  };
}

/** Run one suite (one task per driver) `runs` times. */
function suite(
  p: Plan,
  name: string,
  tasks: readonly BenchTask[],
  opts: SuiteOptions = p.suite,
): Promise<Samples> {
  return runRepeated(name, tasks, p.runs, opts, (r) =>
    p.progress(`${name}: run ${r + 1}/${p.runs}`),
  );
}

/** The figures of one fault mode from its per-run samples. */
function faultFigures(
  p: Plan,
  bound: readonly Bound[],
  npages: number,
  mode: FaultMode,
  samples: Samples,
): FaultFigure[] {
  return bound.map((b) => {
    const s = subject(p, b, npages);
    const stat = (f: (ms: number) => number) => perRun(samples, s.driver, s.driver, f);
    return {
      ...s,
      mode,
      usPerFault: stat((ms) => ms * 1000),
      faultsPerSecond: stat((ms) => 1000 / ms),
      pagesPerSecond: stat((ms) => (npages * 1000) / ms),
      vsBaseline: perRun(samples, s.driver, s.baseline, (ms, base) => base / ms),
    };
  });
}

/** Run one fault mode's suite on `bound` and return its figures. */
async function measureFaults(
  p: Plan,
  bound: readonly Bound[],
  npages: number,
  mode: FaultMode,
): Promise<FaultFigure[]> {
  const samples = await suite(
    p,
    `device fault, ${npages} pages, ${mode}`,
    bound.map((b) => faultTask(b, mode)),
  );
  return faultFigures(p, bound, npages, mode, samples);
}

/** The fault and invalidation figures of one range size. */
async function measureSize(
  p: Plan,
  npages: number,
): Promise<{ fault: FaultFigure[]; invalidation: InvalidationFigure[] }> {
  const fault: FaultFigure[] = [];
  const invalidation: InvalidationFigure[] = [];
  const modes = faultModesFor(npages);
  const bound = await bindAll(p, npages, false);
  try {
    for (const mode of modes) {
      if (mode !== 'resident-thp') fault.push(...(await measureFaults(p, bound, npages, mode)));
    }
    for (const op of BENCH_INVALIDATIONS) {
      const samples = await suite(
        p,
        `${op}, ${npages}-page range`,
        bound.map((b) => invalidationTask(b, op)),
        p.invalidationSuite,
      );
      for (const b of bound) await restore(b);
      for (const b of bound) {
        const s = subject(p, b, npages);
        invalidation.push({
          ...s,
          op,
          usPerInvalidation: perRun(samples, s.driver, s.driver, (ms) => ms * 1000),
          vsBaseline: perRun(samples, s.driver, s.baseline, (ms, base) => ms / base),
        });
      }
    }
  } finally {
    await unbindAll(bound);
  }
  if (modes.includes('resident-thp')) {
    const huge = await bindAll(p, npages, true);
    try {
      fault.push(...(await measureFaults(p, huge, npages, 'resident-thp')));
    } finally {
      await unbindAll(huge);
    }
  }
  return { fault, invalidation };
}

/**
 * Measure every driver: device fault throughput and invalidation cost, as data (the guide's
 * reference chapter quotes it; `bench/drivers.bench.ts` prints it).
 * Mirrors: model-only.
 */
export async function measureGuideDrivers(
  opts: GuideBenchOptions = {},
): Promise<GuideBenchFigures> {
  const p = plan(opts);
  const fault: FaultFigure[] = [];
  const invalidation: InvalidationFigure[] = [];
  for (const npages of p.npages) {
    const r = await measureSize(p, npages);
    fault.push(...r.fault);
    invalidation.push(...r.invalidation);
  }
  return {
    runs: p.runs,
    drivers: p.drivers.map((d) => ({
      id: d.id,
      family: d.family,
      step: d.step,
      title: d.title,
      baseline: p.baselines.get(d.family) ?? d.id,
    })),
    fault,
    invalidation,
  };
}

/** A figure with `digits` significant digits, large ones in k (thousands) or M (millions). */
function num(x: number, digits = 3): string {
  if (Math.abs(x) >= 1e6) return `${(x / 1e6).toPrecision(digits)}M`;
  if (Math.abs(x) >= 1e3) return `${(x / 1e3).toPrecision(digits)}k`;
  return x.toPrecision(digits);
}

/** '1.23 [1.10–1.31]': the median and the min–max over the runs. */
function spread(s: Summary): string {
  return `${num(s.median)} [${num(s.min)}–${num(s.max)}]`;
}

/** A Markdown table of `rows` under `header`. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

/**
 * The figures as Markdown tables, one per family and range size for faults and one per family
 * and invalidation: median [min–max] over the runs, ratios taken within each run.
 * Mirrors: model-only.
 */
export function formatGuideBenchFigures(f: GuideBenchFigures): string[] {
  const out: string[] = [
    `Every figure: the median [min–max] over ${f.runs} run${f.runs === 1 ? '' : 's'} of the median operation time; ratios are taken within each run against the family's v5.4 driver on the legacy API.`,
  ];
  const families = [...new Set(f.drivers.map((d) => d.family))];
  for (const family of families) {
    const baseline = f.drivers.find((d) => d.family === family)?.baseline ?? '';
    const sizes = [...new Set(f.fault.filter((x) => x.family === family).map((x) => x.npages))];
    for (const npages of sizes) {
      for (const mode of faultModesFor(npages)) {
        const rows = f.fault.filter(
          (x) => x.family === family && x.npages === npages && x.mode === mode,
        );
        out.push(
          '',
          `${family}: device faults over ${npages} pages (${(npages * PAGE_SIZE) / 1024} KiB), ${MODE_TEXT[mode]}`,
          '',
        );
        out.push(
          ...table(
            ['driver', 'step', 'µs per fault', 'faults/s', `× ${baseline}`],
            rows.map((x) => [
              x.driver,
              x.step,
              spread(x.usPerFault),
              spread(x.faultsPerSecond),
              spread(x.vsBaseline),
            ]),
          ),
        );
      }
    }
    for (const op of BENCH_INVALIDATIONS) {
      const rows = f.invalidation.filter((x) => x.family === family && x.op === op);
      if (rows.length === 0) continue;
      const what =
        op === 'munmap-outside'
          ? 'munmap of a page of the same process outside the mirrored range'
          : `${op === 'munmap' ? 'munmap' : 'mprotect(PROT_READ)'} of a mirrored page the device maps`;
      out.push('', `${family}: ${what}, time per invalidation`, '');
      out.push(
        ...table(
          ['driver', 'step', 'range', 'µs per invalidation', `time × ${baseline}`],
          rows.map((x) => [
            x.driver,
            x.step,
            `${x.npages} pages`,
            spread(x.usPerInvalidation),
            spread(x.vsBaseline),
          ]),
        ),
      );
    }
  }
  return out;
}
