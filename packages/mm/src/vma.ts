/**
 * Virtual memory areas: flags, the per-mm sorted VMA array and its look-ups, split and merge.
 * Mirrors include/linux/mm.h (VM_* flags), include/linux/mm_types.h:struct vm_area_struct and
 * mm/mmap.c (find_vma, __split_vma, vma_merge).
 *
 * The VMA list is a plain array sorted by `vmStart` (binary search for look-ups) instead of the
 * kernel's rbtree + linked list; `vmNext`/`vmPrev` are computed from it.
 */
import {
  accessReporting,
  KernelBugError,
  noteRead,
  noteWrite,
  PAGE_SIZE,
  TASK_SIZE,
} from '@hmmsim/kernel';
import {
  PAGE_COPY,
  PAGE_COPY_EXEC,
  PAGE_NONE,
  PAGE_READONLY,
  PAGE_READONLY_EXEC,
  PAGE_SHARED,
  PAGE_SHARED_EXEC,
} from '@hmmsim/pagetable';
import { checkAddr, checkMm, checkSize, checkVma, checkWord } from './check-args.ts';
import type { MmFile } from './filemap.ts';
import { vmaAdjustTransHuge } from './huge-memory.ts';
import type { MmStruct } from './mm-struct.ts';
import type { AnonVma } from './rmap.ts';
import { anonVmaClone, unlinkAnonVmas } from './rmap.ts';
import {
  ADDRESS_SPACE_FIELD_I_MMAP,
  MM_FIELD_VMAS,
  VMA_FIELD_ANON_VMA_CHAIN,
} from './shared-access.ts';

/** Readable. Mirrors include/linux/mm.h:VM_READ. */
export const VM_READ = 0x1;
/** Writable. Mirrors include/linux/mm.h:VM_WRITE. */
export const VM_WRITE = 0x2;
/** Executable. Mirrors include/linux/mm.h:VM_EXEC. */
export const VM_EXEC = 0x4;
/** Shared (writes reach the object). Mirrors include/linux/mm.h:VM_SHARED. */
export const VM_SHARED = 0x8;
/** mprotect may add VM_READ. Mirrors include/linux/mm.h:VM_MAYREAD. */
export const VM_MAYREAD = 0x10;
/** mprotect may add VM_WRITE. Mirrors include/linux/mm.h:VM_MAYWRITE. */
export const VM_MAYWRITE = 0x20;
/** mprotect may add VM_EXEC. Mirrors include/linux/mm.h:VM_MAYEXEC. */
export const VM_MAYEXEC = 0x40;
/** Mapped MAP_SHARED (even when VM_SHARED was dropped). Mirrors include/linux/mm.h:VM_MAYSHARE. */
export const VM_MAYSHARE = 0x80;
/** Grows down (stack); not modelled beyond its flag. Mirrors include/linux/mm.h:VM_GROWSDOWN. */
export const VM_GROWSDOWN = 0x100;
/** Raw pfn mapping without struct pages. Mirrors include/linux/mm.h:VM_PFNMAP. */
export const VM_PFNMAP = 0x400;
/** mlocked. Mirrors include/linux/mm.h:VM_LOCKED. */
export const VM_LOCKED = 0x2000;
/** Memory-mapped I/O. Mirrors include/linux/mm.h:VM_IO. */
export const VM_IO = 0x4000;
/** Not copied on fork (MADV_DONTFORK). Mirrors include/linux/mm.h:VM_DONTCOPY. */
export const VM_DONTCOPY = 0x20000;
/** Cannot be expanded by mremap. Mirrors include/linux/mm.h:VM_DONTEXPAND. */
export const VM_DONTEXPAND = 0x40000;
/** Private writable mapping charged to overcommit. Mirrors include/linux/mm.h:VM_ACCOUNT. */
export const VM_ACCOUNT = 0x100000;
/** No swap reservation (MAP_NORESERVE). Mirrors include/linux/mm.h:VM_NORESERVE. */
export const VM_NORESERVE = 0x200000;
/** hugetlbfs mapping (never created by the model). Mirrors include/linux/mm.h:VM_HUGETLB. */
export const VM_HUGETLB = 0x400000;
/** Not in core dumps. Mirrors include/linux/mm.h:VM_DONTDUMP. */
export const VM_DONTDUMP = 0x4000000;
/** Soft-dirty tracking disabled for the vma. Mirrors include/linux/mm.h:VM_SOFTDIRTY. */
export const VM_SOFTDIRTY = 0x8000000;
/** Mixed pfn / page mapping. Mirrors include/linux/mm.h:VM_MIXEDMAP. */
export const VM_MIXEDMAP = 0x10000000;
/** MADV_HUGEPAGE. Mirrors include/linux/mm.h:VM_HUGEPAGE. */
export const VM_HUGEPAGE = 0x20000000;
/** MADV_NOHUGEPAGE. Mirrors include/linux/mm.h:VM_NOHUGEPAGE. */
export const VM_NOHUGEPAGE = 0x40000000;

