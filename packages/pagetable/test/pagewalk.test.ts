import {
  EINVAL,
  HPAGE_PMD_NR,
  InvalidArgumentError,
  KernelBugError,
  PAGE_SIZE,
  PGDIR_SIZE,
  PMD_SIZE,
  PUD_SIZE,
  ULONG_MAX,
} from '@hmmsim/kernel';
import { describe, expect, it } from 'vitest';
import {
  _PAGE_PRESENT,
  _PAGE_PSE,
  allocPages,
  createPageTables,
  createPhysMem,
  entryIsTable,
  type MmWalk,
  type MmWalkOps,
  PAGE_SHARED,
  type PageTables,
  pmdAlloc,
  pmdBits,
  pmdClear,
  pmdPopulate,
  pmdVal,
  pteAlloc,
  pteAllocOne,
  pteBits,
  pteVal,
  setPmd,
  setPte,
  tableSlot,
  WALK_VM_PFNMAP,
  type WalkVma,
  walkPageRange,
} from '../src/index.ts';

const hex = (n: number) => `0x${n.toString(16)}`;

type Log = string[];

/** Ops recording every callback as a string; optional behaviour hooks per callback. */
function recorder(
  extra: {
    pmd?: (slot: number, addr: number, walk: MmWalk<Log>) => number;
    pud?: (slot: number, addr: number, walk: MmWalk<Log>) => number;
    pte?: (slot: number, addr: number, walk: MmWalk<Log>) => number;
    test?: (start: number, end: number, walk: MmWalk<Log>) => number;
    noPte?: boolean;
    noPmd?: boolean;
  } = {},
): MmWalkOps<Log> {
  const ops: MmWalkOps<Log> = {
    pteHole(addr, next, depth, walk) {
      walk.private.push(`hole ${hex(addr)}-${hex(next)} d${depth}${walk.vma ? '' : ' novma'}`);
      return 0;
    },
    pudEntry(slot, addr, next, walk) {
      walk.private.push(`pud ${hex(addr)}-${hex(next)}`);
      return extra.pud?.(slot, addr, walk) ?? 0;
    },
  };
  if (!extra.noPmd) {
    ops.pmdEntry = (slot, addr, next, walk) => {
      const kind = entryIsTable(pmdBits(walk.pt, slot)) ? 'table' : 'leaf';
      walk.private.push(`pmd ${hex(addr)}-${hex(next)} ${kind}`);
      return extra.pmd?.(slot, addr, walk) ?? 0;
    };
  }
  if (!extra.noPte) {
    ops.pteEntry = (slot, addr, next, walk) => {
      if (next !== addr + PAGE_SIZE) throw new Error('bad next');
      const b = pteBits(walk.pt, slot);
      if (b !== 0) walk.private.push(`pte ${hex(addr)} pfn ${pteVal(walk.pt, slot)}`);
      return extra.pte?.(slot, addr, walk) ?? 0;
    };
  }
  if (extra.test) {
    const test = extra.test;
    ops.testWalk = (start, end, walk) => test(start, end, walk);
  }
  return ops;
}

function map(pt: PageTables, addr: number, pfn: number): void {
  setPte(pt, pteAlloc(pt, addr), PAGE_SHARED, pfn);
}

function vmaList(vmas: WalkVma[]) {
  return { findVma: (addr: number) => vmas.find((v) => v.vmEnd > addr) };
}

