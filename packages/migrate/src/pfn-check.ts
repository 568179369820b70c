/**
 * The pfn check of this package's page-level functions: a pfn must name a struct page of the
 * machine (an integer in [0, memmapEnd)), else InvalidArgumentError from the shared vocabulary
 * ("isolate_lru_page: pfn is NaN; expected a pfn of this machine …"). The common case costs two
 * comparisons.
 */
import { checkPfnBelow } from '@hmmsim/kernel';
import type { Machine } from '@hmmsim/mm';

/** InvalidArgumentError unless `pfn` names a struct page of `machine`. Model helper. */
export function checkMachinePfn(fn: string, arg: string, machine: Machine, pfn: number): void {
  const end = machine.phys.memmapEnd;
  if (!(pfn >= 0 && pfn < end && Number.isInteger(pfn))) checkPfnBelow(fn, arg, pfn, end);
}
