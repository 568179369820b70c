/**
 * Generic page-table walker: mechanism only, the policy lives in the ops (as in mm/pagewalk.c
 * with the v5.6 `walk->action` and hole `depth` extensions named by the contract).
 *
 * - With `vmas`, the range is cut at VMA boundaries: gaps without a VMA are reported once with
 *   pteHole(start, end, -1); each VMA piece goes through testWalk (default: skip VM_PFNMAP VMAs,
 *   reporting them as a hole with depth -1) and then the tables.
 * - Without `vmas`, the whole range walks the tables with `walk.vma` undefined (like
 *   walk_page_range_novma()).
 * - Empty entries above PTE level are reported by pteHole with the depth of the level: 1 for the
 *   top level (Linux folds the PGD into the P4D on 4-level x86, so its holes come at depth 1),
 *   2 PUD, 3 PMD. Empty PTEs are passed to pteEntry like any other PTE. As in Linux, a level is
 *   only descended when an op below it exists (ops with only pteHole see top-level holes only).
 * - pudEntry/pmdEntry see every non-empty entry (table, huge leaf or swap-format) and may set
 *   walk.action: 'again' re-reads the entry, 'continue' skips the level below. The walker cannot
 *   split huge entries: with a VMA, a leaf/swap-format PUD or PMD that would have to be descended
 *   (action 'subtree' and a lower-level op present) is a KernelBugError; without a VMA it is
 *   skipped, as Linux does.
 * The walk is synchronous and allocates one MmWalk object per call, nothing per entry. Ops must
 * not free tables of the range being walked. The walker reports a read of every PGD/PUD/PMD slot
 * it looks at (noteRead(pt, slot)); PTE slots are read by the ops, which report them.
 */
import {
  accessReporting,
  checkUlong,
  EINVAL,
  InvalidArgumentError,
  KernelBugError,
  noteRead,
  PAGE_SIZE,
  PGDIR_SIZE,
  PMD_SIZE,
  PTRS_PER_PTE,
  PUD_SIZE,
  pgdIndex,
  pmdIndex,
  pteIndex,
  pudIndex,
  ULONG_MAX,
  VADDR_LIMIT,
} from '@hmmsim/kernel';
import type { PageTables } from './pgtable.ts';
import { entryIsTable } from './pte.ts';

// Module-local copies of imported constants used per entry: loads of imported bindings are not
// constant-folded in hot loops (measured 2x slower walks under tsx).
const PAGE = PAGE_SIZE;
const PTRS = PTRS_PER_PTE;

/** vm_flags bit of raw-pfn mappings, skipped by the default test (include/linux/mm.h value). */
export const WALK_VM_PFNMAP = 0x400;

/** The VMA fields the walker needs. Mirrors the vm_start/vm_end/vm_flags of struct vm_area_struct. */
export interface WalkVma {
  readonly vmStart: number;
  readonly vmEnd: number;
  readonly vmFlags: number;
}

/** VMA lookup: the first VMA with vmEnd > addr, as find_vma(). */
export interface WalkVmas {
  /** The first VMA with vmEnd > addr, or undefined. */
  findVma(addr: number): WalkVma | undefined;
}

/** What the walker does after pudEntry/pmdEntry. Mirrors include/linux/pagewalk.h:enum page_walk_action. */
export type WalkAction = 'subtree' | 'continue' | 'again';

/** State passed to every op. Mirrors include/linux/pagewalk.h:struct mm_walk. */
export interface MmWalk<P> {
  readonly pt: PageTables;
  vma: WalkVma | undefined;
  private: P;
  action: WalkAction;
}

/** Callbacks; a non-zero return stops the walk and becomes its result. Mirrors include/linux/pagewalk.h:struct mm_walk_ops. */
export interface MmWalkOps<P> {
  /** A non-empty PUD at `slot` covering `[addr, next)`; set `walk.action` to skip or re-read. */
  pudEntry?(slot: number, addr: number, next: number, walk: MmWalk<P>): number;
  /** A non-empty PMD at `slot` covering `[addr, next)`; set `walk.action` to skip or re-read. */
  pmdEntry?(slot: number, addr: number, next: number, walk: MmWalk<P>): number;
  /** One PTE at `slot` for `[addr, next)` (called only when pmdEntry did not handle the table). */
  pteEntry?(slot: number, addr: number, next: number, walk: MmWalk<P>): number;
  /** `[addr, next)` is empty at `depth` (the level numbering of the module comment), or has no VMA (-1). */
  pteHole?(addr: number, next: number, depth: number, walk: MmWalk<P>): number;
  /** Decide for the VMA covering `[start, end)`: 0 walk it, 1 skip it, < 0 stop with that error. */
  testWalk?(start: number, end: number, walk: MmWalk<P>): number;
}

type Ops<P> = MmWalkOps<P>;

function hole<P>(ops: Ops<P>, walk: MmWalk<P>, addr: number, next: number, depth: number): number {
  return ops.pteHole === undefined ? 0 : ops.pteHole(addr, next, depth, walk);
}