/** Flags of a special mapping that page faults / GUP / hmm must not treat as normal memory. */
export const VM_SPECIAL = VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP;

// Elements of a VmArea in access reports (noteRead/noteWrite(vma, element)), one per mutable
// field: VMA_START 0, VMA_END 1, VMA_FLAGS 2, VMA_PGOFF 3, VMA_FILE 4, VMA_ANON_VMA 5,
// VMA_FIELD_ANON_VMA_CHAIN 6 (shared-access.ts), VMA_PAGE_PROT 7, VMA_LINKED 8. The accessors
// write them as literals, the name in a comment: a module constant costs each use a check of its
// temporal dead zone, two bytes of bytecode that put a guarded getter over the 27 bytes V8
// inlines whatever its budget (measured: 2.3 % of the bare fault path's instructions).

/**
 * One mapping `[vmStart, vmEnd)`. `vmPgoff` is in pages; for private anonymous memory it is
 * `vmStart / PAGE_SIZE` at creation. `anonVma` is the vma's own anon_vma (null until the first
 * anonymous page); `anonVmaChain` lists every anon_vma this vma is linked into (its own and its
 * ancestors' after fork). Mirrors include/linux/mm_types.h:struct vm_area_struct.
 *
 * The mutable fields are accessors that report every read and write to the explorer's
 * partial-order reduction, each field as its own element of the vma (`noteRead(vma, field)`).
 */
export class VmArea {
  private _vmStart: number;
  private _vmEnd: number;
  private _vmFlags: number;
  private _vmPgoff: number;
  private _vmFile: MmFile | null;
  private _anonVma: AnonVma | null = null;
  private readonly _anonVmaChain: AnonVma[] = [];
  readonly vmMm: MmStruct;
  private _vmPageProt = 0;
  private _linked = false;

  constructor(
    mm: MmStruct,
    start: number,
    end: number,
    flags: number,
    pgoff: number,
    file: MmFile | null,
  ) {
    this.vmMm = mm;
    this._vmStart = start;
    this._vmEnd = end;
    this._vmFlags = flags;
    this._vmPgoff = pgoff;
    this._vmFile = file;
  }

  /** First address. Mirrors vm_area_struct.vm_start. */
  get vmStart(): number {
    if (accessReporting) noteRead(this, 0 /* VMA_START */);
    return this._vmStart;
  }
  set vmStart(v: number) {
    if (accessReporting) noteWrite(this, 0 /* VMA_START */);
    this._vmStart = v;
  }

  /** One past the last address. Mirrors vm_area_struct.vm_end. */
  get vmEnd(): number {
    if (accessReporting) noteRead(this, 1 /* VMA_END */);
    return this._vmEnd;
  }
  set vmEnd(v: number) {
    if (accessReporting) noteWrite(this, 1 /* VMA_END */);
    this._vmEnd = v;
  }

  /** VM_* flags. Mirrors vm_area_struct.vm_flags. */
  get vmFlags(): number {
    if (accessReporting) noteRead(this, 2 /* VMA_FLAGS */);
    return this._vmFlags;
  }
  set vmFlags(v: number) {
    if (accessReporting) noteWrite(this, 2 /* VMA_FLAGS */);
    this._vmFlags = v;
  }

  /** Offset of vmStart in the object, in pages. Mirrors vm_area_struct.vm_pgoff. */
  get vmPgoff(): number {
    if (accessReporting) noteRead(this, 3 /* VMA_PGOFF */);
    return this._vmPgoff;
  }
  set vmPgoff(v: number) {
    if (accessReporting) noteWrite(this, 3 /* VMA_PGOFF */);
    this._vmPgoff = v;
  }

