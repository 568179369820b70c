/**
 * Splitting a transparent huge page in the memmap (the page-table side is @hmmsim/mm's job).
 *
 * Refcount convention for THPs (as in Linux once the PMD is split): the head holds one reference
 * per PTE mapping of any subpage, plus one per PMD mapping, plus one per page-cache/swap-cache
 * slot (512 when in a cache), plus the pins of users such as the splitter. After the split every
 * subpage holds its own references: its PTE mappings, one for the cache if any, and the caller's
 * pin on the page it passed in.
 * Access reports: memmap fields on element pfn of the PhysMem (the compound mapcount on the head
 * pfn), the allocator on all of `pm.freeArea`.
 */
import {
  accessReporting,
  EBUSY,
  HPAGE_PMD_NR,
  KernelBugError,
  noteRead,
  noteWrite,
} from '@hmmsim/kernel';
import { blockSplit } from './free-area.ts';
import { assertPfnValid, compoundHead, totalMapcount } from './memmap.ts';
import { putPage } from './page-alloc.ts';
import { PG_anon, PG_head, PG_locked, PG_swapcache, PG_tail } from './page-flags.ts';
import type { PhysMem } from './physmem.ts';

function cachePins(pm: PhysMem, head: number): number {
  if (accessReporting) noteRead(pm, head);
  const f = pm.flags[head] as number;
  const inPageCache = pm.mapping[head] !== 0 && (f & PG_anon) === 0;
  return (f & PG_swapcache) !== 0 || inPageCache ? HPAGE_PMD_NR : 0;
}

function checkSplittable(pm: PhysMem, pfn: number, head: number): void {
  if (accessReporting) noteRead(pm, head); // flags and, as the head pfn, the block's compound mapcount
  const f = pm.flags[head] as number;
  if ((f & PG_head) === 0) {
    throw new KernelBugError(`splitHugePage: pfn ${pfn} is not part of a compound page`);
  }
  if ((f & PG_locked) === 0) {
    throw new KernelBugError(`splitHugePage: THP ${head} must be locked by the caller`);
  }
  if (pm.compoundMapcounts[head / HPAGE_PMD_NR] !== 0) {
    throw new KernelBugError(
      `splitHugePage: THP ${head} is still PMD-mapped; split its PMD mappings first`,
    );
  }
}

function distribute(pm: PhysMem, head: number, callerPfn: number, cache: number): void {
  const flags = (pm.flags[head] as number) & ~(PG_head | PG_tail);
  const swapEntry = pm.privateVal[head] as number;
  const inSwapCache = (flags & PG_swapcache) !== 0;
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    const p = head + i;
    if (accessReporting) noteWrite(pm, p);
    const mine = p === callerPfn;
    pm.flags[p] = mine ? flags : flags & ~PG_locked;
    pm.mapping[p] = pm.mapping[head] as number;
    pm.index[p] = (pm.index[head] as number) + i;
    pm.privateVal[p] = inSwapCache ? swapEntry + i : 0;
    pm.refcount[p] = (pm.mapcount[p] as number) + cache + (mine ? 1 : 0);
  }
  pm.order[head] = 0;
}

/**
 * Turn the locked, PTE-mapped (or unmapped) order-9 page containing `pfn` into 512 order-0 pages
 * and return 0; -EBUSY and no change if it has references beyond its mappings, its cache slots
 * and the caller's single pin. Subpages left without references are freed; PG_locked stays only
 * on `pfn`. KernelBugError if not compound, not locked or still PMD-mapped.
 * Mirrors mm/huge_memory.c:split_huge_page() (split_huge_page_to_list()).
 */
export function splitHugePage(pm: PhysMem, pfn: number): number {
  assertPfnValid(pm, pfn, 'splitHugePage');
  const head = compoundHead(pm, pfn);
  checkSplittable(pm, pfn, head);
  const cache = cachePins(pm, head) > 0 ? 1 : 0;
  const expected = totalMapcount(pm, head) + cachePins(pm, head) + 1;
  if (accessReporting) noteRead(pm, head);
  if (pm.refcount[head] !== expected) return -EBUSY;
  distribute(pm, head, pfn, cache);
  blockSplit(pm.freeArea, head);
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    const p = head + i; // reported as written by distribute() in this step
    if (pm.refcount[p] === 0) {
      pm.refcount[p] = 1;
      putPage(pm, p);
    }
  }
  return 0;
}
