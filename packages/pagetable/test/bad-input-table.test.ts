/**
 * The pagetable package's bad-input table: every public function that takes a number (pfn,
 * order, offset, address, slot, table, entry word, swap entry) tried with every bad number, plus
 * the misuses the kernel would BUG/WARN on. After every row the memmap and page-table checkers
 * must pass, the machine must look exactly as before, and a map/walk/unmap cycle must still work.
 */
import { EINVAL, InvalidArgumentError, KernelBugError, PAGE_SIZE, PMD_SIZE } from '@hmmsim/kernel';
import {
  BAD_NUMBERS,
  type BadInputRow,
  formatBadInputReport,
  runBadInputTable,
} from '@hmmsim/kernel/testing';
import { describe, expect, it } from 'vitest';
import {
  _PAGE_PSE,
  allocPages,
  assertMemmapInvariants,
  assertPageTableInvariants,
  assertPfnValid,
  clearPage,
  compoundHead,
  compoundMapcount,
  compoundOrder,
  copyPage,
  createPageTables,
  createPhysMem,
  devicePrivateEntryToPfn,
  freePgdRange,
  getPage,
  getPageUnlessZero,
  isDevicePrivateEntry,
  isHwpoisonEntry,
  isMigrationEntry,
  isPmdMigrationEntry,
  isSwapPte,
  isWriteDevicePrivateEntry,
  isWriteMigrationEntry,
  isZeroPfn,
  isZoneDevicePage,
  lockPage,
  makeDevicePrivateEntry,
  makeDevicePrivateEntryRead,
  makeHwpoisonEntry,
  makeMigrationEntry,
  makeMigrationEntryRead,
  memmapAddRange,
  migrationEntryToPfn,
  nonSwapEntry,
  PAGE_SHARED,
  pageCount,
  pageHasContents,
  pageIsCompound,
  pageIsHead,
  pageIsTail,
  pageLocked,
  pageMapcount,
  pageMapped,
  pfnValid,
  pgdBits,
  pgdOffset,
  pgdVal,
  pmdAlloc,
  pmdBits,
  pmdClear,
  pmdOffset,
  pmdPopulate,
  pmdToSwpEntry,
  pmdVal,
  pteAlloc,
  pteAllocOne,
  pteBits,
  pteClear,
  pteFree,
  pteOffset,
  pteSwpClearSoftDirty,
  pteSwpMksoftDirty,
  pteSwpSoftDirty,
  pteToSwpEntry,
  pteVal,
  pudAlloc,
  pudBits,
  pudClear,
  pudOffset,
  pudVal,
  putPage,
  readPage,
  setPmd,
  setPte,
  setPud,
  splitHugePage,
  swpEntry,
  swpEntryToPmd,
  swpEntryToPte,
  swpEntryToPteBits,
  swpOffset,
  swpType,
  tableSlot,
  totalMapcount,
  trylockPage,
  unlockPage,
  walkPageRange,
  writePage,
} from '../src/index.ts';
import * as pteModule from '../src/pte.ts';

const MiB = 2 ** 20;
const A = 0x7f00_0000_0000;
const pm = createPhysMem({ ramBytes: 8 * MiB });
const dev = memmapAddRange(pm, 16, 1);
const pt = createPageTables();
/** One mapped page, one unmapped THP and one free RAM page: the state every row must keep. */
const mapped = allocPages(pm, 0) as number;
const aSlot = pteAlloc(pt, A);
setPte(pt, aSlot, PAGE_SHARED, mapped);
pm.mapcount[mapped] = 1;
writePage(pm, mapped, 0, new Uint8Array([7, 7, 7]));
const thp = allocPages(pm, 9) as number;
const free = allocPages(pm, 0) as number;
putPage(pm, free);
const aPmd = pmdOffset(pt, A);
const pmdTable = Math.floor(aPmd / 512);

const bad = { error: InvalidArgumentError } as const;
const bug = { error: KernelBugError } as const;

/** One row per bad number for `call(v)`. */
function rows(fn: string, arg: string, call: (v: number) => unknown): BadInputRow[] {
  return BAD_NUMBERS.map(([label, v]) => ({
    fn,
    input: `${arg} = ${label}`,
    call: () => call(v),
    expect: bad,
  }));
}

