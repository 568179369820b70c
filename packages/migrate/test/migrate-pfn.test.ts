import { MAX_PFN_LIMIT } from '@hmmsim/pagetable';
import { describe, expect, it } from 'vitest';
import {
  formatMigratePfn,
  MIGRATE_PFN_LOCKED,
  MIGRATE_PFN_MIGRATE,
  MIGRATE_PFN_SHIFT,
  MIGRATE_PFN_VALID,
  MIGRATE_PFN_WRITE,
  migratePfn,
  migratePfnClear,
  migratePfnFlags,
  migratePfnHas,
  migratePfnSet,
  migratePfnToPage,
} from '../src/index.ts';

describe('MIGRATE_PFN_* encoding (v5.4)', () => {
  it('is pfn << 6 | VALID, with flags in the low bits', () => {
    expect(MIGRATE_PFN_SHIFT).toBe(6);
    expect(migratePfn(0x1234)).toBe(0x1234 * 64 + 1);
    const e = migratePfn(5) + MIGRATE_PFN_MIGRATE + MIGRATE_PFN_WRITE;
    expect(migratePfnToPage(e)).toBe(5);
    expect(migratePfnFlags(e)).toBe(MIGRATE_PFN_VALID | MIGRATE_PFN_MIGRATE | MIGRATE_PFN_WRITE);
    expect(migratePfnToPage(MIGRATE_PFN_MIGRATE)).toBe(-1);
    expect(formatMigratePfn(e)).toBe('pfn 0x5 VALID|MIGRATE|WRITE');
    expect(formatMigratePfn(0)).toBe('0');
  });

  it('stays exact above 2^31 (no bitwise operators on the entry)', () => {
    const pfn = MAX_PFN_LIMIT - 1; // the largest pfn of the model: entry ~ 2^38
    const e = migratePfnSet(migratePfn(pfn), MIGRATE_PFN_LOCKED | MIGRATE_PFN_MIGRATE);
    expect(migratePfnToPage(e)).toBe(pfn);
    expect(migratePfnHas(e, MIGRATE_PFN_LOCKED)).toBe(true);
    const c = migratePfnClear(e, MIGRATE_PFN_MIGRATE);
    expect(migratePfnHas(c, MIGRATE_PFN_MIGRATE)).toBe(false);
    expect(migratePfnToPage(c)).toBe(pfn);
    expect(Number.isSafeInteger(migratePfn(2 ** 47 - 1))).toBe(true);
  });
});
