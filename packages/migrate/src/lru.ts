/**
 * LRU isolation as migration sees it: a page on the LRU (PG_lru) is taken off it with an extra
 * reference and later put back, dropping that reference. The model has no per-CPU pagevecs, so
 * lru_add_drain()/lru_add_drain_all() have nothing to do.
 */
import { EBUSY, KernelBugError } from '@hmmsim/kernel';
import { type Machine, mmPutPage } from '@hmmsim/mm';
import { compoundHead, getPage, PG_lru } from '@hmmsim/pagetable';
import { checkMachinePfn } from './pfn-check.ts';
import { pgFlags, pgRefcount, pgSetFlags } from './shared-access.ts';

/**
 * Take a page off the LRU: 0 with an extra reference and PG_lru cleared, or -EBUSY when it is not
 * on the LRU. KernelBugError for a free page. Mirrors mm/vmscan.c:isolate_lru_page().
 */
export function isolateLruPage(machine: Machine, pfn: number): number {
  checkMachinePfn('isolate_lru_page', 'pfn', machine, pfn);
  const pm = machine.phys;
  const head = compoundHead(pm, pfn);
  if (pgRefcount(pm, head) <= 0) {
    throw new KernelBugError(`isolate_lru_page: pfn ${pfn} is free`);
  }
  const f = pgFlags(pm, head);
  if ((f & PG_lru) === 0) return -EBUSY;
  pgSetFlags(pm, head, f & ~PG_lru);
  getPage(pm, head);
  return 0;
}

/**
 * Put an isolated page back on the LRU and drop the isolation reference (which may free it).
 * Mirrors mm/vmscan.c:putback_lru_page().
 */
export function putbackLruPage(machine: Machine, pfn: number): void {
  checkMachinePfn('putback_lru_page', 'pfn', machine, pfn);
  const pm = machine.phys;
  const head = compoundHead(pm, pfn);
  pgSetFlags(pm, head, pgFlags(pm, head) | PG_lru);
  mmPutPage(machine, head);
}
