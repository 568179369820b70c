import {
  downRead,
  PAGE_SIZE,
  pteIndex,
  type SchedulePolicy,
  type Scheduler,
  type Task,
  upRead,
} from '@hmmsim/kernel';
import {
  addMmCounter,
  allocUserPage,
  anonVmaPrepare,
  createMachine,
  createMm,
  FAULT_FLAG_WRITE,
  findVma,
  handleMmFault,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  type Machine,
  MM_ANONPAGES,
  type MmStruct,
  mmap,
  PROT_READ,
  PROT_WRITE,
  pageAddNewAnonRmap,
  pteLookup,
  type VmFault,
} from '@hmmsim/mm';
import { memmapAddRange, pmdOffset, pteAlloc, setPte, tableSlot } from '@hmmsim/pagetable';
import {
  createHmmRange,
  HMM_ENTRY_MAX,
  type HmmRange,
  type HmmRangeFaultOptions,
  hmmRangeFault,
} from '../src/index.ts';

/** The test driver's flag bits and values (nouveau-like: ERROR/SPECIAL look like ~VALID). */
export const V = 1;
export const W = 2;
export const DP = 1 << 3;
export const FLAGS = [V, W, DP] as const;
export const NONE = 0;
export const ERROR = HMM_ENTRY_MAX - 1;
export const SPECIAL = HMM_ENTRY_MAX - 3;
export const VALUES = [ERROR, NONE, SPECIAL] as const;
export const SHIFT = 12;
export const PAGE = PAGE_SIZE;

/** Encoded entry of `pfn` with flag bits. */
export function ent(pfn: number, bits: number): number {
  return pfn * 2 ** SHIFT + bits;
}

/** Base of the test mappings: 2 GiB (PUD and PMD aligned). */
export const BASE = 2 ** 31;

export interface Env {
  readonly machine: Machine;
  readonly mm: MmStruct;
  readonly sched: Scheduler;
}

/** A machine with 64 MiB of RAM and an empty mm. */
export function env(opts: { thp?: 'always' | 'madvise' | 'never'; sched?: Scheduler } = {}): Env {
  const machine = createMachine({
    ramBytes: 64 * 2 ** 20,
    thp: opts.thp ?? 'never',
    ...(opts.sched === undefined ? {} : { sched: opts.sched }),
  });
  const mm = createMm(machine);
  return { machine, mm, sched: machine.sched };
}

