/**
 * Step 3 of the migrate_vma API: every migration entry becomes a mapping of the new page (migrated
 * slots) or of the old one (restore), and every page the migration locked is unlocked and
 * released. The model finishes from the core's own record of the migration (migrate-in-flight.ts),
 * so a driver that changed `args` between the steps, or skipped migrate_vma_pages(), gets a
 * KernelBugError naming it *after* every page was mapped back and unlocked — never a page locked
 * behind a migration entry for good.
 * Mirrors mm/migrate.c:migrate_vma_finalize() (v5.4).
 */
import { accessReporting, isUlong, KernelBugError, noteRead, noteWrite } from '@hmmsim/kernel';
import { type Machine, mmPutPage } from '@hmmsim/mm';
import { PG_locked, trylockPage } from '@hmmsim/pagetable';
import { putbackLruPage } from './lru.ts';
import {
  describeArgsChange,
  type MigrateInFlight,
  migrateInFlightEnd,
} from './migrate-in-flight.ts';
import {
  MIGRATE_PFN_MIGRATE,
  migratePfnClear,
  migratePfnHas,
  migratePfnToPage,
} from './migrate-pfn.ts';
import type { MigrateVma } from './migrate-vma.ts';
import {
  dstPageProblem,
  machineOfVma,
  migrateStageMisuse,
  migrateStepRecord,
} from './migrate-vma-check.ts';
import { removeMigrationPtes, withPteCache } from './migration-ptes.ts';
import { unlockPageWakeWaiters } from './page-lock.ts';
import { pgFlags, pgPgmap, pgRefcount } from './shared-access.ts';

/** Unlock a page and drop the reference migration held: put for ZONE_DEVICE, LRU putback otherwise. */
function release(machine: Machine, page: number): void {
  unlockPageWakeWaiters(machine, page);
  if (pgPgmap(machine.phys, page) !== 0) mmPutPage(machine, page);
  else putbackLruPage(machine, page);
}

/** One slot of migrate_vma_finalize(); true if it had a source page (cpages is decremented). */
function finalizeSlot(machine: Machine, src: Float64Array, dst: Float64Array, i: number): boolean {
  let newPage = migratePfnToPage(dst[i] as number);
  const page = migratePfnToPage(src[i] as number);
  if (page < 0) {
    if (newPage >= 0) {
      unlockPageWakeWaiters(machine, newPage);
      mmPutPage(machine, newPage);
    }
    return false;
  }
  if (!migratePfnHas(src[i] as number, MIGRATE_PFN_MIGRATE) || newPage < 0) {
    if (newPage >= 0) {
      unlockPageWakeWaiters(machine, newPage);
      mmPutPage(machine, newPage);
    }
    newPage = page;
  }
  removeMigrationPtes(machine, page, newPage);
  release(machine, page);
  if (newPage !== page) release(machine, newPage);
  return true;
}

/** The entries finalize works from, and what the driver did wrong. */
interface FinalizePlan {
  readonly src: Float64Array;
  readonly dst: Float64Array;
  /** Pages to lock again before finishing (the driver unlocked them). */
  readonly relock: number[];
  readonly problems: string[];
}

/**
 * Finalize without migrate_vma_pages(): nothing moved. Destination pages the driver handed in are
 * released (unlock + put) as for failed slots, every slot restores its old page.
 */
function unmovedDst(
  machine: Machine,
  rec: MigrateInFlight,
  src: Float64Array,
  problems: string[],
): Float64Array {
  if (accessReporting) noteRead(rec);
  if (accessReporting) noteRead(rec.dstArray);
  const dst = new Float64Array(rec.npages);
  const seen = new Set<number>();
  for (let i = 0; i < rec.npages; i++)
    src[i] = migratePfnClear(src[i] as number, MIGRATE_PFN_MIGRATE);
  for (let i = 0; i < rec.npages; i++) {
    const v = rec.dstArray[i] as number;
    if (!isUlong(v)) {
      problems.push(`args.dst[${i}] is ${v}, not a MIGRATE_PFN_* entry (ignored)`);
      continue;
    }
    const page = migratePfnToPage(v);
    if (page < 0) continue;
    if (seen.size === 0) {
      problems.push(
        `migrate_vma_finalize() without migrate_vma_pages(): dst[${i}] (pfn ${page}) names a page whose state never moved (the kernel would map it with no mapping and leave the migration entries behind); every slot was restored and the driver's destination pages released`,
      );
    }
    if (seen.has(page) || dstPageProblem(machine, page) !== '') continue;
    seen.add(page);
    dst[i] = v;
  }
  return dst;
}

