/**
 * Swap entries (`swp_entry_t`) and their special types: migration, device-private, hwpoison.
 *
 * A swap entry is a plain non-negative number `type * 2^32 + offset` (type 0..31, offset
 * < 2^32), so it fits a safe integer and is never put through 32-bit operators. In a page-table
 * entry it is stored in swap format: `bits = _PAGE_SWP_ENTRY | type << 17`, `val = offset`
 * (see pte.ts). Type numbering follows include/linux/swap.h of v5.4 with MAX_SWAPFILES_SHIFT 5.
 */

import type { Pfn } from '@hmmsim/kernel';
import { checkIntIn, KernelBugError } from '@hmmsim/kernel';
import {
  _PAGE_SWP_ENTRY,
  _PAGE_SWP_SOFT_DIRTY,
  _PAGE_SWP_TYPE_SHIFT,
  checkPteWord,
  ptePresent,
} from './pte.ts';

/** Bits of the swap type. Mirrors include/linux/swap.h:MAX_SWAPFILES_SHIFT. */
export const MAX_SWAPFILES_SHIFT = 5;
/** Number of device-private types. Mirrors include/linux/swap.h:SWP_DEVICE_NUM. */
export const SWP_DEVICE_NUM = 2;
/** Number of migration types. Mirrors include/linux/swap.h:SWP_MIGRATION_NUM. */
export const SWP_MIGRATION_NUM = 2;
/** Number of hwpoison types. Mirrors include/linux/swap.h:SWP_HWPOISON_NUM. */
export const SWP_HWPOISON_NUM = 1;
/** Types below this are real swap devices (27). Mirrors include/linux/swap.h:MAX_SWAPFILES. */
export const MAX_SWAPFILES =
  (1 << MAX_SWAPFILES_SHIFT) - SWP_DEVICE_NUM - SWP_MIGRATION_NUM - SWP_HWPOISON_NUM;
/** Hardware-poisoned page (27). Mirrors include/linux/swap.h:SWP_HWPOISON. */
export const SWP_HWPOISON = MAX_SWAPFILES;
/** Read migration entry (28). Mirrors include/linux/swap.h:SWP_MIGRATION_READ. */
export const SWP_MIGRATION_READ = MAX_SWAPFILES + SWP_HWPOISON_NUM;
/** Write migration entry (29). Mirrors include/linux/swap.h:SWP_MIGRATION_WRITE. */
export const SWP_MIGRATION_WRITE = MAX_SWAPFILES + SWP_HWPOISON_NUM + 1;
/** Writable device-private entry (30). Mirrors include/linux/swap.h:SWP_DEVICE_WRITE. */
export const SWP_DEVICE_WRITE = MAX_SWAPFILES + SWP_HWPOISON_NUM + SWP_MIGRATION_NUM;
/** Read-only device-private entry (31). Mirrors include/linux/swap.h:SWP_DEVICE_READ. */
export const SWP_DEVICE_READ = MAX_SWAPFILES + SWP_HWPOISON_NUM + SWP_MIGRATION_NUM + 1;
/** Largest swap offset (and largest pfn an entry can carry). */
export const SWP_OFFSET_MAX = 2 ** 32 - 1;

const TYPE_SCALE = 2 ** 32;
const TYPE_MASK = (1 << MAX_SWAPFILES_SHIFT) - 1;
/** One past the largest swap entry value (type 31, offset 2^32 - 1). */
const ENTRY_LIMIT = (TYPE_MASK + 1) * TYPE_SCALE;

/** `entry` as the swp_entry_t argument of `fn`: an integer in [0, 2^37), else InvalidArgumentError. */
function checkEntry(fn: string, entry: number): number {
  if (!(Number.isSafeInteger(entry) && entry >= 0 && entry < ENTRY_LIMIT)) {
    checkIntIn(
      fn,
      'entry',
      entry,
      0,
      ENTRY_LIMIT - 1,
      'a swap entry type * 2^32 + offset (an integer in [0, 2^37))',
    );
  }
  return entry;
}

/** A page-table entry as its two words; returned by the entry encoders. */
export interface PteValue {
  readonly bits: number;
  readonly val: number;
}

/** Swap entry of (type, offset); throws InvalidArgumentError when out of range. Mirrors include/linux/swapops.h:swp_entry(). */
export function swpEntry(type: number, offset: number): number {
  checkIntIn(
    'swpEntry',
    'type',
    type,
    0,
    TYPE_MASK,
    `a swap type (an integer in [0, ${TYPE_MASK}])`,
  );
  checkIntIn(
    'swpEntry',
    'offset',
    offset,
    0,
    SWP_OFFSET_MAX,
    'an offset (an integer in [0, 2^32))',
  );
  return type * TYPE_SCALE + offset;
}

