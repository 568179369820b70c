/**
 * The small machine every guide example runs on: one process with a two-page mirrored range,
 * faulted in, and another process that receives whatever page the first one gives up (so that a
 * stale device mapping visibly points into someone else's memory), plus a device-memory driver
 * for the migration invalidation.
 */
import { KernelBugError, PAGE_SIZE, type Scheduler } from '@hmmsim/kernel';
import { createTestDevice, type TestDevice } from '@hmmsim/migrate';
import {
  cpuWrite,
  createMachine,
  createMm,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  type Machine,
  type MmStruct,
  mmap,
  PROT_READ,
  PROT_WRITE,
} from '@hmmsim/mm';

/** Where the mirrored range starts. */
export const GUIDE_BASE = 0x10000000;
/** Pages in the mirrored range. */
export const GUIDE_NPAGES = 2;
/** Where the other process maps the page that receives a freed pfn. */
export const GUIDE_OTHER_ADDR = 0x20000000;
/** The byte the mirrored range is filled with before the device first sees it. */
export const GUIDE_FILL = 7;

/** The machine, the mirrored process, the other process and a device-memory driver. */
export interface GuideWorld {
  readonly machine: Machine;
  /** The process whose range the device mirrors. */
  readonly mm: MmStruct;
  /** Another process; it faults a page in after the first one frees one. */
  readonly other: MmStruct;
  /** A device-private memory driver (migrate_vma), used by the migration invalidation. */
  readonly devmem: TestDevice;
}

/** Throw KernelBugError unless `ok` (a broken setup is a bug of the guide, not of a driver). */
export function setupCheck(ok: boolean, what: string): void {
  if (!ok) throw new KernelBugError(`guide setup: ${what}`);
}

/** Build the world on `sched`: the range is mapped read-write and every page faulted in. */
export async function createGuideWorld(sched: Scheduler): Promise<GuideWorld> {
  const machine = createMachine({ ramBytes: 4 * 2 ** 20, swapPages: 64, sched, thp: 'never' });
  const mm = createMm(machine);
  const len = GUIDE_NPAGES * PAGE_SIZE;
  const rw = PROT_READ | PROT_WRITE;
  const anon = MAP_PRIVATE | MAP_ANONYMOUS;
  setupCheck((await mmap(mm, GUIDE_BASE, len, rw, anon)) === GUIDE_BASE, 'mmap the range');
  setupCheck((await cpuWrite(mm, GUIDE_BASE, new Uint8Array(len).fill(GUIDE_FILL))).ok, 'touch');
  const other = createMm(machine);
  setupCheck(
    (await mmap(other, GUIDE_OTHER_ADDR, PAGE_SIZE, rw, anon)) === GUIDE_OTHER_ADDR,
    'mmap in the other process',
  );
  const devmem = createTestDevice(machine, { nrPages: 8, owner: 'guide-devmem' });
  return { machine, mm, other, devmem };
}
