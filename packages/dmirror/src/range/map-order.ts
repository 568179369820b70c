/**
 * The mapping order of each valid entry: 9 (PMD_SHIFT - PAGE_SHIFT) where the CPU maps the page
 * with a huge PMD, else 0. Read from the CPU page table under the same mmap_sem hold as the
 * hmm_range_fault() call (the v5.5 entries of the model carry no order).
 *
 * Mirrors mm/hmm.c (v5.13+): hmm_pfn_flags_order() in pmd_to_hmm_pfn_flags().
 */
import { HPAGE_PMD_ORDER, PAGE_SIZE } from '@hmmsim/kernel';
import type { MmStruct } from '@hmmsim/mm';
import { pmdOffset, pmdTransHuge } from '@hmmsim/pagetable';
import type { DmirrorRange } from './dmirror-range.ts';
import { entryDevicePrivate, entryValid } from './pfn-encoding.ts';

/**
 * The order of the CPU mapping of `addr`: HPAGE_PMD_ORDER for a huge PMD, else 0.
 * Mirrors mm/hmm.c: pmd_to_hmm_pfn_flags()'s order (v5.13+).
 */
export function cpuMapOrder(mm: MmStruct, addr: number): number {
  const slot = pmdOffset(mm.pt, addr);
  if (slot < 0) return 0;
  return pmdTransHuge(mm.pt.bits[slot] as number) ? HPAGE_PMD_ORDER : 0;
}

/**
 * Fill `dr.order` for every valid system-memory entry. Mirrors hmm_pfn_to_map_order() of the
 * returned entries.
 */
export function fillMapOrders(dr: DmirrorRange, mm: MmStruct): void {
  const { range, order } = dr;
  for (let i = 0; i < order.length; i++) {
    const e = range.pfns[i] as number;
    const sys = entryValid(e) && !entryDevicePrivate(e);
    order[i] = sys ? cpuMapOrder(mm, range.start + i * PAGE_SIZE) : 0;
  }
}