/** mmap anonymous private memory at a fixed address. */
export async function mapAnon(
  e: Env,
  addr: number,
  pages: number,
  prot = PROT_READ | PROT_WRITE,
): Promise<number> {
  const a = await mmap(e.mm, addr, pages * PAGE, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
  if (a !== addr) throw new Error(`mmap returned ${a}`);
  return a;
}

/** CPU write (or read) fault on every page of [addr, addr + pages * PAGE). */
export async function touch(e: Env, addr: number, pages: number, write = true): Promise<void> {
  await downRead(e.mm.mmapSem);
  try {
    for (let i = 0; i < pages; i++) {
      const a = addr + i * PAGE;
      const vma = findVma(e.mm, a);
      if (vma === undefined) throw new Error('no vma');
      const r = await handleMmFault(vma, a, write ? FAULT_FLAG_WRITE : 0);
      if (r !== 0 && r !== 8) throw new Error(`fault at ${a}: ${r}`);
    }
  } finally {
    upRead(e.mm.mmapSem);
  }
}

/** The PTE slot of `addr` (allocating the table). */
export function ptSlot(e: Env, addr: number): number {
  const s = pteAlloc(e.mm.pt, addr);
  if (s < 0) throw new Error('pteAlloc failed');
  return s;
}

/** Existing PTE slot of `addr`. */
export function existingSlot(e: Env, addr: number): number {
  const pmd = pmdOffset(e.mm.pt, addr);
  if (pmd < 0) throw new Error('no pmd');
  return tableSlot(e.mm.pt.val[pmd] as number, pteIndex(addr));
}

/** The pfn mapped by the present PTE at `addr`. */
export function pfnAt(e: Env, addr: number): number {
  return e.mm.pt.val[existingSlot(e, addr)] as number;
}

/** Overwrite the PTE at `addr`. */
export function setPteAt(e: Env, addr: number, bits: number, val: number): void {
  setPte(e.mm.pt, ptSlot(e, addr), bits, val);
}

/** A range on the legacy path (struct hmm stand-in, valid = true). */
export function legacyRange(
  e: Env,
  start: number,
  pages: number,
  init: Partial<Pick<HmmRange, 'defaultFlags' | 'pfnFlagsMask' | 'pfnShift'>> = {},
): HmmRange {
  return createHmmRange({
    start,
    end: start + pages * PAGE,
    flags: [...FLAGS],
    values: [...VALUES],
    hmm: { mmuNotifier: { mm: e.mm } },
    valid: true,
    pfnShift: SHIFT,
    ...init,
  });
}

/** down_read; hmmRangeFault; up_read (unless -EAGAIN, which released it). */
export async function fault(
  e: Env,
  range: HmmRange,
  flags: number,
  opts: HmmRangeFaultOptions = {},
): Promise<number> {
  await downRead(e.mm.mmapSem);
  let ret: number;
  try {
    ret = await hmmRangeFault(range, flags, opts);
  } catch (err) {
    if (e.mm.mmapSem.readers.has(e.sched.current)) upRead(e.mm.mmapSem);
    throw err;
  }
  if (ret !== -11) upRead(e.mm.mmapSem);
  return ret;
}

/** [...pfns] as a plain array (for toEqual). */
export function out(range: HmmRange): number[] {
  return [...range.pfns];
}

/** Register a device-private pgmap with a migrate_to_ram that maps a fresh RAM page; returns the first device pfn. */
export function addDeviceMemory(
  e: Env,
  pages: number,
  pgmapId = 1,
): { first: number; migrated: number[] } {
  const first = memmapAddRange(e.machine.phys, pages, pgmapId);
  const migrated: number[] = [];
  e.machine.devPagemaps.set(pgmapId, {
    async migrateToRam(vmf: VmFault): Promise<number> {
      const vma = vmf.vma;
      const mm = vma.vmMm;
      anonVmaPrepare(vma);
      const pfn = allocUserPage(e.machine, 0);
      if (pfn < 0) return 1; // VM_FAULT_OOM
      const slot = pteLookup(mm, vmf.address);
      pageAddNewAnonRmap(e.machine, pfn, vma, vmf.address, false);
      addMmCounter(mm, MM_ANONPAGES, 1);
      setPte(mm.pt, slot, vma.vmPageProt, pfn);
      migrated.push(vmf.page);
      return 0;
    },
  });
  return { first, migrated };
}

/**
 * Policy: free-running, except that at the `nth` scheduling point whose label is `label` it
 * switches to the task `to()` (once).
 */
export function switchAt(label: string, nth: number, to: () => Task | undefined): SchedulePolicy {
  let seen = 0;
  return {
    pick(ctx) {
      if (ctx.event?.label === label && ++seen === nth) {
        const t = to();
        const c = ctx.choices.find((x) => x.type === 'task' && x.task === t);
        if (c !== undefined) return c;
      }
      const cur = ctx.choices.find((x) => x.type === 'task' && x.task === ctx.current);
      return cur ?? (ctx.choices[0] as (typeof ctx.choices)[number]);
    },
  };
}

/** The entry the walk should report for the present PTE or huge PMD mapping `addr`. */
export function cpuEnt(e: Env, addr: number): number {
  const pt = e.mm.pt;
  const pmd = pmdOffset(pt, addr);
  if (pmd < 0) throw new Error('no pmd');
  const pb = pt.bits[pmd] as number;
  if ((pb & 0x80) !== 0) {
    return ent((pt.val[pmd] as number) + pteIndex(addr), V | ((pb & 2) !== 0 ? W : 0));
  }
  const s = existingSlot(e, addr);
  return ent(pt.val[s] as number, V | (((pt.bits[s] as number) & 2) !== 0 ? W : 0));
}

/** One call of a counting fault handler. */
export interface FaultCall {
  readonly addr: number;
  readonly flags: number;
  readonly semHeld: boolean;
}

/** A fault handler that records its calls and delegates to handleMmFault (or `impl`). */
export function countingHandler(
  e: Env,
  impl?: (vma: import('@hmmsim/mm').VmArea, addr: number, flags: number) => Promise<number>,
): { calls: FaultCall[]; handler: NonNullable<HmmRangeFaultOptions['faultHandler']> } {
  const calls: FaultCall[] = [];
  return {
    calls,
    handler: async (vma, addr, flags) => {
      calls.push({ addr, flags, semHeld: e.mm.mmapSem.readers.has(e.sched.current) });
      return impl === undefined ? handleMmFault(vma, addr, flags) : impl(vma, addr, flags);
    },
  };
}

/** All versions. */
export const VERSIONS = ['5.4', 'seed', '5.5'] as const;
