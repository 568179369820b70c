/**
 * Step 2 of migrate_vma_setup(): lock what collect could not, isolate system pages from the LRU,
 * run the pin test, and restore what must not move. Mirrors mm/migrate.c:migrate_vma_prepare() (v5.4).
 */
import { accessReporting, noteRead, noteWrite, PAGE_SIZE } from '@hmmsim/kernel';
import { type Machine, mmPutPage } from '@hmmsim/mm';
import { getPage, isZoneDevicePage, trylockPage } from '@hmmsim/pagetable';
import { isolateLruPage, putbackLruPage } from './lru.ts';
import { migrateVmaCheckPage } from './migrate-check-page.ts';
import {
  MIGRATE_PFN_LOCKED,
  MIGRATE_PFN_MIGRATE,
  migratePfnClear,
  migratePfnHas,
  migratePfnSet,
  migratePfnToPage,
} from './migrate-pfn.ts';
import type { ReadyMigrateVma } from './migrate-vma.ts';
import { removeMigrationPte } from './migration-ptes.ts';
import { unlockPageWakeWaiters } from './page-lock.ts';

/** Drop slot i entirely: src = 0, one fewer selected page. */
function dropSlot(args: ReadyMigrateVma, i: number): void {
  if (accessReporting) noteWrite(args.src, i);
  args.src[i] = 0;
  args.cpages--;
}

/** Keep the page for a later restore: clear MIGRATE, one fewer selected page. */
function markRestore(args: ReadyMigrateVma, i: number): void {
  if (accessReporting) noteWrite(args.src, i);
  args.src[i] = migratePfnClear(args.src[i] as number, MIGRATE_PFN_MIGRATE);
  args.cpages--;
}

/**
 * Give up on a page that was locked here (still mapped normally, nothing to restore): src = 0,
 * unlock, and drop the reference we hold (LRU putback for a system page, put for a device page).
 */
function giveUp(
  machine: Machine,
  args: ReadyMigrateVma,
  i: number,
  page: number,
  isolated: boolean,
): void {
  dropSlot(args, i);
  unlockPageWakeWaiters(machine, page);
  if (isolated) putbackLruPage(machine, page);
  else mmPutPage(machine, page);
}

/** Prepare one slot; returns 1 if it needs a restore afterwards, else 0. */
function prepareSlot(machine: Machine, args: ReadyMigrateVma, i: number, page: number): number {
  const pm = machine.phys;
  let remap = true;
  if (accessReporting) noteRead(args.src, i);
  if (!migratePfnHas(args.src[i] as number, MIGRATE_PFN_LOCKED)) {
    if (!trylockPage(pm, page)) {
      dropSlot(args, i);
      mmPutPage(machine, page);
      return 0;
    }
    remap = false;
    if (accessReporting) noteWrite(args.src, i);
    args.src[i] = migratePfnSet(args.src[i] as number, MIGRATE_PFN_LOCKED);
  }
  const device = isZoneDevicePage(pm, page);
  if (!device) {
    if (isolateLruPage(machine, page) !== 0) {
      if (remap) {
        markRestore(args, i);
        return 1;
      }
      giveUp(machine, args, i, page, false);
      return 0;
    }
    mmPutPage(machine, page); // the collect reference; isolation holds one now
  }
  if (migrateVmaCheckPage(machine, page)) return 0;
  if (remap) {
    markRestore(args, i);
    if (!device) {
      getPage(pm, page);
      putbackLruPage(machine, page);
    }
    return 1;
  }
  giveUp(machine, args, i, page, !device);
  return 0;
}

/** Map the pages whose MIGRATE was cleared back at their own address, unlock and release them. */
function restore(machine: Machine, args: ReadyMigrateVma, count: number): void {
  for (let i = 0, addr = args.start; i < args.npages && count > 0; i++, addr += PAGE_SIZE) {
    if (accessReporting) noteRead(args.src, i);
    const mpfn = args.src[i] as number;
    const page = migratePfnToPage(mpfn);
    if (page < 0 || migratePfnHas(mpfn, MIGRATE_PFN_MIGRATE)) continue;
    removeMigrationPte(machine, args.vma, addr, page, page);
    if (accessReporting) noteWrite(args.src, i);
    args.src[i] = 0;
    unlockPageWakeWaiters(machine, page);
    mmPutPage(machine, page);
    count--;
  }
}

/**
 * Lock, isolate and pin-check every collected page; pages that were already unmapped by collect
 * and fail get their mapping back, the others are simply released. Stops early once cpages is 0.
 * Mirrors mm/migrate.c:migrate_vma_prepare().
 */
export async function migrateVmaPrepare(machine: Machine, args: ReadyMigrateVma): Promise<void> {
  await machine.sched.point({ kind: 'migrate', label: 'migrate_vma_prepare' });
  if (accessReporting) noteWrite(args);
  let toRestore = 0;
  for (let i = 0; i < args.npages && args.cpages > 0; i++) {
    if (accessReporting) noteRead(args.src, i);
    const page = migratePfnToPage(args.src[i] as number);
    if (page < 0) continue;
    toRestore += prepareSlot(machine, args, i, page);
  }
  restore(machine, args, toRestore);
}