/** Read walk.action after an op may have changed it (defeats TypeScript's narrowing). */
function actionOf<P>(walk: MmWalk<P>): WalkAction {
  return walk.action;
}

function cannotSplit(level: string, addr: number, bits: number): never {
  throw new KernelBugError(
    `walkPageRange: ${level} at 0x${addr.toString(16)} (bits 0x${bits.toString(16)}) is a huge leaf or swap entry; ` +
      `the ${level.toLowerCase()}Entry op must handle it (split it and set walk.action = 'again', or set 'continue')`,
  );
}

function walkPteRange<P>(
  ops: Ops<P>,
  walk: MmWalk<P>,
  table: number,
  addr: number,
  end: number,
): number {
  if (ops.pteEntry === undefined) return 0;
  const first = table * PTRS + pteIndex(addr);
  // At most 512 entries: an int32 bound keeps the loop integer.
  const last = first + (((end - addr) / PAGE) | 0);
  for (let slot = first; slot < last; slot++) {
    const next = addr + PAGE;
    // Called as a method (not through a saved reference) so that V8 can inline it.
    const err = ops.pteEntry(slot, addr, next, walk);
    if (err !== 0) return err;
    addr = next;
  }
  return 0;
}

/** One PMD entry: returns an error, or 0. */
function walkPmd<P>(
  ops: Ops<P>,
  walk: MmWalk<P>,
  slot: number,
  addr: number,
  next: number,
): number {
  const pt = walk.pt;
  for (;;) {
    if (accessReporting) noteRead(pt, slot);
    if (pt.bits[slot] === 0) return hole(ops, walk, addr, next, 3);
    walk.action = 'subtree';
    if (ops.pmdEntry !== undefined) {
      const err = ops.pmdEntry(slot, addr, next, walk);
      if (err !== 0) return err;
      if (actionOf(walk) === 'again') continue;
    }
    if (actionOf(walk) === 'continue' || ops.pteEntry === undefined) return 0;
    // Re-read in the same step (the ops are synchronous): already reported above.
    const b = pt.bits[slot] as number;
    if (entryIsTable(b)) return walkPteRange(ops, walk, pt.val[slot] as number, addr, next);
    if (b === 0) continue;
    if (walk.vma === undefined) return 0;
    cannotSplit('PMD', addr, b);
  }
}

function walkPmdRange<P>(
  ops: Ops<P>,
  walk: MmWalk<P>,
  table: number,
  addr: number,
  end: number,
): number {
  let slot = table * PTRS_PER_PTE + pmdIndex(addr);
  while (addr < end) {
    const next = Math.min((Math.floor(addr / PMD_SIZE) + 1) * PMD_SIZE, end);
    const err = walkPmd(ops, walk, slot, addr, next);
    if (err !== 0) return err;
    addr = next;
    slot++;
  }
  return 0;
}

/** One PUD entry: returns an error, or 0. */
function walkPud<P>(
  ops: Ops<P>,
  walk: MmWalk<P>,
  slot: number,
  addr: number,
  next: number,
): number {
  const pt = walk.pt;
  for (;;) {
    if (accessReporting) noteRead(pt, slot);
    if (pt.bits[slot] === 0) return hole(ops, walk, addr, next, 2);
    walk.action = 'subtree';
    if (ops.pudEntry !== undefined) {
      const err = ops.pudEntry(slot, addr, next, walk);
      if (err !== 0) return err;
      if (actionOf(walk) === 'again') continue;
    }
    if (
      actionOf(walk) === 'continue' ||
      (ops.pmdEntry === undefined && ops.pteEntry === undefined)
    ) {
      return 0;
    }
    // Re-read in the same step (the ops are synchronous): already reported above.
    const b = pt.bits[slot] as number;
    if (entryIsTable(b)) return walkPmdRange(ops, walk, pt.val[slot] as number, addr, next);
    if (b === 0) continue;
    if (walk.vma === undefined) return 0;
    cannotSplit('PUD', addr, b);
  }
}

function walkPudRange<P>(
  ops: Ops<P>,
  walk: MmWalk<P>,
  table: number,
  addr: number,
  end: number,
): number {
  let slot = table * PTRS_PER_PTE + pudIndex(addr);
  while (addr < end) {
    const next = Math.min((Math.floor(addr / PUD_SIZE) + 1) * PUD_SIZE, end);
    const err = walkPud(ops, walk, slot, addr, next);
    if (err !== 0) return err;
    addr = next;
    slot++;
  }
  return 0;
}

