/**
 * Fault throughput of one range size and page kind: pages per second through each
 * implementation's driver fault loop (register or read_begin, hmm_range_fault, driver lock,
 * valid/retry check, program the device page table), for snapshot and for fault-in (read and
 * write) from empty, with two baselines measured in the same run: the bare hmm_range_fault walk
 * with no notifier, and a raw typed-array fill of the same entry count (the limit).
 */
import { PAGE_SIZE } from '@hmmsim/kernel';
import {
  type BenchTask,
  createRawFill,
  runRepeated,
  type SuiteOptions,
} from '@hmmsim-bench/common';
import { IMPLS, type Impl } from '../drivers/impl.ts';
import { createMirrorDriver, type MirrorDriver } from '../drivers/mirror-driver.ts';
import type { Measurement, Subject } from '../results/schema.ts';
import type { BenchCase, CaseContext } from '../run/bench-case.ts';
import { measurement, runRatio } from '../run/measurement.ts';
import { type PageKind, sizeLabel } from '../run/plan.ts';
import { withCleanup } from '../run/with-cleanup.ts';
import { bareRange, bareWalk } from './bare-walk.ts';
import { FAULT_MODES, type FaultMode } from './fault-mode.ts';
import {
  createFaultWorld,
  destroyFaultWorld,
  emptyFaultWorld,
  type FaultWorld,
} from './fault-world.ts';

/** The subjects of a throughput run, baselines first. */
const SUBJECTS: readonly Subject[] = ['raw-fill', 'bare-walk', ...IMPLS];

/** The worlds of one case: one for the bare walk, one per implementation with its driver. */
interface Worlds {
  readonly bare: FaultWorld;
  readonly drivers: ReadonlyMap<Impl, { world: FaultWorld; driver: MirrorDriver }>;
}

async function createWorlds(npages: number, kind: PageKind): Promise<Worlds> {
  const bare = await createFaultWorld(npages, kind);
  const drivers = new Map<Impl, { world: FaultWorld; driver: MirrorDriver }>();
  for (const impl of IMPLS) {
    const world = await createFaultWorld(npages, kind);
    const driver = createMirrorDriver(impl, world.mm, world.start, npages);
    await driver.bind();
    drivers.set(impl, { world, driver });
  }
  return { bare, drivers };
}

async function destroyWorlds(w: Worlds): Promise<void> {
  for (const { world, driver } of w.drivers.values()) {
    await driver.unbind();
    await destroyFaultWorld(world);
  }
  await destroyFaultWorld(w.bare);
}

/** Raw fills per timed operation, so that a tiny fill is not just tinybench's per-call cost. */
function rawBatch(npages: number): number {
  return Math.max(1, Math.ceil(16_384 / npages));
}

/** One timed operation of the raw-fill baseline: rawBatch(npages) fills. */
function batchedRawFill(npages: number): () => void {
  const { fill } = createRawFill(npages);
  const batch = rawBatch(npages);
  return () => {
    for (let b = 0; b < batch; b++) fill();
  };
}

/** The suite of one mode: raw fill, bare walk, then each driver (fault-in starts from empty). */
function modeTasks(w: Worlds, npages: number, mode: FaultMode): BenchTask[] {
  const raw = batchedRawFill(npages);
  const range = bareRange(w.bare);
  const empty = (world: FaultWorld) =>
    mode === 'snapshot' ? undefined : () => emptyFaultWorld(world);
  const tasks: BenchTask[] = [
    ['raw-fill', raw, undefined, false],
    ['bare-walk', () => bareWalk(w.bare, range, mode), empty(w.bare), true],
  ];
  for (const [impl, { world, driver }] of w.drivers) {
    const op =
      mode === 'snapshot' ? () => driver.snapshot() : () => driver.fault(mode === 'fault-write');
    tasks.push([impl, op, empty(world), true]);
  }
  return tasks;
}

/**
 * tinybench settings: small ranges run a fixed number of operations (a time budget would mean
 * thousands of untimed set-ups each), big ones fill the time budget, and 1 GiB gets one timed
 * operation per run and no warm-up.
 */
function suiteOptions(npages: number, ctx: CaseContext): SuiteOptions {
  const timeMs = ctx.plan.throughput.timeMs;
  const cap = ctx.plan.quick ? 100 : 1000;
  const iterations = Math.max(1, Math.min(cap, Math.floor(65_536 / npages)));
  const warm = npages <= 8192;
  return {
    time: timeMs * Math.min(1, npages / 512),
    iterations,
    warmupIterations: warm ? Math.min(iterations, 200) : 0,
    warmupTime: warm ? timeMs / 4 : 0,
    now: ctx.now,
  };
}

/** The measurements of one mode from its per-run ms samples. */
function modeMeasurements(
  prefix: string,
  params: Readonly<Record<string, string | number>>,
  npages: number,
  samples: ReadonlyMap<string, readonly number[]>,
): Measurement[] {
  const pagesPerSecond = (s: Subject) => {
    const perOp = s === 'raw-fill' ? npages * rawBatch(npages) : npages;
    return (samples.get(s) ?? []).map((ms) => (perOp * 1000) / ms);
  };
  const raw = pagesPerSecond('raw-fill');
  const bare = pagesPerSecond('bare-walk');
  return SUBJECTS.map((s) => {
    const values = pagesPerSecond(s);
    const ratios =
      s === 'raw-fill'
        ? []
        : s === 'bare-walk'
          ? [runRatio(`${prefix}/raw-fill`, values, raw)]
          : [
              runRatio(`${prefix}/raw-fill`, values, raw),
              runRatio(`${prefix}/bare-walk`, values, bare),
            ];
    return measurement({
      id: `${prefix}/${s}`,
      scenario: 'fault-throughput',
      implementation: s,
      parameters: params,
      unit: 'pages/s',
      samples: values,
      ratios,
    });
  });
}

/** The case for one page kind and range size. */
export function throughputCase(kind: PageKind, bytes: number, repetitions: number): BenchCase {
  const size = sizeLabel(bytes);
  const npages = bytes / PAGE_SIZE;
  return {
    id: `fault-throughput/${kind}/${size}`,
    units: FAULT_MODES.length * repetitions,
    async run(ctx) {
      const worlds = await createWorlds(npages, kind);
      return withCleanup(
        async () => {
          const out: Measurement[] = [];
          for (const mode of FAULT_MODES) {
            const prefix = `fault-throughput/${mode}/${kind}/${size}`;
            const samples = await runRepeated(
              prefix,
              modeTasks(worlds, npages, mode),
              ctx.plan.repetitions,
              suiteOptions(npages, ctx),
              (r) => ctx.tick(`${prefix} run ${r + 1}`),
            );
            const params = { mode, pages: kind, rangeBytes: bytes, rangePages: npages };
            out.push(...modeMeasurements(prefix, params, npages, samples));
          }
          return out;
        },
        () => destroyWorlds(worlds),
      );
    },
  };
}
