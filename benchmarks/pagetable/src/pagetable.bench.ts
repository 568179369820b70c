/**
 * @hmmsim/pagetable benchmark: populate 1 GiB of 4 KiB pages into a page table, walk it, fault it
 * in from an empty mm (handleMmFault per page, @hmmsim/mm), and compare each with a raw typed-array fill of the same number of entries (a JS loop writing the
 * two words of each entry, `bits` and `val`, into two Uint32Arrays); ratios are raw time / task
 * time. Then measure JS heap + ArrayBuffer bytes per populated page (page contents are never
 * written, so none are allocated).
 *
 * Run: pnpm --filter @hmmsim-bench/pagetable bench   (or, from this folder, `pnpm bench`)
 */

import { PAGE_SIZE, PTRS_PER_PTE, pteIndex } from '@hmmsim/kernel';
import {
  createMachine,
  createMm,
  FAULT_FLAG_WRITE,
  findVma,
  handleMmFault,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  type MmStruct,
  mmap,
  mmput,
  PROT_READ,
  PROT_WRITE,
} from '@hmmsim/mm';
import {
  _PAGE_ACCESSED,
  _PAGE_DIRTY,
  _PAGE_PRESENT,
  _PAGE_RW,
  _PAGE_USER,
  allocPages,
  createPageTables,
  createPhysMem,
  entryIsTable,
  type MmWalk,
  type MmWalkOps,
  type PageTables,
  type PhysMem,
  pteAlloc,
  setPte,
  walkPageRange,
} from '@hmmsim/pagetable';
import { jsBytes, type Row, runSuite } from '@hmmsim-bench/common';

const NR_PAGES = 262_144; // 1 GiB of 4 KiB pages
const BASE = 2 ** 40; // a user address well inside the 48-bit space
const END = BASE + NR_PAGES * PAGE_SIZE;
// RAM: the 1 GiB to populate plus one 2 MiB block (pfn 0 is the zero page).
const RAM_BYTES = NR_PAGES * PAGE_SIZE + 2 * 2 ** 20;
const BITS = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY;

function populate(pm: PhysMem, pt: PageTables): void {
  for (let addr = BASE; addr < END; addr += PAGE_SIZE) {
    const slot = pteAlloc(pt, addr);
    const pfn = allocPages(pm, 0);
    if (slot < 0 || pfn < 0) throw new Error('populate: out of memory');
    setPte(pt, slot, BITS, pfn);
  }
}

// Imported bindings are not constant-folded in hot callbacks under tsx: alias them locally.
const PRESENT: number = _PAGE_PRESENT;
const PTRS: number = PTRS_PER_PTE;
const PAGE: number = PAGE_SIZE;

interface Counter {
  present: number;
}

const countOps: MmWalkOps<Counter> = {
  pteEntry(slot: number, _addr: number, _next: number, walk: MmWalk<Counter>): number {
    if (((walk.pt.bits[slot] as number) & PRESENT) !== 0) walk.private.present++;
    return 0;
  },
};

// The shape mm/hmm.c uses: one pmdEntry call per PTE table, which scans the table itself.
const countPerTableOps: MmWalkOps<Counter> = {
  pmdEntry(slot: number, addr: number, next: number, walk: MmWalk<Counter>): number {
    const pt = walk.pt;
    walk.action = 'continue';
    if (!entryIsTable(pt.bits[slot] as number)) return 0;
    const first = (pt.val[slot] as number) * PTRS + pteIndex(addr);
    const last = first + (next - addr) / PAGE;
    const bits = pt.bits;
    let present = 0;
    for (let i = first; i < last; i++) if (((bits[i] as number) & PRESENT) !== 0) present++;
    walk.private.present += present;
    return 0;
  },
};

const emptyOps: MmWalkOps<null> = {
  pteEntry(): number {
    return 0;
  },
};

function walkCount(pt: PageTables, ops: MmWalkOps<Counter> = countOps): number {
  const c: Counter = { present: 0 };
  const err = walkPageRange(pt, BASE, END, ops, c);
  if (err !== 0) throw new Error(`walk returned ${err}`);
  return c.present;
}

const rawBits = new Uint32Array(NR_PAGES);
const rawVal = new Uint32Array(NR_PAGES);
function rawFill(): void {
  for (let i = 0; i < NR_PAGES; i++) {
    rawBits[i] = BITS;
    rawVal[i] = i + 1;
  }
}

// ---- fault-in from empty: one write fault per 4 KiB page of a fresh 1 GiB anonymous mapping ----
const faultMachine = createMachine({
  ramBytes: RAM_BYTES + 8 * 2 ** 20,
  thp: 'never',
  swapPages: 0,
});
let faultMm: MmStruct | undefined;
let faultBase = 0;

/** A fresh mm with 1 GiB mapped and nothing faulted in (the previous one exits first). */
async function freshFaultMm(): Promise<void> {
  if (faultMm !== undefined) await mmput(faultMm);
  faultMm = createMm(faultMachine);
  faultBase = await mmap(
    faultMm,
    0,
    NR_PAGES * PAGE_SIZE,
    PROT_READ | PROT_WRITE,
    MAP_PRIVATE | MAP_ANONYMOUS,
  );
  if (faultBase < 0) throw new Error(`mmap failed: ${faultBase}`);
}

/** handleMmFault(write) on every page, as the arch fault handler would call it. */
async function faultIn(): Promise<void> {
  const mm = faultMm as MmStruct;
  const vma = findVma(mm, faultBase);
  if (vma === undefined) throw new Error('no vma');
  for (let i = 0; i < NR_PAGES; i++) {
    const ret = await handleMmFault(vma, faultBase + i * PAGE_SIZE, FAULT_FLAG_WRITE);
    if (ret !== 0) throw new Error(`fault returned ${ret}`);
  }
  if (mm.rssPages !== NR_PAGES) throw new Error(`rss ${mm.rssPages}, expected ${NR_PAGES}`);
}

