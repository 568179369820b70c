/**
 * Page-table entry encoding (one entry = two 32-bit words in the table pool).
 *
 * An entry is the pair (`bits`, `val`) stored at the same slot of `PageTables.bits` and
 * `PageTables.val`. The flag positions follow x86-64 where they exist there; the pfn and the swap
 * fields, which x86 packs into one 64-bit word, live in their own words here.
 *
 * `bits` (flags, always < 2^22):
 * ```
 *  bit 0   _PAGE_PRESENT    bit 6   _PAGE_DIRTY       bit 11  _PAGE_SOFT_DIRTY
 *  bit 1   _PAGE_RW         bit 7   _PAGE_PSE (huge)  bit 12  _PAGE_NX           (x86: bit 63)
 *  bit 2   _PAGE_USER       bit 8   _PAGE_PROTNONE    bit 16  _PAGE_SWP_ENTRY    (model only)
 *  bit 5   _PAGE_ACCESSED   bit 9   _PAGE_SPECIAL     bits 17..21 swap type (5 bits)
 *                           bit 10  _PAGE_DEVMAP      (x86: bit 58)
 * ```
 * `val`:
 * - present leaf (PTE, or PMD/PUD with `_PAGE_PSE`): the pfn (< 2^32);
 * - table pointer (PGD/PUD/PMD entry without `_PAGE_PSE`): index of the next table in the pool,
 *   flags `_PAGE_TABLE`;
 * - swap format (`_PAGE_SWP_ENTRY` set, present bits clear): the swap offset (< 2^32); for
 *   migration, device-private and hwpoison entries the offset is a pfn. In a swap-format entry
 *   bit 1 is `_PAGE_SWP_SOFT_DIRTY` (as on x86, which reuses `_PAGE_RW` for it).
 *
 * The empty entry is (0, 0) and nothing else: every non-empty entry has at least one flag bit
 * (present, protnone or the swap marker), so every predicate below needs only `bits`.
 * A swap entry value (`swp_entry_t`) is a plain number `type * 2^32 + offset`, see swapops.ts.
 *
 * PMD-level huge leaves use the same flags plus `_PAGE_PSE`; a PMD migration entry is a
 * swap-format entry at PMD level (no `_PAGE_PSE`, so it is not present).
 */

import { failIntIn } from '@hmmsim/kernel';

/** Entry maps a page (or a table). Mirrors arch/x86/include/asm/pgtable_types.h:_PAGE_PRESENT. */
export const _PAGE_PRESENT = 0x1;
/** Writable. Mirrors arch/x86/include/asm/pgtable_types.h:_PAGE_RW. */
export const _PAGE_RW = 0x2;
/** User accessible. Mirrors arch/x86/include/asm/pgtable_types.h:_PAGE_USER. */
export const _PAGE_USER = 0x4;
/** Young (accessed). Mirrors arch/x86/include/asm/pgtable_types.h:_PAGE_ACCESSED. */
export const _PAGE_ACCESSED = 0x20;
/** Dirty. Mirrors arch/x86/include/asm/pgtable_types.h:_PAGE_DIRTY. */
export const _PAGE_DIRTY = 0x40;
/** Huge leaf at PMD/PUD level. Mirrors arch/x86/include/asm/pgtable_types.h:_PAGE_PSE. */
export const _PAGE_PSE = 0x80;
/** Resident but inaccessible (PROT_NONE / NUMA hinting). Mirrors arch/x86/include/asm/pgtable_types.h:_PAGE_PROTNONE. */
export const _PAGE_PROTNONE = 0x100;
/** No struct page behind it / zero page. Mirrors arch/x86/include/asm/pgtable_types.h:_PAGE_SPECIAL. */
export const _PAGE_SPECIAL = 0x200;
/** ZONE_DEVICE mapping. Mirrors arch/x86/include/asm/pgtable_types.h:_PAGE_DEVMAP. */
export const _PAGE_DEVMAP = 0x400;
/** Soft-dirty tracking bit. Mirrors arch/x86/include/asm/pgtable_types.h:_PAGE_SOFT_DIRTY. */
export const _PAGE_SOFT_DIRTY = 0x800;
/** Not executable. Mirrors arch/x86/include/asm/pgtable_types.h:_PAGE_NX. */
export const _PAGE_NX = 0x1000;
/** Model-only marker of a swap-format (non-present, non-empty) entry; x86 needs none. */
export const _PAGE_SWP_ENTRY = 0x10000;
/** Soft-dirty bit of a swap-format entry. Mirrors arch/x86/include/asm/pgtable_types.h:_PAGE_SWP_SOFT_DIRTY. */
export const _PAGE_SWP_SOFT_DIRTY = _PAGE_RW;
/** First bit of the 5-bit swap type inside `bits` of a swap-format entry. */
export const _PAGE_SWP_TYPE_SHIFT = 17;