  /** The mapped file, null for anonymous memory. Mirrors vm_area_struct.vm_file. */
  get vmFile(): MmFile | null {
    if (accessReporting) noteRead(this, 4 /* VMA_FILE */);
    return this._vmFile;
  }
  set vmFile(f: MmFile | null) {
    if (accessReporting) noteWrite(this, 4 /* VMA_FILE */);
    this._vmFile = f;
  }

  /** The vma's own anon_vma, null until the first anonymous page. Mirrors vm_area_struct.anon_vma. */
  get anonVma(): AnonVma | null {
    if (accessReporting) noteRead(this, 5 /* VMA_ANON_VMA */);
    return this._anonVma;
  }
  set anonVma(av: AnonVma | null) {
    if (accessReporting) noteWrite(this, 5 /* VMA_ANON_VMA */);
    this._anonVma = av;
  }

  /** Every anon_vma this vma is linked into (a reported read). Mirrors vm_area_struct.anon_vma_chain. */
  get anonVmaChain(): AnonVma[] {
    if (accessReporting) noteRead(this, VMA_FIELD_ANON_VMA_CHAIN);
    return this._anonVmaChain;
  }

  /** PTE bits derived from vmFlags (vm_page_prot); recomputed by vmaSetPageProt. */
  get vmPageProt(): number {
    if (accessReporting) noteRead(this, 7 /* VMA_PAGE_PROT */);
    return this._vmPageProt;
  }
  set vmPageProt(v: number) {
    if (accessReporting) noteWrite(this, 7 /* VMA_PAGE_PROT */);
    this._vmPageProt = v;
  }

  /** False once unlinked from the mm (munmap/exit/merge). */
  get linked(): boolean {
    if (accessReporting) noteRead(this, 8 /* VMA_LINKED */);
    return this._linked;
  }
  set linked(v: boolean) {
    if (accessReporting) noteWrite(this, 8 /* VMA_LINKED */);
    this._linked = v;
  }

  /** The next vma in address order, or undefined. Mirrors vm_area_struct.vm_next. */
  get vmNext(): VmArea | undefined {
    const i = vmaIndex(this.vmMm, this);
    return i < 0 ? undefined : this.vmMm.vmas[i + 1];
  }

  /** The previous vma in address order, or undefined. Mirrors vm_area_struct.vm_prev. */
  get vmPrev(): VmArea | undefined {
    const i = vmaIndex(this.vmMm, this);
    return i <= 0 ? undefined : this.vmMm.vmas[i - 1];
  }

  /** Number of pages. */
  get nrPages(): number {
    return (this.vmEnd - this.vmStart) / PAGE_SIZE;
  }
}

/** True for private anonymous memory and shared-anonymous-free vmas without a file. Mirrors include/linux/mm.h:vma_is_anonymous(). */
export function vmaIsAnonymous(vma: VmArea): boolean {
  return vma.vmFile === null;
}

/** Writable private mapping (COW on fork). Mirrors include/linux/mm.h:is_cow_mapping(). */
export function isCowMapping(flags: number): boolean {
  checkWord('isCowMapping', 'flags', flags);
  return (flags & (VM_SHARED | VM_MAYWRITE)) === VM_MAYWRITE;
}

/** Page offset of `addr` in the vma's object. Mirrors include/linux/pagemap.h:linear_page_index(). */
export function linearPageIndex(vma: VmArea, addr: number): number {
  checkAddr('linearPageIndex', 'addr', addr);
  return (addr - vma.vmStart) / PAGE_SIZE + vma.vmPgoff;
}

/** User address of object page `pgoff` in `vma` (may fall outside it). Mirrors mm/internal.h:__vma_address(). */
export function vmaAddress(vma: VmArea, pgoff: number): number {
  checkSize('vmaAddress', 'pgoff', pgoff);
  return vma.vmStart + (pgoff - vma.vmPgoff) * PAGE_SIZE;
}

/** Index of `vma` in `mm.vmas`, -1 if not linked. Model helper (the kernel walks vm_next). */
export function vmaIndex(mm: MmStruct, vma: VmArea): number {
  const i = lowerBound(mm, vma.vmStart);
  return mm.vmas[i] === vma ? i : -1;
}

