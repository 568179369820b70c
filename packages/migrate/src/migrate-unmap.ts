/**
 * Step 3 of migrate_vma_setup(): unmap every selected page that is still mapped somewhere
 * (migration entries in every mapping), re-run the pin test, restore failures.
 * Mirrors mm/migrate.c:migrate_vma_unmap() (v5.4).
 */
import { accessReporting, noteRead, noteWrite } from '@hmmsim/kernel';
import { type Machine, mmPutPage } from '@hmmsim/mm';
import { isZoneDevicePage, pageMapped } from '@hmmsim/pagetable';
import { putbackLruPage } from './lru.ts';
import { migrateVmaCheckPage } from './migrate-check-page.ts';
import {
  MIGRATE_PFN_MIGRATE,
  migratePfnClear,
  migratePfnHas,
  migratePfnToPage,
} from './migrate-pfn.ts';
import type { ReadyMigrateVma } from './migrate-vma.ts';
import { removeMigrationPtes } from './migration-ptes.ts';
import { unlockPageWakeWaiters } from './page-lock.ts';
import { tryToUnmapMigration } from './try-to-unmap.ts';

/** Unmap one selected page; true if it may move on. */
async function unmapSlot(machine: Machine, page: number): Promise<boolean> {
  if (!(await tryToUnmapMigration(machine, page))) return false;
  return migrateVmaCheckPage(machine, page);
}

/** Restore the pages whose MIGRATE was cleared: mappings back, unlock, release. */
function restore(machine: Machine, args: ReadyMigrateVma, count: number): void {
  for (let i = 0; i < args.npages && count > 0; i++) {
    if (accessReporting) noteRead(args.src, i);
    const mpfn = args.src[i] as number;
    const page = migratePfnToPage(mpfn);
    if (page < 0 || migratePfnHas(mpfn, MIGRATE_PFN_MIGRATE)) continue;
    removeMigrationPtes(machine, page, page);
    if (accessReporting) noteWrite(args.src, i);
    args.src[i] = 0;
    unlockPageWakeWaiters(machine, page);
    count--;
    if (isZoneDevicePage(machine.phys, page)) mmPutPage(machine, page);
    else putbackLruPage(machine, page);
  }
}

/**
 * After this every entry with VALID|MIGRATE is locked and mapped nowhere (migration entries
 * only), its content stable. Mirrors mm/migrate.c:migrate_vma_unmap().
 */
export async function migrateVmaUnmap(machine: Machine, args: ReadyMigrateVma): Promise<void> {
  await machine.sched.point({ kind: 'migrate', label: 'migrate_vma_unmap' });
  if (accessReporting) noteWrite(args);
  let toRestore = 0;
  for (let i = 0; i < args.npages; i++) {
    if (accessReporting) noteRead(args.src, i);
    const mpfn = args.src[i] as number;
    const page = migratePfnToPage(mpfn);
    if (page < 0 || !migratePfnHas(mpfn, MIGRATE_PFN_MIGRATE)) continue;
    // Only a page still mapped somewhere needs the (asynchronous) rmap walk.
    if (pageMapped(machine.phys, page)) {
      const ok = await unmapSlot(machine, page);
      if (accessReporting) noteWrite(args); // a new step: the struct is read again
      if (ok) continue;
    } else if (migrateVmaCheckPage(machine, page)) continue;
    if (accessReporting) noteWrite(args.src, i);
    args.src[i] = migratePfnClear(args.src[i] as number, MIGRATE_PFN_MIGRATE);
    args.cpages--;
    toRestore++;
  }
  restore(machine, args, toRestore);
}
