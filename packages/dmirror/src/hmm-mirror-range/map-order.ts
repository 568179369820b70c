/**
 * The mapping order of a page for the hmm_mirror builds: 9 (PMD_SHIFT - PAGE_SHIFT) where the CPU
 * maps it with a huge PMD, else 0, read from the CPU page table under the same mmap_sem hold as
 * the hmm_range_fault() call. The v5.4/v5.5 entries carry no order, and no v5.4 interface gave a
 * driver one; this model-only peek keeps SNAPSHOT's PMD bit the same on the three builds (the
 * native build reads hmm_pfn_to_map_order() instead).
 *
 * Mirrors mm/hmm.c (v5.9+): the order pmd_to_hmm_pfn_flags() puts in the entry — model-only.
 */
import { accessReporting, HPAGE_PMD_ORDER, noteRead } from '@hmmsim/kernel';
import type { MmStruct } from '@hmmsim/mm';
import { pmdOffset, pmdTransHuge } from '@hmmsim/pagetable';

/**
 * The order of the CPU mapping of `addr`: HPAGE_PMD_ORDER for a huge PMD, else 0.
 * Mirrors mm/hmm.c: the order of pmd_to_hmm_pfn_flags() (v5.9+) — model-only.
 */
export function cpuMapOrder(mm: MmStruct, addr: number): number {
  const slot = pmdOffset(mm.pt, addr);
  if (slot < 0) return 0;
  if (accessReporting) noteRead(mm.pt, slot);
  return pmdTransHuge(mm.pt.bits[slot] as number) ? HPAGE_PMD_ORDER : 0;
}