function walkPgdRange<P>(ops: Ops<P>, walk: MmWalk<P>, start: number, end: number): number {
  const pt = walk.pt;
  const tablesEnd = Math.min(end, VADDR_LIMIT);
  // As in Linux, populated top-level entries are descended only for ops that look below them.
  const descend =
    ops.pudEntry !== undefined || ops.pmdEntry !== undefined || ops.pteEntry !== undefined;
  let addr = start;
  while (addr < tablesEnd) {
    const next = Math.min((Math.floor(addr / PGDIR_SIZE) + 1) * PGDIR_SIZE, tablesEnd);
    const slot = pgdIndex(addr);
    if (accessReporting) noteRead(pt, slot);
    const err =
      pt.bits[slot] === 0
        ? hole(ops, walk, addr, next, 1)
        : descend
          ? walkPudRange(ops, walk, pt.val[slot] as number, addr, next)
          : 0;
    if (err !== 0) return err;
    addr = next;
  }
  // Nothing is mapped at or above 2^48: report it as one top-level hole.
  if (end > tablesEnd) return hole(ops, walk, Math.max(start, tablesEnd), end, 1);
  return 0;
}

function walkPageTest<P>(ops: Ops<P>, walk: MmWalk<P>, start: number, end: number): number {
  if (ops.testWalk !== undefined) return ops.testWalk(start, end, walk);
  const flags = (walk.vma as WalkVma).vmFlags;
  if (Math.floor(flags / WALK_VM_PFNMAP) % 2 === 1) {
    const err = hole(ops, walk, start, end, -1);
    return err !== 0 ? err : 1;
  }
  return 0;
}

const OP_NAMES = ['pudEntry', 'pmdEntry', 'pteEntry', 'pteHole', 'testWalk'] as const;

/** InvalidArgumentError unless the arguments of walkPageRange() are usable (nothing is walked yet). */
function checkWalkArgs<P>(
  pt: PageTables,
  start: number,
  end: number,
  ops: MmWalkOps<P>,
  vmas: WalkVmas | undefined,
): void {
  checkUlong('walkPageRange', 'start', start, 'an address');
  checkUlong('walkPageRange', 'end', end, 'an address');
  if (start % PAGE_SIZE !== 0 || (end % PAGE_SIZE !== 0 && end !== ULONG_MAX)) {
    throw new InvalidArgumentError(
      `walkPageRange: [${start}, ${end}) is not page aligned; expected page-aligned bounds (end may be ULONG_MAX)`,
    );
  }
  if (typeof pt !== 'object' || pt === null || !(pt.bits instanceof Uint32Array)) {
    throw new InvalidArgumentError(
      'walkPageRange: pt is not a PageTables; expected createPageTables()',
    );
  }
  if (typeof ops !== 'object' || ops === null) {
    throw new InvalidArgumentError(
      `walkPageRange: ops is ${ops === null ? 'null' : typeof ops}; expected an MmWalkOps object`,
    );
  }
  for (const name of OP_NAMES) {
    const op = ops[name];
    if (op !== undefined && typeof op !== 'function') {
      throw new InvalidArgumentError(
        `walkPageRange: ops.${name} is a ${typeof op}; expected a function or undefined`,
      );
    }
  }
  if (vmas !== undefined && typeof vmas?.findVma !== 'function') {
    throw new InvalidArgumentError(
      'walkPageRange: vmas has no findVma(); expected a WalkVmas (find_vma semantics) or undefined',
    );
  }
}

function walkVmas<P>(
  ops: Ops<P>,
  walk: MmWalk<P>,
  start: number,
  end: number,
  vmas: WalkVmas,
): number {
  let vma = vmas.findVma(start);
  while (start < end) {
    let next: number;
    let err: number;
    if (vma === undefined || start < vma.vmStart) {
      walk.vma = undefined;
      next = vma === undefined ? end : Math.min(end, vma.vmStart);
      err = hole(ops, walk, start, next, -1);
    } else {
      if (vma.vmEnd <= start) {
        throw new KernelBugError(
          `walkPageRange: findVma(0x${start.toString(16)}) returned a VMA ending at 0x${vma.vmEnd.toString(16)}; expected vmEnd > addr`,
        );
      }
      walk.vma = vma;
      next = Math.min(end, vma.vmEnd);
      vma = next < end ? vmas.findVma(vma.vmEnd) : undefined;
      err = walkPageTest(ops, walk, start, next);
      if (err > 0) err = 0;
      else if (err === 0) err = walkPgdRange(ops, walk, start, next);
    }
    if (err !== 0) return err;
    start = next;
  }
  return 0;
}

/**
 * Walk [start, end) of `pt`, calling `ops` (see the file comment); returns the first non-zero op
 * result, 0 when done, -EINVAL if start >= end. `vmas` restricts the walk to VMAs (find_vma()
 * semantics); without it every table in the range is walked. Mirrors mm/pagewalk.c:walk_page_range().
 */
export function walkPageRange<P>(
  pt: PageTables,
  start: number,
  end: number,
  ops: MmWalkOps<P>,
  priv: P,
  vmas?: WalkVmas,
): number {
  checkWalkArgs(pt, start, end, ops, vmas);
  if (start >= end) return -EINVAL;
  const walk: MmWalk<P> = { pt, vma: undefined, private: priv, action: 'subtree' };
  if (vmas === undefined) return walkPgdRange(ops, walk, start, end);
  return walkVmas(ops, walk, start, end, vmas);
}
