import { HPAGE_PMD_NR, InvalidArgumentError, KernelBugError, PAGE_SIZE } from '@hmmsim/kernel';
import { describe, expect, it } from 'vitest';
import {
  assertMemmapInvariants,
  createPhysMem,
  DEFAULT_RAM_BYTES,
  getPage,
  isZoneDevicePage,
  memmapAddRange,
  nrFreePages,
  PG_reserved,
  pfnValid,
  putPage,
} from '../src/index.ts';

const MiB = 2 ** 20;

describe('createPhysMem', () => {
  it('defaults to 1 GiB of 4 KiB pages with pfn 0 as the reserved zero page', () => {
    const pm = createPhysMem();
    expect(DEFAULT_RAM_BYTES).toBe(2 ** 30);
    expect(pm.nrPages).toBe(2 ** 30 / PAGE_SIZE);
    expect(pm.zeroPfn).toBe(0);
    expect(pm.refcount[0]).toBe(1);
    expect(pm.flags[0]).toBe(PG_reserved);
    expect(nrFreePages(pm)).toBe(pm.nrPages - 1);
    assertMemmapInvariants(pm);
  });

  it('creates a 16 MiB machine without touching pages: memmap sized, everything zero', () => {
    const pm = createPhysMem({ ramBytes: 16 * MiB });
    expect(pm.nrPages).toBe(4096);
    expect(pm.refcount.length).toBe(4096);
    expect(pm.contents.size).toBe(0);
    expect(pm.freeArea.nrBlocks).toBe(8);
    // 7 whole 2 MiB blocks wait on the stack, block 0 (zero page) is partial.
    expect(pm.freeArea.wholeTop).toBe(7);
    expect(nrFreePages(pm)).toBe(4095);
    assertMemmapInvariants(pm);
  });

  it('handles RAM that is not a multiple of 2 MiB (short last block)', () => {
    const pm = createPhysMem({ ramBytes: 2 * MiB + 3 * PAGE_SIZE });
    expect(pm.nrPages).toBe(HPAGE_PMD_NR + 3);
    expect(nrFreePages(pm)).toBe(HPAGE_PMD_NR + 2);
    assertMemmapInvariants(pm);
  });

  it.each([0, PAGE_SIZE, PAGE_SIZE + 1, -PAGE_SIZE, 1.5 * PAGE_SIZE, Number.NaN, 2 ** 60])(
    'rejects ramBytes %s',
    (ramBytes) => {
      expect(() => createPhysMem({ ramBytes })).toThrow(InvalidArgumentError);
    },
  );
});

describe('memmapAddRange (ZONE_DEVICE)', () => {
  it('appends 2 MiB aligned device pages, idle at refcount 1, reserved, with their pgmap', () => {
    const pm = createPhysMem({ ramBytes: 4 * MiB + PAGE_SIZE });
    const first = memmapAddRange(pm, 100, 7);
    expect(first).toBe(3 * HPAGE_PMD_NR); // RAM is 1025 pages, next 512 boundary is 1536
    expect(pm.memmapEnd).toBe(first + 100);
    for (const pfn of [first, first + 99]) {
      expect(pm.refcount[pfn]).toBe(1);
      expect(pm.flags[pfn]).toBe(PG_reserved);
      expect(pm.pgmap[pfn]).toBe(7);
      expect(pfnValid(pm, pfn)).toBe(true);
      expect(isZoneDevicePage(pm, pfn)).toBe(true);
    }
    // The alignment gap has no struct pages.
    expect(pfnValid(pm, pm.nrPages)).toBe(false);
    expect(pfnValid(pm, first + 100)).toBe(false);
    expect(isZoneDevicePage(pm, 5)).toBe(false);
    const second = memmapAddRange(pm, 2000, 8);
    expect(second).toBe(4 * HPAGE_PMD_NR);
    expect(pm.pgmap[first]).toBe(7); // earlier range survives the reallocation
    expect(pm.pgmap[second + 1999]).toBe(8);
    assertMemmapInvariants(pm);
  });

  it('does not change RAM bookkeeping', () => {
    const pm = createPhysMem({ ramBytes: 4 * MiB });
    const free = nrFreePages(pm);
    memmapAddRange(pm, 512, 1);
    expect(nrFreePages(pm)).toBe(free);
  });

  it('rejects bad sizes and pgmap ids', () => {
    const pm = createPhysMem({ ramBytes: 4 * MiB });
    expect(() => memmapAddRange(pm, 0, 1)).toThrow(InvalidArgumentError);
    expect(() => memmapAddRange(pm, 1.5, 1)).toThrow(InvalidArgumentError);
    expect(() => memmapAddRange(pm, 10, 0)).toThrow(InvalidArgumentError);
    expect(() => memmapAddRange(pm, 10, 65536)).toThrow(InvalidArgumentError);
    expect(() => memmapAddRange(pm, 2 ** 32, 1)).toThrow(InvalidArgumentError);
    expect(pm.memmapEnd).toBe(pm.nrPages);
  });

  it('device pages: get/put keep them >= 1, the return to 1 calls devPageFree once', () => {
    const pm = createPhysMem({ ramBytes: 4 * MiB });
    const pfn = memmapAddRange(pm, 4, 3);
    const freed: number[] = [];
    pm.devPageFree = (_pm, p) => freed.push(p);
    getPage(pm, pfn);
    getPage(pm, pfn);
    pm.mapping[pfn] = 42;
    putPage(pm, pfn);
    expect(freed).toEqual([]);
    putPage(pm, pfn);
    expect(freed).toEqual([pfn]);
    expect(pm.refcount[pfn]).toBe(1);
    expect(pm.mapping[pfn]).toBe(0);
    expect(() => putPage(pm, pfn)).toThrow(KernelBugError);
    expect(pm.refcount[pfn]).toBe(1);
    assertMemmapInvariants(pm);
  });
});