/** First index whose vma ends above `addr`. */
function lowerBound(mm: MmStruct, addr: number): number {
  const v = mm.vmas;
  let lo = 0;
  let hi = v.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (v[mid]!.vmEnd <= addr) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First vma with `vmEnd > addr` (it may start above addr), or undefined. Mirrors mm/mmap.c:find_vma(). */
export function findVma(mm: MmStruct, addr: number): VmArea | undefined {
  checkAddr('findVma', 'addr', addr);
  return mm.vmas[lowerBound(mm, addr)];
}

/** The vma containing `addr`, or undefined. Mirrors include/linux/mm.h:find_vma() + vm_start check (vma_lookup). */
export function findVmaContaining(mm: MmStruct, addr: number): VmArea | undefined {
  checkAddr('findVmaContaining', 'addr', addr);
  const vma = findVma(mm, addr);
  return vma !== undefined && vma.vmStart <= addr ? vma : undefined;
}

/** First vma intersecting `[start, end)`, or undefined. Mirrors include/linux/mm.h:find_vma_intersection(). */
export function findVmaIntersection(mm: MmStruct, start: number, end: number): VmArea | undefined {
  checkAddr('findVmaIntersection', 'start', start);
  checkAddr('findVmaIntersection', 'end', end);
  const vma = findVma(mm, start);
  return vma !== undefined && vma.vmStart < end ? vma : undefined;
}

/** find_vma plus the vma before it. Mirrors mm/mmap.c:find_vma_prev(). */
export function findVmaPrev(
  mm: MmStruct,
  addr: number,
): { vma: VmArea | undefined; prev: VmArea | undefined } {
  checkAddr('findVmaPrev', 'addr', addr);
  const i = lowerBound(mm, addr);
  return { vma: mm.vmas[i], prev: i > 0 ? mm.vmas[i - 1] : undefined };
}

/**
 * Insert `vma` into the sorted list; throws KernelBugError on overlap.
 * Mirrors mm/mmap.c:vma_link() (+ __vma_link_file / anon_vma interval insertion done by callers).
 */
export function vmaLink(mm: MmStruct, vma: VmArea): void {
  checkMm('vma_link', mm);
  checkVma('vma_link', vma);
  if (vma.vmMm !== mm || vma.linked || mm.exited) {
    throw new KernelBugError(
      `vma_link: the vma of mm${vma.vmMm.id} (linked: ${vma.linked}) linked into mm${mm.id}${mm.exited ? ', which has exited' : ''}; expected an unlinked vma of this live mm`,
    );
  }
  const { vmStart, vmEnd } = vma;
  if (
    !Number.isSafeInteger(vmStart) ||
    !Number.isSafeInteger(vmEnd) ||
    vmStart % PAGE_SIZE !== 0 ||
    vmEnd % PAGE_SIZE !== 0 ||
    vmStart < 0 ||
    vmStart >= vmEnd ||
    vmEnd > TASK_SIZE
  ) {
    throw new KernelBugError(
      `vma_link: [${vmStart}, ${vmEnd}) is not a page-aligned, non-empty range below TASK_SIZE; expected one`,
    );
  }
  const i = lowerBound(mm, vma.vmStart);
  const next = mm.vmas[i];
  if (next !== undefined && next.vmStart < vma.vmEnd) {
    throw new KernelBugError(
      `vma_link: [0x${vma.vmStart.toString(16)}, 0x${vma.vmEnd.toString(16)}) overlaps [0x${next.vmStart.toString(16)}, 0x${next.vmEnd.toString(16)}); expected a free range`,
    );
  }
  if (accessReporting) noteWrite(mm, MM_FIELD_VMAS);
  mm.vmas.splice(i, 0, vma);
  vma.linked = true;
  const mapping = vma.vmFile?.inode.mapping;
  if (mapping !== undefined) {
    if (accessReporting) noteWrite(mapping, ADDRESS_SPACE_FIELD_I_MMAP);
    mapping.iMmap.add(vma);
  }
}

/** Remove `vma` from the sorted list (no page-table work). Mirrors mm/mmap.c:__vma_unlink_common(). */
export function vmaUnlinkList(mm: MmStruct, vma: VmArea): void {
  const i = vmaIndex(mm, vma);
  if (i < 0)
    throw new KernelBugError('vma_unlink: vma is not linked into its mm; expected a linked vma');
  if (accessReporting) noteWrite(mm, MM_FIELD_VMAS);
  mm.vmas.splice(i, 1);
  vma.linked = false;
  const mapping = vma.vmFile?.inode.mapping;
  if (mapping !== undefined) {
    if (accessReporting) noteWrite(mapping, ADDRESS_SPACE_FIELD_I_MMAP);
    mapping.iMmap.delete(vma);
  }
}

/** Dump the layout as `[start, end) flags pgoff` tuples (tests and snapshots). Model helper. */
export function vmaSnapshot(
  mm: MmStruct,
): { start: number; end: number; flags: number; pgoff: number; file: number }[] {
  return mm.vmas.map((v) => ({
    start: v.vmStart,
    end: v.vmEnd,
    flags: v.vmFlags,
    pgoff: v.vmPgoff,
    file: v.vmFile?.inode.id ?? 0,
  }));
}

/** x86 protection_map: private (__P000..__P111) then shared (__S000..__S111). */
const PROTECTION_MAP = [
  PAGE_NONE,
  PAGE_READONLY,
  PAGE_COPY,
  PAGE_COPY,
  PAGE_READONLY_EXEC,
  PAGE_READONLY_EXEC,
  PAGE_COPY_EXEC,
  PAGE_COPY_EXEC,
  PAGE_NONE,
  PAGE_READONLY,
  PAGE_SHARED,
  PAGE_SHARED,
  PAGE_READONLY_EXEC,
  PAGE_READONLY_EXEC,
  PAGE_SHARED_EXEC,
  PAGE_SHARED_EXEC,
] as const;

/** PTE protection bits for `flags` (private mappings never get _PAGE_RW here). Mirrors mm/mmap.c:vm_get_page_prot(). */
export function vmGetPageProt(flags: number): number {
  checkWord('vmGetPageProt', 'flags', flags);
  return PROTECTION_MAP[flags & (VM_READ | VM_WRITE | VM_EXEC | VM_SHARED)] as number;
}

/** Recompute vm_page_prot from vm_flags. Mirrors mm/mmap.c:vma_set_page_prot(). */
export function vmaSetPageProt(vma: VmArea): void {
  vma.vmPageProt = vmGetPageProt(vma.vmFlags);
}

/**
 * Split `vma` at `addr` (page aligned, strictly inside): the new vma takes the lower part when
 * `newBelow`, else the upper part. Huge PMDs straddling `addr` are split first (CLEAR bracket).
 * Returns the new vma. Caller holds mmap_sem for write. Mirrors mm/mmap.c:__split_vma().
 */
export async function splitVma(
  mm: MmStruct,
  vma: VmArea,
  addr: number,
  newBelow: boolean,
): Promise<VmArea> {
  checkMm('__split_vma', mm);
  checkVma('__split_vma', vma);
  checkAddr('__split_vma', 'addr', addr);
  if (vma.vmMm !== mm || !vma.linked) {
    throw new KernelBugError(
      `__split_vma: the vma is not linked into mm${mm.id}; expected a vma of this mm`,
    );
  }
  if (addr <= vma.vmStart || addr >= vma.vmEnd || addr % PAGE_SIZE !== 0) {
    throw new KernelBugError(
      `__split_vma: 0x${addr.toString(16)} is not a page boundary strictly inside [0x${vma.vmStart.toString(16)}, 0x${vma.vmEnd.toString(16)})`,
    );
  }
  const delta = (addr - vma.vmStart) / PAGE_SIZE;
  const fresh = newBelow
    ? new VmArea(mm, vma.vmStart, addr, vma.vmFlags, vma.vmPgoff, vma.vmFile)
    : new VmArea(mm, addr, vma.vmEnd, vma.vmFlags, vma.vmPgoff + delta, vma.vmFile);
  fresh.vmPageProt = vma.vmPageProt;
  await vmaAdjustTransHuge(vma, newBelow ? addr : vma.vmStart, newBelow ? vma.vmEnd : addr, 0);
  fresh.anonVma = vma.anonVma;
  anonVmaClone(fresh, vma);
  if (newBelow) {
    vma.vmStart = addr;
    vma.vmPgoff += delta;
  } else {
    vma.vmEnd = addr;
  }
  vmaLink(mm, fresh);
  return fresh;
}

/**
 * The list_is_singular() rule: a side without an anon_vma merges only if `existing` (the vma
 * merged into, null for the prev/next check of a three-way merge) has exactly one anon_vma_chain
 * entry; otherwise both anon_vmas must be the same. Mirrors mm/mmap.c:is_mergeable_anon_vma().
 */
function isMergeableAnonVma(
  a: AnonVma | null,
  b: AnonVma | null,
  existing: VmArea | null,
): boolean {
  if ((a === null || b === null) && (existing === null || existing.anonVmaChain.length === 1)) {
    return true;
  }
  return a === b;
}

/** Same flags (ignoring VM_SOFTDIRTY), same file, not special. Mirrors mm/mmap.c:is_mergeable_vma(). */
function isMergeableVma(existing: VmArea, vma: VmArea): boolean {
  if (((existing.vmFlags ^ vma.vmFlags) & ~VM_SOFTDIRTY) !== 0) return false;
  if ((vma.vmFlags & VM_SPECIAL) !== 0) return false;
  return existing.vmFile === vma.vmFile;
}

/**
 * `vma` can join `existing`, its neighbour below or above: adjacent, same flags and file,
 * contiguous offsets, and the anon_vma rule checked against `existing`.
 * Mirrors mm/mmap.c:can_vma_merge_after() (existing below) and can_vma_merge_before() (above).
 */
function canVmaMergeInto(existing: VmArea, vma: VmArea): boolean {
  const below = existing.vmStart < vma.vmStart;
  const lower = below ? existing : vma;
  const upper = below ? vma : existing;
  return (
    lower.vmEnd === upper.vmStart &&
    isMergeableVma(existing, vma) &&
    isMergeableAnonVma(vma.anonVma, existing.anonVma, existing) &&
    lower.vmPgoff + lower.nrPages === upper.vmPgoff
  );
}

/**
 * True if `a` (below) and `b` (above, adjacent) could be one vma, merging either way: same flags
 * (ignoring VM_SOFTDIRTY), same file, contiguous offsets, compatible anon_vmas (the side without
 * one joins only a side whose anon_vma_chain is singular), not special.
 * Mirrors mm/mmap.c:is_mergeable_vma() + can_vma_merge_before()/after().
 */
export function vmasMergeable(a: VmArea, b: VmArea): boolean {
  return canVmaMergeInto(a, b) || canVmaMergeInto(b, a);
}

/**
 * Merge `vma` with its neighbours where compatible and return the surviving vma (the lower one
 * absorbs the upper one; an anon_vma is imported when only one side has it). As in Linux, prev is
 * tried first (and next with it when prev's and next's anon_vmas are compatible), then next.
 * Caller holds mmap_sem for write. Model of mm/mmap.c:vma_merge() applied after the caller shaped
 * the vma (the model splits first and merges after; vma_merge's eight cases give the same layout
 * and the same huge-PMD splits).
 */
export function vmaMerge(mm: MmStruct, vma: VmArea): VmArea {
  checkMm('vma_merge', mm);
  checkVma('vma_merge', vma);
  if (vma.vmMm !== mm || !vma.linked) {
    throw new KernelBugError(
      `vma_merge: the vma is not linked into mm${mm.id}; expected one that is`,
    );
  }
  if ((vma.vmFlags & VM_SPECIAL) !== 0) return vma;
  const prev = vma.vmPrev;
  const next = vma.vmNext;
  if (prev !== undefined && canVmaMergeInto(prev, vma)) {
    const withNext =
      next !== undefined &&
      canVmaMergeInto(next, vma) &&
      isMergeableAnonVma(prev.anonVma, next.anonVma, null);
    absorb(mm, prev, vma);
    if (withNext) absorb(mm, prev, next);
    return prev;
  }
  if (next !== undefined && canVmaMergeInto(next, vma)) absorb(mm, vma, next);
  return vma;
}

function absorb(mm: MmStruct, lower: VmArea, upper: VmArea): void {
  if (lower.anonVma === null && upper.anonVma !== null) {
    lower.anonVma = upper.anonVma;
    anonVmaClone(lower, upper);
  }
  vmaUnlinkList(mm, upper);
  unlinkAnonVmas(upper);
  lower.vmEnd = upper.vmEnd;
}
