import { HPAGE_PMD_NR, InvalidArgumentError, KernelBugError, PAGE_SIZE } from '@hmmsim/kernel';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  allocPages,
  assertMemmapInvariants,
  compoundHead,
  createPhysMem,
  getPage,
  getPageUnlessZero,
  nrFreePages,
  PG_anon,
  PG_dirty,
  PG_head,
  PG_locked,
  PG_swapcache,
  PG_tail,
  PG_writeback,
  type PhysMem,
  pageCount,
  putPage,
  writePage,
} from '../src/index.ts';
import { fcSeed } from './fc-seed.ts';

const MiB = 2 ** 20;

describe('allocPages order 0', () => {
  it('hands out refcount-1 pages, lowest pfn first, never the zero page', () => {
    const pm = createPhysMem({ ramBytes: 4 * MiB });
    const a = allocPages(pm, 0);
    const b = allocPages(pm, 0);
    expect([a, b]).toEqual([1, 2]);
    expect(pm.refcount[a]).toBe(1);
    expect(pm.flags[a]).toBe(0);
    expect(nrFreePages(pm)).toBe(pm.nrPages - 3);
    assertMemmapInvariants(pm);
  });

  it('returns -1 when RAM is exhausted and leaves the state intact', () => {
    const pm = createPhysMem({ ramBytes: 2 * MiB });
    const got: number[] = [];
    for (;;) {
      const p = allocPages(pm, 0);
      if (p === -1) break;
      got.push(p);
    }
    expect(got.length).toBe(HPAGE_PMD_NR - 1);
    expect(new Set(got).size).toBe(got.length);
    expect(nrFreePages(pm)).toBe(0);
    expect(allocPages(pm, 0)).toBe(-1);
    expect(allocPages(pm, 9)).toBe(-1);
    assertMemmapInvariants(pm);
    putPage(pm, got[10] as number);
    expect(allocPages(pm, 0)).toBe(got[10]);
  });

  it('rejects orders other than 0 and 9', () => {
    const pm = createPhysMem({ ramBytes: 4 * MiB });
    expect(() => allocPages(pm, 1 as 0)).toThrow(InvalidArgumentError);
    expect(nrFreePages(pm)).toBe(pm.nrPages - 1);
  });
});

describe('allocPages order 9 (THP)', () => {
  it('gives a 2 MiB aligned compound page: head flags/order, tails resolve to the head', () => {
    const pm = createPhysMem({ ramBytes: 8 * MiB });
    const head = allocPages(pm, 9);
    expect(head).toBe(HPAGE_PMD_NR); // block 0 holds the zero page
    expect(head % HPAGE_PMD_NR).toBe(0);
    expect(pm.flags[head]).toBe(PG_head);
    expect(pm.order[head]).toBe(9);
    expect(pm.flags[head + 511]).toBe(PG_tail);
    expect(pm.refcount[head + 7]).toBe(0);
    expect(compoundHead(pm, head + 300)).toBe(head);
    expect(pageCount(pm, head + 300)).toBe(1);
    expect(nrFreePages(pm)).toBe(pm.nrPages - 1 - HPAGE_PMD_NR);
    assertMemmapInvariants(pm);
  });

  it('get/put on a tail act on the head; the last put frees all 512 pages', () => {
    const pm = createPhysMem({ ramBytes: 8 * MiB });
    const free = nrFreePages(pm);
    const head = allocPages(pm, 9) as number;
    writePage(pm, head + 5, 0, new Uint8Array([1, 2, 3]));
    getPage(pm, head + 5);
    expect(pm.refcount[head]).toBe(2);
    putPage(pm, head + 100);
    putPage(pm, head + 511);
    expect(nrFreePages(pm)).toBe(free);
    expect(pm.flags[head]).toBe(0);
    expect(pm.flags[head + 1]).toBe(0);
    expect(pm.order[head]).toBe(0);
    expect(pm.contents.size).toBe(0);
    assertMemmapInvariants(pm);
  });

  it('prefers partial blocks for order 0 so whole blocks stay available for THPs', () => {
    const pm = createPhysMem({ ramBytes: 4 * MiB }); // block 0 partial, block 1 whole
    for (let i = 0; i < 100; i++) allocPages(pm, 0);
    expect(allocPages(pm, 9)).toBe(HPAGE_PMD_NR);
  });

  it('re-forms a THP once every page of a block is free again', () => {
    const pm = createPhysMem({ ramBytes: 4 * MiB }); // one THP-capable block
    const pages: number[] = [];
    for (let i = 0; i < HPAGE_PMD_NR - 1 + HPAGE_PMD_NR; i++) pages.push(allocPages(pm, 0));
    expect(pages).not.toContain(-1);
    expect(allocPages(pm, 9)).toBe(-1);
    const block1 = pages.filter((p) => p >= HPAGE_PMD_NR);
    expect(block1.length).toBe(HPAGE_PMD_NR);
    for (const p of block1.slice(0, -1)) putPage(pm, p);
    expect(allocPages(pm, 9)).toBe(-1); // one page still in use
    putPage(pm, block1.at(-1) as number);
    expect(allocPages(pm, 9)).toBe(HPAGE_PMD_NR);
    assertMemmapInvariants(pm);
  });
});

