/**
 * `struct migrate_vma` and the three exported calls of the v5.4 API ("mm: turn migrate_vma upside
 * down"), with the v5.7 `src_owner` and the v5.9 `pgmap_owner`/`flags` behind migrateVmaSetup()'s
 * `version` option (migrate-vma-select.ts): migrate_vma_setup() collects, locks, pin-checks and
 * unmaps the source pages; the driver allocates and locks destination pages and copies the data;
 * migrate_vma_pages() moves the struct page state (or populates empty slots, always under
 * MMU_NOTIFY_CLEAR); migrate_vma_finalize() maps the new (or, on failure, the old) pages back and
 * drops every reference the operation held.
 * MIGRATE_PFN_* encoding: migrate-pfn.ts.
 */
import { EINVAL, KernelBugError, PAGE_SIZE, pageAlignDown, rwsemIsLocked } from '@hmmsim/kernel';
import {
  type Machine,
  MMU_NOTIFY_CLEAR,
  type MmuNotifierRange,
  mmPutPage,
  mmuNotifierInvalidateRangeOnlyEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
  VM_HUGETLB,
  VM_SPECIAL,
  type VmArea,
} from '@hmmsim/mm';
import { isZoneDevicePage, PG_locked, pfnValid } from '@hmmsim/pagetable';
import { isDevicePrivatePage } from './device-private.ts';
import { putbackLruPage } from './lru.ts';
import { pageHasMapping } from './migrate-check-page.ts';
import { migrateVmaCollect } from './migrate-collect.ts';
import { migrateVmaInsertPage } from './migrate-insert-page.ts';
import { MIGRATEPAGE_SUCCESS, migratePage } from './migrate-page.ts';
import {
  MIGRATE_PFN_MIGRATE,
  migratePfnClear,
  migratePfnHas,
  migratePfnToPage,
} from './migrate-pfn.ts';
import { migrateVmaPrepare } from './migrate-prepare.ts';
import { migrateVmaUnmap } from './migrate-unmap.ts';
import { type MigrateVmaSetupOptions, migrateVmaSelect } from './migrate-vma-select.ts';
import { removeMigrationPtes, withPteCache } from './migration-ptes.ts';
import { unlockPageWakeWaiters } from './page-lock.ts';

/**
 * Arguments and results of one migration of `[start, end)` inside `vma`. `src` is filled by the
 * core (the driver must not change it after migrateVmaSetup), `dst` by the driver (not to be
 * changed after migrateVmaPages); both need (end - start) / PAGE_SIZE entries. `npages` is the
 * number of slots the walk produced, `cpages` the number currently selected for migration.
 * The caller holds mmap_sem for read across all three calls. `srcOwner` (v5.7–v5.8) and
 * `pgmapOwner` + `flags` (v5.9) are read only by the matching `version` of migrateVmaSetup() and
 * must stay null / 0 otherwise.
 * Mirrors include/linux/migrate.h:struct migrate_vma (v5.4; src_owner v5.7; pgmap_owner, flags v5.9).
 */
export interface MigrateVma {
  vma: VmArea | null;
  /** MIGRATE_PFN_* entries, filled by the core. */
  src: Float64Array | null;
  /** MIGRATE_PFN_* entries, filled by the driver. */
  dst: Float64Array | null;
  /** First address (page aligned by setup). */
  start: number;
  /** End address, exclusive (page aligned by setup). */
  end: number;
  cpages: number;
  npages: number;
  /** v5.7–v5.8 `src_owner`: the pgmap owner whose device-private pages to collect; null = unset. */
  srcOwner: unknown;
  /** v5.9 `pgmap_owner`: whose device-private pages to collect, and the collect invalidation's owner. */
  pgmapOwner: unknown;
  /** v5.9 MIGRATE_VMA_SELECT_* bits; 0 before v5.9. */
  flags: number;
}

/** A MigrateVma whose vma and arrays are present (what the steps work on after the checks). */
export type ReadyMigrateVma = MigrateVma & { vma: VmArea; src: Float64Array; dst: Float64Array };

/**
 * A MigrateVma for `[start, end)` of `vma` with zeroed src/dst arrays of (end - start) /
 * PAGE_SIZE entries (at least 0), no owner and no flags. Model helper (a C designated
 * initializer plus two arrays).
 */
export function createMigrateVma(vma: VmArea | null, start: number, end: number): MigrateVma {
  const n = Math.max(0, Math.ceil((end - start) / PAGE_SIZE));
  const len = Number.isSafeInteger(n) ? n : 0;
  return {
    vma,
    src: new Float64Array(len),
    dst: new Float64Array(len),
    start,
    end,
    cpages: 0,
    npages: 0,
    srcOwner: null,
    pgmapOwner: null,
    flags: 0,
  };
}