// ---- memory per populated page ----

/** Bytes per page: memmap at creation, page tables grown geometrically (x1.25), and presized tables. */
function measureMemory(): { memmap: number; tables: number; total: number; presized: number } {
  const m0 = jsBytes();
  const pm = createPhysMem({ ramBytes: RAM_BYTES });
  const m1 = jsBytes();
  const pt = createPageTables();
  populate(pm, pt);
  const m2 = jsBytes();
  if (walkCount(pt) !== NR_PAGES) throw new Error('populate/walk mismatch');
  // 1 PGD + 1 PUD + 1 PMD + 512 PTE tables, without the growth slack.
  const pm2 = createPhysMem({ ramBytes: RAM_BYTES });
  const m3 = jsBytes();
  const pt2 = createPageTables({ initialTables: 515 });
  populate(pm2, pt2);
  const m4 = jsBytes();
  return {
    memmap: (m1 - m0) / (RAM_BYTES / PAGE_SIZE),
    tables: (m2 - m1) / NR_PAGES,
    total: (m2 - m0) / NR_PAGES,
    presized: (m1 - m0 + m4 - m3) / NR_PAGES,
  };
}

// ---- timing ----
let sink: unknown;
function createSmallMachine(): void {
  sink = [createPhysMem({ ramBytes: 16 * 2 ** 20 }), createPageTables()];
}

const RAW = 'raw fill (262144 entries, bits+val)';
const POPULATE = 'populate 1 GiB (pteAlloc + allocPages + setPte)';
const WALK = 'walk 1 GiB, count present (walker monomorphic)';
const WALK_EMPTY = 'walk 1 GiB, empty pteEntry (2nd ops type)';
const WALK_TABLE = 'walk 1 GiB, count present per PTE table in pmdEntry (mm/hmm.c shape)';
const WALK_POLY = 'walk 1 GiB, count present (walker polymorphic)';
const FAULT = 'fault in 1 GiB from empty (handleMmFault, write, 4 KiB)';
const CREATE = 'create a 16 MiB PhysMem + PageTables (not per entry)';

async function main(): Promise<void> {
  const mem = measureMemory();
  const walkPm = createPhysMem({ ramBytes: RAM_BYTES });
  const walkPt = createPageTables();
  populate(walkPm, walkPt);
  const walkChecked = () => {
    if (walkCount(walkPt) !== NR_PAGES) throw new Error('walk miscounted');
  };
  let pm = createPhysMem({ ramBytes: RAM_BYTES });
  let pt = createPageTables();
  // Phase 1: only one ops object has gone through walkPageRange, so V8 inlines pteEntry.
  const rows = await runSuite('@hmmsim/pagetable', [
    [RAW, rawFill],
    [
      POPULATE,
      () => populate(pm, pt),
      () => {
        pm = createPhysMem({ ramBytes: RAM_BYTES });
        pt = createPageTables();
      },
    ],
    [WALK, walkChecked],
    [FAULT, faultIn, freshFaultMm],
  ]);
  // Phase 2: a second ops type makes the walker's call site polymorphic (the usual case in a
  // simulation where hmm, migrate and mm all walk): calls are no longer inlined.
  rows.push(
    ...(await runSuite('@hmmsim/pagetable (polymorphic)', [
      [WALK_EMPTY, () => void walkPageRange(walkPt, BASE, END, emptyOps, null)],
      [WALK_POLY, walkChecked],
      [
        WALK_TABLE,
        () => {
          if (walkCount(walkPt, countPerTableOps) !== NR_PAGES) throw new Error('walk miscounted');
        },
      ],
      [CREATE, createSmallMachine],
    ])),
  );
  report(rows, mem);
  if (sink === undefined) throw new Error('unreachable');
}

function report(rows: Row[], mem: ReturnType<typeof measureMemory>): void {
  const ms = (task: string) => rows.find((r) => r.task === task)?.ms ?? Number.NaN;
  const raw = ms(RAW);
  console.table(
    rows.map((r) => {
      const perEntry = r.task !== CREATE;
      return {
        task: r.task,
        'ms/op': r.ms.toFixed(3),
        'ns/entry': perEntry ? ((r.ms * 1e6) / NR_PAGES).toFixed(2) : '',
        'x raw fill': perEntry ? (raw / r.ms).toPrecision(2) : '',
      };
    }),
  );
  const ratio = (task: string) => (raw / ms(task)).toPrecision(2);
  console.log(`walk: ${ratio(WALK)}x raw fill (target >= 0.25x)`);
  console.log(`walk, polymorphic walker: ${ratio(WALK_POLY)}x raw fill`);
  console.log(`walk, per-table scan in pmdEntry: ${ratio(WALK_TABLE)}x raw fill`);
  console.log(`populate: ${ratio(POPULATE)}x raw fill`);
  console.log(
    `fault in from empty: ${ratio(FAULT)}x raw fill (${((ms(FAULT) * 1e6) / NR_PAGES).toFixed(0)} ns per fault)`,
  );
  console.log(`16 MiB machine creation: ${(ms(CREATE) * 1000).toFixed(1)} us`);
  console.log(
    `JS heap + ArrayBuffers per populated page: ${mem.total.toFixed(1)} B total ` +
      `(memmap + allocator ${mem.memmap.toFixed(1)} B per RAM page at creation, ` +
      `page tables ${mem.tables.toFixed(1)} B per populated page; target <= 48 B)`,
  );
  console.log(
    `  with the table pool presized (no growth slack): ${mem.presized.toFixed(1)} B per populated page`,
  );
}

await main();