describe('getPage / putPage', () => {
  it('counts references and frees on the last put', () => {
    const pm = createPhysMem({ ramBytes: 4 * MiB });
    const p = allocPages(pm, 0) as number;
    getPage(pm, p);
    expect(getPageUnlessZero(pm, p)).toBe(true);
    expect(pageCount(pm, p)).toBe(3);
    putPage(pm, p);
    putPage(pm, p);
    putPage(pm, p);
    expect(pageCount(pm, p)).toBe(0);
    expect(getPageUnlessZero(pm, p)).toBe(false);
    assertMemmapInvariants(pm);
  });

  it('double free and get on a free page are KernelBugErrors and change nothing', () => {
    const pm = createPhysMem({ ramBytes: 4 * MiB });
    const p = allocPages(pm, 0) as number;
    putPage(pm, p);
    const free = nrFreePages(pm);
    expect(() => putPage(pm, p)).toThrow(KernelBugError);
    expect(() => getPage(pm, p)).toThrow(KernelBugError);
    expect(nrFreePages(pm)).toBe(free);
    assertMemmapInvariants(pm);
  });

  it('rejects pfns without a struct page', () => {
    const pm = createPhysMem({ ramBytes: 4 * MiB });
    for (const bad of [-1, pm.nrPages, 1.5, 2 ** 40, Number.NaN]) {
      expect(() => getPage(pm, bad)).toThrow(InvalidArgumentError);
      expect(() => putPage(pm, bad)).toThrow(InvalidArgumentError);
    }
  });

  it('the zero page can be got and put but never drops below 1', () => {
    const pm = createPhysMem({ ramBytes: 4 * MiB });
    getPage(pm, 0);
    putPage(pm, 0);
    expect(pm.refcount[0]).toBe(1);
    expect(() => putPage(pm, 0)).toThrow(KernelBugError);
    expect(pm.refcount[0]).toBe(1);
  });

  it.each([
    ['locked', PG_locked],
    ['under writeback', PG_writeback],
    ['in swap cache', PG_swapcache],
  ])('refuses to free a page %s (Bad page state), state unchanged', (_what, flag) => {
    const pm = createPhysMem({ ramBytes: 4 * MiB });
    const p = allocPages(pm, 0) as number;
    pm.flags[p] = flag;
    expect(() => putPage(pm, p)).toThrow(/Bad page state/);
    expect(pm.refcount[p]).toBe(1);
    pm.flags[p] = 0;
    putPage(pm, p);
    assertMemmapInvariants(pm);
  });

  it('refuses to free a mapped page or a page still in a page cache; anon mapping is cleared', () => {
    const pm = createPhysMem({ ramBytes: 4 * MiB });
    const p = allocPages(pm, 0) as number;
    pm.mapcount[p] = 1;
    expect(() => putPage(pm, p)).toThrow(/mapcount 1/);
    pm.mapcount[p] = 0;
    pm.mapping[p] = 9;
    expect(() => putPage(pm, p)).toThrow(/page cache/);
    pm.flags[p] = PG_anon | PG_dirty;
    putPage(pm, p);
    expect(pm.mapping[p]).toBe(0);
    expect(pm.flags[p]).toBe(0);
    const thp = allocPages(pm, 9) as number;
    pm.compoundMapcounts[thp / HPAGE_PMD_NR] = 1;
    expect(() => putPage(pm, thp)).toThrow(/PMD-mapped/);
    pm.compoundMapcounts[thp / HPAGE_PMD_NR] = 0;
    pm.mapcount[thp + 3] = 1;
    expect(() => putPage(pm, thp)).toThrow(/mapcount/);
    pm.mapcount[thp + 3] = 0;
    putPage(pm, thp);
    assertMemmapInvariants(pm);
  });
});

describe('alloc/free cycles (property)', () => {
  type Op =
    | { kind: 'alloc0' }
    | { kind: 'alloc9' }
    | { kind: 'put'; pick: number }
    | { kind: 'get'; pick: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.constant<Op>({ kind: 'alloc0' }),
    fc.constant<Op>({ kind: 'alloc9' }),
    fc.nat().map<Op>((pick) => ({ kind: 'put', pick })),
    fc.nat().map<Op>((pick) => ({ kind: 'get', pick })),
  );

  function run(pm: PhysMem, ops: readonly Op[]): Map<number, number> {
    const held = new Map<number, number>(); // pfn -> references we hold
    for (const o of ops) {
      if (o.kind === 'alloc0' || o.kind === 'alloc9') {
        const before = nrFreePages(pm);
        const p = allocPages(pm, o.kind === 'alloc0' ? 0 : 9);
        if (p === -1) {
          expect(nrFreePages(pm)).toBe(before);
          continue;
        }
        expect(held.has(p)).toBe(false);
        held.set(p, 1);
        continue;
      }
      const keys = [...held.keys()];
      if (keys.length === 0) continue;
      const p = keys[o.pick % keys.length] as number;
      const n = held.get(p) as number;
      if (o.kind === 'get') {
        getPage(pm, p);
        held.set(p, n + 1);
      } else {
        putPage(pm, p);
        if (n === 1) held.delete(p);
        else held.set(p, n - 1);
      }
    }
    return held;
  }

  it('keeps the memmap consistent, and freeing everything restores all THP blocks', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const pm = createPhysMem({ ramBytes: 8 * MiB });
        const held = run(pm, ops);
        assertMemmapInvariants(pm);
        let inUse = 0;
        for (const [p, n] of held) {
          expect(pageCount(pm, p)).toBe(n);
          inUse += (pm.flags[p] as number) & PG_head ? HPAGE_PMD_NR : 1;
        }
        expect(nrFreePages(pm)).toBe(pm.nrPages - 1 - inUse);
        for (const [p, n] of held) for (let i = 0; i < n; i++) putPage(pm, p);
        assertMemmapInvariants(pm);
        expect(nrFreePages(pm)).toBe(pm.nrPages - 1);
        for (let i = 0; i < 3; i++) expect(allocPages(pm, 9)).not.toBe(-1);
        expect(allocPages(pm, 9)).toBe(-1);
      }),
      { seed: fcSeed, numRuns: 200 },
    );
  });
});

it('PAGE_SIZE sanity for this suite', () => {
  expect(PAGE_SIZE).toBe(4096);
});