describe('walkPageRange without VMAs', () => {
  it('reports holes by level and every PTE of a populated table', () => {
    const pt = createPageTables();
    const base = 3 * PUD_SIZE; // PGD entry 0, PUD entry 3
    map(pt, base, 7);
    map(pt, base + 2 * PAGE_SIZE, 8);
    let ptes = 0;
    const ops = recorder({
      pte: () => {
        ptes++;
        return 0;
      },
    });
    const log: Log = [];
    expect(walkPageRange(pt, 0, PGDIR_SIZE * 2, ops, log)).toBe(0);
    expect(log).toEqual([
      ...holes(0, base, PUD_SIZE, 2), // PUD entries 0..2
      `pud ${hex(base)}-${hex(base + PUD_SIZE)}`,
      `pmd ${hex(base)}-${hex(base + PMD_SIZE)} table`,
      `pte ${hex(base)} pfn 7`,
      `pte ${hex(base + 2 * PAGE_SIZE)} pfn 8`,
      ...holes(base + PMD_SIZE, base + PUD_SIZE, PMD_SIZE, 3), // PMD entries 1..511
      ...holes(base + PUD_SIZE, PGDIR_SIZE, PUD_SIZE, 2), // PUD entries 4..511
      `hole ${hex(PGDIR_SIZE)}-${hex(2 * PGDIR_SIZE)} d1 novma`, // PGD entry 1
    ]);
    expect(ptes).toBe(512); // pteEntry sees every PTE of the table, empty ones included
  });

  it('starts and stops mid-table at the right slots', () => {
    const pt = createPageTables();
    const base = 5 * PMD_SIZE;
    for (let i = 0; i < 512; i++) map(pt, base + i * PAGE_SIZE, 100 + i);
    const seen: number[] = [];
    const ops: MmWalkOps<number[]> = {
      pteEntry(slot, addr, _next, walk) {
        expect(pteVal(walk.pt, slot)).toBe(100 + (addr - base) / PAGE_SIZE);
        walk.private.push(addr);
        return 0;
      },
    };
    expect(walkPageRange(pt, base + 10 * PAGE_SIZE, base + 13 * PAGE_SIZE, ops, seen)).toBe(0);
    expect(seen).toEqual([10, 11, 12].map((i) => base + i * PAGE_SIZE));
  });

  it('a non-zero op result stops the walk and is returned', () => {
    const pt = createPageTables();
    for (let i = 0; i < 4; i++) map(pt, i * PAGE_SIZE, 1 + i);
    const log: Log = [];
    const ops = recorder({ pte: (_s, addr) => (addr === 2 * PAGE_SIZE ? -16 : 0) });
    expect(walkPageRange(pt, 0, PMD_SIZE, ops, log)).toBe(-16);
    expect(log.filter((l) => l.startsWith('pte'))).toEqual([
      'pte 0x0 pfn 1',
      'pte 0x1000 pfn 2',
      'pte 0x2000 pfn 3',
    ]);
    const holeStop: MmWalkOps<null> = { pteHole: () => 5 };
    expect(walkPageRange(createPageTables(), 0, PGDIR_SIZE, holeStop, null)).toBe(5);
  });

  it('huge PMDs: pmdEntry sees the leaf, its PTEs are skipped when there is no VMA', () => {
    const pm = createPhysMem({ ramBytes: 8 * 2 ** 20 });
    const pt = createPageTables();
    const thp = allocPages(pm, 9) as number;
    setPmd(pt, pmdAlloc(pt, PMD_SIZE), PAGE_SHARED | _PAGE_PSE, thp);
    const log: Log = [];
    expect(walkPageRange(pt, 0, 3 * PMD_SIZE, recorder(), log)).toBe(0);
    expect(log).toEqual([
      `pud 0x0-${hex(3 * PMD_SIZE)}`,
      `hole 0x0-${hex(PMD_SIZE)} d3 novma`,
      `pmd ${hex(PMD_SIZE)}-${hex(2 * PMD_SIZE)} leaf`,
      `hole ${hex(2 * PMD_SIZE)}-${hex(3 * PMD_SIZE)} d3 novma`,
    ]);
  });

  it("walk.action 'continue' skips the level below; 'again' re-reads after a split", () => {
    const pm = createPhysMem({ ramBytes: 8 * 2 ** 20 });
    const pt = createPageTables();
    map(pt, 0, 3);
    const thp = allocPages(pm, 9) as number;
    const pmdSlot = pmdAlloc(pt, PMD_SIZE);
    setPmd(pt, pmdSlot, PAGE_SHARED | _PAGE_PSE, thp);
    // 'continue' at PMD level: no PTEs at all.
    let log: Log = [];
    walkPageRange(
      pt,
      0,
      2 * PMD_SIZE,
      recorder({
        pmd: (_s, _a, w) => {
          w.action = 'continue';
          return 0;
        },
      }),
      log,
    );
    expect(log.some((l) => l.startsWith('pte'))).toBe(false);
    // 'continue' at PUD level: no PMDs.
    log = [];
    walkPageRange(
      pt,
      0,
      2 * PMD_SIZE,
      recorder({
        pud: (_s, _a, w) => {
          w.action = 'continue';
          return 0;
        },
      }),
      log,
    );
    expect(log).toEqual([`pud 0x0-${hex(2 * PMD_SIZE)}`]);
    // 'again': split the huge PMD into a PTE table, then the walker descends into it.
    log = [];
    const split = (slot: number, _addr: number, w: MmWalk<Log>) => {
      if (entryIsTable(pmdBits(w.pt, slot))) return 0;
      const head = pmdVal(w.pt, slot);
      const table = pteAllocOne(w.pt);
      for (let i = 0; i < HPAGE_PMD_NR; i++)
        setPte(w.pt, tableSlot(table, i), PAGE_SHARED, head + i);
      pmdClear(w.pt, slot);
      pmdPopulate(w.pt, slot, table);
      w.action = 'again';
      return 0;
    };
    walkPageRange(pt, PMD_SIZE, PMD_SIZE + 2 * PAGE_SIZE, recorder({ pmd: split }), log);
    expect(log).toEqual([
      `pud ${hex(PMD_SIZE)}-${hex(PMD_SIZE + 2 * PAGE_SIZE)}`,
      `pmd ${hex(PMD_SIZE)}-${hex(PMD_SIZE + 2 * PAGE_SIZE)} leaf`,
      `pmd ${hex(PMD_SIZE)}-${hex(PMD_SIZE + 2 * PAGE_SIZE)} table`,
      `pte ${hex(PMD_SIZE)} pfn ${thp}`,
      `pte ${hex(PMD_SIZE + PAGE_SIZE)} pfn ${thp + 1}`,
    ]);
  });

  it('reports the part of a range above 2^48 as one top-level hole (ULONG_MAX ends)', () => {
    const log: Log = [];
    const pt = createPageTables();
    expect(walkPageRange(pt, 2 ** 48 - PGDIR_SIZE, ULONG_MAX, recorder(), log)).toBe(0);
    expect(log).toEqual([
      `hole ${hex(2 ** 48 - PGDIR_SIZE)}-${hex(2 ** 48)} d1 novma`,
      `hole ${hex(2 ** 48)}-${hex(ULONG_MAX)} d1 novma`,
    ]);
  });

  it('ops without any entry op only see holes of empty top-level entries (no descent)', () => {
    // mm/pagewalk.c descends below a populated PGD (P4D) entry only for pud/pmd/pte ops.
    const pt = createPageTables();
    map(pt, 3 * PUD_SIZE, 7);
    const log: Log = [];
    const holesOnly: MmWalkOps<Log> = {
      pteHole(addr, next, depth, walk) {
        walk.private.push(`hole ${hex(addr)}-${hex(next)} d${depth}`);
        return 0;
      },
    };
    expect(walkPageRange(pt, 0, 2 * PGDIR_SIZE, holesOnly, log)).toBe(0);
    expect(log).toEqual([`hole ${hex(PGDIR_SIZE)}-${hex(2 * PGDIR_SIZE)} d1`]);
  });

  it('rejects bad ranges', () => {
    const pt = createPageTables();
    expect(walkPageRange(pt, PAGE_SIZE, PAGE_SIZE, {}, null)).toBe(-EINVAL);
    expect(walkPageRange(pt, 2 * PAGE_SIZE, PAGE_SIZE, {}, null)).toBe(-EINVAL);
    expect(() => walkPageRange(pt, 1, PAGE_SIZE, {}, null)).toThrow(InvalidArgumentError);
    expect(() => walkPageRange(pt, 0, PAGE_SIZE + 1, {}, null)).toThrow(InvalidArgumentError);
    expect(() => walkPageRange(pt, -PAGE_SIZE, PAGE_SIZE, {}, null)).toThrow(InvalidArgumentError);
    expect(() => walkPageRange(pt, 0, 2 ** 60, {}, null)).toThrow(InvalidArgumentError);
  });

  it('allocates nothing per entry: the same walk object is passed to every callback', () => {
    const pt = createPageTables();
    for (let i = 0; i < 600; i++) map(pt, i * PAGE_SIZE, 1);
    const walks = new Set<object>();
    walkPageRange(
      pt,
      0,
      1024 * PAGE_SIZE,
      {
        pteEntry: (_s, _a, _n, w) => {
          walks.add(w);
          return 0;
        },
      },
      null,
    );
    expect(walks.size).toBe(1);
  });
});