/** Flags of an entry pointing at a user page table. Mirrors arch/x86/include/asm/pgtable_types.h:_PAGE_TABLE. */
export const _PAGE_TABLE = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY;
/** Flags kept by pte_modify(). Mirrors arch/x86/include/asm/pgtable_types.h:_PAGE_CHG_MASK. */
export const _PAGE_CHG_MASK =
  _PAGE_SPECIAL | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_SOFT_DIRTY | _PAGE_DEVMAP;
/** Flags kept by pmd_modify(). Mirrors arch/x86/include/asm/pgtable_types.h:_HPAGE_CHG_MASK. */
export const _HPAGE_CHG_MASK = _PAGE_CHG_MASK | _PAGE_PSE;

/** Protection of PROT_NONE mappings. Mirrors arch/x86/include/asm/pgtable_types.h:PAGE_NONE. */
export const PAGE_NONE = _PAGE_PROTNONE | _PAGE_ACCESSED;
/** Shared writable, no exec. Mirrors arch/x86/include/asm/pgtable_types.h:PAGE_SHARED. */
export const PAGE_SHARED = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_NX;
/** Shared writable exec. Mirrors arch/x86/include/asm/pgtable_types.h:PAGE_SHARED_EXEC. */
export const PAGE_SHARED_EXEC = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED;
/** Private (copy-on-write), no exec. Mirrors arch/x86/include/asm/pgtable_types.h:PAGE_COPY. */
export const PAGE_COPY = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_NX;
/** Private (copy-on-write) exec. Mirrors arch/x86/include/asm/pgtable_types.h:PAGE_COPY_EXEC. */
export const PAGE_COPY_EXEC = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED;
/** Read-only, no exec. Mirrors arch/x86/include/asm/pgtable_types.h:PAGE_READONLY. */
export const PAGE_READONLY = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_NX;
/** Read-only exec. Mirrors arch/x86/include/asm/pgtable_types.h:PAGE_READONLY_EXEC. */
export const PAGE_READONLY_EXEC = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED;

const PRESENT_OR_PROTNONE = _PAGE_PRESENT | _PAGE_PROTNONE;

/**
 * `v` as the entry word `arg` of `fn`: an integer in [0, 2^32), else InvalidArgumentError (a
 * NaN, negative or fractional flag word would silently test as 0 under the bit operators).
 * Model helper shared by the predicates and modifiers of this file and swapops.ts.
 */
export function checkPteWord(fn: string, arg: string, v: number): number {
  if (v >>> 0 !== v) badPteWord(fn, arg, v);
  return v;
}

/** The failure path of checkPteWord, out of line (a short call keeps checkPteWord inlinable). */
function badPteWord(fn: string, arg: string, v: number): never {
  return failIntIn(
    fn,
    arg,
    v,
    0,
    2 ** 32 - 1,
    'a 32-bit page-table entry word (an integer in [0, 2^32))',
  );
}

// ---- PTE predicates (all take the `bits` word) ----

/** True for the empty entry. Mirrors arch/x86/include/asm/pgtable.h:pte_none(). */
export function pteNone(bits: number): boolean {
  return checkPteWord('pteNone', 'bits', bits) === 0;
}

