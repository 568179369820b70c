/**
 * freePgdRange: give back page tables left empty after unmapping.
 */
import {
  accessReporting,
  checkUlong,
  InvalidArgumentError,
  noteRead,
  PGDIR_SIZE,
  PMD_SIZE,
  PTRS_PER_PTE,
  PUD_SIZE,
  VADDR_LIMIT,
} from '@hmmsim/kernel';
import {
  type PageTables,
  PGD_LEVEL,
  PMD_LEVEL,
  PT_USED_INDEX,
  unlinkAndFreeTable,
} from './pgtable.ts';
import { _PAGE_PRESENT, _PAGE_PSE, _PAGE_SWP_ENTRY } from './pte.ts';

// Module-local copies for the per-entry loop (reads of imported bindings are not folded).
const PTRS = PTRS_PER_PTE;
const TABLE_TEST = _PAGE_PRESENT | _PAGE_PSE | _PAGE_SWP_ENTRY;
const PRESENT = _PAGE_PRESENT;

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
  const last = Math.min(PTRS - 1, Math.floor((end - 1 - base) / span));
  let freed = 0;
  const bits = pt.bits;
  for (let i = first; i <= last; i++) {
    const slot = table * PTRS + i;
    if (accessReporting) noteRead(pt, slot);
    if (((bits[slot] as number) & TABLE_TEST) !== PRESENT) continue; // not a table pointer
    const child = pt.val[slot] as number;
    const childBase = base + i * span;
    if (level > PMD_LEVEL) {
      const lo = Math.max(start, childBase);
      const hi = Math.min(end, childBase + span);
      freed += freeBelow(pt, child, level - 1, childBase, lo, hi);
    }
    if (accessReporting) noteRead(pt, PT_USED_INDEX + child);
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
  checkUlong('freePgdRange', 'start', start, 'an address');
  checkUlong('freePgdRange', 'end', end, 'an address');
  if (!(start <= end && end <= VADDR_LIMIT)) {
    throw new InvalidArgumentError(
      `freePgdRange: [${start}, ${end}) is not a range inside [0, 2^48); expected start <= end <= 2^48`,
    );
  }
  if (start === end) return 0;
  return freeBelow(pt, 0, PGD_LEVEL, 0, start, end);
}
