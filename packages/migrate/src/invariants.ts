/**
 * Invariants 16–20 (docs/kernel/invariants.md, "Pages and migration"), and the model's invariant 21
 * (no page locked with no migration in flight), as exported checks. Each `check…`
 * returns a list of violations (empty = fine); assertMigrateInvariants() runs them all and throws
 * KernelBugError. "Quiescent" checks hold only when no migration is in flight (after a test, at
 * the end of an explorer schedule); the others hold at every scheduling point.
 * Model checks (no kernel counterpart).
 */
import { HPAGE_PMD_NR, KernelBugError } from '@hmmsim/kernel';
import {
  findVmaContaining,
  forEachLeaf,
  type Machine,
  type MmStruct,
  pteLookup,
  VM_SHARED,
  vmaIsAnonymous,
} from '@hmmsim/mm';
import {
  compoundMapcount,
  isDevicePrivateEntry,
  isMigrationEntry,
  PG_head,
  PG_locked,
  PG_swapcache,
  PG_tail,
  pmdTransHuge,
  ptePresent,
  pteToSwpEntry,
} from '@hmmsim/pagetable';
import { isDevicePrivatePage } from './device-private.ts';
import { DevPagemap } from './memremap.ts';
import {
  describeMigrateInFlight,
  migrateInFlightPages,
  migrationsInFlight,
} from './migrate-in-flight.ts';
import { MIGRATE_PFN_MIGRATE, migratePfnHas, migratePfnToPage } from './migrate-pfn.ts';
import type { MigrateVma } from './migrate-vma.ts';

/** Options of checkPageRefcounts(). */
export interface RefcountCheckOptions {
  /** References held outside the page tables and caches (a GUP pin, a device file's own pages). */
  readonly extraRefs?: (pfn: number) => number;
}

