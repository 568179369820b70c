import { createHmmRange, HMM_ENTRY_MAX, type HmmRange, type HmmRangeInit } from '@hmmsim/hmm-range';
import { downRead, PAGE_SIZE, upRead } from '@hmmsim/kernel';
import { assertMigrateInvariants, createTestDevice, type TestDevice } from '@hmmsim/migrate';
import {
  assertMachineInvariants,
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
import { expect } from 'vitest';
import {
  assertDmaDeviceInvariants,
  createDmaDevice,
  type DmaDevice,
  type DmaDeviceOptions,
  dmaMappedPfns,
} from '../src/index.ts';

export const PAGE = PAGE_SIZE;
/** The driver's entry format (nouveau-like). */
export const V = 1;
export const W = 2;
export const DP = 8;
export const FLAGS = [V, W, DP] as const;
export const NONE = 0;
export const VALUES = [HMM_ENTRY_MAX - 1, NONE, HMM_ENTRY_MAX - 3] as const;

export interface World {
  readonly machine: Machine;
  readonly mm: MmStruct;
  readonly dma: DmaDevice;
  readonly devmem: TestDevice;
}

const live: World[] = [];

export function setup(opts: DmaDeviceOptions = {}): World {
  const machine = createMachine({ ramBytes: 16 * 2 ** 20, swapPages: 0, thp: 'never' });
  const mm = createMm(machine);
  const w = {
    machine,
    mm,
    dma: createDmaDevice(machine, opts),
    devmem: createTestDevice(machine, { nrPages: 16 }),
  };
  live.push(w);
  return w;
}

/** After every test: no mapping left behind, the device's bookkeeping and invariants 16–20 hold. */
export function checkAll(): void {
  for (const w of live.splice(0)) {
    assertDmaDeviceInvariants(w.dma);
    expect(w.dma.nrLive).toBe(0);
    assertMachineInvariants(w.machine);
    assertMigrateInvariants(w.machine, {
      quiescent: true,
      freeLists: [w.devmem],
      dmaPfns: dmaMappedPfns(w.dma),
    });
  }
}

export async function mapAnon(mm: MmStruct, pages: number): Promise<number> {
  const addr = await mmap(mm, 0, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  expect(addr).toBeGreaterThan(0);
  return addr;
}

export async function fill(mm: MmStruct, addr: number, bytes: Uint8Array): Promise<void> {
  expect((await cpuWrite(mm, addr, bytes)).ok).toBe(true);
}

/** A legacy-path range over `[start, end)` of `mm` (valid, read requested everywhere). */
export function rangeOf(
  mm: MmStruct,
  start: number,
  end: number,
  init: Partial<HmmRangeInit> = {},
): HmmRange {
  return createHmmRange({
    start,
    end,
    flags: FLAGS,
    values: VALUES,
    hmm: { mmuNotifier: { mm } },
    valid: true,
    defaultFlags: V,
    pfnFlagsMask: 0,
    ...init,
  });
}

/** Run `fn` with mmap_sem held for read (hmm_range_fault's precondition). */
export async function locked<T>(mm: MmStruct, fn: () => Promise<T>): Promise<T> {
  await downRead(mm.mmapSem);
  try {
    return await fn();
  } finally {
    upRead(mm.mmapSem);
  }
}
