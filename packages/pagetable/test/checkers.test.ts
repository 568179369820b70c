/**
 * The checks added to assertMemmapInvariants / assertPageTableInvariants, each shown to fail on
 * the wrong state it is for (and to pass on the right one).
 */
import { KernelBugError, PAGE_SIZE } from '@hmmsim/kernel';
import { describe, expect, it } from 'vitest';
import {
  allocPages,
  assertMemmapInvariants,
  assertPageTableInvariants,
  createPageTables,
  createPhysMem,
  lockPage,
  PG_locked,
  pteAlloc,
  pteAllocOne,
  pteFree,
  putPage,
  trylockPage,
  unlockPage,
} from '../src/index.ts';

const MiB = 2 ** 20;

describe('assertMemmapInvariants, new checks', () => {
  it('a flag on a THP tail (the page lock taken on the tail instead of the head)', () => {
    const pm = createPhysMem({ ramBytes: 8 * MiB });
    const thp = allocPages(pm, 9) as number;
    lockPage(pm, thp + 3); // the API locks the head
    expect(pm.flags[thp + 3]).toBe(1 << 24);
    assertMemmapInvariants(pm);
    unlockPage(pm, thp);
    pm.flags[thp + 3] = (pm.flags[thp + 3] as number) | PG_locked; // what a raw flag write does
    expect(() => assertMemmapInvariants(pm)).toThrow(
      /tail pfn \d+ of THP \d+ has flags 0x1000001; expected PG_tail only/,
    );
  });

  it('a locked free page: the lock API refuses it, and the checker sees one made by hand', () => {
    const pm = createPhysMem({ ramBytes: 4 * MiB });
    const p = allocPages(pm, 0) as number;
    putPage(pm, p);
    expect(() => trylockPage(pm, p)).toThrow(/trylockPage: pfn \d+ is a free page/);
    expect(() => lockPage(pm, p)).toThrow(KernelBugError);
    assertMemmapInvariants(pm);
    pm.flags[p] = PG_locked;
    expect(() => assertMemmapInvariants(pm)).toThrow(/free pfn \d+ has .*flags 0x1/);
  });

  it('a pfn past the end of RAM marked free in the allocator bitmap', () => {
    const pm = createPhysMem({ ramBytes: 2 * MiB + 8 * PAGE_SIZE }); // a short last block
    assertMemmapInvariants(pm);
    const beyond = pm.nrPages + 1;
    const fa = pm.freeArea;
    fa.used[beyond >>> 5] = (fa.used[beyond >>> 5] as number) & ~(1 << (beyond & 31));
    expect(() => assertMemmapInvariants(pm)).toThrow(
      new RegExp(`pfn ${beyond} beyond the end of RAM is marked free`),
    );
  });

  it('contents kept under a key that is not a pfn of the machine', () => {
    const pm = createPhysMem({ ramBytes: 4 * MiB });
    pm.contents.set(pm.memmapEnd + 7, new Uint8Array(PAGE_SIZE));
    expect(() => assertMemmapInvariants(pm)).toThrow(/not a pfn of this machine/);
    pm.contents.clear();
    pm.contents.set(Number.NaN, new Uint8Array(PAGE_SIZE));
    expect(() => assertMemmapInvariants(pm)).toThrow(/key NaN/);
  });
});

describe('assertPageTableInvariants, new checks', () => {
  it('a pool whose top passed its capacity', () => {
    const pm = createPhysMem({ ramBytes: 4 * MiB });
    const pt = createPageTables();
    pteAlloc(pt, 0x1000_0000);
    assertPageTableInvariants(pt, pm);
    pt.top = pt.capacity + 1;
    expect(() => assertPageTableInvariants(pt, pm)).toThrow(/expected 1 <= top <= capacity/);
  });

  it('a free list naming a table never handed out', () => {
    const pm = createPhysMem({ ramBytes: 4 * MiB });
    const pt = createPageTables({ initialTables: 16 });
    const t = pteAllocOne(pt);
    pteFree(pt, t);
    assertPageTableInvariants(pt, pm);
    pt.nextFree[t] = pt.top + 2; // a corrupted link
    expect(() => assertPageTableInvariants(pt, pm)).toThrow(
      /free-table list holds \d+, which is not a table handed out/,
    );
  });
});
