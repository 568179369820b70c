/**
 * The system under test: one machine (RAM, swap, the scheduler every simulated CPU runs on), the
 * dmirror module's two device-private devices, and the live processes — each an mm with its own
 * I/O buffer and one open file per device, all on the implementation being fuzzed (the legacy
 * hmm_mirror API, the compat shim, or mmu_interval_notifier).
 */
import {
  type DmirrorDevice,
  type DmirrorFile,
  type DmirrorImpl,
  dmirrorOpen,
  hmmDmirrorInit,
} from '@hmmsim/dmirror';
import { createScheduler, PAGE_SIZE } from '@hmmsim/kernel';
import {
  createMachine,
  createMm,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  type Machine,
  type MmStruct,
  mmap,
} from '@hmmsim/mm';
import {
  FUZZ_RAM_BYTES,
  FUZZ_SWAP_PAGES,
  INITIAL_PROCS,
  IO_SLOT_PAGES,
  MAX_CPUS,
  MAX_SCHED_STEPS_PER_STEP,
} from './config.ts';
import { ZERO_PAGE } from './content.ts';
import { PROTS, type RefModel, type RefProc } from './ref-model.ts';
import { SwitchablePolicy } from './schedule.ts';
import { FuzzHarnessError } from './violation.ts';

/** A live process of the real system. */
export interface FuzzProc {
  readonly pid: number;
  readonly mm: MmStruct;
  /** One open file per device (index = minor). */
  readonly files: readonly DmirrorFile[];
  /** Start of the I/O buffer: MAX_CPUS slots of IO_SLOT_PAGES pages, slot i for CPU i. */
  readonly ioBuf: number;
}

/** The real system. */
export interface World {
  readonly impl: DmirrorImpl;
  readonly machine: Machine;
  readonly devices: readonly DmirrorDevice[];
  readonly policy: SwitchablePolicy;
  readonly procs: Map<number, FuzzProc>;
  /** Stale copies already counted per mirror (its stats.staleCopies is cumulative). */
  readonly staleSeen: WeakMap<object, number>;
  /** Copies the mirrors' copy-time oracle called stale (see machine-checks.ts). */
  staleCopies: number;
}

/** Bytes of a process's I/O buffer. */
export const IO_BUF_BYTES = MAX_CPUS * IO_SLOT_PAGES * PAGE_SIZE;

/** Address of CPU `cpu`'s slot in `proc`'s I/O buffer. */
export function ioSlot(proc: FuzzProc, cpu: number): number {
  return proc.ioBuf + cpu * IO_SLOT_PAGES * PAGE_SIZE;
}

/** Open one file per device from the process whose mm is `mm`. */
export async function openFiles(world: World, mm: MmStruct): Promise<DmirrorFile[]> {
  const files: DmirrorFile[] = [];
  for (const device of world.devices) {
    const f = await dmirrorOpen(device, mm, { impl: world.impl });
    if (typeof f === 'number') {
      throw new FuzzHarnessError(`open ${device.name} from mm${mm.id} failed with ${f}`);
    }
    files.push(f);
  }
  return files;
}

/** mmap an anonymous private range; the harness needs it to work. */
async function mustMmap(mm: MmStruct, pages: number, prot: number): Promise<number> {
  const addr = await mmap(mm, 0, pages * PAGE_SIZE, prot, MAP_PRIVATE | MAP_ANONYMOUS);
  if (addr <= 0) throw new FuzzHarnessError(`setup mmap of ${pages} pages failed with ${addr}`);
  return addr;
}

/** The initial regions of each initial process (pages each). */
const INITIAL_REGIONS = [8, 16];

/** A new process: its mm, I/O buffer, two empty read-write regions, a file on each device. */
async function spawnProcess(world: World, pid: number): Promise<RefProc> {
  const mm = createMm(world.machine);
  const ioBuf = await mustMmap(mm, IO_BUF_BYTES / PAGE_SIZE, PROTS.rw);
  const ref: RefProc = { pid, pages: new Map(), regions: [], ioBuf };
  for (const npages of INITIAL_REGIONS) {
    const start = await mustMmap(mm, npages, PROTS.rw);
    ref.regions.push({ start, npages });
    for (let i = 0; i < npages; i++) {
      ref.pages.set(start / PAGE_SIZE + i, { prot: PROTS.rw, cands: [ZERO_PAGE] });
    }
  }
  world.procs.set(pid, { pid, mm, files: await openFiles(world, mm), ioBuf });
  return ref;
}

/**
 * A fresh machine with the dmirror module loaded and INITIAL_PROCS processes (each with its I/O
 * buffer, two empty read-write regions and a file on each device), and the matching model.
 */
export async function createWorld(impl: DmirrorImpl): Promise<{ world: World; model: RefModel }> {
  const policy = new SwitchablePolicy();
  const sched = createScheduler({ policy, maxSteps: MAX_SCHED_STEPS_PER_STEP });
  const machine = createMachine({ ramBytes: FUZZ_RAM_BYTES, swapPages: FUZZ_SWAP_PAGES, sched });
  const module = hmmDmirrorInit(machine);
  if (typeof module === 'number') throw new FuzzHarnessError(`hmm_dmirror_init: ${module}`);
  const world: World = {
    impl,
    machine,
    devices: module.devices,
    policy,
    procs: new Map(),
    staleSeen: new WeakMap(),
    staleCopies: 0,
  };
  const model: RefModel = { procs: new Map(), nextPid: INITIAL_PROCS + 1 };
  for (let pid = 1; pid <= INITIAL_PROCS; pid++)
    model.procs.set(pid, await spawnProcess(world, pid));
  return { world, model };
}
