/**
 * The argument checks the three migrate_vma calls share: the shape of `struct migrate_vma` (a
 * VmArea or null, Float64Array src/dst or null, an unsigned npages), the way pages/finalize find
 * the migration in flight, and the driver's destination pages, all checked before anything
 * changes. Values a C caller could not pass throw InvalidArgumentError (the shared vocabulary of
 * @hmmsim/kernel); misuse the kernel would not survive throws KernelBugError naming it.
 *
 * Model-only (the kernel trusts the driver's struct).
 */
import {
  accessReporting,
  checkUlong,
  InvalidArgumentError,
  KernelBugError,
  noteRead,
} from '@hmmsim/kernel';
import { type Machine, VmArea } from '@hmmsim/mm';
import { isZoneDevicePage, PG_locked, pfnValid } from '@hmmsim/pagetable';
import {
  describeMigrateInFlight,
  type MigrateInFlight,
  migrateInFlightOf,
  migrateInFlightPages,
  migrationsInFlight,
} from './migrate-in-flight.ts';
import { migratePfnToPage } from './migrate-pfn.ts';
import type { MigrateVma } from './migrate-vma.ts';
import { pgFlags, pgMapcount, pgRefcount } from './shared-access.ts';

function what(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return `a ${(v as object).constructor?.name ?? 'object'}`;
  return `a ${typeof v}`;
}

/**
 * InvalidArgumentError unless `args` is shaped like a struct migrate_vma: an object whose vma is a
 * VmArea or null and whose src/dst are Float64Arrays or null. Model helper.
 */
export function checkMigrateVmaShape(fn: string, args: unknown): asserts args is MigrateVma {
  if (typeof args !== 'object' || args === null) {
    throw new InvalidArgumentError(
      `${fn}: args is ${what(args)}; expected a struct migrate_vma (createMigrateVma())`,
    );
  }
  if (accessReporting) noteRead(args); // the struct may be shared: a reported read of all of it
  const a = args as Record<string, unknown>;
  if (a['vma'] !== null && !(a['vma'] instanceof VmArea)) {
    throw new InvalidArgumentError(
      `${fn}: args.vma is ${what(a['vma'])}; expected a VmArea or null`,
    );
  }
  for (const k of ['src', 'dst'] as const) {
    if (a[k] !== null && !(a[k] instanceof Float64Array)) {
      throw new InvalidArgumentError(
        `${fn}: args.${k} is ${what(a[k])}; expected a Float64Array of MIGRATE_PFN_* entries or null`,
      );
    }
  }
}

/** The machine a ready migrate_vma works on. Model helper. */
export function machineOfVma(vma: VmArea): Machine {
  return vma.vmMm.machine;
}

function anyEntry(arr: Float64Array, n: number): boolean {
  if (accessReporting) noteRead(arr);
  for (let i = 0; i < n; i++) if (arr[i] !== 0) return true;
  return false;
}

/**
 * The migration in flight that migrate_vma_pages()/finalize() on `args` continue, or undefined
 * when there is nothing to do (npages 0, or setup selected nothing and left every entry 0).
 * KernelBugError when `args` carries entries but no migration is in flight (finalized already,
 * never set up) or lacks its vma/arrays. Model helper.
 */
export function migrateStepRecord(fn: string, args: MigrateVma): MigrateInFlight | undefined {
  checkMigrateVmaShape(fn, args);
  checkUlong(fn, 'args.npages', args.npages, 'a slot count');
  const rec = migrateInFlightOf(args);
  if (rec !== undefined) return rec;
  if (args.npages === 0) return undefined;
  if (args.vma === null || args.src === null || args.dst === null) {
    throw new KernelBugError(`${fn}: args.vma/src/dst must be the ones given to migrate_vma_setup`);
  }
  if (args.src.length < args.npages || args.dst.length < args.npages) {
    throw new KernelBugError(`${fn}: src/dst are shorter than npages ${args.npages}`);
  }
  if (anyEntry(args.src, args.npages) || anyEntry(args.dst, args.npages)) {
    throw new KernelBugError(
      `${fn}: args carries MIGRATE_PFN_* entries but no migration is in flight on it (finalized already, or never set up); expected migrate_vma_setup() first, and one migrate_vma_finalize() per setup`,
    );
  }
  return undefined;
}

