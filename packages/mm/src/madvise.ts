/**
 * madvise(2) for the advices the model implements: MADV_DONTNEED (zap in a CLEAR bracket),
 * MADV_HUGEPAGE / MADV_NOHUGEPAGE, MADV_DONTFORK / MADV_DOFORK, MADV_NORMAL / RANDOM /
 * SEQUENTIAL (flags only), MADV_WILLNEED (no-op) and MADV_PAGEOUT (reclaim). Other advices return
 * -EINVAL. As in Linux, holes inside the range are skipped and reported as -ENOMEM at the end,
 * after the mapped parts were advised. Mirrors mm/madvise.c.
 */
import {
  checkIntIn,
  downRead,
  downWrite,
  EINVAL,
  ENOMEM,
  PAGE_SIZE,
  pageAlignUp,
  ULONG_MAX,
  upRead,
  upWrite,
} from '@hmmsim/kernel';
import { checkAddr, checkLiveMm, checkSize } from './check-args.ts';
import { zapPageRange } from './memory.ts';
import type { MmStruct } from './mm-struct.ts';
import {
  findVma,
  findVmaPrev,
  splitVma,
  VM_DONTCOPY,
  VM_HUGEPAGE,
  VM_HUGETLB,
  VM_IO,
  VM_LOCKED,
  VM_NOHUGEPAGE,
  VM_PFNMAP,
  type VmArea,
  vmaMerge,
} from './vma.ts';
import { pageoutRange } from './vmscan.ts';

/** No special treatment. Mirrors include/uapi/asm-generic/mman-common.h:MADV_NORMAL. */
export const MADV_NORMAL = 0;
/** Expect random access. Mirrors MADV_RANDOM. */
export const MADV_RANDOM = 1;
/** Expect sequential access. Mirrors MADV_SEQUENTIAL. */
export const MADV_SEQUENTIAL = 2;
/** Will need these pages. Mirrors MADV_WILLNEED. */
export const MADV_WILLNEED = 3;
/** Drop the pages now (private anon reads back zeros). Mirrors MADV_DONTNEED. */
export const MADV_DONTNEED = 4;
/** Do not copy on fork. Mirrors MADV_DONTFORK. */
export const MADV_DONTFORK = 10;
/** Copy on fork again. Mirrors MADV_DOFORK. */
export const MADV_DOFORK = 11;
/** Worth backing with THPs. Mirrors MADV_HUGEPAGE. */
export const MADV_HUGEPAGE = 14;
/** Not worth backing with THPs. Mirrors MADV_NOHUGEPAGE. */
export const MADV_NOHUGEPAGE = 15;
/** Reclaim these pages now. Mirrors MADV_PAGEOUT (new in v5.4). */
export const MADV_PAGEOUT = 21;

/** VM_RAND_READ. Mirrors include/linux/mm.h:VM_RAND_READ. */
export const VM_RAND_READ = 0x10000;
/** VM_SEQ_READ. Mirrors include/linux/mm.h:VM_SEQ_READ. */
export const VM_SEQ_READ = 0x8000;

const SUPPORTED = new Set([
  MADV_NORMAL,
  MADV_RANDOM,
  MADV_SEQUENTIAL,
  MADV_WILLNEED,
  MADV_DONTNEED,
  MADV_DONTFORK,
  MADV_DOFORK,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  MADV_PAGEOUT,
]);

/** True if the advice only needs mmap_sem for read. Mirrors mm/madvise.c:madvise_need_mmap_write() (negated). */
function readLocked(behavior: number): boolean {
  return behavior === MADV_DONTNEED || behavior === MADV_WILLNEED || behavior === MADV_PAGEOUT;
}

async function madviseBehavior(
  mm: MmStruct,
  vma: VmArea,
  start: number,
  end: number,
  behavior: number,
): Promise<{ err: number; prev: VmArea }> {
  let nf = vma.vmFlags;
  switch (behavior) {
    case MADV_NORMAL:
      nf &= ~(VM_RAND_READ | VM_SEQ_READ);
      break;
    case MADV_SEQUENTIAL:
      nf = (nf & ~VM_RAND_READ) | VM_SEQ_READ;
      break;
    case MADV_RANDOM:
      nf = (nf & ~VM_SEQ_READ) | VM_RAND_READ;
      break;
    case MADV_DONTFORK:
      nf |= VM_DONTCOPY;
      break;
    case MADV_DOFORK:
      if ((vma.vmFlags & VM_IO) !== 0) return { err: -EINVAL, prev: vma };
      nf &= ~VM_DONTCOPY;
      break;
    case MADV_HUGEPAGE:
      nf = (nf & ~VM_NOHUGEPAGE) | VM_HUGEPAGE;
      break;
    case MADV_NOHUGEPAGE:
      nf = (nf & ~VM_HUGEPAGE) | VM_NOHUGEPAGE;
      break;
  }
  if (nf === vma.vmFlags) return { err: 0, prev: vma };
  if (start !== vma.vmStart) await splitVma(mm, vma, start, true);
  if (end !== vma.vmEnd) await splitVma(mm, vma, end, false);
  vma.vmFlags = nf;
  return { err: 0, prev: vmaMerge(mm, vma) };
}

