import { HPAGE_PMD_NR, InvalidArgumentError, KernelBugError } from '@hmmsim/kernel';
import { describe, expect, it } from 'vitest';
import {
  allocPages,
  assertMemmapInvariants,
  compoundHead,
  compoundMapcount,
  compoundOrder,
  createPhysMem,
  isZeroPfn,
  lockPage,
  memmapAddRange,
  PG_head,
  PG_locked,
  PG_tail,
  pageCount,
  pageIsCompound,
  pageIsHead,
  pageIsTail,
  pageLocked,
  pageMapcount,
  pageMapped,
  pfnValid,
  putPage,
  totalMapcount,
  trylockPage,
  unlockPage,
} from '../src/index.ts';

const MiB = 2 ** 20;

describe('struct page queries', () => {
  it('single and compound pages', () => {
    const pm = createPhysMem({ ramBytes: 8 * MiB });
    const p = allocPages(pm, 0) as number;
    const thp = allocPages(pm, 9) as number;
    expect(compoundHead(pm, p)).toBe(p);
    expect(pageIsHead(pm, p) || pageIsTail(pm, p) || pageIsCompound(pm, p)).toBe(false);
    expect(compoundOrder(pm, p)).toBe(0);
    expect(pageIsHead(pm, thp)).toBe(true);
    expect(pageIsTail(pm, thp + 1)).toBe(true);
    expect(pageIsCompound(pm, thp + 511)).toBe(true);
    expect(compoundOrder(pm, thp + 17)).toBe(9);
    expect(compoundHead(pm, thp + 17)).toBe(thp);
    expect(pageCount(pm, thp + 17)).toBe(1);
    expect(isZeroPfn(pm, 0)).toBe(true);
    expect(isZeroPfn(pm, p)).toBe(false);
  });

  it('mapcounts: PTE mappings per page, PMD mappings per THP', () => {
    const pm = createPhysMem({ ramBytes: 8 * MiB });
    const p = allocPages(pm, 0) as number;
    const thp = allocPages(pm, 9) as number;
    expect(pageMapped(pm, p)).toBe(false);
    pm.mapcount[p] = 2;
    expect(pageMapcount(pm, p)).toBe(2);
    expect(totalMapcount(pm, p)).toBe(2);
    expect(compoundMapcount(pm, p)).toBe(0);
    pm.compoundMapcounts[thp / HPAGE_PMD_NR] = 1;
    pm.mapcount[thp + 3] = 2;
    expect(compoundMapcount(pm, thp + 3)).toBe(1);
    expect(pageMapcount(pm, thp + 3)).toBe(3);
    expect(pageMapcount(pm, thp + 4)).toBe(1);
    expect(totalMapcount(pm, thp + 400)).toBe(3);
    expect(pageMapped(pm, thp + 400)).toBe(true);
  });

  it('pfnValid and friends reject pfns without struct pages', () => {
    const pm = createPhysMem({ ramBytes: 4 * MiB });
    expect(pfnValid(pm, 0)).toBe(true);
    expect(pfnValid(pm, pm.nrPages - 1)).toBe(true);
    for (const bad of [pm.nrPages, 2 ** 36]) {
      expect(pfnValid(pm, bad)).toBe(false);
      expect(() => compoundHead(pm, bad)).toThrow(/compoundHead: pfn \d+ has no struct page/);
      expect(() => pageCount(pm, bad)).toThrow(/pageCount: pfn \d+ has no struct page/);
    }
    // Values no C caller could pass are typed errors even for the predicate.
    for (const bad of [-1, 0.5, Number.NaN, 2 ** 53]) {
      expect(() => pfnValid(pm, bad)).toThrow(InvalidArgumentError);
      expect(() => compoundHead(pm, bad)).toThrow(/compoundHead: pfn is/);
      expect(() => pageCount(pm, bad)).toThrow(InvalidArgumentError);
    }
    const dev = memmapAddRange(pm, 10, 1);
    expect(pfnValid(pm, dev + 9)).toBe(true);
    expect(pageCount(pm, dev)).toBe(1);
  });
});

