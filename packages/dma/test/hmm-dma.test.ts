import { HMM_FAULT_SNAPSHOT, type HmmRange } from '@hmmsim/hmm-range';
import { EBUSY, EFAULT, EINVAL, KernelBugError } from '@hmmsim/kernel';
import { devicePrivatePteAt } from '@hmmsim/migrate';
import { cpuRead, createFile, MAP_PRIVATE, mmap, munmap, PROT_READ, pteLookup } from '@hmmsim/mm';
import { PG_dirty } from '@hmmsim/pagetable';
import { afterEach, describe, expect, it } from 'vitest';
import {
  checkDmaDevice,
  DMA_MAPPING_ERROR,
  deviceDmaRead,
  deviceDmaWrite,
  hmmRangeDmaMap,
  hmmRangeDmaUnmap,
} from '../src/index.ts';
import { checkAll, DP, fill, locked, mapAnon, NONE, PAGE, rangeOf, setup } from './helpers.ts';

afterEach(() => checkAll());

function pfnAt(mm: Parameters<typeof pteLookup>[0], addr: number): number {
  return mm.pt.val[pteLookup(mm, addr)] as number;
}

/** Two written pages, then two untouched ones (read-faulted to the zero page by the map). */
async function fourPages(w: ReturnType<typeof setup>) {
  const addr = await mapAnon(w.mm, 4);
  await fill(w.mm, addr, new Uint8Array(2 * PAGE).fill(0x42));
  return addr;
}

