/**
 * A fault-throughput world: one machine and mm per measured subject, with the range mapped at a
 * 1 GiB-aligned address and populated by CPU write faults (4 KiB pages, or one THP per 2 MiB).
 */
import { PAGE_SIZE, PMD_SIZE } from '@hmmsim/kernel';
import { createMachine, createMm, MADV_DONTNEED, type MmStruct, madvise, mmput } from '@hmmsim/mm';
import { faultInWrite, mapAnonFixed } from '@hmmsim-bench/common';
import type { PageKind } from '../run/plan.ts';

/** Where every range starts (1 GiB and 2 MiB aligned, above 2^31). */
export const RANGE_BASE = 2 ** 40;

/** One mm with the range mapped. */
export interface FaultWorld {
  readonly mm: MmStruct;
  readonly start: number;
  readonly npages: number;
}

/** A fresh machine and mm with `npages` mapped and populated with `kind` pages. */
export async function createFaultWorld(npages: number, kind: PageKind): Promise<FaultWorld> {
  const len = npages * PAGE_SIZE;
  const machine = createMachine({
    ramBytes: len + 64 * 2 ** 20,
    thp: kind === 'thp' ? 'always' : 'never',
    swapPages: 0,
  });
  const mm = createMm(machine);
  await mapAnonFixed(mm, RANGE_BASE, len);
  await faultInWrite(mm, RANGE_BASE, len, kind === 'thp' ? PMD_SIZE : PAGE_SIZE);
  return { mm, start: RANGE_BASE, npages };
}

/** Zap the whole range (MADV_DONTNEED), so the next fault-in starts from empty. */
export async function emptyFaultWorld(w: FaultWorld): Promise<void> {
  const ret = await madvise(w.mm, w.start, w.npages * PAGE_SIZE, MADV_DONTNEED);
  if (ret !== 0) throw new Error(`madvise(DONTNEED) returned ${ret}`);
}

/** The mm exits. */
export function destroyFaultWorld(w: FaultWorld): Promise<void> {
  return mmput(w.mm);
}
