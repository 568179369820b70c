/**
 * Numbers a C caller could not pass and misuse in the wrong state, each of which used to be
 * silently accepted or to leave state half changed: a NaN/infinite/2^53 page got a
 * normal-looking bus address and a live mapping that checkDmaDevice could not see; a NaN bus
 * address read as a successful empty access and dma_mapping_error() called it usable; an IOVA
 * range freed twice drove the allocator's count negative; hmm_range_dma_unmap() stopped half way.
 */
import { InvalidArgumentError, KernelBugError, PAGE_SIZE } from '@hmmsim/kernel';
import { allocUserPage, mmPutPage } from '@hmmsim/mm';
import { afterEach, describe, expect, it } from 'vitest';
import {
  allocIova,
  checkDmaDevice,
  DMA_TO_DEVICE,
  type DmaMapping,
  deviceDmaRead,
  deviceDmaWrite,
  dmaMapPage,
  dmaMappingError,
  dmaUnmapPage,
  freeIova,
  hmmRangeDmaMap,
  hmmRangeDmaUnmap,
} from '../src/index.ts';
import { checkAll, fill, locked, mapAnon, PAGE, rangeOf, setup } from './helpers.ts';

afterEach(() => checkAll());

describe('dma_map_page refuses a page number that is not one', () => {
  it.each([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['2^53', 2 ** 53],
    ['0.5', 0.5],
    ['-1', -1],
  ])('page %s: InvalidArgumentError, no mapping, no IOVA used', (_n, bad) => {
    const { dma } = setup();
    expect(() => dmaMapPage(dma, bad, 0, PAGE, DMA_TO_DEVICE)).toThrow(
      /dma_map_page: page is .*; expected a pfn/,
    );
    expect(dma.nrLive).toBe(0);
    expect(dma.iova?.inUse).toBe(0);
    expect(dma.stats.maps).toBe(0);
  });

  it('a pfn past the memmap (a C caller could pass it) is the KernelBugError of an unallocated page', () => {
    const { machine, dma } = setup();
    expect(() => dmaMapPage(dma, machine.phys.memmapEnd, 0, PAGE, DMA_TO_DEVICE)).toThrow(
      /not an allocated page/,
    );
    expect(dma.nrLive).toBe(0);
  });
});

describe('checkDmaDevice sees a mapping of a non-page', () => {
  it('reports a NaN or past-the-memmap pfn and index/allocator disagreements', () => {
    const { machine, dma } = setup();
    const p = allocUserPage(machine, 0);
    const d = dmaMapPage(dma, p, 0, PAGE, DMA_TO_DEVICE);
    expect(checkDmaDevice(dma)).toEqual([]);
    const list = dma.live.get(d) as DmaMapping[];
    const good = list[0] as DmaMapping;
    list[0] = { ...good, pfn: Number.NaN };
    expect(checkDmaDevice(dma).join('\n')).toMatch(/pfn NaN is not a page number.*non-page/);
    list[0] = { ...good, pfn: machine.phys.memmapEnd + 5 };
    expect(checkDmaDevice(dma).join('\n')).toMatch(/is not a page of this machine/);
    list[0] = good;
    dma.byBusPage.delete(good.busPage);
    expect(checkDmaDevice(dma).join('\n')).toMatch(/missing from the translation index/);
    dma.byBusPage.set(good.busPage, [good]);
    dma.iova?.allocated.delete(good.busPage);
    expect(checkDmaDevice(dma).join('\n')).toMatch(/has no IOVA range/);
    dma.iova?.allocated.set(good.busPage, 1);
    expect(checkDmaDevice(dma)).toEqual([]);
    dmaUnmapPage(dma, d, PAGE, DMA_TO_DEVICE);
    mmPutPage(machine, p);
  });
});

describe('bus addresses and lengths', () => {
  it('a NaN address is neither a usable address nor an empty successful access', () => {
    const { dma } = setup();
    expect(() => dmaMappingError(dma, Number.NaN)).toThrow(InvalidArgumentError);
    expect(() => deviceDmaRead(dma, Number.NaN, 4)).toThrow(/deviceDmaRead: daddr is NaN/);
    expect(() => deviceDmaRead(dma, 0x1000, Number.POSITIVE_INFINITY)).toThrow(
      /deviceDmaRead: len is Infinity/,
    );
    expect(() => deviceDmaWrite(dma, 2 ** 53, new Uint8Array(1))).toThrow(InvalidArgumentError);
    expect(() => dmaUnmapPage(dma, Number.NaN, PAGE, DMA_TO_DEVICE)).toThrow(
      /dma_unmap_page: addr is NaN/,
    );
    expect(dma.faults).toEqual([]);
  });

  it('an IOVA range freed twice is a KernelBugError and the count stays right', () => {
    const { dma } = setup();
    const iova = dma.iova!;
    const first = allocIova(iova, 2);
    freeIova(iova, first, 2);
    expect(() => freeIova(iova, first, 2)).toThrow(/not allocated \(double free/);
    expect(iova.inUse).toBe(0);
    const again = allocIova(iova, 2);
    expect(() => freeIova(iova, again, 1)).toThrow(/allocated as 2 pages/);
    freeIova(iova, again, 2);
    expect(iova.inUse).toBe(0);
  });
});

describe('hmm_range_dma_unmap checks every entry before unmapping any', () => {
  it('a bad address in the middle: KernelBugError, every mapping still live, then a clean unmap', async () => {
    const w = setup();
    const addr = await mapAnon(w.mm, 3);
    await fill(w.mm, addr, new Uint8Array(3 * PAGE_SIZE).fill(4));
    const range = rangeOf(w.mm, addr, addr + 3 * PAGE);
    const daddrs = new Float64Array(3);
    expect(await locked(w.mm, () => hmmRangeDmaMap(range, w.dma, daddrs, 0))).toBe(3);
    const pfns = [...range.pfns];
    const kept = daddrs[1]!;
    daddrs[1] = kept + 100; // inside the page, but not the address dma_map_page returned
    expect(() => hmmRangeDmaUnmap(range, w.dma, daddrs, true)).toThrow(
      /daddrs\[1\] = .* is not a live DMA_BIDIRECTIONAL mapping.*nothing was unmapped/,
    );
    expect(w.dma.nrLive).toBe(3);
    expect([...range.pfns]).toEqual(pfns);
    daddrs[1] = kept;
    expect(hmmRangeDmaUnmap(range, w.dma, daddrs, true)).toBe(3);
    expect(() => hmmRangeDmaUnmap(range, w.dma, daddrs, Number.NaN as unknown as boolean)).toThrow(
      /dirty is number/,
    );
  });

  it('hmm_range_dma_map checks daddrs before faulting anything in', async () => {
    const w = setup();
    const addr = await mapAnon(w.mm, 2);
    const range = rangeOf(w.mm, addr, addr + 2 * PAGE);
    const rss = w.mm.rssPages;
    await expect(
      locked(w.mm, () => hmmRangeDmaMap(range, w.dma, new Float64Array(1), 0)),
    ).rejects.toThrow(KernelBugError);
    await expect(
      locked(w.mm, () => hmmRangeDmaMap(range, w.dma, [0, 0] as unknown as Float64Array, 0)),
    ).rejects.toThrow(/daddrs is object; expected a Float64Array/);
    expect(w.mm.rssPages).toBe(rss); // nothing was faulted in
  });
});
