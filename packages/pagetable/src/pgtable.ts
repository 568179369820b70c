/**
 * 4-level x86-64 page tables of one mm, all tables in one pool of typed arrays.
 *
 * A table is 512 consecutive entries of the pool; table 0 is the PGD. An entry is addressed by
 * its **slot** = table * 512 + index, a plain integer (< 2^31: the pool holds at most 2^22
 * tables). `bits[slot]`/`val[slot]` hold the entry (encoding in pte.ts). Per table the pool keeps
 * the number of non-empty entries (`used`), its level, the slot that points at it (`parent`) and
 * a free-list link. The pool grows geometrically by 1.25x (bounded slack: a fully populated
 * address space wastes at most a fifth of its tables' memory), which reallocates the arrays: slots stay valid
 * but `pt.bits`/`pt.val` must be re-read after any allocation.
 *
 * Access reports (for the explorer's partial-order reduction), all on the PageTables object:
 * - entry `bits[slot]`/`val[slot]`: element `slot` (< 2^31);
 * - `level`/`parent`/`nextFree` of table t: element PT_TABLE_INDEX + t;
 * - `used[t]`: element PT_USED_INDEX + t;
 * - pool state (`freeHead`, `top`, `nrTables`, `capacity`, reallocation of the arrays):
 *   element PT_POOL_INDEX.
 * Every accessor of this package reports; code elsewhere that reads `pt.bits[slot]` or
 * `pt.val[slot]` directly must call noteRead(pt, slot) (noteWrite for a store) itself.
 */
import {
  accessReporting,
  checkIntIn,
  failIntIn,
  KernelBugError,
  noteRead,
  noteWrite,
  PAGE_SIZE,
  PTRS_PER_PTE,
  pgdIndex,
  pmdIndex,
  pteIndex,
  pudIndex,
  reportingAccesses,
  VADDR_LIMIT,
} from '@hmmsim/kernel';
import { _PAGE_TABLE, entryIsTable } from './pte.ts';

/** Level of a free pool table. */
export const TABLE_FREE = 0;
/** Level of a PTE table (its entries map 4 KiB). */
export const PTE_LEVEL = 1;
/** Level of a PMD table (entries map 2 MiB). */
export const PMD_LEVEL = 2;
/** Level of a PUD table (entries map 1 GiB). */
export const PUD_LEVEL = 3;
/** Level of the PGD (entries map 512 GiB). */
export const PGD_LEVEL = 4;

/** Most tables a pool may hold (keeps slots below 2^31). */
export const MAX_TABLES_LIMIT = 2 ** 22;

/**
 * Access-report element of table t's identity (`level`, `parent`, free-list link) on a
 * PageTables: PT_TABLE_INDEX + t, above every slot. Mirrors: model-only.
 */
export const PT_TABLE_INDEX = 2 ** 31;
/** Access-report element of table t's `used` count: PT_USED_INDEX + t. Mirrors: model-only. */
export const PT_USED_INDEX = PT_TABLE_INDEX + MAX_TABLES_LIMIT;
/**
 * Access-report element of the pool state (`freeHead`, `top`, `nrTables`, `capacity`, the
 * arrays themselves). Mirrors: model-only.
 */
export const PT_POOL_INDEX = 2 ** 32 - 1;

/** Options of createPageTables(). */
export interface PageTablesOptions {
  /** Pool limit in tables; allocation beyond it fails like -ENOMEM (default 2^22). */
  readonly maxTables?: number;
  /** Initial pool capacity in tables (default 4). */
  readonly initialTables?: number;
}

