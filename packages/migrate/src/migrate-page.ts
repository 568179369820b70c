/**
 * Moving struct page metadata from the old page to the new one without copying data
 * (MIGRATE_SYNC_NO_COPY: the driver already copied). Mirrors mm/migrate.c:migrate_page() with
 * migrate_page_move_mapping() and migrate_page_states().
 */
import { EAGAIN, KernelBugError } from '@hmmsim/kernel';
import type { Machine } from '@hmmsim/mm';
import {
  PG_active,
  PG_anon,
  PG_dirty,
  PG_referenced,
  PG_swapbacked,
  PG_swapcache,
  PG_uptodate,
  PG_writeback,
  pageCount,
} from '@hmmsim/pagetable';
import { isDevicePrivatePage } from './device-private.ts';
import { pageHasMapping } from './migrate-check-page.ts';
import { checkMachinePfn } from './pfn-check.ts';
import {
  pgFlags,
  pgIndex,
  pgMapping,
  pgSetFlags,
  pgSetIndex,
  pgSetMapping,
  pgSetPrivate,
} from './shared-access.ts';

/** Result of a successful migrate_page(). Mirrors include/linux/migrate.h:MIGRATEPAGE_SUCCESS. */
export const MIGRATEPAGE_SUCCESS = 0;

/**
 * References a page must have to be moved: the caller's one, one more for a device-private page
 * (its idle reference), and for a page with a mapping the cache's. Mirrors mm/migrate.c:expected_page_refs().
 */
export function expectedPageRefs(machine: Machine, pfn: number): number {
  checkMachinePfn('expected_page_refs', 'page', machine, pfn);
  let n = 1;
  if (isDevicePrivatePage(machine, pfn)) n += 1;
  if (pageHasMapping(machine, pfn)) n += 1;
  return n;
}

/**
 * Copy the page state flags to `newPage`: referenced, uptodate, dirty copied; active moved;
 * the old page leaves the swap cache bookkeeping. Mirrors mm/migrate.c:migrate_page_states().
 */
export function migratePageStates(machine: Machine, newPage: number, page: number): void {
  checkMachinePfn('migrate_page_states', 'newpage', machine, newPage);
  checkMachinePfn('migrate_page_states', 'page', machine, page);
  const pm = machine.phys;
  const f = pgFlags(pm, page);
  const copied = f & (PG_referenced | PG_uptodate | PG_dirty | PG_active);
  pgSetFlags(pm, newPage, pgFlags(pm, newPage) | copied);
  pgSetFlags(pm, page, f & ~(PG_active | PG_swapcache));
  pgSetPrivate(pm, page, 0);
}

/**
 * Move `page`'s identity to `newPage`: 0 (MIGRATEPAGE_SUCCESS) after copying index, mapping
 * (anon_vma included) and PG_swapbacked plus the state flags; -EAGAIN when the page has
 * references beyond expectedPageRefs() (a pin, a waiter). Pages with a mapping (page cache, swap
 * cache) are not modelled here and also give -EAGAIN (the slot is then restored): migrate_vma only
 * moves them to system pages, which no driver of the time did. KernelBugError for a page under
 * writeback. Mirrors mm/migrate.c:migrate_page() in MIGRATE_SYNC_NO_COPY mode.
 */
export function migratePage(machine: Machine, newPage: number, page: number): number {
  checkMachinePfn('migrate_page', 'newpage', machine, newPage);
  checkMachinePfn('migrate_page', 'page', machine, page);
  const pm = machine.phys;
  if ((pgFlags(pm, page) & PG_writeback) !== 0) {
    throw new KernelBugError(`migrate_page: pfn ${page} is under writeback`);
  }
  if (pageHasMapping(machine, page)) return -EAGAIN;
  if (pageCount(pm, page) !== expectedPageRefs(machine, page)) return -EAGAIN;
  pgSetIndex(pm, newPage, pgIndex(pm, page));
  pgSetMapping(pm, newPage, pgMapping(pm, page));
  const f = pgFlags(pm, page);
  pgSetFlags(pm, newPage, pgFlags(pm, newPage) | (f & (PG_anon | PG_swapbacked)));
  migratePageStates(machine, newPage, page);
  return MIGRATEPAGE_SUCCESS;
}