/** The -EINVAL checks of migrate_vma_setup(), in kernel order; 0 if the arguments are usable. */
function setupArgsError(args: MigrateVma, nrPages: number): number {
  const vma = args.vma;
  if (vma === null || (vma.vmFlags & VM_HUGETLB) !== 0 || (vma.vmFlags & VM_SPECIAL) !== 0) {
    return -EINVAL; // (no DAX vmas in the model)
  }
  if (!(nrPages > 0)) return -EINVAL;
  if (args.start < vma.vmStart || args.start >= vma.vmEnd) return -EINVAL;
  if (args.end <= vma.vmStart || args.end > vma.vmEnd) return -EINVAL;
  if (args.src === null || args.dst === null) return -EINVAL;
  return 0;
}

/** What the kernel would not survive (use after free, lockdep, array overrun): KernelBugError. */
function checkSetupUsage(args: ReadyMigrateVma, nrPages: number): void {
  if (!args.vma.linked) {
    throw new KernelBugError(
      'migrate_vma_setup: args.vma is no longer linked (unmapped?); the caller must hold mmap_sem across the three calls',
    );
  }
  if (!rwsemIsLocked(args.vma.vmMm.mmapSem)) {
    throw new KernelBugError(
      `migrate_vma_setup: mm${args.vma.vmMm.id} mmap_sem is not held; expected down_read(mmap_sem) by the caller`,
    );
  }
  const need = Math.max(nrPages, (args.end - args.start) / PAGE_SIZE);
  if (args.src.length < need || args.dst.length < need) {
    throw new KernelBugError(
      `migrate_vma_setup: src/dst have ${args.src.length}/${args.dst.length} entries; clearing ${nrPages} and walking [0x${args.start.toString(16)}, 0x${args.end.toString(16)}) writes ${need} (end < start overruns them in v5.4)`,
    );
  }
}

function machineOf(args: ReadyMigrateVma): Machine {
  return args.vma.vmMm.machine;
}

/**
 * Collect and isolate the pages of `[start, end)` for migration: returns 0 ("zero or more pages
 * selected": check `cpages` and each src entry) or -EINVAL (no/hugetlb/VM_SPECIAL vma, empty
 * range, range outside the vma, missing arrays) with nothing changed except that start and end
 * are page aligned in place (npages is computed before the alignment, as in v5.4). After 0,
 * every src entry with VALID|MIGRATE is locked and mapped only by migration entries; MIGRATE
 * alone marks an empty slot the driver may populate; 0 marks a skipped slot. `opts.version`
 * ('5.4' default, '5.7', '5.9') chooses which pages are collected and the collect invalidation
 * (migrate-vma-select.ts); owner/flags fields of another generation or v5.9 flags that select
 * nothing throw InvalidArgumentError before anything changes.
 * Mirrors mm/migrate.c:migrate_vma_setup() (v5.4; v5.7 src_owner; v5.9 pgmap_owner and flags).
 */
export async function migrateVmaSetup(
  args: MigrateVma,
  opts: MigrateVmaSetupOptions = {},
): Promise<number> {
  const sel = migrateVmaSelect(args, opts);
  // v5.4 computes nr_pages from the unsigned difference: end < start gives a huge count.
  const nrPages =
    args.end >= args.start
      ? Math.floor((args.end - args.start) / PAGE_SIZE)
      : Number.MAX_SAFE_INTEGER;
  args.start = pageAlignDown(args.start);
  args.end = pageAlignDown(args.end);
  const err = setupArgsError(args, nrPages);
  if (err !== 0) return err;
  const ready = args as ReadyMigrateVma;
  checkSetupUsage(ready, nrPages);
  ready.src.fill(0, 0, nrPages);
  ready.cpages = 0;
  ready.npages = 0;
  const machine = machineOf(ready);
  await migrateVmaCollect(machine, ready, sel);
  if (ready.cpages > 0) await migrateVmaPrepare(machine, ready);
  if (ready.cpages > 0) await migrateVmaUnmap(machine, ready);
  return 0;
}

/** KernelBugError unless args has its vma and arrays for `npages` slots. */
function checkStepArgs(args: MigrateVma, fn: string): args is ReadyMigrateVma {
  if (args.npages === 0) return false;
  if (args.vma === null || args.src === null || args.dst === null) {
    throw new KernelBugError(`${fn}: args.vma/src/dst must be the ones given to migrate_vma_setup`);
  }
  if (args.src.length < args.npages || args.dst.length < args.npages) {
    throw new KernelBugError(`${fn}: src/dst are shorter than npages ${args.npages}`);
  }
  return true;
}

/** What is wrong with the driver's dst page (locked, referenced), or ''. */
function dstPageProblem(machine: Machine, page: number): string {
  const pm = machine.phys;
  if (!pfnValid(pm, page)) return 'has no struct page';
  const count = pm.refcount[page] as number;
  if (count <= 0) return 'is free';
  if (isZoneDevicePage(pm, page) && count < 2) return 'is an idle device page (no reference taken)';
  if (((pm.flags[page] as number) & PG_locked) === 0) return 'is not locked';
  return '';
}