/** Type of a swap entry. Mirrors include/linux/swapops.h:swp_type(). */
export function swpType(entry: number): number {
  return Math.floor(checkEntry('swpType', entry) / TYPE_SCALE);
}

/** Offset of a swap entry. Mirrors include/linux/swapops.h:swp_offset(). */
export function swpOffset(entry: number): number {
  return checkEntry('swpOffset', entry) % TYPE_SCALE;
}

/** True for a non-empty, non-present entry. Mirrors include/linux/swapops.h:is_swap_pte(). */
export function isSwapPte(bits: number): boolean {
  return checkPteWord('isSwapPte', 'bits', bits) !== 0 && !ptePresent(bits);
}

/** Swap entry held by a swap-format PTE; KernelBugError for other entries. Mirrors include/linux/swapops.h:pte_to_swp_entry(). */
export function pteToSwpEntry(bits: number, val: number): number {
  return toSwpEntry('pteToSwpEntry', bits, val);
}

/** pteToSwpEntry()/pmdToSwpEntry() with `fn` named in the errors. */
function toSwpEntry(fn: string, bits: number, val: number): number {
  checkPteWord(fn, 'bits', bits);
  checkPteWord(fn, 'val', val);
  if ((bits & _PAGE_SWP_ENTRY) === 0 || ptePresent(bits)) {
    throw new KernelBugError(
      `${fn}: entry (bits=0x${bits.toString(16)}) is not a swap-format entry; check isSwapPte() first`,
    );
  }
  return ((bits >>> _PAGE_SWP_TYPE_SHIFT) & TYPE_MASK) * TYPE_SCALE + val;
}

/** The two words of a swap-format PTE holding `entry` (no soft-dirty). Mirrors include/linux/swapops.h:swp_entry_to_pte(). */
export function swpEntryToPte(entry: number): PteValue {
  checkEntry('swpEntryToPte', entry);
  return { bits: swpEntryToPteBits(entry), val: swpOffset(entry) };
}

/** The `bits` word of a swap-format PTE holding `entry`; its `val` is swpOffset(entry). Model helper of swp_entry_to_pte() for hot paths. */
export function swpEntryToPteBits(entry: number): number {
  checkEntry('swpEntryToPteBits', entry);
  return _PAGE_SWP_ENTRY | (swpType(entry) << _PAGE_SWP_TYPE_SHIFT);
}

/** Swap entry of a swap-format PMD (same layout as a PTE). Mirrors include/linux/swapops.h:pmd_to_swp_entry(). */
export function pmdToSwpEntry(bits: number, val: number): number {
  return toSwpEntry('pmdToSwpEntry', bits, val);
}

/** The two words of a swap-format PMD holding `entry`. Mirrors include/linux/swapops.h:swp_entry_to_pmd(). */
export function swpEntryToPmd(entry: number): PteValue {
  checkEntry('swpEntryToPmd', entry);
  return swpEntryToPte(entry);
}

/** True if a swap-format entry carries the soft-dirty bit. Mirrors arch/x86/include/asm/pgtable.h:pte_swp_soft_dirty(). */
export function pteSwpSoftDirty(bits: number): boolean {
  return (checkPteWord('pteSwpSoftDirty', 'bits', bits) & _PAGE_SWP_SOFT_DIRTY) !== 0;
}

/** Swap-format bits with soft-dirty set. Mirrors arch/x86/include/asm/pgtable.h:pte_swp_mksoft_dirty(). */
export function pteSwpMksoftDirty(bits: number): number {
  return (checkPteWord('pteSwpMksoftDirty', 'bits', bits) | _PAGE_SWP_SOFT_DIRTY) >>> 0;
}

/** Swap-format bits with soft-dirty cleared. Mirrors arch/x86/include/asm/pgtable.h:pte_swp_clear_soft_dirty(). */
export function pteSwpClearSoftDirty(bits: number): number {
  return (checkPteWord('pteSwpClearSoftDirty', 'bits', bits) & ~_PAGE_SWP_SOFT_DIRTY) >>> 0;
}

/** True for migration, device-private and hwpoison entries (type >= MAX_SWAPFILES). Mirrors include/linux/swapops.h:non_swap_entry(). */
export function nonSwapEntry(entry: number): boolean {
  return swpType(checkEntry('nonSwapEntry', entry)) >= MAX_SWAPFILES;
}

function checkPfn(fn: string, pfn: number): void {
  checkIntIn(
    fn,
    'pfn',
    pfn,
    0,
    SWP_OFFSET_MAX,
    'a pfn an entry can carry (an integer in [0, 2^32))',
  );
}

// ---- migration entries ----

