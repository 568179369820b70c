/**
 * A contention run's machine: a scheduler with the two-CPU policy, an mm with the populated
 * address space and the scratch area, a page mover and a bound driver over the range.
 */
import { createScheduler, PAGE_SIZE, type Scheduler } from '@hmmsim/kernel';
import { createMachine, createMm, type MmStruct } from '@hmmsim/mm';
import { faultInWrite, mapAnonFixed } from '@hmmsim-bench/common';
import type { Impl } from '../drivers/impl.ts';
import { createMirrorDriver, type MirrorDriver } from '../drivers/mirror-driver.ts';
import {
  type ContentionLayout,
  rangeStart,
  SCRATCH_BASE,
  SPACE_BASE,
} from './contention-layout.ts';
import { PageMover } from './page-mover.ts';
import { type ArrivalSource, TwoCpuPolicy } from './two-cpu-policy.ts';

/** Attempts a contention driver may make per fault (never the limit in practice). */
const MAX_TRIES = 100_000;

/** Everything a contention run needs. */
export interface ContentionWorld {
  readonly sched: Scheduler;
  readonly policy: TwoCpuPolicy;
  readonly mm: MmStruct;
  readonly mover: PageMover;
  readonly driver: MirrorDriver;
}

/** RAM for the space, the scratch area and page tables, rounded up to 2 MiB. */
function ramBytes(l: ContentionLayout): number {
  const pages = l.spacePages + l.scratchPages + 2048;
  return Math.ceil((pages * PAGE_SIZE) / 2 ** 21) * 2 ** 21;
}

/** A fresh world whose invalidating CPU follows `arrivals`; the driver is bound. */
export async function createContentionWorld(
  impl: Impl,
  l: ContentionLayout,
  arrivals: ArrivalSource,
): Promise<ContentionWorld> {
  const policy = new TwoCpuPolicy(arrivals);
  const sched = createScheduler({ policy });
  policy.attach(sched.clock);
  const machine = createMachine({ ramBytes: ramBytes(l), thp: 'never', swapPages: 0, sched });
  const mm = createMm(machine);
  await mapAnonFixed(mm, SPACE_BASE, l.spacePages * PAGE_SIZE);
  await mapAnonFixed(mm, SCRATCH_BASE, l.scratchPages * PAGE_SIZE);
  await faultInWrite(mm, SPACE_BASE, l.spacePages * PAGE_SIZE, PAGE_SIZE);
  const mover = new PageMover(
    mm,
    { start: SPACE_BASE, npages: l.spacePages },
    { start: SCRATCH_BASE, npages: l.scratchPages },
  );
  const driver = createMirrorDriver(impl, mm, rangeStart(l), l.rangePages, { maxTries: MAX_TRIES });
  await driver.bind();
  return { sched, policy, mm, mover, driver };
}
