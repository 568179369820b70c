/**
 * MIGRATE_PFN_* entries of the migrate_vma src/dst arrays (v5.4 layout): `pfn << 6 | flags`.
 *
 * Entries are plain numbers computed with arithmetic (`pfn * 64 + flags`), never with bitwise
 * operators, because pfns may exceed 2^25 and `pfn << 6` would overflow 32 bits. Safe-integer
 * limit: an entry stays exact while pfn < 2^47 (entry < 2^53); the model's pfns are below 2^32
 * (MAX_PFN_LIMIT of @hmmsim/pagetable), so entries are below 2^38. Flag tests use `entry % 64`,
 * a 6-bit value, so they are ordinary 32-bit bit operations.
 *
 * Every function checks its numbers with the shared vocabulary (an entry must be a C unsigned
 * long, a flag a bit mask below 64) and throws InvalidArgumentError otherwise: a NaN entry would
 * otherwise read as "no page".
 */
import { checkIntIn, checkUlong, isUlong } from '@hmmsim/kernel';

/** The entry carries a pfn. Mirrors include/linux/migrate.h:MIGRATE_PFN_VALID. */
export const MIGRATE_PFN_VALID = 1;
/** (src) the slot may be / was migrated. Mirrors include/linux/migrate.h:MIGRATE_PFN_MIGRATE. */
export const MIGRATE_PFN_MIGRATE = 2;
/** The page is locked (src: by the core; dst: by the driver). Mirrors include/linux/migrate.h:MIGRATE_PFN_LOCKED. */
export const MIGRATE_PFN_LOCKED = 4;
/** (src) the CPU mapping was writable. Mirrors include/linux/migrate.h:MIGRATE_PFN_WRITE. */
export const MIGRATE_PFN_WRITE = 8;
/** Position of the pfn (bits 4 and 5, the ≤ v5.3 DEVICE and ERROR flags, stay unused). Mirrors include/linux/migrate.h:MIGRATE_PFN_SHIFT. */
export const MIGRATE_PFN_SHIFT = 6;

const SCALE = 2 ** MIGRATE_PFN_SHIFT;
/** Largest pfn whose entry stays a safe integer. */
const MAX_ENTRY_PFN = 2 ** (53 - MIGRATE_PFN_SHIFT) - 1;

/** InvalidArgumentError unless `mpfn` is an entry (a C unsigned long). */
function checkEntry(fn: string, mpfn: number): void {
  if (!isUlong(mpfn)) checkUlong(fn, 'mpfn', mpfn, 'a MIGRATE_PFN_* entry');
}

/** InvalidArgumentError unless `flag` is a bit mask below 64. */
function checkFlag(fn: string, flag: number): void {
  if (!(flag >= 0 && flag < SCALE && Number.isInteger(flag))) {
    checkIntIn(fn, 'flag', flag, 0, SCALE - 1, 'MIGRATE_PFN_* bits (an integer in [0, 63])');
  }
}

/** `(pfn << MIGRATE_PFN_SHIFT) | MIGRATE_PFN_VALID`. Mirrors include/linux/migrate.h:migrate_pfn(). */
export function migratePfn(pfn: number): number {
  if (!(isUlong(pfn) && pfn <= MAX_ENTRY_PFN)) {
    checkIntIn(
      'migrate_pfn',
      'pfn',
      pfn,
      0,
      MAX_ENTRY_PFN,
      'a pfn below 2^47 (its entry stays exact)',
    );
  }
  return pfn * SCALE + MIGRATE_PFN_VALID;
}

/** The page (pfn) of a VALID entry, -1 (NULL) otherwise. Mirrors include/linux/migrate.h:migrate_pfn_to_page(). */
export function migratePfnToPage(mpfn: number): number {
  checkEntry('migrate_pfn_to_page', mpfn);
  // Entries exceed 2^31: `%` would be a floating-point fmod; floor arithmetic is exact here.
  const pfn = Math.floor(mpfn / SCALE);
  return ((mpfn - pfn * SCALE) & MIGRATE_PFN_VALID) === 0 ? -1 : pfn;
}

/** `mpfn % SCALE` for non-negative integer entries, without fmod. */
function low6(mpfn: number): number {
  return mpfn - Math.floor(mpfn / SCALE) * SCALE;
}

/** The low six flag bits of an entry. Model helper (`mpfn & ((1 << MIGRATE_PFN_SHIFT) - 1)`). */
export function migratePfnFlags(mpfn: number): number {
  checkEntry('migratePfnFlags', mpfn);
  return low6(mpfn);
}

/** True if every bit of `flag` (< 64) is set in `mpfn`. Model helper (`(mpfn & flag) == flag`). */
export function migratePfnHas(mpfn: number, flag: number): boolean {
  checkEntry('migratePfnHas', mpfn);
  checkFlag('migratePfnHas', flag);
  return (low6(mpfn) & flag) === flag;
}

/** `mpfn | flag` for flag bits below 64. Model helper. */
export function migratePfnSet(mpfn: number, flag: number): number {
  checkEntry('migratePfnSet', mpfn);
  checkFlag('migratePfnSet', flag);
  const low = low6(mpfn);
  return mpfn - low + (low | flag);
}

/** `mpfn & ~flag` for flag bits below 64. Model helper. */
export function migratePfnClear(mpfn: number, flag: number): number {
  checkEntry('migratePfnClear', mpfn);
  checkFlag('migratePfnClear', flag);
  const low = low6(mpfn);
  return mpfn - low + (low & ~flag);
}

/** Human-readable form of an entry ('pfn 0x1234 VALID|MIGRATE|LOCKED', 'MIGRATE', '0'). Model helper. */
export function formatMigratePfn(mpfn: number): string {
  checkEntry('formatMigratePfn', mpfn);
  const names: string[] = [];
  if (migratePfnHas(mpfn, MIGRATE_PFN_VALID)) names.push('VALID');
  if (migratePfnHas(mpfn, MIGRATE_PFN_MIGRATE)) names.push('MIGRATE');
  if (migratePfnHas(mpfn, MIGRATE_PFN_LOCKED)) names.push('LOCKED');
  if (migratePfnHas(mpfn, MIGRATE_PFN_WRITE)) names.push('WRITE');
  const page = migratePfnToPage(mpfn);
  const flags = names.length === 0 ? '0' : names.join('|');
  return page < 0 ? flags : `pfn 0x${page.toString(16)} ${flags}`;
}
