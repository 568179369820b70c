/**
 * Explorer scenarios of device-memory migration, each meant to be explored exhaustively with a
 * preemption bound of 2: a migration to device memory racing a CPU write to the same page, racing
 * an munmap of the range, and two CPUs faulting the same device page back at once. Every step
 * checks the mm's machine invariants and migration invariants 18–20; the end checks that no write
 * was lost and that no page leaked or was freed twice (invariants 16 and 19).
 *
 * Mirrors: model-only (migrate_vma's setup/pages/finalize ordering and invariants 16–20 of docs/kernel/invariants.md).
 */
import { defineScenario, type Scenario } from '@hmmsim/explorer';
import {
  accessReporting,
  KernelBugError,
  noteWrite,
  PAGE_SIZE,
  type Scheduler,
} from '@hmmsim/kernel';
import {
  assertMachineInvariants,
  type CpuAccessResult,
  cpuRead,
  cpuWrite,
  createMachine,
  createMm,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  type Machine,
  type MmStruct,
  mmap,
  munmap,
  PROT_READ,
  PROT_WRITE,
} from '@hmmsim/mm';
import { nrFreePages } from '@hmmsim/pagetable';
import { devicePrivatePteAt } from './device-private.ts';
import { assertMigrateInvariants } from './invariants.ts';
import { peekUser } from './peek.ts';
import { createTestDevice, type TestDevice } from './test-device.ts';

/** Device memory of the scenarios, in pages. */
const DEVICE_PAGES = 8;
/** Pages mapped by the scenarios. */
const NPAGES = 2;
/** Byte pattern of page i before the race. */
const fillOf = (i: number): number => 0x11 * (i + 1);
/** What the CPU writes, and where. */
const WRITE_OFFSET = 100;
const WRITE_BYTES = new Uint8Array(8).fill(0xab);

// Elements of a scenario's state in access reports: the result fields its tasks write (each
// written by one task and read only by the final check). `reads[k]` is element k of that array.
const STATE_MIGRATE_RET = 0;
const STATE_WRITE_RESULT = 1;
const STATE_MUNMAP_RET = 2;

/** Common state: one machine, one mm with NPAGES written pages, one device. */
export interface World {
  readonly machine: Machine;
  readonly mm: MmStruct;
  readonly dev: TestDevice;
  readonly addr: number;
  /** Free RAM pages before anything was mapped. */
  readonly freeBefore: number;
  migrateRet: number | undefined;
}

async function makeWorld(sched: Scheduler): Promise<World> {
  const machine = createMachine({ ramBytes: 4 * 2 ** 20, swapPages: 0, sched, thp: 'never' });
  const mm = createMm(machine);
  const dev = createTestDevice(machine, { nrPages: DEVICE_PAGES });
  const freeBefore = nrFreePages(machine.phys);
  const addr = await mmap(
    mm,
    0,
    NPAGES * PAGE_SIZE,
    PROT_READ | PROT_WRITE,
    MAP_PRIVATE | MAP_ANONYMOUS,
  );
  if (addr < 0) throw new KernelBugError(`setup: mmap returned ${addr}`);
  for (let i = 0; i < NPAGES; i++) {
    const r = await cpuWrite(mm, addr + i * PAGE_SIZE, new Uint8Array(PAGE_SIZE).fill(fillOf(i)));
    if (!r.ok) throw new KernelBugError(`setup: write failed with ${r.signal}`);
  }
  return { machine, mm, dev, addr, freeBefore, migrateRet: undefined };
}

/** Every scheduling point: the mm's invariants and migration invariants 18–20. */
function stepCheck(w: World): void {
  assertMachineInvariants(w.machine);
  assertMigrateInvariants(w.machine, { quiescent: false });
}

/** The end: quiescent invariants 16–20 and the mm's invariants. */
function endCheck(w: World): void {
  assertMachineInvariants(w.machine);
  assertMigrateInvariants(w.machine, { quiescent: true, freeLists: [w.dev] });
  if (w.dev.pgmap.pageFreeCalls !== w.dev.stats.frees) {
    throw new KernelBugError(
      `page_free ran ${w.dev.pgmap.pageFreeCalls} times but the driver took back ${w.dev.stats.frees} pages`,
    );
  }
}

