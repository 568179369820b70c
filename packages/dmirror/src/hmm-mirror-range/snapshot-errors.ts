/**
 * The v5.7 change "return error for non-vma snapshots", by hand, for the hmm_mirror builds: in a
 * snapshot, a page with no VMA, or in a VMA hmm_range_fault() cannot handle (no VM_READ, VM_IO,
 * VM_PFNMAP), is an error. The v5.4/v5.5 hmm_range_fault() reports those pages NONE; this turns
 * them into ERROR. Call with mmap_sem held, right after the snapshot call. (The native build's
 * v5.8+ core does this itself.)
 *
 * Mirrors mm/hmm.c (v5.7+): hmm_vma_walk_hole() without a vma and hmm_vma_walk_test(), done by
 * the driver on the v5.4 API.
 */
import type { HmmRange } from '@hmmsim/hmm-range';
import { PAGE_SIZE } from '@hmmsim/kernel';
import { findVma, type MmStruct, VM_IO, VM_PFNMAP, VM_READ } from '@hmmsim/mm';
import { DMIRROR_PFN_ERROR, DMIRROR_PFN_NONE } from './pfn-encoding.ts';

/**
 * True if hmm_range_fault() (v5.7+) cannot walk `addr` of `mm`: no VMA, or an unsupported one.
 * Mirrors mm/hmm.c (v5.7+): hmm_vma_walk_test() / hmm_vma_walk_hole() with no vma.
 */
export function snapshotErrorAt(mm: MmStruct, addr: number): boolean {
  const vma = findVma(mm, addr);
  if (vma === undefined || addr < vma.vmStart) return true;
  return (vma.vmFlags & VM_READ) === 0 || (vma.vmFlags & (VM_IO | VM_PFNMAP)) !== 0;
}

/**
 * Turn NONE entries at unwalkable addresses into ERROR; returns how many changed.
 * Mirrors mm/hmm.c (v5.7+): hmm_pfns_fill(…, HMM_PFN_ERROR) for holes and skipped VMAs.
 */
export function markSnapshotErrors(range: HmmRange, mm: MmStruct): number {
  const pfns = range.pfns;
  let n = 0;
  for (let i = 0; i < pfns.length; i++) {
    if (pfns[i] !== DMIRROR_PFN_NONE) continue;
    if (!snapshotErrorAt(mm, range.start + i * PAGE_SIZE)) continue;
    pfns[i] = DMIRROR_PFN_ERROR;
    n++;
  }
  return n;
}
