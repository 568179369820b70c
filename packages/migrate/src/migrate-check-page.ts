/**
 * The pin test of migrate_vma and the page_mapping() it relies on.
 */
import type { Machine } from '@hmmsim/mm';
import { compoundHead, PG_anon, PG_swapcache, pageIsCompound } from '@hmmsim/pagetable';
import { isDevicePrivatePage } from './device-private.ts';
import { checkMachinePfn } from './pfn-check.ts';
import { pgFlags, pgMapcount, pgMapping, pgPgmap, pgRefcount } from './shared-access.ts';

/**
 * True if page_mapping() is non-NULL: a page-cache page (its address_space) or an anonymous page
 * in the swap cache (the swap address space); false for other anonymous pages and unowned pages.
 * Mirrors mm/util.c:page_mapping() tested against NULL.
 */
export function pageHasMapping(machine: Machine, pfn: number): boolean {
  checkMachinePfn('page_mapping', 'page', machine, pfn);
  const pm = machine.phys;
  const head = compoundHead(pm, pfn);
  const f = pgFlags(pm, head);
  if ((f & PG_anon) !== 0) return (f & PG_swapcache) !== 0;
  return pgMapping(pm, head) !== 0;
}

/**
 * The pin test: false for compound pages and non-private ZONE_DEVICE pages; always true for
 * device-private pages (a waiter on a migration entry holds a reference that cannot be told from
 * a pin); otherwise false iff `page_count - extra > page_mapcount`, where extra is the caller's
 * one reference plus, for page-cache / swap-cache pages, the cache's (page_has_private is never
 * set in the model). Mirrors mm/migrate.c:migrate_vma_check_page().
 */
export function migrateVmaCheckPage(machine: Machine, pfn: number): boolean {
  checkMachinePfn('migrate_vma_check_page', 'page', machine, pfn);
  const pm = machine.phys;
  if (pageIsCompound(pm, pfn)) return false;
  if (pgPgmap(pm, pfn) !== 0) return isDevicePrivatePage(machine, pfn);
  // Not compound: page_count and page_mapcount are this pfn's own counters.
  const extra = pageHasMapping(machine, pfn) ? 2 : 1;
  return pgRefcount(pm, pfn) - extra <= pgMapcount(pm, pfn);
}