/** True if the entry maps a resident page (also PROT_NONE ones). Mirrors arch/x86/include/asm/pgtable.h:pte_present(). */
export function ptePresent(bits: number): boolean {
  return (checkPteWord('ptePresent', 'bits', bits) & PRESENT_OR_PROTNONE) !== 0;
}

/** True for a resident but inaccessible (PROT_NONE/NUMA) entry. Mirrors arch/x86/include/asm/pgtable.h:pte_protnone(). */
export function pteProtnone(bits: number): boolean {
  return (checkPteWord('pteProtnone', 'bits', bits) & PRESENT_OR_PROTNONE) === _PAGE_PROTNONE;
}

/** True if writable. Mirrors arch/x86/include/asm/pgtable.h:pte_write(). */
export function pteWrite(bits: number): boolean {
  return (checkPteWord('pteWrite', 'bits', bits) & _PAGE_RW) !== 0;
}

/** True if dirty. Mirrors arch/x86/include/asm/pgtable.h:pte_dirty(). */
export function pteDirty(bits: number): boolean {
  return (checkPteWord('pteDirty', 'bits', bits) & _PAGE_DIRTY) !== 0;
}

/** True if accessed (young). Mirrors arch/x86/include/asm/pgtable.h:pte_young(). */
export function pteYoung(bits: number): boolean {
  return (checkPteWord('pteYoung', 'bits', bits) & _PAGE_ACCESSED) !== 0;
}

/** True for special mappings (zero page, raw pfn). Mirrors arch/x86/include/asm/pgtable.h:pte_special(). */
export function pteSpecial(bits: number): boolean {
  return (checkPteWord('pteSpecial', 'bits', bits) & _PAGE_SPECIAL) !== 0;
}

/** True for ZONE_DEVICE mappings. Mirrors arch/x86/include/asm/pgtable.h:pte_devmap(). */
export function pteDevmap(bits: number): boolean {
  return (checkPteWord('pteDevmap', 'bits', bits) & _PAGE_DEVMAP) !== 0;
}

/** True if soft-dirty. Mirrors arch/x86/include/asm/pgtable.h:pte_soft_dirty(). */
export function pteSoftDirty(bits: number): boolean {
  return (checkPteWord('pteSoftDirty', 'bits', bits) & _PAGE_SOFT_DIRTY) !== 0;
}

/** True if executable. Mirrors arch/x86/include/asm/pgtable.h:pte_exec(). */
export function pteExec(bits: number): boolean {
  return (checkPteWord('pteExec', 'bits', bits) & _PAGE_NX) === 0;
}

// ---- PTE modifiers (pure, on `bits`) ----

/** Bits with write permission. Mirrors arch/x86/include/asm/pgtable.h:pte_mkwrite(). */
export function pteMkwrite(bits: number): number {
  return (checkPteWord('pteMkwrite', 'bits', bits) | _PAGE_RW) >>> 0;
}

/** Bits without write permission. Mirrors arch/x86/include/asm/pgtable.h:pte_wrprotect(). */
export function pteWrprotect(bits: number): number {
  return (checkPteWord('pteWrprotect', 'bits', bits) & ~_PAGE_RW) >>> 0;
}

/** Bits marked dirty (and soft-dirty). Mirrors arch/x86/include/asm/pgtable.h:pte_mkdirty(). */
export function pteMkdirty(bits: number): number {
  return (checkPteWord('pteMkdirty', 'bits', bits) | _PAGE_DIRTY | _PAGE_SOFT_DIRTY) >>> 0;
}

/** Bits marked clean. Mirrors arch/x86/include/asm/pgtable.h:pte_mkclean(). */
export function pteMkclean(bits: number): number {
  return (checkPteWord('pteMkclean', 'bits', bits) & ~_PAGE_DIRTY) >>> 0;
}

/** Bits marked accessed. Mirrors arch/x86/include/asm/pgtable.h:pte_mkyoung(). */
export function pteMkyoung(bits: number): number {
  return (checkPteWord('pteMkyoung', 'bits', bits) | _PAGE_ACCESSED) >>> 0;
}

