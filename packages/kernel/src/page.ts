/**
 * x86-64 4-level paging constants and address helpers. Addresses are plain numbers up to
 * 2^48 (user space below TASK_SIZE), so every helper uses division and multiplication:
 * JavaScript bitwise operators truncate to 32 bits. Every helper takes a C `unsigned long`: a
 * NaN, infinite, fractional, negative or >= 2^53 argument (or one whose result would pass 2^53)
 * throws InvalidArgumentError naming the helper instead of returning NaN or a rounded number.
 */
import { failIntIn } from './validate.ts';

/** log2 of the page size (4 KiB pages). Mirrors arch/x86/include/asm/page_types.h:PAGE_SHIFT. */
export const PAGE_SHIFT = 12;
/** Bytes in a page. Mirrors arch/x86/include/asm/page_types.h:PAGE_SIZE. */
export const PAGE_SIZE = 2 ** PAGE_SHIFT;
/** log2 of the bytes one PMD entry maps (2 MiB). Mirrors arch/x86/include/asm/pgtable_64_types.h:PMD_SHIFT. */
export const PMD_SHIFT = 21;
/** Bytes one PMD entry maps. Mirrors arch/x86/include/asm/pgtable_64_types.h:PMD_SIZE. */
export const PMD_SIZE = 2 ** PMD_SHIFT;
/** log2 of the bytes one PUD entry maps (1 GiB). Mirrors arch/x86/include/asm/pgtable_64_types.h:PUD_SHIFT. */
export const PUD_SHIFT = 30;
/** Bytes one PUD entry maps. Mirrors arch/x86/include/asm/pgtable_64_types.h:PUD_SIZE. */
export const PUD_SIZE = 2 ** PUD_SHIFT;
/** log2 of the bytes one PGD entry maps (512 GiB, 4-level paging). Mirrors arch/x86/include/asm/pgtable_64_types.h:PGDIR_SHIFT. */
export const PGDIR_SHIFT = 39;
/** Bytes one PGD entry maps. Mirrors arch/x86/include/asm/pgtable_64_types.h:PGDIR_SIZE. */
export const PGDIR_SIZE = 2 ** PGDIR_SHIFT;
/** Entries in a PTE table. Mirrors arch/x86/include/asm/pgtable_64_types.h:PTRS_PER_PTE. */
export const PTRS_PER_PTE = 512;
/** Entries in a PMD table. Mirrors arch/x86/include/asm/pgtable_64_types.h:PTRS_PER_PMD. */
export const PTRS_PER_PMD = 512;
/** Entries in a PUD table. Mirrors arch/x86/include/asm/pgtable_64_types.h:PTRS_PER_PUD. */
export const PTRS_PER_PUD = 512;
/** Entries in the PGD. Mirrors arch/x86/include/asm/pgtable_64_types.h:PTRS_PER_PGD. */
export const PTRS_PER_PGD = 512;
/** Order of a PMD-mapped transparent huge page (9). Mirrors include/linux/huge_mm.h:HPAGE_PMD_ORDER. */
export const HPAGE_PMD_ORDER = PMD_SHIFT - PAGE_SHIFT;
/** Base pages in a PMD-mapped huge page (512). Mirrors include/linux/huge_mm.h:HPAGE_PMD_NR. */
export const HPAGE_PMD_NR = 2 ** HPAGE_PMD_ORDER;
/** Bytes in a PMD-mapped huge page. Mirrors include/linux/huge_mm.h:HPAGE_PMD_SIZE. */
export const HPAGE_PMD_SIZE = PMD_SIZE;
/** Bits of a virtual address with 4-level paging (48). Mirrors arch/x86 __VIRTUAL_MASK_SHIFT. */
export const VA_BITS = 48;
/** Top of user space: 2^47 - PAGE_SIZE (x86-64 TASK_SIZE_MAX with 4-level paging). */
export const TASK_SIZE = 2 ** 47 - PAGE_SIZE;
/**
 * "End of the address space" sentinel for `[0, ULONG_MAX)` ranges. The kernel's 2^64 - 1
 * does not fit a double exactly, so the model uses the largest safe integer instead.
 */
export const ULONG_MAX = Number.MAX_SAFE_INTEGER;

/** `v` as the unsigned long argument `arg` of `fn`, at most `max` (cheap when it is fine). */
function ulong(fn: string, arg: string, v: number, max: number, what: string): number {
  if (!(Number.isSafeInteger(v) && v >= 0 && v <= max)) failIntIn(fn, arg, v, 0, max, what);
  return v;
}

const ANY_ULONG = 'an unsigned long (a safe integer >= 0)';