describe('hmm_range_dma_map / hmm_range_dma_unmap (v5.4, seed needs_retry)', () => {
  it('maps every page: writable entries BIDIRECTIONAL, read-only TO_DEVICE; unmap marks dirty', async () => {
    const w = setup();
    const addr = await fourPages(w);
    const range = rangeOf(w.mm, addr, addr + 4 * PAGE);
    const daddrs = new Float64Array(4);
    expect(
      await locked(w.mm, () => hmmRangeDmaMap(range, w.dma, daddrs, 0, { version: 'seed' })),
    ).toBe(4);
    expect(w.dma.nrLive).toBe(4);
    // The device reads the data and writes through the writable mapping; the CPU sees it.
    const r = deviceDmaRead(w.dma, daddrs[0]!, 2);
    expect(r.ok && [...(r.data ?? [])]).toEqual([0x42, 0x42]);
    expect(deviceDmaWrite(w.dma, daddrs[1]!, new Uint8Array([7])).ok).toBe(true);
    const cpu = await cpuRead(w.mm, addr + PAGE, 1);
    expect(cpu.ok && cpu.data?.[0]).toBe(7);
    // Pages 2 and 3 are the zero page, read-only: a device write is an IOMMU fault.
    const bad = deviceDmaWrite(w.dma, daddrs[2]!, new Uint8Array([1]));
    expect(!bad.ok && bad.fault.reason).toBe('permission');
    const p0 = pfnAt(w.mm, addr);
    expect((w.machine.phys.flags[p0] as number) & PG_dirty).toBe(0);
    expect(hmmRangeDmaUnmap(range, w.dma, daddrs, true)).toBe(4);
    expect((w.machine.phys.flags[p0] as number) & PG_dirty).toBe(PG_dirty);
    expect([...range.pfns]).toEqual([NONE, NONE, NONE, NONE]);
    expect([...daddrs]).toEqual([0, 0, 0, 0]);
    const gone = deviceDmaRead(w.dma, 0x1000, 1);
    expect(gone.ok).toBe(false);
  });

  it('snapshot of a partly populated range maps only the present pages', async () => {
    const w = setup();
    const addr = await fourPages(w);
    const range = rangeOf(w.mm, addr, addr + 4 * PAGE);
    const daddrs = new Float64Array(4).fill(123);
    expect(await locked(w.mm, () => hmmRangeDmaMap(range, w.dma, daddrs, HMM_FAULT_SNAPSHOT))).toBe(
      2,
    );
    expect([daddrs[2], daddrs[3]]).toEqual([0, 0]);
    expect(hmmRangeDmaUnmap(range, w.dma, daddrs, false)).toBe(2);
  });

  it('a mapping error in the middle (IOVA space exhausted) unwinds: -EFAULT, nothing mapped', async () => {
    const w = setup({ iovaPages: 2 });
    const addr = await mapAnon(w.mm, 4);
    await fill(w.mm, addr, new Uint8Array(4 * PAGE).fill(1));
    const range = rangeOf(w.mm, addr, addr + 4 * PAGE);
    const daddrs = new Float64Array(4);
    expect(await locked(w.mm, () => hmmRangeDmaMap(range, w.dma, daddrs, 0))).toBe(-EFAULT);
    expect(w.dma.nrLive).toBe(0);
    expect(w.dma.iova?.inUse).toBe(0);
    expect(daddrs[2]).toBe(DMA_MAPPING_ERROR);
    expect(deviceDmaRead(w.dma, daddrs[0]!, 1).ok).toBe(false); // the unwound address is dead
  });

  it('a collision seen while mapping unwinds: -EBUSY, nothing mapped', async () => {
    const w = setup();
    const addr = await mapAnon(w.mm, 3);
    await fill(w.mm, addr, new Uint8Array(3 * PAGE).fill(1));
    const range = rangeOf(w.mm, addr, addr + 3 * PAGE);
    // An invalidation on another CPU ends between page 1 and page 2: the legacy flag goes false.
    const flaky: HmmRange = Object.defineProperty(range, 'valid', {
      get: () => w.dma.stats.maps < 2,
      set: () => {},
    });
    const daddrs = new Float64Array(3);
    const ret = await locked(w.mm, () => hmmRangeDmaMap(flaky, w.dma, daddrs, 0));
    expect(ret).toBe(-EBUSY);
    expect(w.dma.nrLive).toBe(0);
  });

  it('hmm_range_fault errors come back unchanged and nothing is mapped', async () => {
    const w = setup();
    const addr = await mapAnon(w.mm, 2);
    const daddrs = new Float64Array(4);
    // no vma behind the second half of the range, a fault requested there: -EFAULT
    const hole = rangeOf(w.mm, addr, addr + 4 * PAGE);
    expect(await locked(w.mm, () => hmmRangeDmaMap(hole, w.dma, daddrs, 0))).toBe(-EFAULT);
    // unaligned or empty: -EINVAL
    expect(
      await locked(w.mm, () =>
        hmmRangeDmaMap(rangeOf(w.mm, addr + 1, addr + PAGE), w.dma, daddrs, 0),
      ),
    ).toBe(-EINVAL);
    expect(
      await locked(w.mm, () => hmmRangeDmaMap(rangeOf(w.mm, addr, addr), w.dma, daddrs, 0)),
    ).toBe(-EINVAL);
    expect(w.dma.nrLive).toBe(0);
  });

  it('a file-backed vma maps its page-cache pages read-only (TO_DEVICE)', async () => {
    const w = setup();
    const file = createFile(w.machine, { data: new Uint8Array(2 * PAGE).fill(0x66) });
    const addr = await mmap(w.mm, 0, 2 * PAGE, PROT_READ, MAP_PRIVATE, file, 0);
    const range = rangeOf(w.mm, addr, addr + 2 * PAGE);
    const daddrs = new Float64Array(2);
    expect(await locked(w.mm, () => hmmRangeDmaMap(range, w.dma, daddrs, 0))).toBe(2);
    const r = deviceDmaRead(w.dma, daddrs[1]!, 1);
    expect(r.ok && r.data?.[0]).toBe(0x66);
    expect(deviceDmaWrite(w.dma, daddrs[1]!, new Uint8Array([0])).ok).toBe(false);
    expect(hmmRangeDmaUnmap(range, w.dma, daddrs, true)).toBe(2);
  });

  it('device-private entries are never DMA-mapped: snapshot gives -EFAULT, requesting them migrates back', async () => {
    const w = setup();
    const addr = await mapAnon(w.mm, 2);
    await fill(w.mm, addr, new Uint8Array(2 * PAGE).fill(9));
    expect(await w.devmem.migrateToDevice(w.mm, addr + PAGE, addr + 2 * PAGE)).toBe(1);
    const daddrs = new Float64Array(2);
    const snap = rangeOf(w.mm, addr, addr + 2 * PAGE);
    expect(await locked(w.mm, () => hmmRangeDmaMap(snap, w.dma, daddrs, HMM_FAULT_SNAPSHOT))).toBe(
      -EFAULT,
    );
    expect(w.dma.stats.devicePrivateRefused).toBe(1);
    expect(w.dma.nrLive).toBe(0);
    // With flags[HMM_PFN_DEVICE_PRIVATE] requested, hmm_range_fault faults the page back first.
    const back = rangeOf(w.mm, addr, addr + 2 * PAGE, { defaultFlags: 1 | DP });
    expect(await locked(w.mm, () => hmmRangeDmaMap(back, w.dma, daddrs, 0))).toBe(2);
    expect(devicePrivatePteAt(w.mm, addr + PAGE)).toBeNull();
    const r = deviceDmaRead(w.dma, daddrs[1]!, 1);
    expect(r.ok && r.data?.[0]).toBe(9);
    expect(hmmRangeDmaUnmap(back, w.dma, daddrs, false)).toBe(2);
  });

  it('hmm_range_dma_unmap with an empty range or no daddrs is -EINVAL; a short daddrs is a bug', async () => {
    const w = setup();
    const addr = await mapAnon(w.mm, 2);
    expect(hmmRangeDmaUnmap(rangeOf(w.mm, addr, addr), w.dma, new Float64Array(1), false)).toBe(
      -EINVAL,
    );
    expect(
      hmmRangeDmaUnmap(rangeOf(w.mm, addr + PAGE, addr), w.dma, new Float64Array(1), false),
    ).toBe(-EINVAL);
    expect(hmmRangeDmaUnmap(rangeOf(w.mm, addr, addr + PAGE), w.dma, null, false)).toBe(-EINVAL);
    await fill(w.mm, addr, new Uint8Array(2 * PAGE).fill(1));
    const range = rangeOf(w.mm, addr, addr + 2 * PAGE);
    await expect(
      locked(w.mm, () => hmmRangeDmaMap(range, w.dma, new Float64Array(1), 0)),
    ).rejects.toThrow(KernelBugError);
  });
});

describe('a driver that keeps DMA mappings across an munmap', () => {
  it('is caught: the device access faults (stale page) and the device check reports it', async () => {
    const w = setup();
    const addr = await mapAnon(w.mm, 1);
    await fill(w.mm, addr, new Uint8Array([5]));
    const range = rangeOf(w.mm, addr, addr + PAGE);
    const daddrs = new Float64Array(1);
    expect(await locked(w.mm, () => hmmRangeDmaMap(range, w.dma, daddrs, 0))).toBe(1);
    expect(await munmap(w.mm, addr, PAGE)).toBe(0); // no invalidation callback unmapped it
    const r = deviceDmaRead(w.dma, daddrs[0]!, 1);
    expect(!r.ok && r.fault.reason).toBe('stale-page');
    expect(checkDmaDevice(w.dma).join()).toMatch(/freed while still DMA-mapped/);
    expect(hmmRangeDmaUnmap(range, w.dma, daddrs, false)).toBe(1);
  });
});