/** Bits marked not accessed. Mirrors arch/x86/include/asm/pgtable.h:pte_mkold(). */
export function pteMkold(bits: number): number {
  return (checkPteWord('pteMkold', 'bits', bits) & ~_PAGE_ACCESSED) >>> 0;
}

/** Bits marked special. Mirrors arch/x86/include/asm/pgtable.h:pte_mkspecial(). */
export function pteMkspecial(bits: number): number {
  return (checkPteWord('pteMkspecial', 'bits', bits) | _PAGE_SPECIAL) >>> 0;
}

/** Bits marked as a ZONE_DEVICE mapping (devmap implies special). Mirrors arch/x86/include/asm/pgtable.h:pte_mkdevmap(). */
export function pteMkdevmap(bits: number): number {
  return (checkPteWord('pteMkdevmap', 'bits', bits) | _PAGE_SPECIAL | _PAGE_DEVMAP) >>> 0;
}

/** Bits with the protection replaced by `newProt`, keeping _PAGE_CHG_MASK. Mirrors arch/x86/include/asm/pgtable.h:pte_modify(). */
export function pteModify(bits: number, newProt: number): number {
  return (
    ((checkPteWord('pteModify', 'bits', bits) & _PAGE_CHG_MASK) |
      (checkPteWord('pteModify', 'newProt', newProt) & ~_PAGE_CHG_MASK)) >>>
    0
  );
}

// ---- PMD / PUD predicates and modifiers ----

/** True for the empty PMD. Mirrors arch/x86/include/asm/pgtable.h:pmd_none(). */
export function pmdNone(bits: number): boolean {
  return checkPteWord('pmdNone', 'bits', bits) === 0;
}

/** True for a table pointer or a resident huge leaf (PSE counts, as during a split). Mirrors arch/x86/include/asm/pgtable.h:pmd_present(). */
export function pmdPresent(bits: number): boolean {
  return (
    (checkPteWord('pmdPresent', 'bits', bits) & (_PAGE_PRESENT | _PAGE_PROTNONE | _PAGE_PSE)) !== 0
  );
}

/** True for a transparent huge leaf (PSE without DEVMAP). Mirrors arch/x86/include/asm/pgtable.h:pmd_trans_huge(). */
export function pmdTransHuge(bits: number): boolean {
  return (checkPteWord('pmdTransHuge', 'bits', bits) & (_PAGE_PSE | _PAGE_DEVMAP)) === _PAGE_PSE;
}

/** True for any non-empty PMD that is not a table pointer (huge leaf or swap-format). Mirrors arch/x86/mm/hugetlbpage.c:pmd_huge(). */
export function pmdHuge(bits: number): boolean {
  return (
    checkPteWord('pmdHuge', 'bits', bits) !== 0 &&
    (bits & (_PAGE_PRESENT | _PAGE_PSE)) !== _PAGE_PRESENT
  );
}

/** True if the PSE (leaf) bit is set. Mirrors arch/x86/include/asm/pgtable.h:pmd_large(). */
export function pmdLarge(bits: number): boolean {
  return (checkPteWord('pmdLarge', 'bits', bits) & _PAGE_PSE) !== 0;
}

/** True for a ZONE_DEVICE huge leaf. Mirrors arch/x86/include/asm/pgtable.h:pmd_devmap(). */
export function pmdDevmap(bits: number): boolean {
  return (checkPteWord('pmdDevmap', 'bits', bits) & _PAGE_DEVMAP) !== 0;
}

/** True for a resident but inaccessible huge leaf. Mirrors arch/x86/include/asm/pgtable.h:pmd_protnone(). */
export function pmdProtnone(bits: number): boolean {
  return (checkPteWord('pmdProtnone', 'bits', bits) & PRESENT_OR_PROTNONE) === _PAGE_PROTNONE;
}