/** Rows for each argument of a function of (pm, pfn). */
function pfnRows(fn: string, f: (p: typeof pm, pfn: number) => unknown): BadInputRow[] {
  return rows(fn, 'pfn', (v) => f(pm, v));
}

const memmapRows: BadInputRow[] = [
  ...pfnRows('pfnValid', pfnValid),
  ...pfnRows('isZeroPfn', isZeroPfn),
  ...pfnRows('isZoneDevicePage', isZoneDevicePage),
  ...pfnRows('compoundHead', compoundHead),
  ...pfnRows('pageIsHead', pageIsHead),
  ...pfnRows('pageIsTail', pageIsTail),
  ...pfnRows('pageIsCompound', pageIsCompound),
  ...pfnRows('compoundOrder', compoundOrder),
  ...pfnRows('pageCount', pageCount),
  ...pfnRows('compoundMapcount', compoundMapcount),
  ...pfnRows('pageMapcount', pageMapcount),
  ...pfnRows('totalMapcount', totalMapcount),
  ...pfnRows('pageMapped', pageMapped),
  ...pfnRows('pageLocked', pageLocked),
  ...pfnRows('trylockPage', trylockPage),
  ...pfnRows('lockPage', lockPage),
  ...pfnRows('unlockPage', unlockPage),
  ...pfnRows('myCaller', (p, v) => assertPfnValid(p, v, 'myCaller')),
  ...pfnRows('getPage', getPage),
  ...pfnRows('getPageUnlessZero', getPageUnlessZero),
  ...pfnRows('putPage', putPage),
  ...pfnRows('splitHugePage', splitHugePage),
  ...pfnRows('readPage', (p, v) => readPage(p, v, 0, new Uint8Array(1))),
  ...rows('readPage', 'offset', (v) => readPage(pm, mapped, v, new Uint8Array(1))),
  ...pfnRows('writePage', (p, v) => writePage(p, v, 0, new Uint8Array(1))),
  ...rows('writePage', 'offset', (v) => writePage(pm, mapped, v, new Uint8Array(1))),
  ...rows('copyPage', 'dst', (v) => copyPage(pm, v, mapped)),
  ...rows('copyPage', 'src', (v) => copyPage(pm, mapped, v)),
  ...pfnRows('clearPage', clearPage),
  ...pfnRows('pageHasContents', pageHasContents),
  ...rows('allocPages', 'gfpOrder', (v) => allocPages(pm, v as 0)),
  ...rows('createPhysMem', 'ramBytes', (v) => createPhysMem({ ramBytes: v })),
  ...rows('memmapAddRange', 'nrPages', (v) => memmapAddRange(pm, v, 2)),
  ...rows('memmapAddRange', 'pgmapId', (v) => memmapAddRange(pm, 1, v)),
  // In range for C, but no struct page / not this machine's: still no errno to give.
  {
    fn: 'compoundHead',
    input: 'pfn = memmapEnd',
    call: () => compoundHead(pm, pm.memmapEnd),
    expect: bad,
  },
  {
    fn: 'readPage',
    input: 'offset + length > PAGE_SIZE',
    call: () => readPage(pm, mapped, 4095, new Uint8Array(2)),
    expect: bad,
  },
  {
    fn: 'writePage',
    input: 'src = [1, 2] (not a Uint8Array)',
    call: () => writePage(pm, mapped, 0, [1, 2] as never),
    expect: bad,
  },
  {
    fn: 'allocPages',
    input: 'gfpOrder = 3 (not modelled)',
    call: () => allocPages(pm, 3 as 0),
    expect: bad,
  },
  {
    fn: 'createPhysMem',
    input: 'ramBytes = 3 pages + 1 byte',
    call: () => createPhysMem({ ramBytes: 3 * PAGE_SIZE + 1 }),
    expect: bad,
  },
  {
    fn: 'memmapAddRange',
    input: 'pgmapId = 65536',
    call: () => memmapAddRange(pm, 1, 65536),
    expect: bad,
  },
];

