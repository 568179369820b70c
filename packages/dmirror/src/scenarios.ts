/**
 * anon_teardown in miniature, for the explorer: CPU0 munmaps page 1 of a two-page buffer while
 * CPU1 has the device READ both pages, on each implementation. The invariant, checked at every
 * scheduling decision, is the key safety property of the device page table: no entry maps a page
 * the CPU no longer maps there (stale-entry.ts); the final check adds that a READ returning 0
 * copied nothing through a stale entry.
 *
 * - `legacy`: violated with one preemption — CPU0's whole munmap runs between CPU1's
 *   hmm_range_fault() and its locked hmm_range_valid() check, which still says valid (R1), so
 *   the pass commits the freed page;
 * - `shim`, `interval`: clean over every schedule of the bound (the sequence catches it).
 *
 * The device is created without device memory (a READ never allocates any), so each schedule's
 * setup stays cheap.
 *
 * Mirrors: model-only (the race lib/test_hmm.c's anon_teardown probes, made exhaustive).
 */
import { defineScenario, type Scenario } from '@hmmsim/explorer';
import {
  accessReporting,
  KernelBugError,
  noteRead,
  noteWrite,
  PAGE_SIZE,
  type Scheduler,
} from '@hmmsim/kernel';
import {
  cpuWrite,
  createMachine,
  createMm,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  type MmStruct,
  mmap,
  munmap,
  PROT_READ,
  PROT_WRITE,
} from '@hmmsim/mm';
import type { Dmirror } from './dmirror.ts';
import { DmirrorDevice } from './dmirror-device.ts';
import { type DmirrorFile, dmirrorOpen } from './file.ts';
import { dmirrorIoctl } from './ioctl.ts';
import { DMIRROR_IMPLS, type DmirrorImpl } from './options.ts';
import { dmirrorStaleEntries } from './stale-entry.ts';
import { HMM_DMIRROR_READ, type HmmDmirrorCmd } from './uapi.ts';

/**
 * State of one schedule. The tasks share the command block `cmd` (CPU0 reads its `addr`, element
 * 0; the ioctl reports its own accesses) and write the result fields, reported as elements of the
 * state object (0: `readRet`, 1: `munmapRet`). Mirrors: model-only.
 */
export interface TeardownRaceState {
  readonly impl: DmirrorImpl;
  readonly mm: MmStruct;
  readonly file: DmirrorFile;
  readonly dmirror: Dmirror;
  readonly cmd: HmmDmirrorCmd;
  /** The READ's return value (undefined until it returns). */
  readRet: number | undefined;
  munmapRet: number | undefined;
}

const NPAGES = 2;
/** Elements of a TeardownRaceState (and of its command block) in access reports. */
const READ_RET = 0;
const MUNMAP_RET = 1;
const CMD_ADDR = 0;

/** A mapping of `pages` pages with every byte set to `fill`. */
async function filledMapping(mm: MmStruct, pages: number, fill: number): Promise<number> {
  const size = pages * PAGE_SIZE;
  const a = await mmap(mm, 0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  if (a <= 0 || !(await cpuWrite(mm, a, new Uint8Array(size).fill(fill))).ok) {
    throw new KernelBugError('dmirror teardown scenario: setup mapping failed');
  }
  return a;
}

/** Machine, process, buffer, user buffer and an open device file. */
async function setup(sched: Scheduler, impl: DmirrorImpl): Promise<TeardownRaceState> {
  const machine = createMachine({ ramBytes: 8 * 2 ** 20, sched });
  const mm = createMm(machine);
  const mirror = await filledMapping(mm, NPAGES, 0);
  const ptr = await filledMapping(mm, NPAGES, 0x5a);
  const file = await dmirrorOpen(new DmirrorDevice(machine, 0), mm, { impl });
  if (typeof file === 'number' || file.privateData === null) {
    throw new KernelBugError(`dmirror teardown scenario: open failed (${String(file)})`);
  }
  const cmd = { addr: ptr, ptr: mirror, npages: NPAGES, cpages: 0, faults: 0 };
  return {
    impl,
    mm,
    file,
    dmirror: file.privateData,
    cmd,
    readRet: undefined,
    munmapRet: undefined,
  };
}

/** No device entry maps a page the CPU no longer maps there. */
function noStaleEntry(s: TeardownRaceState): void {
  const stale = dmirrorStaleEntries(s.dmirror);
  if (stale.length === 0) return;
  const list = stale.map((e) => `0x${e.addr.toString(16)}: ${e.why}`).join('; ');
  throw new KernelBugError(`stale device entry (${s.impl}): ${list}`);
}

/** A successful READ copied nothing through a stale entry. */
function finalCheck(s: TeardownRaceState): void {
  noStaleEntry(s);
  if (s.munmapRet !== 0) throw new KernelBugError(`munmap returned ${s.munmapRet}`);
  if (s.readRet === 0 && s.dmirror.stats.staleCopies > 0) {
    throw new KernelBugError(
      `READ returned 0 after copying through a stale entry (${s.dmirror.stats.lastStale})`,
    );
  }
}

/**
 * The scenario for one implementation. Mirrors: model-only.
 */
export function teardownRaceScenario(impl: DmirrorImpl): Scenario<TeardownRaceState> {
  return defineScenario<TeardownRaceState>({
    name: `dmirror-teardown-${impl}`,
    description: `CPU0 munmaps page 1 while CPU1 has a dmirror (${impl}) READ both pages: no stale device entry`,
    expect: impl === 'legacy' ? 'violation' : 'pass',
    // Every package these tasks run through reports its shared accesses.
    accesses: 'reported',
    setup: (sched) => setup(sched, impl),
    tasks: [
      {
        name: 'cpu0 munmap',
        async run(s) {
          if (accessReporting) noteRead(s.cmd, CMD_ADDR);
          const ret = await munmap(s.mm, s.cmd.addr + PAGE_SIZE, PAGE_SIZE);
          if (accessReporting) noteWrite(s, MUNMAP_RET);
          s.munmapRet = ret;
        },
      },
      {
        name: 'cpu1 device READ',
        async run(s) {
          const ret = await dmirrorIoctl(s.file, HMM_DMIRROR_READ, s.cmd);
          if (accessReporting) noteWrite(s, READ_RET);
          s.readRet = ret;
        },
      },
    ],
    invariant: noStaleEntry,
    finalCheck,
  });
}

/** The scenario on every implementation (legacy expected to violate). Mirrors: model-only. */
export const scenarios: readonly Scenario[] = DMIRROR_IMPLS.map(
  (impl) => teardownRaceScenario(impl) as Scenario,
);