/** The page tables of one mm: a pool of 512-entry tables in typed arrays. Mirrors mm_struct->pgd and the tables below it. */
export class PageTables {
  /** pfn, next-table index or swap offset of each entry. */
  val: Uint32Array;
  /** Flag bits of each entry (pte.ts). */
  bits: Uint32Array;
  /** Non-empty entries per table. */
  used: Uint16Array;
  /** Level per table (PTE_LEVEL..PGD_LEVEL, TABLE_FREE when free). */
  level: Uint8Array;
  /** Slot pointing at each table; -1 for the PGD and for detached tables. */
  parent: Int32Array;
  /** Free-list link per table. */
  nextFree: Int32Array;
  /** Tables the arrays can hold. */
  capacity: number;
  /** Tables [0, top) have been handed out at least once. */
  top = 1;
  /** Head of the free-table list, -1 if empty. */
  freeHead = -1;
  /** Tables in use, the PGD included. */
  nrTables = 1;
  readonly maxTables: number;

  constructor(capacity: number, maxTables: number) {
    this.capacity = capacity;
    this.maxTables = maxTables;
    this.val = new Uint32Array(capacity * PTRS_PER_PTE);
    this.bits = new Uint32Array(capacity * PTRS_PER_PTE);
    this.used = new Uint16Array(capacity);
    this.level = new Uint8Array(capacity);
    this.parent = new Int32Array(capacity);
    this.nextFree = new Int32Array(capacity);
    this.level[0] = PGD_LEVEL;
    this.parent[0] = -1;
  }
}

/** Create empty page tables (a PGD only). Mirrors kernel/fork.c:mm_alloc_pgd(). */
export function createPageTables(opts: PageTablesOptions = {}): PageTables {
  const maxTables = opts.maxTables ?? MAX_TABLES_LIMIT;
  checkIntIn(
    'createPageTables',
    'maxTables',
    maxTables,
    1,
    MAX_TABLES_LIMIT,
    'a table count in [1, 2^22]',
  );
  const initial = opts.initialTables ?? 4;
  checkIntIn(
    'createPageTables',
    'initialTables',
    initial,
    1,
    MAX_TABLES_LIMIT,
    'a table count in [1, 2^22]',
  );
  return new PageTables(Math.min(initial, maxTables), maxTables);
}

function growArray<T extends Uint32Array | Uint16Array | Uint8Array | Int32Array>(
  old: T,
  fresh: T,
): T {
  fresh.set(old);
  return fresh;
}

/** Next pool capacity: 1.25x, at least 8 tables more (amortised O(1) per table, small slack). */
function grownCapacity(capacity: number, maxTables: number): number {
  return Math.min(Math.max(capacity + 8, Math.ceil(capacity * 1.25)), maxTables);
}

function growPool(pt: PageTables): boolean {
  if (pt.capacity >= pt.maxTables) return false;
  const cap = grownCapacity(pt.capacity, pt.maxTables);
  pt.val = growArray(pt.val, new Uint32Array(cap * PTRS_PER_PTE));
  pt.bits = growArray(pt.bits, new Uint32Array(cap * PTRS_PER_PTE));
  pt.used = growArray(pt.used, new Uint16Array(cap));
  pt.level = growArray(pt.level, new Uint8Array(cap));
  pt.parent = growArray(pt.parent, new Int32Array(cap));
  pt.nextFree = growArray(pt.nextFree, new Int32Array(cap));
  pt.capacity = cap;
  return true;
}

/** Take a table of `level` from the pool (entries all empty); -1 when the pool limit is hit. */
function allocTable(pt: PageTables, level: number): number {
  if (accessReporting) noteWrite(pt, PT_POOL_INDEX);
  let t = pt.freeHead;
  if (t !== -1) {
    pt.freeHead = pt.nextFree[t] as number;
  } else {
    if (pt.top === pt.capacity && !growPool(pt)) return -1;
    t = pt.top++;
  }
  if (accessReporting) noteWrite(pt, PT_TABLE_INDEX + t);
  if (accessReporting) noteWrite(pt, PT_USED_INDEX + t);
  pt.level[t] = level;
  pt.parent[t] = -1;
  pt.used[t] = 0;
  pt.nrTables++;
  return t;
}

