/**
 * `struct migrate_vma` and the three exported calls of the v5.4 API ("mm: turn migrate_vma upside
 * down"), with the v5.7 `src_owner` and the v5.9 `pgmap_owner`/`flags` behind migrateVmaSetup()'s
 * `version` option (migrate-vma-select.ts): migrate_vma_setup() collects, locks, pin-checks and
 * unmaps the source pages; the driver allocates and locks destination pages and copies the data;
 * migrate_vma_pages() moves the struct page state (or populates empty slots, always under
 * MMU_NOTIFY_CLEAR); migrate_vma_finalize() maps the new (or, on failure, the old) pages back and
 * drops every reference the operation held.
 * MIGRATE_PFN_* encoding: migrate-pfn.ts; the other two steps: migrate-vma-pages.ts,
 * migrate-vma-finalize.ts; the argument checks: migrate-vma-check.ts; the core's record of a
 * migration in flight: migrate-in-flight.ts.
 */
import {
  accessReporting,
  checkUlong,
  EINVAL,
  KernelBugError,
  noteWrite,
  PAGE_SIZE,
  pageAlignDown,
  rwsemIsLocked,
} from '@hmmsim/kernel';
import { type Machine, VM_HUGETLB, VM_SPECIAL, type VmArea } from '@hmmsim/mm';
import { migrateVmaCollect } from './migrate-collect.ts';
import {
  describeMigrateInFlight,
  migrateInFlightBegin,
  migrateInFlightCollected,
  migrateInFlightEnd,
  migrateInFlightOf,
} from './migrate-in-flight.ts';
import { migrateVmaPrepare } from './migrate-prepare.ts';
import { migrateVmaUnmap } from './migrate-unmap.ts';
import { checkMigrateVmaShape } from './migrate-vma-check.ts';
import { type MigrateVmaSetupOptions, migrateVmaSelect } from './migrate-vma-select.ts';

/**
 * Arguments and results of one migration of `[start, end)` inside `vma`. `src` is filled by the
 * core (the driver must not change it after migrateVmaSetup), `dst` by the driver (not to be
 * changed after migrateVmaPages); both need (end - start) / PAGE_SIZE entries. `npages` is the
 * number of slots the walk produced, `cpages` the number currently selected for migration.
 * The caller holds mmap_sem for read across all three calls. `srcOwner` (v5.7–v5.8) and
 * `pgmapOwner` + `flags` (v5.9) are read only by the matching `version` of migrateVmaSetup() and
 * must stay null / 0 otherwise.
 * Access reports (for the explorer's partial-order reduction; the struct and its arrays may be
 * shared with another task): the struct's fields are reported on the struct as a whole, by the
 * three calls in every step that touches them; src/dst entries on the arrays, element = slot (a
 * scan of an array reads all of it). A driver that writes dst[i] reports noteWrite(dst, i): other
 * migrations in flight read it (their check of the destination pages).
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
 * PAGE_SIZE entries (at least 0), no owner and no flags. `start`/`end` that are not addresses
 * (NaN, infinite, fractional, negative, past 2^53) throw InvalidArgumentError. Model helper (a C
 * designated initializer plus two arrays).
 */
export function createMigrateVma(vma: VmArea | null, start: number, end: number): MigrateVma {
  checkUlong('createMigrateVma', 'start', start, 'an address');
  checkUlong('createMigrateVma', 'end', end, 'an address');
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
 * nothing throw InvalidArgumentError before anything changes, as do a start, end or flags that
 * is not an unsigned long and fields of the wrong type. A struct (or src/dst array) that still
 * carries a migration between setup and finalize throws KernelBugError before anything changes
 * (setting it up again would leave that migration's pages locked behind migration entries for
 * good). After 0 with cpages > 0 the migration is in flight until migrateVmaFinalize().
 * Mirrors mm/migrate.c:migrate_vma_setup() (v5.4; v5.7 src_owner; v5.9 pgmap_owner and flags).
 */
export async function migrateVmaSetup(
  args: MigrateVma,
  opts: MigrateVmaSetupOptions = {},
): Promise<number> {
  checkMigrateVmaShape('migrate_vma_setup', args);
  checkUlong('migrate_vma_setup', 'args.start', args.start, 'an address');
  checkUlong('migrate_vma_setup', 'args.end', args.end, 'an address');
  const busy = migrateInFlightOf(args);
  if (busy !== undefined) {
    const which = busy.args === args ? 'args' : "args' src/dst arrays";
    throw new KernelBugError(
      `migrate_vma_setup: ${which} still carry the ${describeMigrateInFlight(busy)}, whose pages stay locked behind migration entries until migrate_vma_finalize(); expected migrate_vma_finalize() (or a struct with arrays of its own) before setting up another migration`,
    );
  }
  const sel = migrateVmaSelect(args, opts);
  // v5.4 computes nr_pages from the unsigned difference: end < start gives a huge count.
  const nrPages =
    args.end >= args.start
      ? Math.floor((args.end - args.start) / PAGE_SIZE)
      : Number.MAX_SAFE_INTEGER;
  if (accessReporting) noteWrite(args);
  args.start = pageAlignDown(args.start);
  args.end = pageAlignDown(args.end);
  const err = setupArgsError(args, nrPages);
  if (err !== 0) return err;
  const ready = args as ReadyMigrateVma;
  checkSetupUsage(ready, nrPages);
  const machine = machineOf(ready);
  const rec = migrateInFlightBegin(machine, ready);
  try {
    if (accessReporting) noteWrite(ready.src);
    ready.src.fill(0, 0, nrPages);
    ready.cpages = 0;
    ready.npages = 0;
    await migrateVmaCollect(machine, ready, sel);
    if (accessReporting) noteWrite(ready);
    if (ready.cpages > 0) await migrateVmaPrepare(machine, ready);
    if (accessReporting) noteWrite(ready);
    if (ready.cpages > 0) await migrateVmaUnmap(machine, ready);
  } catch (error) {
    migrateInFlightEnd(rec);
    throw error;
  }
  if (accessReporting) noteWrite(ready);
  // Nothing selected: no page is locked, finalize has nothing to do.
  if (ready.cpages > 0) migrateInFlightCollected(rec, ready);
  else migrateInFlightEnd(rec);
  return 0;
}