/** True if the PMD is not a well-formed table pointer (ignoring _PAGE_USER). Mirrors arch/x86/include/asm/pgtable.h:pmd_bad(). */
export function pmdBad(bits: number): boolean {
  return (checkPteWord('pmdBad', 'bits', bits) & ~_PAGE_USER) !== (_PAGE_TABLE & ~_PAGE_USER);
}

/** True if a huge leaf is writable. Mirrors arch/x86/include/asm/pgtable.h:pmd_write(). */
export function pmdWrite(bits: number): boolean {
  return (checkPteWord('pmdWrite', 'bits', bits) & _PAGE_RW) !== 0;
}

/** True if a huge leaf is dirty. Mirrors arch/x86/include/asm/pgtable.h:pmd_dirty(). */
export function pmdDirty(bits: number): boolean {
  return (checkPteWord('pmdDirty', 'bits', bits) & _PAGE_DIRTY) !== 0;
}

/** True if a huge leaf is young. Mirrors arch/x86/include/asm/pgtable.h:pmd_young(). */
export function pmdYoung(bits: number): boolean {
  return (checkPteWord('pmdYoung', 'bits', bits) & _PAGE_ACCESSED) !== 0;
}

/** Bits made a huge leaf. Mirrors arch/x86/include/asm/pgtable.h:pmd_mkhuge(). */
export function pmdMkhuge(bits: number): number {
  return (checkPteWord('pmdMkhuge', 'bits', bits) | _PAGE_PSE) >>> 0;
}

/** Bits made a ZONE_DEVICE huge leaf. Mirrors arch/x86/include/asm/pgtable.h:pmd_mkdevmap(). */
export function pmdMkdevmap(bits: number): number {
  return (checkPteWord('pmdMkdevmap', 'bits', bits) | _PAGE_DEVMAP) >>> 0;
}

/** Huge-leaf bits with the protection replaced, keeping _HPAGE_CHG_MASK. Mirrors arch/x86/include/asm/pgtable.h:pmd_modify(). */
export function pmdModify(bits: number, newProt: number): number {
  return (
    ((checkPteWord('pmdModify', 'bits', bits) & _HPAGE_CHG_MASK) |
      (checkPteWord('pmdModify', 'newProt', newProt) & ~_HPAGE_CHG_MASK)) >>>
    0
  );
}

/** True for the empty PUD. Mirrors arch/x86/include/asm/pgtable.h:pud_none(). */
export function pudNone(bits: number): boolean {
  return checkPteWord('pudNone', 'bits', bits) === 0;
}

/** True for a table pointer or a resident huge leaf. Mirrors arch/x86/include/asm/pgtable.h:pud_present(). */
export function pudPresent(bits: number): boolean {
  return (checkPteWord('pudPresent', 'bits', bits) & _PAGE_PRESENT) !== 0;
}

/** True for a 1 GiB leaf. Mirrors arch/x86/include/asm/pgtable.h:pud_large(). */
export function pudLarge(bits: number): boolean {
  return (checkPteWord('pudLarge', 'bits', bits) & _PAGE_PSE) !== 0;
}

/** True for a ZONE_DEVICE 1 GiB leaf. Mirrors arch/x86/include/asm/pgtable.h:pud_devmap(). */
export function pudDevmap(bits: number): boolean {
  return (checkPteWord('pudDevmap', 'bits', bits) & _PAGE_DEVMAP) !== 0;
}

/** True for a huge non-devmap PUD leaf. Mirrors arch/x86/include/asm/pgtable.h:pud_trans_huge(). */
export function pudTransHuge(bits: number): boolean {
  return (checkPteWord('pudTransHuge', 'bits', bits) & (_PAGE_PSE | _PAGE_DEVMAP)) === _PAGE_PSE;
}

/** True if the entry is a pointer to a lower table (present, not a leaf). Model helper, the complement of pmd_leaf()/pud_leaf() for present entries. */
export function entryIsTable(bits: number): boolean {
  return (
    (checkPteWord('entryIsTable', 'bits', bits) & (_PAGE_PRESENT | _PAGE_PSE | _PAGE_SWP_ENTRY)) ===
    _PAGE_PRESENT
  );
}
