import {
  HPAGE_PMD_NR,
  InvalidArgumentError,
  KernelBugError,
  PAGE_SIZE,
  PGDIR_SIZE,
  PMD_SIZE,
  PUD_SIZE,
} from '@hmmsim/kernel';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  _PAGE_DEVMAP,
  _PAGE_PSE,
  _PAGE_SPECIAL,
  _PAGE_TABLE,
  allocPages,
  assertPageTableInvariants,
  createPageTables,
  createPhysMem,
  freePgdRange,
  lockPage,
  MAX_TABLES_LIMIT,
  makeDevicePrivateEntry,
  makeMigrationEntry,
  memmapAddRange,
  PAGE_READONLY,
  PAGE_SHARED,
  type PageTables,
  type PhysMem,
  pgdBits,
  pgdOffset,
  pgdVal,
  pgtablesBytes,
  pmdAlloc,
  pmdBits,
  pmdClear,
  pmdOffset,
  pmdPopulate,
  pmdVal,
  pteAlloc,
  pteAllocOne,
  pteBits,
  pteClear,
  pteFree,
  pteOffset,
  pteVal,
  pudAlloc,
  pudBits,
  pudClear,
  pudOffset,
  pudVal,
  setPmd,
  setPte,
  setPud,
  swpEntry,
  swpEntryToPte,
  tableSlot,
  unlockPage,
} from '../src/index.ts';
import { fcSeed } from './fc-seed.ts';

const MiB = 2 ** 20;
const A = 0x7f12_3456_7000; // a 47-bit user address

function mapPage(pt: PageTables, pm: PhysMem, addr: number): number {
  const slot = pteAlloc(pt, addr);
  const pfn = allocPages(pm, 0) as number;
  setPte(pt, slot, PAGE_SHARED, pfn);
  pm.mapcount[pfn] = 1;
  return pfn;
}