/**
 * `a` as the address argument `a` of `fn`, any unsigned long. The failure path is a function of
 * its own so that this one stays small enough for the compiler to inline at every call.
 */
function anyAddr(fn: string, a: number): number {
  if (!(Number.isSafeInteger(a) && a >= 0)) badAddr(fn, a);
  return a;
}

/** The failure path of anyAddr, out of line (a short call keeps anyAddr inlinable). */
function badAddr(fn: string, a: number): never {
  return failIntIn(fn, 'a', a, 0, ULONG_MAX, ANY_ULONG);
}

/**
 * Round `a` down to a multiple of `size` (a power of two).
 * Mirrors include/linux/kernel.h:ALIGN_DOWN().
 */
function alignDown(a: number, size: number): number {
  return Math.floor(a / size) * size;
}

/**
 * Round `a` down to a page boundary.
 * Mirrors include/linux/kernel.h:ALIGN_DOWN(a, PAGE_SIZE) (`a & PAGE_MASK`).
 */
export function pageAlignDown(a: number): number {
  return alignDown(anyAddr('pageAlignDown', a), PAGE_SIZE);
}

/**
 * Round `a` up to a page boundary.
 * Mirrors include/linux/mm.h:PAGE_ALIGN().
 */
export function pageAlignUp(a: number): number {
  ulong(
    'pageAlignUp',
    'a',
    a,
    ULONG_MAX - PAGE_SIZE + 1,
    'an address whose page end is below 2^53',
  );
  return alignDown(a + PAGE_SIZE - 1, PAGE_SIZE);
}

/**
 * True when `a` is a multiple of PAGE_SIZE.
 * Mirrors include/linux/mm.h:PAGE_ALIGNED().
 */
export function pageAligned(a: number): boolean {
  return anyAddr('pageAligned', a) % PAGE_SIZE === 0;
}

/**
 * Round `a` down to a PMD (2 MiB) boundary.
 * Mirrors `a & HPAGE_PMD_MASK` (include/linux/huge_mm.h).
 */
export function pmdAlignDown(a: number): number {
  return alignDown(anyAddr('pmdAlignDown', a), PMD_SIZE);
}

/**
 * Round `a` up to a PMD (2 MiB) boundary.
 * Mirrors include/linux/kernel.h:ALIGN(a, HPAGE_PMD_SIZE).
 */
export function pmdAlignUp(a: number): number {
  ulong('pmdAlignUp', 'a', a, ULONG_MAX - PMD_SIZE + 1, 'an address whose 2 MiB end is below 2^53');
  return alignDown(a + PMD_SIZE - 1, PMD_SIZE);
}

/**
 * Page frame number containing physical/virtual address `addr` (addr / PAGE_SIZE, floored).
 * Mirrors include/linux/pfn.h:PHYS_PFN().
 */
export function pfnOf(addr: number): number {
  return Math.floor(ulong('pfnOf', 'addr', addr, ULONG_MAX, ANY_ULONG) / PAGE_SIZE);
}

/**
 * Address of the first byte of page frame `pfn`.
 * Mirrors include/linux/pfn.h:PFN_PHYS().
 */
export function pfnToAddr(pfn: number): number {
  const max = Math.floor(ULONG_MAX / PAGE_SIZE);
  return ulong('pfnToAddr', 'pfn', pfn, max, 'a pfn whose address is below 2^53') * PAGE_SIZE;
}

/**
 * Index of `a` in its top-level (PGD) table, 0..511.
 * Mirrors arch/x86/include/asm/pgtable.h:pgd_index().
 */
export function pgdIndex(a: number): number {
  return Math.floor(anyAddr('pgdIndex', a) / PGDIR_SIZE) % PTRS_PER_PGD;
}

/**
 * Index of `a` in its PUD table, 0..511.
 * Mirrors arch/x86/include/asm/pgtable.h:pud_index().
 */
export function pudIndex(a: number): number {
  return Math.floor(anyAddr('pudIndex', a) / PUD_SIZE) % PTRS_PER_PUD;
}

/**
 * Index of `a` in its PMD table, 0..511.
 * Mirrors arch/x86/include/asm/pgtable.h:pmd_index().
 */
export function pmdIndex(a: number): number {
  return Math.floor(anyAddr('pmdIndex', a) / PMD_SIZE) % PTRS_PER_PMD;
}

/**
 * Index of `a` in its PTE table, 0..511.
 * Mirrors arch/x86/include/asm/pgtable.h:pte_index().
 */
export function pteIndex(a: number): number {
  return Math.floor(anyAddr('pteIndex', a) / PAGE_SIZE) % PTRS_PER_PTE;
}