describe('walkPageRange with VMAs', () => {
  const V1: WalkVma = { vmStart: PMD_SIZE, vmEnd: PMD_SIZE + 4 * PAGE_SIZE, vmFlags: 0 };
  const V2: WalkVma = { vmStart: 3 * PMD_SIZE, vmEnd: 3 * PMD_SIZE + 2 * PAGE_SIZE, vmFlags: 0 };

  function populated() {
    const pt = createPageTables();
    map(pt, PMD_SIZE + PAGE_SIZE, 11);
    map(pt, PMD_SIZE + 8 * PAGE_SIZE, 12); // inside tables but outside V1
    map(pt, 3 * PMD_SIZE, 13);
    return pt;
  }

  it('reports gaps once with depth -1 and walks the tables of each VMA only', () => {
    const log: Log = [];
    expect(walkPageRange(populated(), 0, 4 * PMD_SIZE, recorder(), log, vmaList([V1, V2]))).toBe(0);
    expect(log).toEqual([
      `hole 0x0-${hex(PMD_SIZE)} d-1 novma`,
      `pud ${hex(PMD_SIZE)}-${hex(V1.vmEnd)}`,
      `pmd ${hex(PMD_SIZE)}-${hex(V1.vmEnd)} table`,
      `pte ${hex(PMD_SIZE + PAGE_SIZE)} pfn 11`,
      `hole ${hex(V1.vmEnd)}-${hex(V2.vmStart)} d-1 novma`,
      `pud ${hex(V2.vmStart)}-${hex(V2.vmEnd)}`,
      `pmd ${hex(V2.vmStart)}-${hex(V2.vmEnd)} table`,
      `pte ${hex(V2.vmStart)} pfn 13`,
      `hole ${hex(V2.vmEnd)}-${hex(4 * PMD_SIZE)} d-1 novma`,
    ]);
  });

  it('reports empty levels inside a VMA with their depth and walk.vma set', () => {
    const log: Log = [];
    const v: WalkVma = { vmStart: 10 * PMD_SIZE, vmEnd: 12 * PMD_SIZE, vmFlags: 0 };
    walkPageRange(populated(), v.vmStart, v.vmEnd, recorder(), log, vmaList([v]));
    expect(log).toEqual([
      `pud ${hex(v.vmStart)}-${hex(v.vmEnd)}`,
      `hole ${hex(10 * PMD_SIZE)}-${hex(11 * PMD_SIZE)} d3`,
      `hole ${hex(11 * PMD_SIZE)}-${hex(12 * PMD_SIZE)} d3`,
    ]);
    const far: WalkVma = { vmStart: PGDIR_SIZE, vmEnd: PGDIR_SIZE + PAGE_SIZE, vmFlags: 0 };
    const log2: Log = [];
    walkPageRange(populated(), far.vmStart, far.vmEnd, recorder(), log2, vmaList([far]));
    expect(log2).toEqual([`hole ${hex(far.vmStart)}-${hex(far.vmEnd)} d1`]);
  });

  it('testWalk: 1 skips the VMA, < 0 stops; VM_PFNMAP VMAs are skipped as holes by default', () => {
    const skip: Log = [];
    walkPageRange(
      populated(),
      0,
      4 * PMD_SIZE,
      recorder({ test: (s) => (s === V1.vmStart ? 1 : 0) }),
      skip,
      vmaList([V1, V2]),
    );
    expect(skip.some((l) => l.includes('pfn 11'))).toBe(false);
    expect(skip.some((l) => l.includes('pfn 13'))).toBe(true);
    const stop: Log = [];
    expect(
      walkPageRange(
        populated(),
        0,
        4 * PMD_SIZE,
        recorder({ test: () => -14 }),
        stop,
        vmaList([V1, V2]),
      ),
    ).toBe(-14);
    expect(stop).toEqual([`hole 0x0-${hex(PMD_SIZE)} d-1 novma`]);
    const pfnmap: Log = [];
    const P1 = { ...V1, vmFlags: WALK_VM_PFNMAP | 0x3 };
    walkPageRange(populated(), V1.vmStart, V1.vmEnd, recorder(), pfnmap, vmaList([P1]));
    expect(pfnmap).toEqual([`hole ${hex(V1.vmStart)}-${hex(V1.vmEnd)} d-1`]);
  });

  it('a huge PMD inside a VMA must be handled by pmdEntry', () => {
    const pm = createPhysMem({ ramBytes: 8 * 2 ** 20 });
    const pt = createPageTables();
    const thp = allocPages(pm, 9) as number;
    setPmd(pt, pmdAlloc(pt, 0), PAGE_SHARED | _PAGE_PSE, thp);
    const v = vmaList([{ vmStart: 0, vmEnd: PMD_SIZE, vmFlags: 0 }]);
    expect(() => walkPageRange(pt, 0, PMD_SIZE, recorder(), [], v)).toThrow(KernelBugError);
    expect(() => walkPageRange(pt, 0, PMD_SIZE, recorder({ noPmd: true }), [], v)).toThrow(
      /pmdEntry/,
    );
    const log: Log = [];
    const handled = recorder({
      pmd: (_s, _a, w) => {
        w.action = 'continue';
        return 0;
      },
    });
    expect(walkPageRange(pt, 0, PMD_SIZE, handled, log, v)).toBe(0);
    expect(walkPageRange(pt, 0, PMD_SIZE, recorder({ noPte: true }), [], v)).toBe(0);
  });

  it('rejects a findVma that breaks its contract instead of looping', () => {
    const bad = { findVma: () => ({ vmStart: 0, vmEnd: PAGE_SIZE, vmFlags: 0 }) };
    expect(() =>
      walkPageRange(createPageTables(), 2 * PAGE_SIZE, 4 * PAGE_SIZE, {}, null, bad),
    ).toThrow(/vmEnd > addr/);
  });

  it('counts exactly the present PTEs of a fully populated 2 MiB', () => {
    const pt = createPageTables();
    for (let i = 0; i < 512; i += 2) map(pt, PMD_SIZE + i * PAGE_SIZE, 1 + i);
    const c = { n: 0 };
    const ops: MmWalkOps<typeof c> = {
      pteEntry(slot, _a, _n, w) {
        if ((pteBits(w.pt, slot) & _PAGE_PRESENT) !== 0) w.private.n++;
        return 0;
      },
    };
    walkPageRange(
      pt,
      0,
      4 * PMD_SIZE,
      ops,
      c,
      vmaList([{ vmStart: 0, vmEnd: 4 * PMD_SIZE, vmFlags: 0 }]),
    );
    expect(c.n).toBe(256);
  });
});

function holes(start: number, end: number, step: number, depth: number): string[] {
  const out: string[] = [];
  for (let a = start; a < end; a += step)
    out.push(`hole ${hex(a)}-${hex(a + step)} d${depth} novma`);
  return out;
}
