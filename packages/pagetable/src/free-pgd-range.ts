/**
 * freePgdRange: give back page tables left empty after unmapping.
 */
import {
  InvalidArgumentError,
  PGDIR_SIZE,
  PMD_SIZE,
  PTRS_PER_PTE,
  PUD_SIZE,
  VADDR_LIMIT,
} from '@hmmsim/kernel';
import { type PageTables, PGD_LEVEL, PMD_LEVEL, unlinkAndFreeTable } from './pgtable.ts';
import { entryIsTable } from './pte.ts';

function spanOf(level: number): number {
  return level === PGD_LEVEL ? PGDIR_SIZE : level === PMD_LEVEL ? PMD_SIZE : PUD_SIZE;
}

/** Free empty tables below `table` (covering [base, ...)) that intersect [start, end); returns how many. */
function freeBelow(
  pt: PageTables,
  table: number,
  level: number,
  base: number,
  start: number,
  end: number,
): number {
  const span = spanOf(level);
  const first = Math.floor((start - base) / span);
  const last = Math.min(PTRS_PER_PTE - 1, Math.floor((end - 1 - base) / span));
  let freed = 0;
  for (let i = first; i <= last; i++) {
    const slot = table * PTRS_PER_PTE + i;
    if (!entryIsTable(pt.bits[slot] as number)) continue;
    const child = pt.val[slot] as number;
    const childBase = base + i * span;
    if (level > PMD_LEVEL) {
      const lo = Math.max(start, childBase);
      const hi = Math.min(end, childBase + span);
      freed += freeBelow(pt, child, level - 1, childBase, lo, hi);
    }
    if (pt.used[child] === 0) {
      unlinkAndFreeTable(pt, slot);
      freed++;
    }
  }
  return freed;
}

/**
 * Free every PUD/PMD/PTE table that is empty and covers part of [start, end); the PGD stays.
 * Non-empty tables are kept, so this is safe after a partial unmap. Returns the number of tables
 * freed. Mirrors mm/memory.c:free_pgd_range() (the emptiness test replaces its floor/ceiling).
 */
export function freePgdRange(pt: PageTables, start: number, end: number): number {
  if (!(start >= 0 && start <= end && end <= VADDR_LIMIT)) {
    throw new InvalidArgumentError(
      `freePgdRange: [${start}, ${end}) is not a range inside [0, 2^48)`,
    );
  }
  if (start === end) return 0;
  return freeBelow(pt, 0, PGD_LEVEL, 0, start, end);
}