const pgtableRows: BadInputRow[] = [
  ...rows('createPageTables', 'maxTables', (v) => createPageTables({ maxTables: v })),
  ...rows('createPageTables', 'initialTables', (v) => createPageTables({ initialTables: v })),
  ...rows('tableSlot', 'table', (v) => tableSlot(v, 0)),
  ...rows('tableSlot', 'index', (v) => tableSlot(0, v)),
  { fn: 'tableSlot', input: 'index = 512', call: () => tableSlot(0, 512), expect: bad },
  ...(
    [
      ['pgdOffset', pgdOffset],
      ['pudOffset', pudOffset],
      ['pmdOffset', pmdOffset],
      ['pteOffset', pteOffset],
      ['pudAlloc', pudAlloc],
      ['pmdAlloc', pmdAlloc],
      ['pteAlloc', pteAlloc],
    ] as const
  ).flatMap(([fn, f]) => [
    ...rows(fn, 'addr', (v) => f(pt, v)),
    { fn, input: 'addr = 2^48', call: () => f(pt, 2 ** 48), expect: bad },
  ]),
  ...rows('pteFree', 'table', (v) => pteFree(pt, v)),
  ...rows('pmdPopulate', 'pmdSlot', (v) => pmdPopulate(pt, v, 1)),
  ...rows('pmdPopulate', 'table', (v) => pmdPopulate(pt, aPmd, v)),
  ...(
    [
      ['pteVal', pteVal],
      ['pteBits', pteBits],
      ['pmdVal', pmdVal],
      ['pmdBits', pmdBits],
      ['pudVal', pudVal],
      ['pudBits', pudBits],
      ['pgdBits', pgdBits],
      ['pgdVal', pgdVal],
      ['pteClear', pteClear],
      ['pmdClear', pmdClear],
      ['pudClear', pudClear],
    ] as const
  ).flatMap(([fn, f]) => rows(fn, 'slot', (v) => f(pt, v))),
  ...(
    [
      ['setPte', setPte],
      ['setPmd', setPmd],
      ['setPud', setPud],
    ] as const
  ).flatMap(([fn, f]) => [
    ...rows(fn, 'slot', (v) => f(pt, v, PAGE_SHARED, mapped)),
    ...rows(fn, 'bits', (v) => f(pt, aSlot, v, mapped)),
    ...rows(fn, 'val', (v) => f(pt, aSlot, PAGE_SHARED, v)),
  ]),
  ...rows('freePgdRange', 'start', (v) => freePgdRange(pt, v, PMD_SIZE)),
  ...rows('freePgdRange', 'end', (v) => freePgdRange(pt, 0, v)),
  {
    fn: 'freePgdRange',
    input: 'start > end',
    call: () => freePgdRange(pt, 2 * PAGE_SIZE, PAGE_SIZE),
    expect: bad,
  },
  ...rows('walkPageRange', 'start', (v) => walkPageRange(pt, v, A + PAGE_SIZE, {}, null)),
  ...rows('walkPageRange', 'end', (v) => walkPageRange(pt, A, v, {}, null)),
  {
    fn: 'walkPageRange',
    input: 'start unaligned',
    call: () => walkPageRange(pt, A + 1, A + PAGE_SIZE, {}, null),
    expect: bad,
  },
  {
    fn: 'walkPageRange',
    input: 'start >= end',
    call: () => walkPageRange(pt, A, A, {}, null),
    expect: { errno: -EINVAL },
  },
  {
    fn: 'walkPageRange',
    input: 'ops = null',
    call: () => walkPageRange(pt, A, A + PAGE_SIZE, null as never, null),
    expect: bad,
  },
  {
    fn: 'walkPageRange',
    input: 'ops.pteEntry = 5',
    call: () => walkPageRange(pt, A, A + PAGE_SIZE, { pteEntry: 5 } as never, null),
    expect: bad,
  },
  {
    fn: 'walkPageRange',
    input: 'vmas without findVma',
    call: () => walkPageRange(pt, A, A + PAGE_SIZE, {}, null, {} as never),
    expect: bad,
  },
];

/** Every predicate and modifier of the entry word, each argument, every bad number. */
const pteWordRows: BadInputRow[] = Object.entries(pteModule)
  .filter(([name, f]) => typeof f === 'function' && name !== 'checkPteWord')
  .flatMap(([name, f]) => {
    const g = f as (...a: number[]) => unknown;
    const args = g.length === 2 ? ['bits', 'newProt'] : ['bits'];
    return args.flatMap((arg, i) =>
      rows(name, arg, (v) => g(...args.map((_, j) => (j === i ? v : 0)))),
    );
  });