/** Expected contents of page i (with the CPU write applied to page 0 when `written`). */
function expected(i: number, written: boolean): Uint8Array {
  const want = new Uint8Array(PAGE_SIZE).fill(fillOf(i));
  if (written && i === 0) want.set(WRITE_BYTES, WRITE_OFFSET);
  return want;
}

/** Throw unless the mapped memory holds what it must (no lost write, no stale copy). */
function checkContents(w: World, written: boolean): void {
  for (let i = 0; i < NPAGES; i++) {
    const got = peekUser(w.mm, w.addr + i * PAGE_SIZE, PAGE_SIZE);
    const want = expected(i, written);
    const at = got.findIndex((b, k) => b !== want[k]);
    if (at >= 0) {
      throw new KernelBugError(
        `page ${i} byte ${at} is 0x${(got[at] as number).toString(16)}, expected 0x${(want[at] as number).toString(16)} (lost or stale data)`,
      );
    }
  }
}

/** The migrating task: the whole range to device memory, in one migrate_vma round. */
async function migrateTask(w: World): Promise<void> {
  const ret = await w.dev.migrateToDevice(w.mm, w.addr, w.addr + NPAGES * PAGE_SIZE);
  if (accessReporting) noteWrite(w, STATE_MIGRATE_RET);
  w.migrateRet = ret;
}

// ---- migration to device vs a CPU write to the same page ------------------------------------------

/** State of the migration-races-a-CPU-write scenario. Model-only. */
export interface WriteState extends World {
  writeResult: CpuAccessResult | undefined;
}

/**
 * CPU0 migrates both pages to device memory; CPU1 writes 8 bytes into page 0. Whatever the
 * interleaving (write before collect, while the page is under migration, after it moved to the
 * device — which faults it back through migrate_to_ram), the write lands and no byte is lost.
 * Mirrors: model-only (migrate.md §4.2/§4.8: migration entries make the writer wait).
 */
export const migrateRacesCpuWrite: Scenario<WriteState> = defineScenario<WriteState>({
  name: 'migrate-vs-cpu-write',
  description:
    'migration to device memory racing a CPU write to the same page: the write is never lost',
  expect: 'pass',
  accesses: 'reported',
  async setup(sched) {
    return { ...(await makeWorld(sched)), writeResult: undefined };
  },
  tasks: [
    { name: 'cpu0 migrate to device', run: migrateTask },
    {
      name: 'cpu1 write page 0',
      async run(s) {
        const r = await cpuWrite(s.mm, s.addr + WRITE_OFFSET, WRITE_BYTES);
        if (accessReporting) noteWrite(s, STATE_WRITE_RESULT);
        s.writeResult = r;
      },
    },
  ],
  invariant: stepCheck,
  finalCheck(s) {
    endCheck(s);
    if (s.writeResult?.ok !== true) throw new KernelBugError('the CPU write failed');
    if (s.migrateRet === undefined || s.migrateRet < 0) {
      throw new KernelBugError(`migration returned ${String(s.migrateRet)}`);
    }
    checkContents(s, true);
  },
});

// ---- migration to device vs munmap ------------------------------------------------------------------

/** State of the migration-races-munmap scenario. Model-only. */
export interface MunmapState extends World {
  munmapRet: number | undefined;
}

/**
 * CPU0 migrates both pages to device memory; CPU1 unmaps the range. munmap waits for the
 * migration's mmap_sem or runs first (the migration then finds no vma, -EINVAL); either way every
 * RAM page is freed once, every device page goes back through page_free once, nothing leaks.
 * Mirrors: model-only (migrate.md §4.8, invariant 19).
 */