/** Return an empty, unlinked table to the pool. */
export function freeTable(pt: PageTables, t: number): void {
  if (accessReporting) noteWrite(pt, PT_TABLE_INDEX + t);
  if (accessReporting) noteRead(pt, PT_USED_INDEX + t);
  if (accessReporting) noteWrite(pt, PT_POOL_INDEX);
  if (pt.used[t] !== 0 || pt.parent[t] !== -1 || t === 0) {
    throw new KernelBugError(
      `freeTable: table ${t} has ${pt.used[t]} entries / parent ${pt.parent[t]}; expected empty, unlinked, not the PGD`,
    );
  }
  pt.level[t] = TABLE_FREE;
  pt.nextFree[t] = pt.freeHead;
  pt.freeHead = t;
  pt.nrTables--;
}

function linkTable(pt: PageTables, slot: number, t: number): void {
  if (accessReporting) noteWrite(pt, slot);
  if (accessReporting) noteWrite(pt, PT_USED_INDEX + (slot >>> 9));
  if (accessReporting) noteWrite(pt, PT_TABLE_INDEX + t);
  pt.bits[slot] = _PAGE_TABLE;
  pt.val[slot] = t;
  pt.used[slot >>> 9] = (pt.used[slot >>> 9] as number) + 1;
  pt.parent[t] = slot;
}

/** Clear the table pointer at `slot` and free the (empty) table it points at. */
export function unlinkAndFreeTable(pt: PageTables, slot: number): void {
  if (accessReporting) noteWrite(pt, slot);
  if (accessReporting) noteWrite(pt, PT_USED_INDEX + (slot >>> 9));
  const t = pt.val[slot] as number;
  if (accessReporting) noteWrite(pt, PT_TABLE_INDEX + t);
  pt.bits[slot] = 0;
  pt.val[slot] = 0;
  pt.used[slot >>> 9] = (pt.used[slot >>> 9] as number) - 1;
  pt.parent[t] = -1;
  freeTable(pt, t);
}

const ADDR_WHAT = 'a 48-bit virtual address (an integer in [0, 2^48))';

/** InvalidArgumentError naming `fn` unless `addr` is an integer in [0, 2^48). */
function checkAddr(fn: string, addr: number): void {
  if (!(Number.isSafeInteger(addr) && addr >= 0 && addr < VADDR_LIMIT)) {
    checkIntIn(fn, 'addr', addr, 0, VADDR_LIMIT - 1, ADDR_WHAT);
  }
}

/**
 * Report that the caller depends on table `t` of the pool (< capacity) being what it is: its
 * identity, and for a table never handed out, the pool's capacity.
 */
function noteTableRead(pt: PageTables, t: number): void {
  // Tested first: on every walk step, no run that takes no reports pays for the `top` check.
  if (!reportingAccesses()) return;
  if (accessReporting) noteRead(pt, PT_TABLE_INDEX + t);
  if (t >= pt.top) noteRead(pt, PT_POOL_INDEX);
}

/** InvalidArgumentError naming `fn` unless `slot` is an integer inside the pool arrays. */
function checkSlot(fn: string, pt: PageTables, slot: number): void {
  if (!(slot >>> 0 === slot && slot < pt.capacity * PTRS_PER_PTE)) {
    if (accessReporting) noteRead(pt, PT_POOL_INDEX);
    checkIntIn(fn, 'slot', slot, 0, pt.capacity * PTRS_PER_PTE - 1, 'a slot of this table pool');
  }
  noteTableRead(pt, slot >>> 9);
}

/** InvalidArgumentError naming `fn` unless `table` is an integer inside the pool. */
function checkTable(fn: string, pt: PageTables, table: number): void {
  if (!(table >>> 0 === table && table < pt.capacity)) {
    if (accessReporting) noteRead(pt, PT_POOL_INDEX);
    checkIntIn(fn, 'table', table, 0, pt.capacity - 1, 'a table of this pool');
  }
  noteTableRead(pt, table);
}

/** True if `slot` is an integer inside the pool arrays (so `slot >>> 9` is its table). */
function slotInPool(pt: PageTables, slot: number): boolean {
  if (slot >>> 0 === slot && slot < pt.capacity * PTRS_PER_PTE) {
    noteTableRead(pt, slot >>> 9);
    return true;
  }
  if (accessReporting) noteRead(pt, PT_POOL_INDEX);
  return false;
}