describe('offsets and allocation', () => {
  it('an empty mm has only the PGD; offsets below it are -1', () => {
    const pt = createPageTables();
    expect(pt.nrTables).toBe(1);
    expect(pgtablesBytes(pt)).toBe(PAGE_SIZE);
    expect(pgdOffset(pt, A)).toBe(Math.floor(A / PGDIR_SIZE) % 512);
    expect(pudOffset(pt, A)).toBe(-1);
    expect(pmdOffset(pt, A)).toBe(-1);
    expect(pteOffset(pt, A)).toBe(-1);
  });

  it('pteAlloc builds PUD, PMD and PTE tables once; offsets agree', () => {
    const pt = createPageTables();
    const slot = pteAlloc(pt, A);
    expect(pt.nrTables).toBe(4);
    expect(pteAlloc(pt, A + 100)).toBe(slot);
    expect(pteOffset(pt, A)).toBe(slot);
    expect(slot % 512).toBe(Math.floor(A / PAGE_SIZE) % 512);
    expect(pmdOffset(pt, A)).toBe(pmdAlloc(pt, A));
    expect(pudOffset(pt, A)).toBe(pudAlloc(pt, A));
    expect(pgdBits(pt, pgdOffset(pt, A))).toBe(_PAGE_TABLE);
    expect(pudBits(pt, pudOffset(pt, A))).toBe(_PAGE_TABLE);
    expect(pmdBits(pt, pmdOffset(pt, A))).toBe(_PAGE_TABLE);
    expect(pgdVal(pt, pgdOffset(pt, A))).toBe(Math.floor(pudOffset(pt, A) / 512));
    expect(pudVal(pt, pudOffset(pt, A))).toBe(Math.floor(pmdOffset(pt, A) / 512));
    expect(pmdVal(pt, pmdOffset(pt, A))).toBe(Math.floor(slot / 512));
    // The neighbouring 2 MiB shares the PMD table but needs its own PTE table.
    pteAlloc(pt, A + PMD_SIZE);
    expect(pt.nrTables).toBe(5);
    expect(pt.used[Math.floor(pmdOffset(pt, A) / 512)]).toBe(2);
    expect(tableSlot(3, 7)).toBe(3 * 512 + 7);
  });

  it('addresses near 0 and just below 2^48 work; others are rejected', () => {
    const pt = createPageTables();
    pteAlloc(pt, 0);
    pteAlloc(pt, 2 ** 48 - PAGE_SIZE);
    expect(pteOffset(pt, 2 ** 48 - 1)).toBe(pteOffset(pt, 2 ** 48 - PAGE_SIZE));
    for (const bad of [-1, 2 ** 48, Number.NaN]) {
      expect(() => pteAlloc(pt, bad)).toThrow(InvalidArgumentError);
      expect(() => pteOffset(pt, bad)).toThrow(InvalidArgumentError);
    }
  });

  it('the pool grows geometrically with bounded slack and slots stay valid', () => {
    const pt = createPageTables({ initialTables: 2 });
    const pm = createPhysMem({ ramBytes: 8 * MiB });
    const first = pteAlloc(pt, 0);
    setPte(pt, first, PAGE_SHARED, 1);
    for (let i = 1; i < 40; i++) pteAlloc(pt, i * PMD_SIZE);
    // 2 -> 10 -> 18 -> 26 -> 34 -> 43: +8 tables or x1.25, whichever is more.
    expect(pt.nrTables).toBe(43);
    expect(pt.capacity).toBe(43);
    expect(pteBits(pt, first)).toBe(PAGE_SHARED);
    expect(pteVal(pt, first)).toBe(1);
    pm.refcount[1] = 1;
    pm.mapcount[1] = 1;
    assertPageTableInvariants(pt, pm);
  });

  it('hitting maxTables returns -1 (ENOMEM) and leaves a consistent table tree', () => {
    const pm = createPhysMem({ ramBytes: 4 * MiB });
    const pt = createPageTables({ maxTables: 4 });
    expect(pteAlloc(pt, 0)).toBeGreaterThanOrEqual(0);
    expect(pteAlloc(pt, PMD_SIZE)).toBe(-1);
    expect(pmdAlloc(pt, PUD_SIZE)).toBe(-1);
    expect(pudAlloc(pt, PGDIR_SIZE)).toBe(-1);
    expect(pteAllocOne(pt)).toBe(-1);
    expect(pt.nrTables).toBe(4);
    assertPageTableInvariants(pt, pm);
    expect(() => createPageTables({ maxTables: 0 })).toThrow(InvalidArgumentError);
    expect(() => createPageTables({ maxTables: MAX_TABLES_LIMIT + 1 })).toThrow(
      InvalidArgumentError,
    );
    expect(createPageTables().maxTables).toBe(MAX_TABLES_LIMIT);
    expect(() => createPageTables({ initialTables: 0 })).toThrow(InvalidArgumentError);
  });
});