/** Check every dst page up front, so that misuse throws before anything changes. */
function checkDstPages(machine: Machine, args: ReadyMigrateVma, fn: string): void {
  for (let i = 0; i < args.npages; i++) {
    const page = migratePfnToPage(args.dst[i] as number);
    if (page < 0) continue;
    const bad = dstPageProblem(machine, page);
    if (bad !== '') {
      throw new KernelBugError(
        `${fn}: dst[${i}] (pfn ${page}) ${bad}; expected a page the driver referenced and locked`,
      );
    }
  }
}

/** Whether a page may replace `page` (ZONE_DEVICE targets only take private anonymous pages). */
function targetAccepts(machine: Machine, newPage: number, page: number): boolean {
  if (!isZoneDevicePage(machine.phys, newPage)) return true;
  if (!isDevicePrivatePage(machine, newPage)) return false;
  return !pageHasMapping(machine, page);
}

/** Clear MIGRATE of slot i. */
function fail(args: ReadyMigrateVma, i: number): void {
  args.src[i] = migratePfnClear(args.src[i] as number, MIGRATE_PFN_MIGRATE);
}

/**
 * One slot of migrate_vma_pages() that needs no invalidation: returns true if it was handled,
 * false for an empty MIGRATE slot with a dst page (to be populated; see populateSlot).
 */
function pagesSlot(machine: Machine, args: ReadyMigrateVma, i: number): boolean {
  const src = args.src;
  const newPage = migratePfnToPage(args.dst[i] as number);
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
  const newPage = migratePfnToPage(args.dst[i] as number);
  if (migrateVmaInsertPage(machine, args.vma, addr, newPage)) args.src[i] = MIGRATE_PFN_MIGRATE;
  else fail(args, i);
}

/**
 * Move the struct page state of each selected slot to the driver's dst page (data already
 * copied by the driver), or populate empty slots (one CLEAR invalidation from the first populated
 * address to `end`). After it, slot i migrated iff `src[i] & MIGRATE` (with a dst page); the
 * driver may still inspect both pages, which stay locked until finalize. dst pages that are not
 * referenced and locked throw KernelBugError before anything changes (the kernel would BUG in
 * finalize's unlock_page); dst must not change after this call. Mirrors mm/migrate.c:migrate_vma_pages() (v5.4).
 */
export async function migrateVmaPages(args: MigrateVma): Promise<void> {
  if (!checkStepArgs(args, 'migrate_vma_pages')) return;
  const machine = machineOf(args);
  checkDstPages(machine, args, 'migrate_vma_pages');
  await machine.sched.point({ kind: 'migrate', label: 'migrate_vma_pages' });
  let range: MmuNotifierRange | null = null;
  const npages = args.npages;
  for (let i = 0, addr = args.start; i < npages; i++, addr += PAGE_SIZE) {
    if (pagesSlot(machine, args, i)) continue;
    if (range === null) {
      range = mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, 0, null, args.vma.vmMm, addr, args.end);
      await mmuNotifierInvalidateRangeStart(range);
    }
    populateSlot(machine, args, i, addr);
  }
  if (range !== null) await mmuNotifierInvalidateRangeOnlyEnd(range);
}

/** Unlock a page and drop the reference migration held: put for ZONE_DEVICE, LRU putback otherwise. */
function release(machine: Machine, page: number): void {
  unlockPageWakeWaiters(machine, page);
  if (machine.phys.pgmap[page] !== 0) mmPutPage(machine, page);
  else putbackLruPage(machine, page);
}

/** One slot of migrate_vma_finalize(). */
function finalizeSlot(machine: Machine, args: ReadyMigrateVma, i: number): void {
  let newPage = migratePfnToPage(args.dst[i] as number);
  const page = migratePfnToPage(args.src[i] as number);
  if (page < 0) {
    if (newPage >= 0) {
      unlockPageWakeWaiters(machine, newPage);
      mmPutPage(machine, newPage);
    }
    return;
  }
  if (!migratePfnHas(args.src[i] as number, MIGRATE_PFN_MIGRATE) || newPage < 0) {
    if (newPage >= 0) {
      unlockPageWakeWaiters(machine, newPage);
      mmPutPage(machine, newPage);
    }
    newPage = page;
  }
  removeMigrationPtes(machine, page, newPage);
  args.cpages--;
  release(machine, page);
  if (newPage !== page) release(machine, newPage);
}

/**
 * Finish the migration: every migration entry becomes a mapping of the new page (migrated slots)
 * or of the old one (restore), both pages are unlocked and the references taken by the core and
 * handed in by the driver are dropped (the old page normally dies here; a device page returning to
 * refcount 1 goes to its driver's page_free). `cpages` is decremented per source page, as in v5.4.
 * Mirrors mm/migrate.c:migrate_vma_finalize() (v5.4).
 */
export async function migrateVmaFinalize(args: MigrateVma): Promise<void> {
  if (!checkStepArgs(args, 'migrate_vma_finalize')) return;
  const machine = machineOf(args);
  await machine.sched.point({ kind: 'migrate', label: 'migrate_vma_finalize' });
  withPteCache(() => {
    for (let i = 0; i < args.npages; i++) finalizeSlot(machine, args, i);
  });
}