/** Slot of entry `index` (0..511) of pool table `table`. Model helper (the kernel's pte_t pointer arithmetic). */
export function tableSlot(table: number, index: number): number {
  if (
    !(
      table >>> 0 === table &&
      table < MAX_TABLES_LIMIT &&
      index >>> 0 === index &&
      index < PTRS_PER_PTE
    )
  ) {
    badTableSlot(table, index);
  }
  return table * PTRS_PER_PTE + index;
}

/** Throw the InvalidArgumentError of tableSlot (out of line: tableSlot stays inlinable). */
function badTableSlot(table: number, index: number): never {
  checkIntIn('tableSlot', 'table', table, 0, MAX_TABLES_LIMIT - 1, 'a table index of a pool');
  return failIntIn('tableSlot', 'index', index, 0, PTRS_PER_PTE - 1, 'an entry index in [0, 511]');
}

/** Slot of the PGD entry covering `addr` (always exists). Mirrors include/linux/pgtable.h:pgd_offset(). */
export function pgdOffset(_pt: PageTables, addr: number): number {
  checkAddr('pgdOffset', addr);
  return pgdIndex(addr);
}

function below(pt: PageTables, slot: number, index: number): number {
  if (slot < 0) return -1;
  if (accessReporting) noteRead(pt, slot);
  if (!entryIsTable(pt.bits[slot] as number)) return -1;
  return (pt.val[slot] as number) * PTRS_PER_PTE + index;
}

/** pud_offset() of a checked address. */
function pudSlot(pt: PageTables, addr: number): number {
  return below(pt, pgdIndex(addr), pudIndex(addr));
}

/** pmd_offset() of a checked address. */
function pmdSlot(pt: PageTables, addr: number): number {
  return below(pt, pudSlot(pt, addr), pmdIndex(addr));
}

/** Slot of the PUD entry covering `addr`, or -1 if the PGD entry is empty. Mirrors include/linux/pgtable.h:pud_offset(). */
export function pudOffset(pt: PageTables, addr: number): number {
  checkAddr('pudOffset', addr);
  return pudSlot(pt, addr);
}

/** Slot of the PMD entry covering `addr`, or -1 if a level above is empty or a huge leaf. Mirrors include/linux/pgtable.h:pmd_offset(). */
export function pmdOffset(pt: PageTables, addr: number): number {
  checkAddr('pmdOffset', addr);
  return pmdSlot(pt, addr);
}

/** Slot of the PTE covering `addr`, or -1 if a level above is empty, a huge leaf or a swap entry. Mirrors include/linux/pgtable.h:pte_offset_map(). */
export function pteOffset(pt: PageTables, addr: number): number {
  checkAddr('pteOffset', addr);
  return below(pt, pmdSlot(pt, addr), pteIndex(addr));
}

/** Table under the entry at `slot`, allocating it when the entry is empty; -1 on pool limit. */
function ensureTable(pt: PageTables, slot: number, level: number, fn: string): number {
  if (accessReporting) noteRead(pt, slot);
  const b = pt.bits[slot] as number;
  if (b === 0) {
    const t = allocTable(pt, level);
    if (t >= 0) linkTable(pt, slot, t);
    return t;
  }
  if (!entryIsTable(b)) {
    throw new KernelBugError(
      `${fn}: entry at slot ${slot} (bits 0x${b.toString(16)}) is a huge leaf or swap entry, not a table; split or clear it first`,
    );
  }
  return pt.val[slot] as number;
}

/** Slot of the PUD entry for `addr`, allocating the PUD table; -1 (ENOMEM) at the pool limit. Mirrors include/linux/mm.h:pud_alloc(). */
export function pudAlloc(pt: PageTables, addr: number): number {
  checkAddr('pudAlloc', addr);
  return pudAllocChecked(pt, addr, 'pudAlloc');
}