describe('setPte and friends', () => {
  it('keeps used counts for set, overwrite and clear', () => {
    const pt = createPageTables();
    const slot = pteAlloc(pt, A);
    const t = Math.floor(slot / 512);
    setPte(pt, slot, PAGE_SHARED, 10);
    setPte(pt, slot + 1, PAGE_READONLY, 11);
    expect(pt.used[t]).toBe(2);
    setPte(pt, slot, PAGE_READONLY, 12);
    expect(pt.used[t]).toBe(2);
    pteClear(pt, slot);
    expect(pt.used[t]).toBe(1);
    pteClear(pt, slot);
    expect(pt.used[t]).toBe(1);
    expect(pteBits(pt, slot)).toBe(0);
    expect(pteVal(pt, slot)).toBe(0);
  });

  it('rejects malformed entries and slots outside live tables', () => {
    const pt = createPageTables();
    const slot = pteAlloc(pt, A);
    // A misuse of a well-formed value is a kernel bug ...
    expect(() => setPte(pt, slot, 0, 5)).toThrow(KernelBugError);
    // ... a value that is no entry word or slot at all is a typed argument error.
    expect(() => setPte(pt, slot, -1, 5)).toThrow(/setPte: bits is -1, below 0/);
    expect(() => setPte(pt, slot, PAGE_SHARED, 2 ** 32)).toThrow(InvalidArgumentError);
    expect(() => setPte(pt, slot, PAGE_SHARED, 1.5)).toThrow(/setPte: val is 1.5, not an integer/);
    expect(() => setPte(pt, -1, PAGE_SHARED, 1)).toThrow(InvalidArgumentError);
    expect(() => setPte(pt, 1e9, PAGE_SHARED, 1)).toThrow(/setPte: slot is 1000000000, above/);
    expect(() => setPte(pt, slot + 0.5, PAGE_SHARED, 1)).toThrow(InvalidArgumentError);
    expect(() => setPte(pt, pt.top * 512, PAGE_SHARED, 1)).toThrow(InvalidArgumentError);
    expect(() => setPte(pt, 2 ** 32 + 5, PAGE_SHARED, 1)).toThrow(InvalidArgumentError);
    expect(() => pmdPopulate(pt, 2 ** 32 + 5, pteAllocOne(pt))).toThrow(InvalidArgumentError);
    expect(pt.used[0]).toBe(1);
    expect(pt.used[Math.floor(slot / 512)]).toBe(0);
  });

  it('refuses to overwrite or create table pointers at upper levels', () => {
    const pt = createPageTables();
    pteAlloc(pt, A);
    const pmd = pmdOffset(pt, A);
    const pud = pudOffset(pt, A);
    expect(() => pmdClear(pt, pmd)).toThrow(/leak/);
    expect(() => setPmd(pt, pmd, PAGE_SHARED | _PAGE_PSE, 512)).toThrow(/leak/);
    expect(() => pudClear(pt, pud)).toThrow(/leak/);
    expect(() => setPmd(pt, pmd + 1, _PAGE_TABLE, 1)).toThrow(/table pointers/);
    expect(() => setPte(pt, pgdOffset(pt, 0), PAGE_SHARED | _PAGE_PSE, 1)).toThrow(/PGD/);
  });

  it('huge PMD leaves and PUD leaves are written with setPmd/setPud; pteAlloc then refuses', () => {
    const pt = createPageTables();
    const addr = 4 * PMD_SIZE;
    const pmd = pmdAlloc(pt, addr);
    setPmd(pt, pmd, PAGE_SHARED | _PAGE_PSE, 1024);
    expect(pteOffset(pt, addr)).toBe(-1);
    expect(() => pteAlloc(pt, addr + PAGE_SIZE)).toThrow(KernelBugError);
    pmdClear(pt, pmd);
    expect(pteAlloc(pt, addr)).toBeGreaterThanOrEqual(0);
    const pud = pudAlloc(pt, 3 * PUD_SIZE);
    setPud(pt, pud, PAGE_SHARED | _PAGE_PSE | _PAGE_DEVMAP, 0);
    expect(pmdOffset(pt, 3 * PUD_SIZE)).toBe(-1);
    expect(() => pmdAlloc(pt, 3 * PUD_SIZE)).toThrow(KernelBugError);
    pudClear(pt, pud);
  });

  it('pteAllocOne + pmdPopulate install a prepared table (PMD split); pteFree frees a spare', () => {
    const pm = createPhysMem({ ramBytes: 8 * MiB });
    const pt = createPageTables();
    const thp = allocPages(pm, 9) as number;
    const addr = 8 * PMD_SIZE;
    const pmd = pmdAlloc(pt, addr);
    setPmd(pt, pmd, PAGE_SHARED | _PAGE_PSE, thp);
    pm.compoundMapcounts[thp / HPAGE_PMD_NR] = 1;
    assertPageTableInvariants(pt, pm);
    const table = pteAllocOne(pt);
    for (let i = 0; i < 512; i++) setPte(pt, tableSlot(table, i), PAGE_SHARED, thp + i);
    expect(() => pmdPopulate(pt, pmd, table)).toThrow(KernelBugError); // PMD not empty yet
    pmdClear(pt, pmd);
    pmdPopulate(pt, pmd, table);
    pm.compoundMapcounts[thp / HPAGE_PMD_NR] = 0;
    for (let i = 0; i < 512; i++) pm.mapcount[thp + i] = 1;
    pm.refcount[thp] = 512;
    expect(pteOffset(pt, addr + 5 * PAGE_SIZE)).toBe(tableSlot(table, 5));
    expect(() => pmdPopulate(pt, pmd + 1, table)).toThrow(/detached/);
    assertPageTableInvariants(pt, pm);
    const spare = pteAllocOne(pt);
    expect(() => assertPageTableInvariants(pt, pm)).toThrow(/neither reachable nor free/);
    pteFree(pt, spare);
    assertPageTableInvariants(pt, pm);
    expect(() => pteFree(pt, table)).toThrow(KernelBugError);
    expect(() => pteFree(pt, 0)).toThrow(KernelBugError);
  });
});