export const migrateRacesMunmap: Scenario<MunmapState> = defineScenario<MunmapState>({
  name: 'migrate-vs-munmap',
  description:
    'migration to device memory racing munmap of the range: no leaked or doubly freed page',
  expect: 'pass',
  accesses: 'reported',
  async setup(sched) {
    return { ...(await makeWorld(sched)), munmapRet: undefined };
  },
  tasks: [
    { name: 'cpu0 migrate to device', run: migrateTask },
    {
      name: 'cpu1 munmap',
      async run(s) {
        const r = await munmap(s.mm, s.addr, NPAGES * PAGE_SIZE);
        if (accessReporting) noteWrite(s, STATE_MUNMAP_RET);
        s.munmapRet = r;
      },
    },
  ],
  invariant: stepCheck,
  finalCheck(s) {
    endCheck(s);
    if (s.munmapRet !== 0) throw new KernelBugError(`munmap returned ${String(s.munmapRet)}`);
    if (s.dev.nrFree !== DEVICE_PAGES) {
      throw new KernelBugError(`${DEVICE_PAGES - s.dev.nrFree} device page(s) leaked`);
    }
    if (s.dev.stats.allocs !== s.dev.stats.frees) {
      throw new KernelBugError(
        `${s.dev.stats.allocs} device allocations, ${s.dev.stats.frees} frees`,
      );
    }
    const free = nrFreePages(s.machine.phys);
    if (free !== s.freeBefore) {
      throw new KernelBugError(
        `${s.freeBefore - free} RAM page(s) leaked (free ${free}, before ${s.freeBefore})`,
      );
    }
  },
});

// ---- two CPU faults on the same device page --------------------------------------------------------

/** State of the concurrent device-faults scenario. Model-only. */
export interface FaultState extends World {
  readonly reads: (CpuAccessResult | undefined)[];
}

async function readTask(s: FaultState, k: number): Promise<void> {
  const r = await cpuRead(s.mm, s.addr, PAGE_SIZE);
  if (accessReporting) noteWrite(s.reads, k);
  s.reads[k] = r;
}

/**
 * Both pages start on the device; CPU0 and CPU1 read page 0 at once, so both fault into the
 * owner's migrate_to_ram. One migrates the page back; the other finds it locked or already moved
 * (cpages 0) and retries the access. Both read the right data; the device page is freed once.
 * Mirrors: model-only (migrate.md §1.3 and the always-movable device-private pin test).
 */
export const concurrentDeviceFaults: Scenario<FaultState> = defineScenario<FaultState>({
  name: 'device-page-double-fault',
  description:
    'two CPUs fault the same device-private page back at once: one migration, right data',
  expect: 'pass',
  accesses: 'reported',
  async setup(sched) {
    const w = await makeWorld(sched);
    const n = await w.dev.migrateToDevice(w.mm, w.addr, w.addr + NPAGES * PAGE_SIZE);
    if (n !== NPAGES) throw new KernelBugError(`setup: migrated ${n} of ${NPAGES} pages`);
    return { ...w, reads: [undefined, undefined] };
  },
  tasks: [
    { name: 'cpu0 read page 0', run: (s) => readTask(s, 0) },
    { name: 'cpu1 read page 0', run: (s) => readTask(s, 1) },
  ],
  invariant: stepCheck,
  finalCheck(s) {
    endCheck(s);
    const want = expected(0, false);
    for (const r of s.reads) {
      if (r?.ok !== true || r.data === undefined) throw new KernelBugError('a CPU read failed');
      if (r.data.some((b, k) => b !== want[k]))
        throw new KernelBugError('a CPU read saw wrong data');
    }
    if (devicePrivatePteAt(s.mm, s.addr) !== null) {
      throw new KernelBugError('page 0 is still on the device after the CPU read it');
    }
    if (s.dev.stats.frees !== 1) {
      throw new KernelBugError(`expected exactly one device page freed, got ${s.dev.stats.frees}`);
    }
    checkContents(s, false);
  },
});

/** Every scenario of this package, for the explorer command line and the tests. */
export const scenarios: readonly Scenario[] = [
  migrateRacesCpuWrite,
  migrateRacesMunmap,
  concurrentDeviceFaults,
] as readonly Scenario[];