function pudAllocChecked(pt: PageTables, addr: number, fn: string): number {
  const t = ensureTable(pt, pgdIndex(addr), PUD_LEVEL, fn);
  return t < 0 ? -1 : t * PTRS_PER_PTE + pudIndex(addr);
}

function pmdAllocChecked(pt: PageTables, addr: number, fn: string): number {
  const s = pudAllocChecked(pt, addr, fn);
  if (s < 0) return -1;
  const t = ensureTable(pt, s, PMD_LEVEL, fn);
  return t < 0 ? -1 : t * PTRS_PER_PTE + pmdIndex(addr);
}

/** Slot of the PMD entry for `addr`, allocating tables; -1 (ENOMEM) at the pool limit. Mirrors include/linux/mm.h:pmd_alloc(). */
export function pmdAlloc(pt: PageTables, addr: number): number {
  checkAddr('pmdAlloc', addr);
  return pmdAllocChecked(pt, addr, 'pmdAlloc');
}

/**
 * Slot of the PTE for `addr`, allocating tables; -1 (ENOMEM) at the pool limit; KernelBugError if
 * the PMD is a huge leaf or a migration entry. Mirrors include/linux/mm.h:pte_alloc_map().
 */
export function pteAlloc(pt: PageTables, addr: number): number {
  checkAddr('pteAlloc', addr);
  const s = pmdAllocChecked(pt, addr, 'pteAlloc');
  if (s < 0) return -1;
  const t = ensureTable(pt, s, PTE_LEVEL, 'pteAlloc');
  return t < 0 ? -1 : t * PTRS_PER_PTE + pteIndex(addr);
}

/** Allocate a detached, empty PTE table (for a PMD split); its index, or -1 at the pool limit. Mirrors include/asm-generic/pgalloc.h:pte_alloc_one(). */
export function pteAllocOne(pt: PageTables): number {
  return allocTable(pt, PTE_LEVEL);
}

/** Free a detached, empty PTE table from pteAllocOne(). Mirrors include/asm-generic/pgalloc.h:pte_free(). */
export function pteFree(pt: PageTables, table: number): void {
  checkTable('pteFree', pt, table);
  if (pt.level[table] !== PTE_LEVEL) {
    throw new KernelBugError(
      `pteFree: table ${table} is not an allocated PTE table (freed twice?); expected one from pteAllocOne()`,
    );
  }
  if (accessReporting) noteRead(pt, PT_USED_INDEX + table);
  if (pt.parent[table] !== -1 || pt.used[table] !== 0) {
    throw new KernelBugError(
      `pteFree: table ${table} is linked at slot ${pt.parent[table]} with ${pt.used[table]} entries; expected a detached, empty table`,
    );
  }
  freeTable(pt, table);
}

/** Point the empty PMD entry at `pmdSlot` to the detached PTE table `table`. Mirrors arch/x86/include/asm/pgalloc.h:pmd_populate(). */
export function pmdPopulate(pt: PageTables, pmdSlot: number, table: number): void {
  checkSlot('pmdPopulate', pt, pmdSlot);
  checkTable('pmdPopulate', pt, table);
  if (accessReporting) noteRead(pt, pmdSlot);
  if (pt.level[pmdSlot >>> 9] !== PMD_LEVEL || pt.bits[pmdSlot] !== 0) {
    throw new KernelBugError(
      `pmdPopulate: slot ${pmdSlot} is not an empty PMD entry; expected one`,
    );
  }
  if (pt.level[table] !== PTE_LEVEL || pt.parent[table] !== -1) {
    throw new KernelBugError(
      `pmdPopulate: table ${table} is not a detached PTE table; expected one from pteAllocOne()`,
    );
  }
  linkTable(pt, pmdSlot, table);
}

/** Bytes of page tables in use (PGD included). Mirrors include/linux/mm.h:mm_pgtables_bytes(). */
export function pgtablesBytes(pt: PageTables): number {
  if (accessReporting) noteRead(pt, PT_POOL_INDEX);
  return pt.nrTables * PAGE_SIZE;
}

