/**
 * Step 2 of the migrate_vma API: move the struct page state of each selected slot to the
 * driver's destination page (the driver already copied the data), or populate empty slots.
 * Mirrors mm/migrate.c:migrate_vma_pages() (v5.4).
 */
import { accessReporting, KernelBugError, noteRead, noteWrite, PAGE_SIZE } from '@hmmsim/kernel';
import {
  type Machine,
  MMU_NOTIFY_CLEAR,
  type MmuNotifierRange,
  mmuNotifierInvalidateRangeOnlyEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
} from '@hmmsim/mm';
import { isZoneDevicePage } from '@hmmsim/pagetable';
import { isDevicePrivatePage } from './device-private.ts';
import { pageHasMapping } from './migrate-check-page.ts';
import { describeArgsChange, migrateInFlightMoved } from './migrate-in-flight.ts';
import { migrateVmaInsertPage } from './migrate-insert-page.ts';
import { MIGRATEPAGE_SUCCESS, migratePage } from './migrate-page.ts';
import {
  MIGRATE_PFN_MIGRATE,
  migratePfnClear,
  migratePfnHas,
  migratePfnToPage,
} from './migrate-pfn.ts';
import type { MigrateVma, ReadyMigrateVma } from './migrate-vma.ts';
import {
  checkDstPages,
  machineOfVma,
  migrateStageMisuse,
  migrateStepRecord,
} from './migrate-vma-check.ts';

/** Whether a page may replace `page` (ZONE_DEVICE targets only take private anonymous pages). */
function targetAccepts(machine: Machine, newPage: number, page: number): boolean {
  if (!isZoneDevicePage(machine.phys, newPage)) return true;
  if (!isDevicePrivatePage(machine, newPage)) return false;
  return !pageHasMapping(machine, page);
}

/** Clear MIGRATE of slot i. */
function fail(args: ReadyMigrateVma, i: number): void {
  if (accessReporting) noteWrite(args.src, i);
  args.src[i] = migratePfnClear(args.src[i] as number, MIGRATE_PFN_MIGRATE);
}

/**
 * One slot of migrate_vma_pages() that needs no invalidation: returns true if it was handled,
 * false for an empty MIGRATE slot with a dst page (to be populated; see populateSlot).
 */
function pagesSlot(machine: Machine, args: ReadyMigrateVma, i: number): boolean {
  const src = args.src;
  if (accessReporting) noteRead(args.dst, i);
  const newPage = migratePfnToPage(args.dst[i] as number);
  if (accessReporting) noteRead(src, i);
  const s = src[i] as number;
  const page = migratePfnToPage(s);
  if (newPage < 0) {
    fail(args, i);
    return true;
  }
  if (page < 0) return !migratePfnHas(s, MIGRATE_PFN_MIGRATE);
  if (!targetAccepts(machine, newPage, page)) fail(args, i);
  else if (migratePage(machine, newPage, page) !== MIGRATEPAGE_SUCCESS) fail(args, i);
  return true;
}

/** Populate the empty slot i at `addr` (inside the started invalidation). */
function populateSlot(machine: Machine, args: ReadyMigrateVma, i: number, addr: number): void {
  if (accessReporting) noteRead(args.dst, i);
  const newPage = migratePfnToPage(args.dst[i] as number);
  if (migrateVmaInsertPage(machine, args.vma, addr, newPage)) {
    if (accessReporting) noteWrite(args.src, i);
    args.src[i] = MIGRATE_PFN_MIGRATE;
  } else fail(args, i);
}

/**
 * Move the struct page state of each selected slot to the driver's dst page (data already
 * copied by the driver), or populate empty slots (one CLEAR invalidation from the first populated
 * address to `end`). After it, slot i migrated iff `src[i] & MIGRATE` (with a dst page); the
 * driver may still inspect both pages, which stay locked until finalize; dst must not change
 * after this call. Throws before anything changes (the migration stays in flight, finalize still
 * finishes it): InvalidArgumentError for a dst entry that is not an unsigned long; KernelBugError
 * for a dst page that is not referenced and locked, is mapped, serves two slots, is a source page
 * or is held by another migration (the kernel would BUG in finalize's unlock_page or free it
 * twice), for src/npages/start/vma changed since setup, and for a second call.
 * Does nothing when setup selected nothing. Mirrors mm/migrate.c:migrate_vma_pages() (v5.4).
 */
export async function migrateVmaPages(args: MigrateVma): Promise<void> {
  const fn = 'migrate_vma_pages';
  const rec = migrateStepRecord(fn, args);
  if (rec === undefined) return;
  const misuse = migrateStageMisuse(fn, rec);
  if (misuse !== '') throw new KernelBugError(`${fn}: ${misuse}; nothing was changed`);
  const change = describeArgsChange(rec, args);
  if (change !== '') {
    throw new KernelBugError(
      `${fn}: ${change}; the driver must not change args between migrate_vma_setup() and migrate_vma_finalize() (nothing was changed: restore it, or call migrate_vma_finalize(), which finishes from the core's record)`,
    );
  }
  const ready = args as ReadyMigrateVma;
  const machine = machineOfVma(ready.vma);
  checkDstPages(machine, rec, ready.dst, fn);
  if (accessReporting) noteWrite(rec);
  rec.stage = 'moving';
  try {
    await machine.sched.point({ kind: 'migrate', label: 'migrate_vma_pages' });
    if (accessReporting) noteRead(ready);
    let range: MmuNotifierRange | null = null;
    const npages = ready.npages;
    for (let i = 0, addr = ready.start; i < npages; i++, addr += PAGE_SIZE) {
      if (pagesSlot(machine, ready, i)) continue;
      if (range === null) {
        range = mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, 0, null, ready.vma.vmMm, addr, ready.end);
        await mmuNotifierInvalidateRangeStart(range);
        if (accessReporting) noteRead(ready); // a new step: the struct is read again
      }
      populateSlot(machine, ready, i, addr);
    }
    if (range !== null) await mmuNotifierInvalidateRangeOnlyEnd(range);
  } finally {
    migrateInFlightMoved(rec);
  }
}