const swapRows: BadInputRow[] = [
  ...rows('swpEntry', 'type', (v) => swpEntry(v, 1)),
  ...rows('swpEntry', 'offset', (v) => swpEntry(0, v)),
  { fn: 'swpEntry', input: 'type = 32', call: () => swpEntry(32, 1), expect: bad },
  { fn: 'swpEntry', input: 'offset = 2^32', call: () => swpEntry(0, 2 ** 32), expect: bad },
  ...(
    [
      ['swpType', swpType],
      ['swpOffset', swpOffset],
      ['swpEntryToPte', swpEntryToPte],
      ['swpEntryToPteBits', swpEntryToPteBits],
      ['swpEntryToPmd', swpEntryToPmd],
      ['nonSwapEntry', nonSwapEntry],
      ['isMigrationEntry', isMigrationEntry],
      ['isWriteMigrationEntry', isWriteMigrationEntry],
      ['makeMigrationEntryRead', makeMigrationEntryRead],
      ['migrationEntryToPfn', migrationEntryToPfn],
      ['isDevicePrivateEntry', isDevicePrivateEntry],
      ['isWriteDevicePrivateEntry', isWriteDevicePrivateEntry],
      ['makeDevicePrivateEntryRead', makeDevicePrivateEntryRead],
      ['devicePrivateEntryToPfn', devicePrivateEntryToPfn],
      ['isHwpoisonEntry', isHwpoisonEntry],
    ] as const
  ).flatMap(([fn, f]) => [
    ...rows(fn, 'entry', (v) => f(v)),
    { fn, input: 'entry = 2^37', call: () => f(2 ** 37), expect: bad },
  ]),
  ...(
    [
      ['isSwapPte', isSwapPte],
      ['pteSwpSoftDirty', pteSwpSoftDirty],
      ['pteSwpMksoftDirty', pteSwpMksoftDirty],
      ['pteSwpClearSoftDirty', pteSwpClearSoftDirty],
      ['isPmdMigrationEntry', isPmdMigrationEntry],
    ] as const
  ).flatMap(([fn, f]) => rows(fn, 'bits', (v) => f(v))),
  ...rows('pteToSwpEntry', 'bits', (v) => pteToSwpEntry(v, 1)),
  ...rows('pteToSwpEntry', 'val', (v) => pteToSwpEntry(0x10000, v)),
  ...rows('pmdToSwpEntry', 'bits', (v) => pmdToSwpEntry(v, 1)),
  ...rows('pmdToSwpEntry', 'val', (v) => pmdToSwpEntry(0x10000, v)),
  ...rows('makeMigrationEntry', 'pfn', (v) => makeMigrationEntry(v, true)),
  ...rows('makeDevicePrivateEntry', 'pfn', (v) => makeDevicePrivateEntry(v, true)),
  ...rows('makeHwpoisonEntry', 'pfn', (v) => makeHwpoisonEntry(v)),
  {
    fn: 'makeMigrationEntry',
    input: 'pfn = 2^32',
    call: () => makeMigrationEntry(2 ** 32, false),
    expect: bad,
  },
];

/** Run `f`, then undo `undo` whatever happened (for misuse rows that need a prepared state). */
function withState(prepare: () => void, f: () => unknown, undo: () => void): () => unknown {
  return () => {
    prepare();
    try {
      return f();
    } finally {
      undo();
    }
  };
}