/** True for a read or write migration entry. Mirrors include/linux/swapops.h:is_migration_entry(). */
export function isMigrationEntry(entry: number): boolean {
  const t = swpType(checkEntry('isMigrationEntry', entry));
  return t === SWP_MIGRATION_READ || t === SWP_MIGRATION_WRITE;
}

/** True for a write migration entry. Mirrors include/linux/swapops.h:is_write_migration_entry(). */
export function isWriteMigrationEntry(entry: number): boolean {
  return swpType(checkEntry('isWriteMigrationEntry', entry)) === SWP_MIGRATION_WRITE;
}

/** Migration entry for `pfn` (write or read). Mirrors include/linux/swapops.h:make_migration_entry(). */
export function makeMigrationEntry(pfn: number, write: boolean): number {
  checkPfn('makeMigrationEntry', pfn);
  return (write ? SWP_MIGRATION_WRITE : SWP_MIGRATION_READ) * TYPE_SCALE + pfn;
}

/** The same migration entry downgraded to read. Mirrors include/linux/swapops.h:make_migration_entry_read(). */
export function makeMigrationEntryRead(entry: number): number {
  return SWP_MIGRATION_READ * TYPE_SCALE + swpOffset(checkEntry('makeMigrationEntryRead', entry));
}

/** Pfn of a migration entry; KernelBugError for other entries. Mirrors include/linux/swapops.h:migration_entry_to_pfn(). */
export function migrationEntryToPfn(entry: number): Pfn {
  if (!isMigrationEntry(checkEntry('migrationEntryToPfn', entry))) {
    throw new KernelBugError(
      `migrationEntryToPfn: entry of type ${swpType(entry)} is not a migration entry`,
    );
  }
  return swpOffset(entry) as Pfn;
}

/** True if a swap-format PMD is a migration entry. Mirrors include/linux/swapops.h:is_pmd_migration_entry(). */
export function isPmdMigrationEntry(bits: number): boolean {
  if (
    (checkPteWord('isPmdMigrationEntry', 'bits', bits) & _PAGE_SWP_ENTRY) === 0 ||
    ptePresent(bits)
  )
    return false;
  const t = (bits >>> _PAGE_SWP_TYPE_SHIFT) & TYPE_MASK;
  return t === SWP_MIGRATION_READ || t === SWP_MIGRATION_WRITE;
}

// ---- device-private entries ----

/** True for a device-private entry (read or write). Mirrors include/linux/swapops.h:is_device_private_entry(). */
export function isDevicePrivateEntry(entry: number): boolean {
  const t = swpType(checkEntry('isDevicePrivateEntry', entry));
  return t === SWP_DEVICE_READ || t === SWP_DEVICE_WRITE;
}

/** True for a writable device-private entry. Mirrors include/linux/swapops.h:is_write_device_private_entry(). */
export function isWriteDevicePrivateEntry(entry: number): boolean {
  return swpType(checkEntry('isWriteDevicePrivateEntry', entry)) === SWP_DEVICE_WRITE;
}

/** Device-private entry for the device page `pfn`. Mirrors include/linux/swapops.h:make_device_private_entry(). */
export function makeDevicePrivateEntry(pfn: number, write: boolean): number {
  checkPfn('makeDevicePrivateEntry', pfn);
  return (write ? SWP_DEVICE_WRITE : SWP_DEVICE_READ) * TYPE_SCALE + pfn;
}

/** The same device-private entry downgraded to read. Mirrors include/linux/swapops.h:make_device_private_entry_read(). */
export function makeDevicePrivateEntryRead(entry: number): number {
  return SWP_DEVICE_READ * TYPE_SCALE + swpOffset(checkEntry('makeDevicePrivateEntryRead', entry));
}

/** Pfn of a device-private entry; KernelBugError for other entries. Mirrors include/linux/swapops.h:device_private_entry_to_pfn(). */
export function devicePrivateEntryToPfn(entry: number): Pfn {
  if (!isDevicePrivateEntry(checkEntry('devicePrivateEntryToPfn', entry))) {
    throw new KernelBugError(
      `devicePrivateEntryToPfn: entry of type ${swpType(entry)} is not a device-private entry`,
    );
  }
  return swpOffset(entry) as Pfn;
}

// ---- hwpoison entries ----

/** True for a hwpoison entry. Mirrors include/linux/swapops.h:is_hwpoison_entry(). */
export function isHwpoisonEntry(entry: number): boolean {
  return swpType(checkEntry('isHwpoisonEntry', entry)) === SWP_HWPOISON;
}

/** Hwpoison entry for `pfn`. Mirrors include/linux/swapops.h:make_hwpoison_entry(). */
export function makeHwpoisonEntry(pfn: number): number {
  checkPfn('makeHwpoisonEntry', pfn);
  return SWP_HWPOISON * TYPE_SCALE + pfn;
}