describe('freePgdRange', () => {
  it('frees empty tables bottom-up and keeps non-empty ones', () => {
    const pm = createPhysMem({ ramBytes: 8 * MiB });
    const pt = createPageTables();
    const a = mapPage(pt, pm, A);
    mapPage(pt, pm, A + PMD_SIZE);
    expect(pt.nrTables).toBe(5);
    expect(freePgdRange(pt, 0, 2 ** 48)).toBe(0);
    pteClear(pt, pteOffset(pt, A + PMD_SIZE));
    expect(freePgdRange(pt, A + PMD_SIZE, A + 2 * PMD_SIZE)).toBe(1);
    expect(pteOffset(pt, A + PMD_SIZE)).toBe(-1);
    assertPageTableInvariants(pt, pm);
    pteClear(pt, pteOffset(pt, A));
    pm.mapcount[a] = 0;
    // A range touching the table is enough: emptiness decides.
    expect(freePgdRange(pt, A, A + PAGE_SIZE)).toBe(3);
    expect(pt.nrTables).toBe(1);
    expect(pudOffset(pt, A)).toBe(-1);
    assertPageTableInvariants(pt, pm);
    // Freed tables are reused.
    const top = pt.top;
    pteAlloc(pt, 0);
    expect(pt.top).toBe(top);
    assertPageTableInvariants(pt, pm);
  });

  it('keeps huge leaves and swap entries (they are not tables)', () => {
    const pm = createPhysMem({ ramBytes: 8 * MiB });
    const pt = createPageTables();
    const thp = allocPages(pm, 9) as number;
    setPmd(pt, pmdAlloc(pt, 0), PAGE_SHARED | _PAGE_PSE, thp);
    pm.compoundMapcounts[thp / HPAGE_PMD_NR] = 1;
    const s = pteAlloc(pt, PUD_SIZE);
    const e = swpEntryToPte(swpEntry(0, 99));
    setPte(pt, s, e.bits, e.val);
    expect(freePgdRange(pt, 0, 2 ** 48)).toBe(0);
    assertPageTableInvariants(pt, pm);
  });

  it('rejects bad ranges and accepts empty ones', () => {
    const pt = createPageTables();
    expect(freePgdRange(pt, 5, 5)).toBe(0);
    expect(() => freePgdRange(pt, 10, 5)).toThrow(InvalidArgumentError);
    expect(() => freePgdRange(pt, 0, 2 ** 48 + 1)).toThrow(InvalidArgumentError);
  });

  it('map/unmap/free cycles keep the tree consistent (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 63 })), { maxLength: 120 }),
        (ops) => {
          const pm = createPhysMem({ ramBytes: 8 * MiB });
          const pt = createPageTables({ initialTables: 1 });
          const mapped = new Map<number, number>();
          // 64 pages spread over 4 PGD entries, 2 PUDs each, 2 PMDs each, 4 PTEs each.
          const addrOf = (k: number) =>
            (k >> 4) * PGDIR_SIZE +
            ((k >> 3) & 1) * PUD_SIZE +
            ((k >> 2) & 1) * PMD_SIZE +
            (k & 3) * PAGE_SIZE;
          for (const [map, k] of ops) {
            const addr = addrOf(k);
            if (map && !mapped.has(k)) {
              mapped.set(k, mapPage(pt, pm, addr));
            } else if (!map && mapped.has(k)) {
              pteClear(pt, pteOffset(pt, addr));
              const pfn = mapped.get(k) as number;
              pm.mapcount[pfn] = 0;
              mapped.delete(k);
              freePgdRange(pt, addr, addr + PAGE_SIZE);
            }
            assertPageTableInvariants(pt, pm);
          }
          for (const [k, pfn] of mapped) expect(pteVal(pt, pteOffset(pt, addrOf(k)))).toBe(pfn);
          for (const k of mapped.keys()) pteClear(pt, pteOffset(pt, addrOf(k)));
          for (const pfn of mapped.values()) pm.mapcount[pfn] = 0;
          freePgdRange(pt, 0, 2 ** 48);
          expect(pt.nrTables).toBe(1);
          assertPageTableInvariants(pt, pm);
        },
      ),
      { seed: fcSeed, numRuns: 100 },
    );
  });
});

