/**
 * The model's address space ends at 2^48 (VADDR_LIMIT: four-level page tables), where the
 * kernel's user addresses go on to 2^64 and hmm_range_fault() simply finds no VMA there; the
 * model's hmm_range_fault() refuses such a range with -EINVAL instead. A dmirror range that
 * reaches past the limit is therefore called on its part below the limit only, and the rest gets
 * what the kernel's walk gives a range without a VMA: -EFAULT in a fault pass, HMM_PFN_ERROR in a
 * snapshot. Used by every binding.
 *
 * Mirrors: model-only (stands for mm/hmm.c:hmm_vma_walk_hole() with no vma, v5.7+, above 2^48).
 */
import { EFAULT, PAGE_SIZE, VADDR_LIMIT } from '@hmmsim/kernel';

/**
 * Run `below(clippedEnd)` on the part of `[start, end)` under VADDR_LIMIT (not at all when the
 * range starts above it), then: 0 when nothing reaches past the limit; -EFAULT for a fault pass
 * that does; for a snapshot, `fillError(first)` with the index of the first page past the limit,
 * and 0. `below`'s negative errno is returned as it is.
 * Mirrors: model-only (see the file comment).
 */
export async function dmirrorBelowAddressLimit(
  start: number,
  end: number,
  snapshot: boolean,
  below: (clippedEnd: number) => Promise<number>,
  fillError: (first: number) => void,
): Promise<number> {
  if (start < VADDR_LIMIT) {
    const ret = await below(Math.min(end, VADDR_LIMIT));
    if (ret !== 0) return ret;
  }
  if (end <= VADDR_LIMIT) return 0;
  if (!snapshot) return -EFAULT;
  fillError(Math.max(0, (VADDR_LIMIT - start) / PAGE_SIZE));
  return 0;
}
