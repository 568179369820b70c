/**
 * @hmmsim/pagetable: physical memory (memmap as typed arrays, page allocator, page contents),
 * 4-level x86-64 page tables in a pooled typed-array store, PTE/swap encodings and a page walker.
 *
 * Conventions: entries are addressed by slot (pgtable.ts); PTE/PMD predicates take the `bits`
 * word (pte.ts); swap entries are numbers `type * 2^32 + offset` (swapops.ts).
 */
export { FreeArea } from './free-area.ts';
export * from './free-pgd-range.ts';
export * from './huge-memory.ts';
export * from './memmap.ts';
export * from './memmap-invariants.ts';
export * from './page-alloc.ts';
export * from './page-contents.ts';
export * from './page-flags.ts';
export * from './pagewalk.ts';
export {
  createPageTables,
  MAX_TABLES_LIMIT,
  PageTables,
  type PageTablesOptions,
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
  tableSlot,
} from './pgtable.ts';
export * from './pgtable-invariants.ts';
export {
  createPhysMem,
  DEFAULT_RAM_BYTES,
  type DevPageFreeHook,
  MAX_PFN_LIMIT,
  MEMMAP_END_ELEMENT,
  memmapAddRange,
  PhysMem,
  type PhysMemOptions,
} from './physmem.ts';
export * from './pte.ts';
export * from './raw-access.ts';
export * from './swapops.ts';