describe('page lock', () => {
  it('lock / trylock / unlock act on PG_locked of the head', () => {
    const pm = createPhysMem({ ramBytes: 8 * MiB });
    const thp = allocPages(pm, 9) as number;
    lockPage(pm, thp + 9);
    expect(pm.flags[thp]).toBe(PG_head | PG_locked);
    expect(pm.flags[thp + 9]).toBe(PG_tail);
    expect(pageLocked(pm, thp + 1)).toBe(true);
    expect(trylockPage(pm, thp)).toBe(false);
    expect(() => lockPage(pm, thp)).toThrow(KernelBugError);
    unlockPage(pm, thp + 2);
    expect(pageLocked(pm, thp)).toBe(false);
    expect(() => unlockPage(pm, thp)).toThrow(KernelBugError);
    expect(trylockPage(pm, thp)).toBe(true);
    unlockPage(pm, thp);
  });
});

describe('assertMemmapInvariants', () => {
  function corrupted(
    mutate: (pm: ReturnType<typeof createPhysMem>, p: number, thp: number) => void,
  ) {
    const pm = createPhysMem({ ramBytes: 8 * MiB });
    const p = allocPages(pm, 0) as number;
    const thp = allocPages(pm, 9) as number;
    putPage(pm, allocPages(pm, 0) as number);
    assertMemmapInvariants(pm);
    mutate(pm, p, thp);
    return () => assertMemmapInvariants(pm);
  }

  it.each<[string, (pm: ReturnType<typeof createPhysMem>, p: number, thp: number) => void, RegExp]>(
    [
      [
        'free page with a refcount',
        (pm) => {
          pm.refcount[100] = 1;
        },
        /free pfn 100/,
      ],
      [
        'free page with flags',
        (pm) => {
          pm.flags[100] = PG_locked;
        },
        /free pfn 100/,
      ],
      [
        'allocated page at refcount 0',
        (pm, p) => {
          pm.refcount[p] = 0;
        },
        /refcount 0/,
      ],
      [
        'negative mapcount',
        (pm, p) => {
          pm.mapcount[p] = -1;
        },
        /mapcount -1/,
      ],
      [
        'head flag lost',
        (pm, _p, thp) => {
          pm.flags[thp] = 0;
        },
        /order-0 pfn .* has order 9/,
      ],
      [
        'tail flag lost',
        (pm, _p, thp) => {
          pm.flags[thp + 9] = 0;
        },
        /lacks PG_tail/,
      ],
      [
        'tail with a refcount',
        (pm, _p, thp) => {
          pm.refcount[thp + 5] = 1;
        },
        /tail pfn/,
      ],
      [
        'head with a wrong order',
        (pm, _p, thp) => {
          pm.order[thp] = 3;
        },
        /order/,
      ],
      [
        'zero page at refcount 0',
        (pm) => {
          pm.refcount[0] = 0;
        },
        /zero page/,
      ],
      [
        'contents of a free page',
        (pm) => void pm.contents.set(100, new Uint8Array(4096)),
        /contents/,
      ],
      [
        'wrong free count',
        (pm) => {
          pm.freeArea.nrFree += 1;
        },
        /nrFree/,
      ],
      [
        'bitmap marks free pages used',
        (pm) => {
          pm.freeArea.used[10] = 0xffffffff;
        },
        /allocated pfn 320 has refcount 0/,
      ],
      [
        'block free count off',
        (pm) => {
          pm.freeArea.blockFree[2] = 1;
        },
        /block 2 free count/,
      ],
      [
        'partial list cycle',
        (pm) => {
          pm.freeArea.blockNext[0] = 0;
        },
        /partial/,
      ],
      [
        'whole stack duplicate',
        (pm) => {
          pm.freeArea.wholeStack[0] = pm.freeArea.wholeStack[1] as number;
        },
        /whole-block stack/,
      ],
    ],
  )('fails on %s', (_what, mutate, msg) => {
    expect(corrupted(mutate)).toThrow(msg);
  });

  it('checks device pages', () => {
    const pm = createPhysMem({ ramBytes: 4 * MiB });
    const dev = memmapAddRange(pm, 4, 2);
    assertMemmapInvariants(pm);
    pm.refcount[dev + 1] = 0;
    expect(() => assertMemmapInvariants(pm)).toThrow(/device pfn/);
  });
});