// ---- entry access by slot ----
// Pass slots obtained from the *Offset/*Alloc functions or tableSlot(); a slot outside the pool
// is an InvalidArgumentError. (Hot paths read `pt.bits`/`pt.val` directly and then report
// noteRead(pt, slot) themselves.)

/** The `val` word (pfn / table / swap offset) of the entry at `slot`. Mirrors arch/x86/include/asm/pgtable.h:pte_pfn() on *ptep. */
export function pteVal(pt: PageTables, slot: number): number {
  checkSlot('pteVal', pt, slot);
  if (accessReporting) noteRead(pt, slot);
  return pt.val[slot] as number;
}

/** The flag word of the entry at `slot`. Mirrors arch/x86/include/asm/pgtable_types.h:pte_flags() on *ptep. */
export function pteBits(pt: PageTables, slot: number): number {
  checkSlot('pteBits', pt, slot);
  if (accessReporting) noteRead(pt, slot);
  return pt.bits[slot] as number;
}

function badEntry(fn: string, slot: number, bits: number, val: number, why: string): never {
  throw new KernelBugError(`${fn}: slot ${slot} bits ${bits} val ${val}: ${why}`);
}

function setUpper(fn: string, pt: PageTables, slot: number, bits: number, val: number): void {
  if (!slotInPool(pt, slot) || pt.level[slot >>> 9] === TABLE_FREE) {
    badEntry(fn, slot, bits, val, 'slot is not in an allocated page table');
  }
  const lvl = pt.level[slot >>> 9];
  if (accessReporting) noteRead(pt, slot);
  const old = pt.bits[slot] as number;
  if (entryIsTable(old) && (old !== bits || pt.val[slot] !== val)) {
    badEntry(fn, slot, bits, val, 'entry points at a page table (it would leak); use freePgdRange');
  }
  if (entryIsTable(bits) && old !== bits) {
    badEntry(fn, slot, bits, val, 'table pointers are installed only by *Alloc()/pmdPopulate()');
  }
  if (lvl === PGD_LEVEL && bits !== 0 && old === 0) {
    badEntry(fn, slot, bits, val, 'PGD entries only point at PUD tables');
  }
  storeEntry(pt, slot, bits, val);
}

/** setPte() and its PMD/PUD/clear forms, with `fn` named in the errors. */
/** Throw the error of writeEntry for entry words it cannot store (out of line). */
function badEntryWords(fn: string, pt: PageTables, slot: number, bits: number, val: number): never {
  checkSlot(fn, pt, slot);
  const word = 'a 32-bit entry word (an integer in [0, 2^32))';
  checkIntIn(fn, 'bits', bits, 0, 2 ** 32 - 1, word);
  checkIntIn(fn, 'val', val, 0, 2 ** 32 - 1, word);
  return badEntry(fn, slot, bits, val, 'an empty entry must be (0, 0)');
}

function writeEntry(fn: string, pt: PageTables, slot: number, bits: number, val: number): void {
  if (bits >>> 0 !== bits || val >>> 0 !== val || (bits === 0 && val !== 0)) {
    badEntryWords(fn, pt, slot, bits, val);
  }
  if (slot >>> 0 !== slot || pt.level[slot >>> 9] !== PTE_LEVEL) {
    checkSlot(fn, pt, slot);
    setUpper(fn, pt, slot, bits, val);
    return;
  }
  if (accessReporting) noteRead(pt, PT_TABLE_INDEX + (slot >>> 9));
  storeEntry(pt, slot, bits, val);
}

function storeEntry(pt: PageTables, slot: number, bits: number, val: number): void {
  const t = slot >>> 9;
  if (accessReporting) noteWrite(pt, slot);
  const old = pt.bits[slot] as number;
  if (old === 0) {
    if (bits !== 0) {
      if (accessReporting) noteWrite(pt, PT_USED_INDEX + t);
      pt.used[t] = (pt.used[t] as number) + 1;
    }
  } else if (bits === 0) {
    if (accessReporting) noteWrite(pt, PT_USED_INDEX + t);
    pt.used[t] = (pt.used[t] as number) - 1;
  }
  pt.bits[slot] = bits;
  pt.val[slot] = val;
}

