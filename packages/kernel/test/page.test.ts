import { describe, expect, it } from 'vitest';
import {
  HPAGE_PMD_NR,
  HPAGE_PMD_ORDER,
  PAGE_SIZE,
  PGDIR_SIZE,
  PMD_SIZE,
  PTRS_PER_PTE,
  PUD_SIZE,
  pageAlignDown,
  pageAligned,
  pageAlignUp,
  pfnOf,
  pfnToAddr,
  pgdIndex,
  pmdAlignDown,
  pmdAlignUp,
  pmdIndex,
  pteIndex,
  pudIndex,
  TASK_SIZE,
  ULONG_MAX,
} from '../src/index.ts';

// An address above 2^32 whose low bits are all set: bitwise code would get it wrong.
const HIGH = 2 ** 47 - 1;

describe('page constants', () => {
  it('match x86-64 4-level paging', () => {
    expect(PAGE_SIZE).toBe(4096);
    expect(PMD_SIZE).toBe(2 * 1024 * 1024);
    expect(PUD_SIZE).toBe(2 ** 30);
    expect(PGDIR_SIZE).toBe(2 ** 39);
    expect(PTRS_PER_PTE).toBe(512);
    expect(HPAGE_PMD_ORDER).toBe(9);
    expect(HPAGE_PMD_NR).toBe(512);
    expect(TASK_SIZE).toBe(0x7ffffffff000);
    expect(ULONG_MAX).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe('page helpers are 48-bit safe', () => {
  it('align pages', () => {
    expect(pageAlignDown(HIGH)).toBe(2 ** 47 - PAGE_SIZE);
    expect(pageAlignUp(2 ** 40 + 1)).toBe(2 ** 40 + PAGE_SIZE);
    expect(pageAlignUp(2 ** 40)).toBe(2 ** 40);
    expect(pageAlignDown(0)).toBe(0);
    expect(pageAligned(2 ** 45 + PAGE_SIZE)).toBe(true);
    expect(pageAligned(2 ** 45 + 8)).toBe(false);
  });

  it('align PMDs', () => {
    expect(pmdAlignDown(HIGH)).toBe(2 ** 47 - PMD_SIZE);
    expect(pmdAlignUp(2 ** 44 + 1)).toBe(2 ** 44 + PMD_SIZE);
    expect(pmdAlignUp(2 ** 44)).toBe(2 ** 44);
  });

  it('convert pfns', () => {
    expect(pfnOf(HIGH)).toBe(2 ** 35 - 1);
    expect(pfnToAddr(2 ** 35 - 1)).toBe(2 ** 47 - PAGE_SIZE);
    expect(pfnOf(4095)).toBe(0);
    expect(pfnToAddr(pfnOf(0x123456789000))).toBe(0x123456789000);
  });

  it('index every level', () => {
    expect([pgdIndex(HIGH), pudIndex(HIGH), pmdIndex(HIGH), pteIndex(HIGH)]).toEqual([
      255, 511, 511, 511,
    ]);
    const a = 3 * PGDIR_SIZE + 5 * PUD_SIZE + 7 * PMD_SIZE + 9 * PAGE_SIZE + 123;
    expect([pgdIndex(a), pudIndex(a), pmdIndex(a), pteIndex(a)]).toEqual([3, 5, 7, 9]);
  });
});