/** A device allocator as the page_free check sees it (TestDevice fits). */
export interface DeviceFreeList {
  /** True if `pfn` is one of the device pages this list manages. */
  owns(pfn: number): boolean;
  /** True if `pfn` is on the free list now. */
  isFree(pfn: number): boolean;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** Page-cache references per pfn. */
function cacheRefs(machine: Machine): Map<number, number> {
  const refs = new Map<number, number>();
  for (const as of machine.addressSpaces.values()) {
    for (const pfn of as.pages.values()) refs.set(pfn, (refs.get(pfn) ?? 0) + 1);
  }
  return refs;
}

/** References a RAM page (head) should have: its mappings, its cache slots, the extra pins. */
function expectedRamRefs(machine: Machine, head: number, cache: Map<number, number>): number {
  const pm = machine.phys;
  const nr = ((pm.flags[head] as number) & PG_head) !== 0 ? HPAGE_PMD_NR : 1;
  let n = nr > 1 ? compoundMapcount(pm, head) : 0;
  for (let p = head; p < head + nr; p++) {
    n += (pm.mapcount[p] as number) + (cache.get(p) ?? 0);
    if (((pm.flags[p] as number) & PG_swapcache) !== 0) n += 1;
  }
  return n;
}

/**
 * Invariant 16 (quiescent): every allocated RAM page's refcount equals its PTE/PMD mappings plus
 * its page-cache / swap-cache references plus `extraRefs`; every device page's equals 1 (idle)
 * plus its mappings plus `extraRefs`. A leftover collect/isolation/driver reference shows up here.
 * Model check, no kernel counterpart.
 */
export function checkPageRefcounts(machine: Machine, opts: RefcountCheckOptions = {}): string[] {
  const pm = machine.phys;
  const out: string[] = [];
  const cache = cacheRefs(machine);
  const extra = opts.extraRefs ?? (() => 0);
  for (let pfn = 1; pfn < pm.memmapEnd; pfn++) {
    const count = pm.refcount[pfn] as number;
    if (count === 0 || ((pm.flags[pfn] as number) & PG_tail) !== 0) continue;
    const device = pm.pgmap[pfn] !== 0;
    const want = device
      ? 1 + (pm.mapcount[pfn] as number) + extra(pfn)
      : expectedRamRefs(machine, pfn, cache) + extra(pfn);
    if (count !== want) {
      out.push(
        `invariant 16: ${device ? 'device' : 'RAM'} pfn ${pfn} refcount ${count}, expected ${want} (mappings + caches${device ? ' + idle 1' : ''} + extra)`,
      );
    }
  }
  return out;
}

/**
 * Invariant 17, on a finished migrate_vma (after pages/finalize): no slot whose source page is a
 * pinned system page (`pinned`: pfns with references the mappings do not explain) kept MIGRATE.
 * Device-private pages are always movable and are not reported.
 * Model check, no kernel counterpart.
 */
export function checkPinnedNotMigrated(
  machine: Machine,
  args: MigrateVma,
  pinned: ReadonlySet<number>,
): string[] {
  const out: string[] = [];
  const src = args.src;
  if (src === null) return out;
  for (let i = 0; i < args.npages; i++) {
    const mpfn = src[i] as number;
    const page = migratePfnToPage(mpfn);
    if (page < 0 || !pinned.has(page) || isDevicePrivatePage(machine, page)) continue;
    if (migratePfnHas(mpfn, MIGRATE_PFN_MIGRATE)) {
      out.push(`invariant 17: pinned pfn ${page} (slot ${i}) was migrated`);
    }
  }
  return out;
}

/**
 * Invariant 17 seen from the page tables: each `{addr, pfn}` (a page pinned before a migration)
 * is still mapped at `addr` by a present PTE of `mm`.
 * Model check, no kernel counterpart.
 */
export function checkPinnedPagesStayed(
  mm: MmStruct,
  pinned: readonly { readonly addr: number; readonly pfn: number }[],
): string[] {
  const out: string[] = [];
  for (const { addr, pfn } of pinned) {
    const slot = pteLookup(mm, addr);
    const bits = slot < 0 ? 0 : (mm.pt.bits[slot] as number);
    if (slot < 0 || !ptePresent(bits) || mm.pt.val[slot] !== pfn) {
      out.push(`invariant 17: pinned pfn ${pfn} is no longer mapped at ${hex(addr)}`);
    }
  }
  return out;
}

/** Device-private misuse in one mm's page tables. */
function exposedIn(machine: Machine, mm: MmStruct, out: string[]): void {
  forEachLeaf(mm.pt, (e) => {
    const present = e.level === 2 ? pmdTransHuge(e.bits) : ptePresent(e.bits);
    if (present) {
      if (isDevicePrivatePage(machine, e.val)) {
        out.push(
          `invariant 18: device-private pfn ${e.val} in a present entry at ${hex(e.addr)} (mm${mm.id})`,
        );
      }
      return;
    }
    if (e.level !== 1) return;
    const entry = pteToSwpEntry(e.bits, e.val);
    if (!isDevicePrivateEntry(entry)) return;
    if (!isDevicePrivatePage(machine, e.val)) {
      out.push(
        `invariant 18: device-private entry at ${hex(e.addr)} names pfn ${e.val}, not a device-private page`,
      );
    }
    const vma = findVmaContaining(mm, e.addr);
    if (vma === undefined || !vmaIsAnonymous(vma) || (vma.vmFlags & VM_SHARED) !== 0) {
      out.push(
        `invariant 18: device-private entry at ${hex(e.addr)} (mm${mm.id}) outside private anonymous memory`,
      );
    }
  });
}

/**
 * Invariant 18: no device-private pfn in a present CPU entry of any mm, in `dmaPfns` (the pfns
 * behind live DMA mappings) or in `gupPfns`; device-private entries name device-private pages and
 * sit only in private anonymous vmas.
 * Model check, no kernel counterpart.
 */
export function checkDevicePrivateNotExposed(
  machine: Machine,
  opts: { readonly dmaPfns?: Iterable<number>; readonly gupPfns?: Iterable<number> } = {},
): string[] {
  const out: string[] = [];
  for (const mm of machine.mms) exposedIn(machine, mm, out);
  for (const [what, pfns] of [
    ['DMA mapping', opts.dmaPfns],
    ['GUP result', opts.gupPfns],
  ] as const) {
    for (const pfn of pfns ?? []) {
      if (isDevicePrivatePage(machine, pfn))
        out.push(`invariant 18: device-private pfn ${pfn} in a ${what}`);
    }
  }
  return out;
}

/** The free list that manages `pfn`, if any. */
function ownerOf(lists: readonly DeviceFreeList[], pfn: number): DeviceFreeList | undefined {
  for (const l of lists) if (l.owns(pfn)) return l;
  return undefined;
}

function registeredPgmaps(machine: Machine): DevPagemap[] {
  const out: DevPagemap[] = [];
  for (const p of machine.devPagemaps.values()) if (p instanceof DevPagemap) out.push(p);
  return out;
}

/**
 * Invariant 19: page_free was only ever called for an unmapped, unlocked page at refcount 1
 * (recorded by the dispatcher), and (quiescent, with the drivers' free lists) a device page is
 * idle (refcount 1) exactly when its driver has it on the free list — an idle page not on the
 * list leaked, a busy page on the list was freed twice or too early.
 * Model check, no kernel counterpart.
 */
export function checkDevicePageFree(
  machine: Machine,
  freeLists: readonly DeviceFreeList[] = [],
): string[] {
  const pm = machine.phys;
  const out: string[] = [];
  for (const pgmap of registeredPgmaps(machine)) {
    for (const v of pgmap.pageFreeViolations) out.push(`invariant 19: pgmap ${pgmap.id}: ${v}`);
    if (pgmap.res === null) continue;
    for (let pfn = pgmap.res.start; pfn < pgmap.res.end; pfn++) {
      const list = ownerOf(freeLists, pfn);
      if (list === undefined) continue;
      const idle = pm.refcount[pfn] === 1;
      if (idle !== list.isFree(pfn)) {
        out.push(
          `invariant 19: device pfn ${pfn} refcount ${pm.refcount[pfn]} but ${list.isFree(pfn) ? '' : 'not '}on its driver's free list`,
        );
      }
    }
  }
  return out;
}

/**
 * Invariant 20: every migration entry names a live, locked page; when `quiescent`, no migration
 * entry exists at all (finalize replaced them all).
 * Model check, no kernel counterpart.
 */
export function checkMigrationEntries(
  machine: Machine,
  opts: { readonly quiescent: boolean },
): string[] {
  const pm = machine.phys;
  const out: string[] = [];
  for (const mm of machine.mms) {
    forEachLeaf(mm.pt, (e) => {
      if (e.level !== 1 || ptePresent(e.bits)) return;
      if (!isMigrationEntry(pteToSwpEntry(e.bits, e.val))) return;
      const where = `migration entry at ${hex(e.addr)} (mm${mm.id}) for pfn ${e.val}`;
      if (opts.quiescent) out.push(`invariant 20: ${where} remains after finalize`);
      else if ((pm.refcount[e.val] as number) <= 0)
        out.push(`invariant 20: ${where}: the page is free`);
      else if (((pm.flags[e.val] as number) & PG_locked) === 0)
        out.push(`invariant 20: ${where}: the page is not locked`);
    });
  }
  return out;
}

/**
 * Invariant 21 (model): a page is locked only while something holds it. Quiescent (no task in
 * the middle of a fault or a migration step), every locked page must be held by a migrate_vma
 * between setup and finalize — and since quiescent also means no migration is in flight, each
 * such migration is reported too ("set up and never finalized"); a locked page no migration
 * holds is reported as locked with no migration in flight (e.g. a struct set up twice, which lost
 * the first setup's pages). At every point, each source page a migration in flight holds must
 * still be locked. Model check, no kernel counterpart.
 */
export function checkLockedPages(
  machine: Machine,
  opts: { readonly quiescent: boolean },
): string[] {
  const pm = machine.phys;
  const out: string[] = [];
  const held = new Set<number>();
  for (const rec of migrationsInFlight(machine)) {
    const what = (): string => describeMigrateInFlight(rec);
    if (opts.quiescent) out.push(`invariant 21: ${what()} was set up and never finalized`);
    for (const page of migrateInFlightPages(rec)) {
      held.add(page);
      if (rec.stage === 'collecting') continue;
      if ((pm.refcount[page] as number) > 0 && ((pm.flags[page] as number) & PG_locked) === 0) {
        out.push(`invariant 21: pfn ${page} is held by the ${what()} but not locked`);
      }
    }
  }
  if (!opts.quiescent) return out;
  const flags = pm.flags;
  for (let pfn = 0; pfn < pm.memmapEnd; pfn++) {
    if (((flags[pfn] as number) & PG_locked) === 0) continue;
    if (!held.has(pfn)) out.push(`invariant 21: pfn ${pfn} is locked with no migration in flight`);
  }
  return out;
}

/** Options of checkMigrateInvariants(). */
export interface MigrateInvariantOptions extends RefcountCheckOptions {
  /** True when no migration is in flight: adds the quiescent checks (16, 19 lists, 20 none left). */
  readonly quiescent: boolean;
  readonly freeLists?: readonly DeviceFreeList[];
  readonly dmaPfns?: Iterable<number>;
}

/** Invariants 16 (quiescent), 18, 19, 20 and 21 over the whole machine. Model check, no kernel counterpart. */
export function checkMigrateInvariants(machine: Machine, opts: MigrateInvariantOptions): string[] {
  const out = [
    ...checkDevicePrivateNotExposed(
      machine,
      opts.dmaPfns === undefined ? {} : { dmaPfns: opts.dmaPfns },
    ),
    ...checkDevicePageFree(machine, opts.quiescent ? (opts.freeLists ?? []) : []),
    ...checkMigrationEntries(machine, { quiescent: opts.quiescent }),
    ...checkLockedPages(machine, { quiescent: opts.quiescent }),
  ];
  if (opts.quiescent) out.push(...checkPageRefcounts(machine, opts));
  return out;
}

/** Throw KernelBugError listing every violation of checkMigrateInvariants(). Model check, no kernel counterpart. */
export function assertMigrateInvariants(machine: Machine, opts: MigrateInvariantOptions): void {
  const errs = checkMigrateInvariants(machine, opts);
  if (errs.length > 0) throw new KernelBugError(errs.join('\n'));
}