/** Why `fn` cannot run on `rec` now ('' when it can). Model helper. */
export function migrateStageMisuse(fn: string, rec: MigrateInFlight): string {
  if (accessReporting) noteRead(rec);
  switch (rec.stage) {
    case 'collecting':
      return `migrate_vma_setup() is still running on this struct (${describeMigrateInFlight(rec)})`;
    case 'moving':
      return `migrate_vma_pages() is still running on this struct (${describeMigrateInFlight(rec)})`;
    case 'finalizing':
      return `migrate_vma_finalize() is still running on this struct (${describeMigrateInFlight(rec)})`;
    case 'moved':
      return fn === 'migrate_vma_pages'
        ? `migrate_vma_pages() was already called for the ${describeMigrateInFlight(rec)}; expected migrate_vma_finalize() next`
        : '';
    default:
      return '';
  }
}

/**
 * What is wrong with the driver's destination page `page` (referenced, locked, not mapped), or
 * ''. Model helper.
 */
export function dstPageProblem(machine: Machine, page: number): string {
  const pm = machine.phys;
  if (!pfnValid(pm, page)) return 'has no struct page';
  const count = pgRefcount(pm, page);
  if (count <= 0) return 'is free';
  if (isZoneDevicePage(pm, page) && count < 2) return 'is an idle device page (no reference taken)';
  if ((pgFlags(pm, page) & PG_locked) === 0) return 'is not locked';
  const mapped = pgMapcount(pm, page);
  if (mapped > 0) return `is mapped by a process (mapcount ${mapped})`;
  return '';
}

/** Pages held by the other migrations in flight on `machine`, with the one that holds each. */
function heldElsewhere(machine: Machine, rec: MigrateInFlight): Map<number, MigrateInFlight> {
  const held = new Map<number, MigrateInFlight>();
  for (const other of migrationsInFlight(machine)) {
    if (other === rec) continue;
    for (const p of migrateInFlightPages(other)) held.set(p, other);
    // Between setup and pages its destination pages are only in its dst array (another task's:
    // a reported read of all of it).
    if (other.dst === null) {
      if (accessReporting) noteRead(other.dstArray);
      for (let i = 0; i < other.npages; i++) {
        const v = other.dstArray[i] as number;
        if (Number.isSafeInteger(v) && v >= 0 && migratePfnToPage(v) >= 0) {
          held.set(migratePfnToPage(v), other);
        }
      }
    }
  }
  return held;
}

/**
 * Check every destination entry of `dst` for the migration `rec` before anything changes: each is
 * an unsigned long (InvalidArgumentError otherwise); each page is referenced and locked by the
 * driver, unmapped, not one of this migration's source pages, not in two slots, and not held by
 * another migration in flight (KernelBugError: the kernel would unlock or free it twice).
 * Model helper.
 */
export function checkDstPages(
  machine: Machine,
  rec: MigrateInFlight,
  dst: Float64Array,
  fn: string,
): void {
  if (accessReporting) noteRead(rec);
  if (accessReporting) noteRead(dst);
  const srcSlot = new Map<number, number>();
  for (let i = 0; i < rec.npages; i++) {
    const p = migratePfnToPage(rec.src[i] as number);
    if (p >= 0) srcSlot.set(p, i);
  }
  const seen = new Map<number, number>();
  let elsewhere: Map<number, MigrateInFlight> | null = null;
  for (let i = 0; i < rec.npages; i++) {
    const v = dst[i] as number;
    checkUlong(fn, `args.dst[${i}]`, v, 'a MIGRATE_PFN_* entry');
    const page = migratePfnToPage(v);
    if (page < 0) continue;
    let bad = dstPageProblem(machine, page);
    if (bad === '' && seen.has(page)) {
      bad = `is also dst[${seen.get(page)}] (a destination page serves one slot)`;
    }
    if (bad === '' && srcSlot.has(page)) bad = `is the source page of slot ${srcSlot.get(page)}`;
    if (bad === '') {
      elsewhere ??= heldElsewhere(machine, rec);
      const other = elsewhere.get(page);
      if (other !== undefined) bad = `is held by another ${describeMigrateInFlight(other)}`;
    }
    if (bad !== '') {
      throw new KernelBugError(
        `${fn}: dst[${i}] (pfn ${page}) ${bad}; expected a page the driver referenced and locked for this slot alone (nothing was changed)`,
      );
    }
    seen.set(page, i);
  }
}