/** Check the pages the plan will unlock; plan to lock again those the driver unlocked. */
function checkHeld(machine: Machine, plan: FinalizePlan): void {
  const pm = machine.phys;
  for (let i = 0; i < plan.src.length; i++) {
    const page = migratePfnToPage(plan.src[i] as number);
    if (page >= 0 && pgRefcount(pm, page) <= 0) {
      throw new KernelBugError(
        `migrate_vma_finalize: source pfn ${page} (slot ${i}) was freed while the migration held it (the driver dropped a reference it did not own); nothing was changed`,
      );
    }
    const newPage = migratePfnToPage(plan.dst[i] as number);
    if (newPage >= 0 && pgRefcount(pm, newPage) <= 0) {
      plan.problems.push(`dst[${i}] (pfn ${newPage}) was freed before migrate_vma_finalize()`);
      plan.dst[i] = 0;
      plan.src[i] = migratePfnClear(plan.src[i] as number, MIGRATE_PFN_MIGRATE);
    }
    for (const p of [page, migratePfnToPage(plan.dst[i] as number)]) {
      if (p >= 0 && (pgFlags(pm, p) & PG_locked) === 0 && !plan.relock.includes(p)) {
        plan.problems.push(`pfn ${p} (slot ${i}) was unlocked before migrate_vma_finalize()`);
        plan.relock.push(p);
      }
    }
  }
}

function planFinalize(machine: Machine, rec: MigrateInFlight, args: MigrateVma): FinalizePlan {
  const problems: string[] = [];
  const change = describeArgsChange(rec, args);
  if (change !== '') {
    problems.push(
      `${change} (the driver must not change args between migrate_vma_setup() and migrate_vma_finalize())`,
    );
  }
  if (accessReporting) noteRead(rec);
  const src = rec.src.slice();
  const dst = rec.dst !== null ? rec.dst.slice() : unmovedDst(machine, rec, src, problems);
  const plan = { src, dst, relock: [], problems };
  checkHeld(machine, plan);
  return plan;
}

/**
 * Finish the migration: every migration entry becomes a mapping of the new page (migrated slots)
 * or of the old one (restore), both pages are unlocked and the references taken by the core and
 * handed in by the driver are dropped (the old page normally dies here; a device page returning to
 * refcount 1 goes to its driver's page_free). `cpages` is decremented per source page, as in v5.4.
 * The work is done from the core's record of the migration; if the driver changed src, dst (after
 * pages), npages, start, end, vma or the arrays, skipped migrate_vma_pages() while handing in
 * destination pages, or unlocked or freed a page the migration holds, the migration is still
 * finished (every page mapped back and unlocked) and KernelBugError names the misuse afterwards.
 * A second finalize, or one on a struct never set up, throws KernelBugError before anything
 * changes; one on a struct whose setup selected nothing does nothing.
 * Mirrors mm/migrate.c:migrate_vma_finalize() (v5.4).
 */
export async function migrateVmaFinalize(args: MigrateVma): Promise<void> {
  const fn = 'migrate_vma_finalize';
  const rec = migrateStepRecord(fn, args);
  if (rec === undefined) return;
  const misuse = migrateStageMisuse(fn, rec);
  if (misuse !== '') throw new KernelBugError(`${fn}: ${misuse}; nothing was changed`);
  const machine = machineOfVma(rec.vma);
  const plan = planFinalize(machine, rec, args);
  for (const p of plan.relock) trylockPage(machine.phys, p);
  if (accessReporting) noteWrite(rec);
  rec.stage = 'finalizing';
  let handled = 0;
  try {
    await machine.sched.point({ kind: 'migrate', label: 'migrate_vma_finalize' });
    if (accessReporting) noteRead(rec);
    withPteCache(() => {
      for (let i = 0; i < rec.npages; i++)
        if (finalizeSlot(machine, plan.src, plan.dst, i)) handled++;
    });
  } finally {
    migrateInFlightEnd(rec);
  }
  if (accessReporting) noteWrite(args);
  args.cpages -= handled;
  if (plan.problems.length > 0) {
    throw new KernelBugError(
      `${fn}: ${plan.problems.join('; ')}; the migration was finished from the core's record (every page mapped back and unlocked)`,
    );
  }
}