const misuseRows: BadInputRow[] = [
  { fn: 'getPage', input: 'a free page', call: () => getPage(pm, free), expect: bug },
  { fn: 'putPage', input: 'a free page (double free)', call: () => putPage(pm, free), expect: bug },
  { fn: 'putPage', input: 'an idle device page (to 0)', call: () => putPage(pm, dev), expect: bug },
  {
    fn: 'putPage',
    input: 'the last reference of a mapped page',
    call: () => putPage(pm, mapped),
    expect: { error: KernelBugError, message: /Bad page state.*mapcount 1/ },
  },
  {
    fn: 'putPage',
    input: 'the last reference of a locked page',
    call: withState(
      () => lockPage(pm, thp),
      () => putPage(pm, thp),
      () => unlockPage(pm, thp),
    ),
    expect: { error: KernelBugError, message: /Bad page state/ },
  },
  { fn: 'lockPage', input: 'a free page', call: () => lockPage(pm, free), expect: bug },
  { fn: 'trylockPage', input: 'a free page', call: () => trylockPage(pm, free), expect: bug },
  { fn: 'unlockPage', input: 'an unlocked page', call: () => unlockPage(pm, mapped), expect: bug },
  {
    fn: 'lockPage',
    input: 'twice',
    call: withState(
      () => lockPage(pm, mapped),
      () => lockPage(pm, mapped),
      () => unlockPage(pm, mapped),
    ),
    expect: bug,
  },
  {
    fn: 'readPage',
    input: 'a free page',
    call: () => readPage(pm, free, 0, new Uint8Array(1)),
    expect: bug,
  },
  {
    fn: 'writePage',
    input: 'the zero page',
    call: () => writePage(pm, 0, 0, new Uint8Array(1)),
    expect: bug,
  },
  { fn: 'copyPage', input: 'into the zero page', call: () => copyPage(pm, 0, mapped), expect: bug },
  { fn: 'clearPage', input: 'a free page', call: () => clearPage(pm, free), expect: bug },
  {
    fn: 'splitHugePage',
    input: 'an unlocked THP',
    call: () => splitHugePage(pm, thp),
    expect: bug,
  },
  {
    fn: 'splitHugePage',
    input: 'an order-0 page',
    call: () => splitHugePage(pm, mapped),
    expect: bug,
  },
  {
    fn: 'allocPages',
    input: 'gfpOrder = 11 (>= MAX_ORDER)',
    call: () => allocPages(pm, 11 as 0),
    expect: bug,
  },
  {
    fn: 'pteFree',
    input: 'twice',
    call: () => {
      const t = pteAllocOne(pt);
      pteFree(pt, t);
      pteFree(pt, t);
    },
    expect: bug,
  },
  {
    fn: 'pteFree',
    input: 'a linked PTE table',
    call: () => pteFree(pt, pt.val[aPmd] as number),
    expect: bug,
  },
  { fn: 'pteFree', input: 'the PMD table', call: () => pteFree(pt, pmdTable), expect: bug },
  {
    fn: 'pmdPopulate',
    input: 'a populated PMD entry',
    call: () => {
      const t = pteAllocOne(pt);
      try {
        pmdPopulate(pt, aPmd, t);
      } finally {
        pteFree(pt, t);
      }
    },
    expect: bug,
  },
  {
    fn: 'pmdPopulate',
    input: 'a table already linked',
    call: () => pmdPopulate(pt, aPmd + 1, pt.val[aPmd] as number),
    expect: bug,
  },
  {
    fn: 'setPte',
    input: 'an empty entry with a val',
    call: () => setPte(pt, aSlot, 0, 5),
    expect: bug,
  },
  {
    fn: 'setPmd',
    input: 'over a PMD pointing at a table',
    call: () => setPmd(pt, aPmd, _PAGE_PSE | PAGE_SHARED, thp),
    expect: bug,
  },
  {
    fn: 'pmdClear',
    input: 'a PMD pointing at a table (would leak it)',
    call: () => pmdClear(pt, aPmd),
    expect: bug,
  },
  {
    fn: 'setPud',
    input: 'a table pointer made by hand',
    call: () => setPud(pt, pmdTable * 512 + 5, 0x67, 1),
    expect: bug,
  },
  {
    fn: 'setPte',
    input: 'a slot of a freed table',
    call: () => {
      const t = pteAllocOne(pt);
      pteFree(pt, t);
      setPte(pt, tableSlot(t, 0), PAGE_SHARED, mapped);
    },
    expect: bug,
  },
  {
    fn: 'pteAlloc',
    input: 'under a huge PMD',
    call: withState(
      () => setPmd(pt, aPmd + 1, _PAGE_PSE | PAGE_SHARED, thp),
      () => pteAlloc(pt, A + PMD_SIZE),
      () => pmdClear(pt, aPmd + 1),
    ),
    expect: bug,
  },
  {
    fn: 'pteToSwpEntry',
    input: 'a present entry',
    call: () => pteToSwpEntry(PAGE_SHARED, mapped),
    expect: bug,
  },
  {
    fn: 'migrationEntryToPfn',
    input: 'a swap entry',
    call: () => migrationEntryToPfn(swpEntry(0, 5)),
    expect: bug,
  },
  {
    fn: 'devicePrivateEntryToPfn',
    input: 'a migration entry',
    call: () => devicePrivateEntryToPfn(makeMigrationEntry(mapped, true)),
    expect: bug,
  },
  {
    fn: 'walkPageRange',
    input: 'a VMA whose huge PMD the pmdEntry op leaves unsplit',
    call: withState(
      () => setPmd(pt, aPmd + 1, _PAGE_PSE | PAGE_SHARED, thp),
      () => {
        const vma = { vmStart: A, vmEnd: A + 2 * PMD_SIZE, vmFlags: 0 };
        return walkPageRange(pt, A, A + 2 * PMD_SIZE, { pteEntry: () => 0 }, null, {
          findVma: (a) => (a < vma.vmEnd ? vma : undefined),
        });
      },
      () => pmdClear(pt, aPmd + 1),
    ),
    expect: bug,
  },
  {
    fn: 'walkPageRange',
    input: 'findVma() returning a VMA below the address',
    call: () =>
      walkPageRange(pt, A, A + PAGE_SIZE, { pteEntry: () => 0 }, null, {
        findVma: () => ({ vmStart: 0, vmEnd: PAGE_SIZE, vmFlags: 0 }),
      }),
    expect: bug,
  },
];

