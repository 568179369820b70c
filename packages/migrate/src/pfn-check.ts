/**
 * The pfn check of this package's page-level functions: a pfn must name a struct page of the
 * machine (an integer in [0, memmapEnd)), else InvalidArgumentError from the shared vocabulary
 * ("isolate_lru_page: pfn is NaN; expected a pfn of this machine …"). A RAM pfn costs three
 * comparisons.
 */
import { accessReporting, checkPfnBelow, noteRead } from '@hmmsim/kernel';
import type { Machine } from '@hmmsim/mm';

/**
 * InvalidArgumentError unless `pfn` names a struct page of `machine`. Reading `memmapEnd` is
 * reported as element `pfn` of the PhysMem when `pfn` lies above RAM (the whole PhysMem when it
 * is not a pfn at all). Model helper.
 */
export function checkMachinePfn(fn: string, arg: string, machine: Machine, pfn: number): void {
  const pm = machine.phys;
  if (pfn >= 0 && pfn < pm.nrPages && Number.isInteger(pfn)) return;
  const end = pm.memmapEnd;
  if (pfn >= 0 && pfn < end && Number.isInteger(pfn)) {
    if (accessReporting) noteRead(pm, pfn);
    return;
  }
  if (accessReporting) noteRead(pm);
  checkPfnBelow(fn, arg, pfn, end);
}