describe('assertPageTableInvariants', () => {
  function setup() {
    const pm = createPhysMem({ ramBytes: 8 * MiB });
    const pt = createPageTables();
    const pfn = mapPage(pt, pm, A);
    const slot = pteOffset(pt, A);
    assertPageTableInvariants(pt, pm);
    return { pm, pt, pfn, slot };
  }

  it('accepts the zero page (special, read-only), device-private, migration and swap entries', () => {
    const { pm, pt } = setup();
    setPte(pt, pteAlloc(pt, 0), PAGE_READONLY | _PAGE_SPECIAL, 0);
    const dev = memmapAddRange(pm, 4, 1);
    pm.refcount[dev] = 2;
    pm.mapcount[dev] = 1;
    const d = swpEntryToPte(makeDevicePrivateEntry(dev, true));
    setPte(pt, pteAlloc(pt, PAGE_SIZE), d.bits, d.val);
    const victim = allocPages(pm, 0) as number;
    lockPage(pm, victim);
    const m = swpEntryToPte(makeMigrationEntry(victim, false));
    setPte(pt, pteAlloc(pt, 2 * PAGE_SIZE), m.bits, m.val);
    const s = swpEntryToPte(swpEntry(3, 12345));
    setPte(pt, pteAlloc(pt, 3 * PAGE_SIZE), s.bits, s.val);
    setPte(pt, pteAlloc(pt, 4 * PAGE_SIZE), PAGE_SHARED | _PAGE_SPECIAL, 2 ** 31); // raw pfn
    setPte(pt, pteAlloc(pt, 5 * PAGE_SIZE), PAGE_READONLY | _PAGE_SPECIAL | _PAGE_DEVMAP, dev + 1);
    assertPageTableInvariants(pt, pm);
    unlockPage(pm, victim);
    expect(() => assertPageTableInvariants(pt, pm)).toThrow(/migration entry/);
  });

  it('accepts a migration entry naming a locked device page (device page moving back to RAM)', () => {
    const { pm, pt } = setup();
    const dev = memmapAddRange(pm, 4, 1);
    pm.refcount[dev] = 2;
    lockPage(pm, dev);
    const m = swpEntryToPte(makeMigrationEntry(dev, false));
    setPte(pt, pteAlloc(pt, 0), m.bits, m.val);
    assertPageTableInvariants(pt, pm);
    unlockPage(pm, dev);
    expect(() => assertPageTableInvariants(pt, pm)).toThrow(/or a locked device page/);
  });

  it('accepts a THP PMD migration entry on a locked head', () => {
    const pm = createPhysMem({ ramBytes: 8 * MiB });
    const pt = createPageTables();
    const thp = allocPages(pm, 9) as number;
    lockPage(pm, thp);
    const m = swpEntryToPte(makeMigrationEntry(thp, true));
    setPmd(pt, pmdAlloc(pt, 0), m.bits, m.val);
    assertPageTableInvariants(pt, pm);
  });

  it.each<[string, (c: ReturnType<typeof setup>) => void, RegExp]>([
    [
      'a wrong used count',
      ({ pt, slot }) => {
        pt.used[Math.floor(slot / 512)] = 7;
      },
      /used count/,
    ],
    [
      'a free pfn',
      ({ pm, pt, slot }) => setPte(pt, slot, PAGE_SHARED, pm.nrPages - 1),
      /free or invalid/,
    ],
    [
      'a missing mapcount',
      ({ pm, pfn }) => {
        pm.mapcount[pfn] = 0;
      },
      /mapcount is 0/,
    ],
    [
      'refcount below mappings',
      ({ pm, pt, pfn }) => {
        pm.mapcount[pfn] = 2; // mapped twice while holding a single reference
        setPte(pt, pteAlloc(pt, 0), PAGE_SHARED, pfn);
      },
      /refcount 1/,
    ],
    [
      'a writable zero page',
      ({ pt }) => setPte(pt, pteAlloc(pt, 0), PAGE_SHARED | _PAGE_SPECIAL, 0),
      /zero page/,
    ],
    [
      'a non-special zero page',
      ({ pt }) => setPte(pt, pteAlloc(pt, 0), PAGE_READONLY, 0),
      /zero page/,
    ],
    [
      'a table referenced twice',
      ({ pt }) => {
        const pmd = pmdAlloc(pt, A);
        pt.bits[pmd + 1] = _PAGE_TABLE;
        pt.val[pmd + 1] = pt.val[pmd] as number;
        pt.used[Math.floor(pmd / 512)] = 2;
      },
      /referenced twice|records parent/,
    ],
    [
      'a wrong parent',
      ({ pt, slot }) => {
        pt.parent[Math.floor(slot / 512)] = 5;
      },
      /parent/,
    ],
    [
      'a level mismatch',
      ({ pt, slot }) => {
        pt.level[Math.floor(slot / 512)] = 2;
      },
      /level/,
    ],
    [
      'a non-empty free table',
      ({ pt }) => {
        pteAlloc(pt, 0);
        pteClear(pt, pteAlloc(pt, 0));
        freePgdRange(pt, 0, PAGE_SIZE);
        pt.val[pt.freeHead * 512 + 3] = 1;
      },
      /free table/,
    ],
    ['a leaked table', ({ pt }) => void pteAllocOne(pt), /neither reachable nor free/],
    [
      'a wrong nrTables',
      ({ pt }) => {
        pt.nrTables += 1;
      },
      /nrTables/,
    ],
    [
      'an unaligned huge PMD',
      ({ pm, pt }) => {
        const thp = allocPages(pm, 9) as number;
        setPmd(pt, pmdAlloc(pt, 0), PAGE_SHARED | _PAGE_PSE, thp + 1);
      },
      /aligned/,
    ],
    [
      'a huge PMD over order-0 pages',
      ({ pm, pt }) => {
        for (let i = 0; i < 600; i++) allocPages(pm, 0);
        setPmd(pt, pmdAlloc(pt, 0), PAGE_SHARED | _PAGE_PSE, HPAGE_PMD_NR);
      },
      /order-9 head/,
    ],
    [
      'a device-private entry for a RAM page',
      ({ pt, pfn }) => {
        const d = swpEntryToPte(makeDevicePrivateEntry(pfn, false));
        setPte(pt, pteAlloc(pt, 0), d.bits, d.val);
      },
      /device-private/,
    ],
    [
      'a swap entry at PMD level',
      ({ pt }) => {
        const s = swpEntryToPte(swpEntry(1, 1));
        setPmd(pt, pmdAlloc(pt, 0), s.bits, s.val);
      },
      /PMD migration entry/,
    ],
    [
      'a devmap PTE on a RAM page',
      ({ pt, pfn }) => {
        setPte(pt, pteAlloc(pt, 0), PAGE_READONLY | _PAGE_SPECIAL | _PAGE_DEVMAP, pfn);
      },
      /DEVMAP/,
    ],
  ])('fails on %s', (_what, mutate, msg) => {
    const c = setup();
    mutate(c);
    expect(() => assertPageTableInvariants(c.pt, c.pm)).toThrow(msg);
  });
});
