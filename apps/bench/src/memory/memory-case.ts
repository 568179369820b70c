/**
 * Memory: JS heap + ArrayBuffer bytes (after full GCs) per mirrored page — one range of P pages
 * bound and faulted in through each implementation, against the bare device page table — and per
 * registered one-page range (the invalidation-scaling worlds), against interval.
 */
import { DevicePageTable } from '@hmmsim/hmm-mirror';
import { jsBytes } from '@hmmsim-bench/common';
import { IMPLS, type Impl } from '../drivers/impl.ts';
import { createMirrorDriver } from '../drivers/mirror-driver.ts';
import { createRangesWorld, createScalingMm } from '../invalidation/scaling-world.ts';
import type { Measurement, Subject } from '../results/schema.ts';
import type { BenchCase, CaseContext } from '../run/bench-case.ts';
import { measurement, runRatio } from '../run/measurement.ts';
import { createFaultWorld, destroyFaultWorld } from '../throughput/fault-world.ts';

/** Subjects of the per-page figure, baseline first. */
const PAGE_SUBJECTS: readonly Subject[] = ['device-table', ...IMPLS];

/** Bytes per page that mirroring P populated pages with `subject` adds (device programmed). */
async function bytesPerMirroredPage(subject: Subject, pages: number): Promise<number> {
  const world = await createFaultWorld(pages, '4k');
  const before = jsBytes();
  const table = subject === 'device-table' ? new DevicePageTable('bare', world.start, pages) : null;
  const driver =
    table === null ? createMirrorDriver(subject as Impl, world.mm, world.start, pages) : null;
  await driver?.bind();
  await driver?.fault(true);
  const after = jsBytes();
  if ((table ?? driver!.dev).npages !== pages) throw new Error('memory: wrong device size');
  await driver?.unbind();
  await destroyFaultWorld(world);
  return (after - before) / pages;
}

/** Bytes per registered one-page range of `impl`. */
async function bytesPerRange(impl: Impl, ranges: number): Promise<number> {
  const mm = createScalingMm();
  const before = jsBytes();
  const world = await createRangesWorld(impl, mm, ranges);
  const after = jsBytes();
  await world.destroy();
  return (after - before) / ranges;
}

/** The memory case. */
export function memoryCase(repetitions: number): BenchCase {
  return {
    id: 'memory',
    units: repetitions,
    async run(ctx: CaseContext) {
      const { mirroredPages, ranges } = ctx.plan.memory;
      const perPage = new Map<Subject, number[]>(PAGE_SUBJECTS.map((s) => [s, []]));
      const perRange = new Map<Impl, number[]>(IMPLS.map((i) => [i, []]));
      for (let r = 0; r < repetitions; r++) {
        for (const s of PAGE_SUBJECTS)
          perPage.get(s)!.push(await bytesPerMirroredPage(s, mirroredPages));
        for (const i of IMPLS) perRange.get(i)!.push(await bytesPerRange(i, ranges));
        ctx.tick(`memory run ${r + 1}`);
      }
      return [...pageMeasurements(perPage, mirroredPages), ...rangeMeasurements(perRange, ranges)];
    },
  };
}

/** Per-page figures, each implementation against the bare device table. */
function pageMeasurements(perPage: ReadonlyMap<Subject, number[]>, pages: number): Measurement[] {
  const base = 'memory/per-page/device-table';
  return PAGE_SUBJECTS.map((s) =>
    measurement({
      id: `memory/per-page/${s}`,
      scenario: 'memory',
      implementation: s,
      parameters: { mirroredPages: pages, layout: 'one range, faulted in for write' },
      unit: 'B/page',
      samples: perPage.get(s)!,
      ratios:
        s === 'device-table' ? [] : [runRatio(base, perPage.get(s)!, perPage.get('device-table')!)],
    }),
  );
}

/** Per-range figures, legacy and shim against interval. */
function rangeMeasurements(perRange: ReadonlyMap<Impl, number[]>, ranges: number): Measurement[] {
  const base = 'memory/per-range/interval';
  return IMPLS.map((i) =>
    measurement({
      id: `memory/per-range/${i}`,
      scenario: 'memory',
      implementation: i,
      parameters: {
        ranges,
        layout:
          i === 'interval'
            ? 'one driver + interval notifier per range'
            : 'one mirror, registered ranges',
      },
      unit: 'B/range',
      samples: perRange.get(i)!,
      ratios: i === 'interval' ? [] : [runRatio(base, perRange.get(i)!, perRange.get('interval')!)],
    }),
  );
}