/** True if the LRU-based advices may touch `vma` (not mlocked, hugetlb or raw pfns). Mirrors mm/madvise.c:can_madv_lru_vma(). */
function canMadvLruVma(vma: VmArea): boolean {
  return (vma.vmFlags & (VM_LOCKED | VM_HUGETLB | VM_PFNMAP)) === 0;
}

async function madviseVma(
  mm: MmStruct,
  vma: VmArea,
  start: number,
  end: number,
  behavior: number,
): Promise<{ err: number; prev: VmArea }> {
  if (behavior === MADV_DONTNEED || behavior === MADV_PAGEOUT) {
    if (!canMadvLruVma(vma)) return { err: -EINVAL, prev: vma };
    if (behavior === MADV_DONTNEED) await zapPageRange(vma, start, end - start);
    else await pageoutRange(vma, start, end);
    return { err: 0, prev: vma };
  }
  if (behavior === MADV_WILLNEED) return { err: 0, prev: vma };
  return madviseBehavior(mm, vma, start, end, behavior);
}

/**
 * Advise on `[start, start + len)`. Returns 0, -EINVAL (unknown/unmodelled advice, unaligned
 * start, DONTNEED on VM_LOCKED/VM_PFNMAP) or -ENOMEM (the range has holes; mapped parts were
 * still advised). Takes mmap_sem for read (DONTNEED, WILLNEED, PAGEOUT) or write. `start` and
 * `len` are C unsigned longs and `behavior` an int (InvalidArgumentError otherwise);
 * KernelBugError on an exited mm. Mirrors mm/madvise.c:do_madvise().
 */
export async function madvise(
  mm: MmStruct,
  start: number,
  lenIn: number,
  behavior: number,
): Promise<number> {
  checkLiveMm('madvise', mm);
  checkAddr('madvise', 'start', start);
  checkSize('madvise', 'len', lenIn);
  checkIntIn('madvise', 'behavior', behavior, -(2 ** 31), 2 ** 31 - 1, 'an advice (a C int)');
  if (!SUPPORTED.has(behavior)) return -EINVAL;
  if (start % PAGE_SIZE !== 0) return -EINVAL;
  // PAGE_ALIGN(len_in) wrapping to 0, or start + len wrapping: -EINVAL in the kernel.
  if (lenIn > ULONG_MAX - PAGE_SIZE + 1) return -EINVAL;
  const len = pageAlignUp(lenIn);
  if (start + len > ULONG_MAX) return -EINVAL;
  const end = start + len;
  if (end === start) return 0;
  const read = readLocked(behavior);
  if (read) await downRead(mm.mmapSem);
  else await downWrite(mm.mmapSem);
  try {
    let { vma, prev } = findVmaPrev(mm, start);
    if (vma !== undefined && start > vma.vmStart) prev = vma;
    let unmappedError = 0;
    for (;;) {
      if (vma === undefined) return -ENOMEM;
      if (start < vma.vmStart) {
        unmappedError = -ENOMEM;
        start = vma.vmStart;
        if (start >= end) return -ENOMEM;
      }
      const tmp = Math.min(vma.vmEnd, end);
      const r = await madviseVma(mm, vma, start, tmp, behavior);
      if (r.err !== 0) return r.err;
      prev = r.prev;
      start = tmp;
      if (start < prev.vmEnd) start = prev.vmEnd;
      if (start >= end) return unmappedError;
      vma = prev.vmNext ?? findVma(mm, start);
      if (vma !== undefined && vma.vmEnd <= start) vma = findVma(mm, start);
    }
  } finally {
    if (read) upRead(mm.mmapSem);
    else upWrite(mm.mmapSem);
  }
}
