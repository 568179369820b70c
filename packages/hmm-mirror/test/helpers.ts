import { createHmmRange, type HmmRange } from '@hmmsim/hmm-range';
import {
  downWrite,
  msecsToJiffies,
  PAGE_SIZE,
  type RunResult,
  type Scheduler,
  upWrite,
  WaitQueueHead,
  waitEventTimeout,
} from '@hmmsim/kernel';
import {
  cpuWrite,
  createMachine,
  createMm,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  type Machine,
  MMU_NOTIFY_CLEAR,
  type MmStruct,
  type MmuNotifierRange,
  mmap,
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
  PROT_READ,
  PROT_WRITE,
} from '@hmmsim/mm';
import { expect } from 'vitest';
import {
  DRIVER_PFN_FLAGS,
  DRIVER_PFN_VALUES,
  HmmMirror,
  type HmmMirrorApi,
  type HmmMirrorOps,
} from '../src/index.ts';

export const BASE = 0x10000000;
export const NPAGES = 4;

/** A machine with one mm whose [BASE, BASE + NPAGES pages) is mapped RW and touched. */
export async function world(opts: { sched?: Scheduler } = {}): Promise<{
  machine: Machine;
  mm: MmStruct;
  sched: Scheduler;
}> {
  const machine = createMachine({
    ramBytes: 8 * 2 ** 20,
    swapPages: 64,
    thp: 'never',
    ...(opts.sched === undefined ? {} : { sched: opts.sched }),
  });
  const mm = createMm(machine);
  const len = NPAGES * PAGE_SIZE;
  expect(await mmap(mm, BASE, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)).toBe(BASE);
  expect((await cpuWrite(mm, BASE, new Uint8Array(len).fill(1))).ok).toBe(true);
  return { machine, mm, sched: machine.sched };
}

/** A mirror journaling its sync calls as 'name:EVENT start-end' (and 'name:release'). */
export function journalMirror(
  name: string,
  journal: string[],
  extra: Partial<HmmMirrorOps> = {},
): HmmMirror {
  return new HmmMirror({
    syncCpuDevicePagetables: (_m, u) => {
      journal.push(`${name}:${u.event} 0x${u.start.toString(16)}-0x${u.end.toString(16)}`);
      return 0;
    },
    release: () => void journal.push(`${name}:release`),
    ...extra,
  });
}

/** Register `mirror` with mmap_sem held for write, as drivers do. */
export async function register(
  api: HmmMirrorApi,
  mirror: HmmMirror,
  mm: MmStruct,
): Promise<number> {
  await downWrite(mm.mmapSem);
  try {
    return await api.hmmMirrorRegister(mirror, mm);
  } finally {
    upWrite(mm.mmapSem);
  }
}

/** A range over `npages` pages from `start` with the drivers' encoding. */
export function range(start = BASE, npages = NPAGES): HmmRange {
  return createHmmRange({
    start,
    end: start + npages * PAGE_SIZE,
    flags: DRIVER_PFN_FLAGS,
    values: DRIVER_PFN_VALUES,
    pfnFlagsMask: 0,
    defaultFlags: DRIVER_PFN_FLAGS[0]!,
    pfnShift: 12,
  });
}

/** A blockable CLEAR range of `mm`. */
export function clearRange(mm: MmStruct, start: number, end: number): MmuNotifierRange {
  return mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, 0, null, mm, start, end);
}

/** A whole blockable invalidation (start then end) with nothing in between. */
export async function invalidate(mm: MmStruct, start: number, end: number): Promise<void> {
  const r = clearRange(mm, start, end);
  await mmuNotifierInvalidateRangeStart(r);
  await mmuNotifierInvalidateRangeEnd(r);
}

/** One blockable CLEAR of `[start, end)` held open for `ms` of virtual time (start, sleep, end). */
export async function invalidateSlowly(
  mm: MmStruct,
  start: number,
  end: number,
  ms: number,
): Promise<void> {
  const r = clearRange(mm, start, end);
  await mmuNotifierInvalidateRangeStart(r);
  await msleep(mm.machine.sched, ms);
  await mmuNotifierInvalidateRangeEnd(r);
}

/**
 * R2 load: two invalidations far from the range (1 and 2 MiB above BASE) that overlap in time,
 * so the mm always has one in flight for 2 s of virtual time.
 */
export async function overlappingUnrelatedInvalidations(mm: MmStruct): Promise<void> {
  const sched = mm.machine.sched;
  const u1 = clearRange(mm, BASE + 0x100000, BASE + 0x101000);
  const u2 = clearRange(mm, BASE + 0x200000, BASE + 0x201000);
  await mmuNotifierInvalidateRangeStart(u1);
  await msleep(sched, 800);
  await mmuNotifierInvalidateRangeStart(u2);
  await mmuNotifierInvalidateRangeEnd(u1);
  await msleep(sched, 1200);
  await mmuNotifierInvalidateRangeEnd(u2);
}

/** Sleep `ms` of virtual time (a wait that nothing ends). */
export async function msleep(sched: Scheduler, ms: number): Promise<void> {
  const wq = new WaitQueueHead(sched, 'test.msleep');
  await waitEventTimeout(wq, () => false, msecsToJiffies(ms));
}

/** Spawn `tasks` and run them; fail on task errors and deadlocks. */
export async function runTasks(
  sched: Scheduler,
  tasks: Record<string, () => Promise<void>>,
): Promise<RunResult> {
  for (const [name, fn] of Object.entries(tasks)) sched.spawn(name, fn);
  const r = await sched.run();
  expect(r.errors.map((e) => `${e.taskName}: ${String(e.error)}`)).toEqual([]);
  expect(r.deadlock?.message).toBeUndefined();
  return r;
}