/** A digest of everything a row could have changed. */
function digest(): string {
  // Non-zero cells only, so a pool that grew (with empty tables) digests the same.
  const sum = (a: ArrayLike<number>) => {
    let h = 0;
    for (let i = 0; i < a.length; i++) {
      const v = a[i] as number;
      if (v !== 0) h = (Math.imul(Math.imul(h, 31) + i, 31) + v) | 0;
    }
    return h;
  };
  return [
    sum(pm.refcount),
    sum(pm.mapcount),
    sum(pm.flags),
    sum(pm.order),
    pm.memmapEnd,
    pm.freeArea.nrFree,
    [...pm.contents.keys()].join(','),
    sum(pt.bits),
    sum(pt.val),
    pt.nrTables,
  ].join('/');
}

const before = digest();

/** The checkers pass, nothing changed, and mapping, reading and walking a page still work. */
function afterEach(): void {
  assertMemmapInvariants(pm);
  assertPageTableInvariants(pt, pm);
  const now = digest();
  if (now !== before) throw new Error(`state changed: ${before} -> ${now}`);
  const p = allocPages(pm, 0);
  if (p < 0) throw new Error('allocPages failed');
  const s = pteAlloc(pt, A + PAGE_SIZE);
  setPte(pt, s, PAGE_SHARED, p);
  pm.mapcount[p] = 1;
  writePage(pm, p, 1, new Uint8Array([9]));
  const buf = new Uint8Array(2);
  readPage(pm, p, 0, buf);
  let seen = 0;
  walkPageRange(
    pt,
    A,
    A + 2 * PAGE_SIZE,
    {
      pteEntry: (sl, _a, _n, w) => {
        if ((w.pt.bits[sl] ?? 0) !== 0) seen++;
        return 0;
      },
    },
    null,
  );
  assertPageTableInvariants(pt, pm);
  pteClear(pt, s);
  pm.mapcount[p] = 0;
  putPage(pm, p);
  if (buf[1] !== 9 || seen !== 2)
    throw new Error(`normal operation broke: read ${buf[1]}, walked ${seen}`);
  if (digest() !== before) throw new Error('the normal operation did not restore the state');
}

describe('bad-input table of @hmmsim/pagetable', () => {
  it('answers every bad number and misuse with a typed error (or EINVAL) and changes nothing', async () => {
    const report = await runBadInputTable(
      'pagetable',
      [...memmapRows, ...pgtableRows, ...pteWordRows, ...swapRows, ...misuseRows],
      { afterEach },
    );
    console.log(formatBadInputReport(report));
    expect(report.failures).toEqual([]);
    expect(report.tried).toBeGreaterThan(800);
  });
});
