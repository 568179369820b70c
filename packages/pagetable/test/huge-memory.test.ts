import { EBUSY, HPAGE_PMD_NR, KernelBugError } from '@hmmsim/kernel';
import { describe, expect, it } from 'vitest';
import {
  allocPages,
  assertMemmapInvariants,
  createPhysMem,
  lockPage,
  nrFreePages,
  PG_anon,
  PG_dirty,
  PG_head,
  PG_locked,
  PG_swapcache,
  type PhysMem,
  putPage,
  splitHugePage,
  swpEntry,
  unlockPage,
  writePage,
} from '../src/index.ts';

const MiB = 2 ** 20;

function anonThp(pm: PhysMem): number {
  const thp = allocPages(pm, 9) as number;
  pm.flags[thp] = (pm.flags[thp] as number) | PG_anon | PG_dirty;
  pm.mapping[thp] = 5;
  pm.index[thp] = 1024;
  lockPage(pm, thp);
  return thp;
}

describe('splitHugePage', () => {
  it('unmapped THP: the caller page keeps its pin and the lock, the other 511 are freed', () => {
    const pm = createPhysMem({ ramBytes: 8 * MiB });
    const free = nrFreePages(pm);
    const thp = anonThp(pm);
    writePage(pm, thp + 7, 0, new Uint8Array([1]));
    expect(splitHugePage(pm, thp + 7)).toBe(0);
    expect(pm.refcount[thp + 7]).toBe(1);
    expect(pm.flags[thp + 7]).toBe(PG_anon | PG_dirty | PG_locked);
    expect(pm.index[thp + 7]).toBe(1031);
    expect(pm.mapping[thp + 7]).toBe(5);
    expect(pm.order[thp]).toBe(0);
    expect(pm.refcount[thp]).toBe(0);
    expect(nrFreePages(pm)).toBe(free - 1);
    assertMemmapInvariants(pm);
    unlockPage(pm, thp + 7);
    putPage(pm, thp + 7);
    expect(nrFreePages(pm)).toBe(free);
    expect(allocPages(pm, 9)).toBe(thp); // the block re-forms
    assertMemmapInvariants(pm);
  });

  it('PTE-mapped THP: each subpage keeps one reference per PTE mapping', () => {
    const pm = createPhysMem({ ramBytes: 8 * MiB });
    const thp = anonThp(pm);
    // Map subpages 0..9 once each and subpage 3 twice: 11 mappings, 11 refs on the head + pin.
    for (let i = 0; i < 10; i++) pm.mapcount[thp + i] = 1;
    pm.mapcount[thp + 3] = 2;
    pm.refcount[thp] = 1 + 11;
    expect(splitHugePage(pm, thp)).toBe(0);
    expect(pm.refcount[thp]).toBe(2); // its mapping + the caller's pin
    expect(pm.refcount[thp + 3]).toBe(2);
    expect(pm.refcount[thp + 9]).toBe(1);
    expect(pm.refcount[thp + 10]).toBe(0); // freed
    expect(pm.flags[thp]).toBe(PG_anon | PG_dirty | PG_locked);
    expect(pm.flags[thp + 3]).toBe(PG_anon | PG_dirty);
    assertMemmapInvariants(pm);
  });

  it('swap-cache THP: each subpage keeps a cache reference and its own swap entry', () => {
    const pm = createPhysMem({ ramBytes: 8 * MiB });
    const thp = anonThp(pm);
    pm.flags[thp] = (pm.flags[thp] as number) | PG_swapcache;
    pm.privateVal[thp] = swpEntry(1, 4096);
    pm.refcount[thp] = 1 + HPAGE_PMD_NR;
    expect(splitHugePage(pm, thp + 1)).toBe(0);
    expect(pm.refcount[thp]).toBe(1);
    expect(pm.refcount[thp + 1]).toBe(2);
    expect(pm.privateVal[thp + 100]).toBe(swpEntry(1, 4196));
    assertMemmapInvariants(pm);
  });

  it('returns -EBUSY and changes nothing when there are extra pins', () => {
    const pm = createPhysMem({ ramBytes: 8 * MiB });
    const thp = anonThp(pm);
    pm.refcount[thp] = 2;
    expect(splitHugePage(pm, thp)).toBe(-EBUSY);
    expect(pm.flags[thp]).toBe(PG_head | PG_anon | PG_dirty | PG_locked);
    expect(pm.order[thp]).toBe(9);
    assertMemmapInvariants(pm);
  });

  it('is a bug on a non-compound page, an unlocked THP, or a PMD-mapped THP', () => {
    const pm = createPhysMem({ ramBytes: 8 * MiB });
    const p = allocPages(pm, 0) as number;
    expect(() => splitHugePage(pm, p)).toThrow(KernelBugError);
    const thp = allocPages(pm, 9) as number;
    expect(() => splitHugePage(pm, thp)).toThrow(/locked/);
    lockPage(pm, thp);
    pm.compoundMapcounts[thp / HPAGE_PMD_NR] = 1;
    expect(() => splitHugePage(pm, thp)).toThrow(/PMD-mapped/);
  });
});
