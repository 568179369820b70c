import { EIO, ENOMEM, KernelBugError } from '@hmmsim/kernel';
import { allocUserPage, mmPutPage } from '@hmmsim/mm';
import { unlockPage, writePage } from '@hmmsim/pagetable';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DMA_BIDIRECTIONAL,
  DMA_BIT_MASK,
  DMA_FROM_DEVICE,
  DMA_MAPPING_ERROR,
  DMA_NONE,
  DMA_TO_DEVICE,
  deviceDmaRead,
  deviceDmaWrite,
  dmaMapPage,
  dmaMappingError,
  dmaSetMask,
  dmaUnmapPage,
} from '../src/index.ts';
import { checkAll, PAGE, setup } from './helpers.ts';

afterEach(() => checkAll());

function page(machine: Parameters<typeof allocUserPage>[0], byte: number): number {
  const p = allocUserPage(machine, 0);
  writePage(machine.phys, p, 0, new Uint8Array(PAGE).fill(byte));
  return p;
}

describe('dma_map_page / dma_unmap_page through an IOMMU', () => {
  it('maps below the mask, serves the device, and faults once unmapped', () => {
    const { machine, dma } = setup({ dmaMask: DMA_BIT_MASK(32) });
    const p = page(machine, 7);
    const d = dmaMapPage(dma, p, 16, 64, DMA_BIDIRECTIONAL);
    expect(dmaMappingError(dma, d)).toBe(0);
    expect(d % PAGE).toBe(16);
    expect(d + 63).toBeLessThanOrEqual(DMA_BIT_MASK(32));
    const r = deviceDmaRead(dma, d, 4);
    expect(r.ok && [...(r.data ?? [])]).toEqual([7, 7, 7, 7]);
    expect(deviceDmaWrite(dma, d, new Uint8Array([1, 2])).ok).toBe(true);
    dmaUnmapPage(dma, d, 64, DMA_BIDIRECTIONAL);
    const after = deviceDmaRead(dma, d, 1);
    expect(after.ok).toBe(false);
    expect(!after.ok && after.fault.reason).toBe('unmapped');
    mmPutPage(machine, p);
  });

  it('a never-mapped address and the wrong direction are IOMMU faults, never served', () => {
    const { machine, dma } = setup();
    const p = page(machine, 1);
    const d = dmaMapPage(dma, p, 0, PAGE, DMA_TO_DEVICE);
    expect(deviceDmaRead(dma, 0x1000, 1)).toEqual({
      ok: false,
      fault: { daddr: 0x1000, write: false, reason: 'unmapped' },
    });
    const w = deviceDmaWrite(dma, d, new Uint8Array([9]));
    expect(!w.ok && w.fault.reason).toBe('permission');
    expect(machine.phys.contents.get(p)?.[0]).toBe(1); // nothing written
    const f = dmaMapPage(dma, p, 0, PAGE, DMA_FROM_DEVICE);
    expect(deviceDmaRead(dma, f, 1).ok).toBe(false); // FROM_DEVICE: the device may only write
    expect(dma.faults.map((x) => x.reason)).toEqual(['unmapped', 'permission', 'permission']);
    dmaUnmapPage(dma, d, PAGE, DMA_TO_DEVICE);
    dmaUnmapPage(dma, f, PAGE, DMA_FROM_DEVICE);
    mmPutPage(machine, p);
  });

  it('IOVA exhaustion gives DMA_MAPPING_ERROR (-ENOMEM); freed IOVA is reused', () => {
    const { machine, dma } = setup({ iovaPages: 2 });
    const p = page(machine, 0);
    const a = dmaMapPage(dma, p, 0, PAGE, DMA_TO_DEVICE);
    const b = dmaMapPage(dma, p, 0, PAGE, DMA_TO_DEVICE);
    expect(dmaMapPage(dma, p, 0, PAGE, DMA_TO_DEVICE)).toBe(DMA_MAPPING_ERROR);
    expect(dmaMappingError(dma, DMA_MAPPING_ERROR)).toBe(-ENOMEM);
    dmaUnmapPage(dma, a, PAGE, DMA_TO_DEVICE);
    const c = dmaMapPage(dma, p, 0, PAGE, DMA_TO_DEVICE);
    expect(c).toBe(a);
    dmaUnmapPage(dma, b, PAGE, DMA_TO_DEVICE);
    dmaUnmapPage(dma, c, PAGE, DMA_TO_DEVICE);
    expect(dma.stats.mappingErrors).toBe(1);
    mmPutPage(machine, p);
  });

  it('DMA-API debug errors: unmapping what was never mapped, another size or direction', () => {
    const { machine, dma } = setup();
    const p = page(machine, 0);
    const d = dmaMapPage(dma, p, 0, PAGE, DMA_TO_DEVICE);
    expect(() => dmaUnmapPage(dma, d + PAGE, PAGE, DMA_TO_DEVICE)).toThrow(/not allocated/);
    expect(() => dmaUnmapPage(dma, d, 8, DMA_TO_DEVICE)).toThrow(/different size/);
    expect(() => dmaUnmapPage(dma, d, PAGE, DMA_BIDIRECTIONAL)).toThrow(/different direction/);
    expect(() => dmaMapPage(dma, p, 0, PAGE, DMA_NONE)).toThrow(KernelBugError);
    expect(dma.nrLive).toBe(1);
    dmaUnmapPage(dma, d, PAGE, DMA_TO_DEVICE);
    mmPutPage(machine, p);
    expect(() => dmaMapPage(dma, p, 0, PAGE, DMA_TO_DEVICE)).toThrow(/not an allocated page/);
  });

  it('a device-private page is never DMA-mapped', () => {
    const { dma, devmem } = setup();
    const dp = devmem.allocPage();
    expect(dmaMapPage(dma, dp, 0, PAGE, DMA_BIDIRECTIONAL)).toBe(DMA_MAPPING_ERROR);
    expect(dma.stats.devicePrivateRefused).toBe(1);
    expect(dma.nrLive).toBe(0);
    unlockPage(devmem.machine.phys, dp);
    mmPutPage(devmem.machine, dp);
  });
});

describe('without an IOMMU (direct mapping)', () => {
  it('bus address = physical address; beyond the mask is a mapping error', () => {
    const { machine, dma } = setup({ iommu: false, dmaMask: DMA_BIT_MASK(13) });
    const low = page(machine, 0); // pfn 1: the lowest allocatable page, inside a 13-bit mask
    const p = page(machine, 3);
    expect(p).toBeGreaterThan(1);
    mmPutPage(machine, low);
    expect(dmaMapPage(dma, p, 0, PAGE, DMA_TO_DEVICE)).toBe(DMA_MAPPING_ERROR);
    expect(dmaSetMask(dma, DMA_BIT_MASK(64))).toBe(0);
    const d = dmaMapPage(dma, p, 0, PAGE, DMA_TO_DEVICE);
    expect(d).toBe(p * PAGE);
    const r = deviceDmaRead(dma, d + 5, 1);
    expect(r.ok && r.data?.[0]).toBe(3);
    expect(() => dmaSetMask(dma, DMA_BIT_MASK(32))).toThrow(/live/);
    dmaUnmapPage(dma, d, PAGE, DMA_TO_DEVICE);
    expect(dmaSetMask(dma, 100)).toBe(-EIO);
    mmPutPage(machine, p);
  });
});