/**
 * Write the entry at `slot` (any level) and keep the table's used count. `bits`/`val` must be
 * 32-bit unsigned, (0, 0) is the only empty entry; upper-level entries that point at tables can be
 * neither overwritten nor created here. Mirrors arch/x86/include/asm/pgtable.h:set_pte_at().
 */
export function setPte(pt: PageTables, slot: number, bits: number, val: number): void {
  writeEntry('setPte', pt, slot, bits, val);
}

/** Empty the entry at `slot`. Mirrors include/asm-generic/pgtable.h:pte_clear(). */
export function pteClear(pt: PageTables, slot: number): void {
  writeEntry('pteClear', pt, slot, 0, 0);
}

/** The `val` word of the PMD entry at `slot`. Mirrors arch/x86/include/asm/pgtable.h:pmd_pfn(). */
export function pmdVal(pt: PageTables, slot: number): number {
  checkSlot('pmdVal', pt, slot);
  if (accessReporting) noteRead(pt, slot);
  return pt.val[slot] as number;
}

/** The flag word of the PMD entry at `slot`. Mirrors arch/x86/include/asm/pgtable_types.h:pmd_flags(). */
export function pmdBits(pt: PageTables, slot: number): number {
  checkSlot('pmdBits', pt, slot);
  if (accessReporting) noteRead(pt, slot);
  return pt.bits[slot] as number;
}

/** Write a PMD leaf / swap-format entry (same rules as setPte). Mirrors arch/x86/include/asm/pgtable.h:set_pmd_at(). */
export function setPmd(pt: PageTables, slot: number, bits: number, val: number): void {
  writeEntry('setPmd', pt, slot, bits, val);
}

/** Empty a PMD leaf entry (not a table pointer: use freePgdRange). Mirrors include/asm-generic/pgtable.h:pmd_clear(). */
export function pmdClear(pt: PageTables, slot: number): void {
  writeEntry('pmdClear', pt, slot, 0, 0);
}

/** The `val` word of the PUD entry at `slot`. Mirrors arch/x86/include/asm/pgtable.h:pud_pfn(). */
export function pudVal(pt: PageTables, slot: number): number {
  checkSlot('pudVal', pt, slot);
  if (accessReporting) noteRead(pt, slot);
  return pt.val[slot] as number;
}

/** The flag word of the PUD entry at `slot`. Mirrors arch/x86/include/asm/pgtable_types.h:pud_flags(). */
export function pudBits(pt: PageTables, slot: number): number {
  checkSlot('pudBits', pt, slot);
  if (accessReporting) noteRead(pt, slot);
  return pt.bits[slot] as number;
}

/** Write a PUD leaf (same rules as setPte). Mirrors arch/x86/include/asm/pgtable.h:set_pud_at(). */
export function setPud(pt: PageTables, slot: number, bits: number, val: number): void {
  writeEntry('setPud', pt, slot, bits, val);
}

/** Empty a PUD leaf entry. Mirrors include/asm-generic/pgtable.h:pud_clear(). */
export function pudClear(pt: PageTables, slot: number): void {
  writeEntry('pudClear', pt, slot, 0, 0);
}

/** The flag word of the PGD entry at `slot`. Mirrors arch/x86/include/asm/pgtable_types.h:pgd_flags(). */
export function pgdBits(pt: PageTables, slot: number): number {
  checkSlot('pgdBits', pt, slot);
  if (accessReporting) noteRead(pt, slot);
  return pt.bits[slot] as number;
}

/** The `val` word (PUD table index) of the PGD entry at `slot`. Model of arch/x86/include/asm/pgtable.h:pgd_page_vaddr(). */
export function pgdVal(pt: PageTables, slot: number): number {
  checkSlot('pgdVal', pt, slot);
  if (accessReporting) noteRead(pt, slot);
  return pt.val[slot] as number;
}
