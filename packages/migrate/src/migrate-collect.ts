/**
 * Step 1 of migrate_vma_setup(): one invalidation of the whole range (MMU_NOTIFY_CLEAR before
 * v5.9, MMU_NOTIFY_MIGRATE with the pgmap owner from v5.9), then a walk that fills src[] slot by
 * slot, taking only what the generation's selection allows (migrate-vma-select.ts), and, for every
 * page it can lock at once, replaces the PTE by a migration entry. Mirrors
 * mm/migrate.c:migrate_vma_collect() with migrate_vma_collect_hole(), migrate_vma_collect_skip()
 * and migrate_vma_collect_pmd() (v5.4; v5.7; v5.9).
 */
import { accessReporting, noteWrite, PAGE_SIZE, PMD_SIZE, pteIndex } from '@hmmsim/kernel';
import {
  addrEnd,
  type Machine,
  MMU_NOTIFY_CLEAR,
  mmPutPage,
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
  mmuNotifierRangeInitMigrate,
  pageRemoveRmap,
  rmapCandidates,
  splitHugePmd,
  vmaIsAnonymous,
  vmNormalPage,
} from '@hmmsim/mm';
import {
  _PAGE_SWP_SOFT_DIRTY,
  entryIsTable,
  getPage,
  isDevicePrivateEntry,
  isWriteDevicePrivateEntry,
  makeMigrationEntry,
  pageIsCompound,
  pmdNone,
  pmdOffset,
  pmdTransHuge,
  ptePresent,
  pteSoftDirty,
  pteSwpSoftDirty,
  pteToSwpEntry,
  pteWrite,
  setPte,
  splitHugePage,
  swpEntryToPteBits,
  tableSlot,
  trylockPage,
} from '@hmmsim/pagetable';
import {
  MIGRATE_PFN_LOCKED,
  MIGRATE_PFN_MIGRATE,
  MIGRATE_PFN_WRITE,
  migratePfn,
  migratePfnHas,
  migratePfnToPage,
} from './migrate-pfn.ts';
import type { ReadyMigrateVma } from './migrate-vma.ts';
import type { MigrateVmaSelect } from './migrate-vma-select.ts';
import { unlockPageWakeWaiters } from './page-lock.ts';
import { devPagemapById, pgMapping, pgPgmap, ptBits, ptVal } from './shared-access.ts';

const PAGE = PAGE_SIZE;

/** Append one slot: src = mpfn, dst = 0. */
function push(args: ReadyMigrateVma, mpfn: number): void {
  const n = args.npages;
  if (accessReporting) noteWrite(args.dst, n);
  args.dst[n] = 0;
  if (accessReporting) noteWrite(args.src, n);
  args.src[n] = mpfn;
  args.npages = n + 1;
}

/**
 * Empty range (no page table): every slot MIGRATE, counted (v5.9: only in an anonymous vma,
 * else skipped). Mirrors migrate_vma_collect_hole().
 */
function collectHole(args: ReadyMigrateVma, holes: boolean, start: number, end: number): void {
  if (!holes) {
    collectSkip(args, start, end);
    return;
  }
  for (let addr = start; addr < end; addr += PAGE) {
    push(args, MIGRATE_PFN_MIGRATE);
    args.cpages++;
  }
}

/** Range that cannot be migrated: every slot 0. Mirrors migrate_vma_collect_skip(). */
function collectSkip(args: ReadyMigrateVma, start: number, end: number): void {
  for (let addr = start; addr < end; addr += PAGE) push(args, 0);
}

/** Whether the selection takes the device-private page `page` (v5.7+: by pgmap owner). */
function devicePrivateSelected(machine: Machine, sel: MigrateVmaSelect, page: number): boolean {
  if (sel.devicePrivate === 'any') return true;
  if (sel.devicePrivate === 'none') return false;
  const owner = devPagemapById(machine, pgPgmap(machine.phys, page))?.owner ?? null;
  return owner === sel.owner;
}

/**
 * The src entry of one non-empty PTE before the page is pinned: 0 to skip it, -1 for the zero
 * page (an empty slot), else `migrate_pfn(p) | MIGRATE [| WRITE]` for the page p to collect.
 */
function entryOf(
  machine: Machine,
  args: ReadyMigrateVma,
  sel: MigrateVmaSelect,
  bits: number,
  val: number,
): number {
  const pm = machine.phys;
  let page: number;
  let mpfn: number;
  if (!ptePresent(bits)) {
    const entry = pteToSwpEntry(bits, val);
    if (!isDevicePrivateEntry(entry)) return 0; // swap, migration, hwpoison: not migrated
    page = val;
    if (!devicePrivateSelected(machine, sel, page)) return 0;
    mpfn = migratePfn(page) + MIGRATE_PFN_MIGRATE;
    if (isWriteDevicePrivateEntry(entry)) mpfn += MIGRATE_PFN_WRITE;
  } else {
    if (!sel.system) return 0; // v5.7 src_owner set / v5.9 without SELECT_SYSTEM
    if (val === pm.zeroPfn) return -1;
    page = vmNormalPage(args.vma, bits, val);
    mpfn = migratePfn(val) + MIGRATE_PFN_MIGRATE + (pteWrite(bits) ? MIGRATE_PFN_WRITE : 0);
  }
  // FIXME of the kernel: no THP support; pages without a mapping are not migrated either.
  if (page < 0 || pgMapping(pm, page) === 0 || pageIsCompound(pm, page)) return 0;
  return mpfn;
}

/** Walk the PTEs of one table over `[addr, end)`. Mirrors the PTE loop of migrate_vma_collect_pmd(). */
function collectPtes(
  machine: Machine,
  args: ReadyMigrateVma,
  sel: MigrateVmaSelect,
  holes: boolean,
  table: number,
  addr: number,
  end: number,
): void {
  const pm = machine.phys;
  const pt = args.vma.vmMm.pt;
  // One PTE table: consecutive slots from the first address's index (no per-page pteIndex()).
  for (let slot = tableSlot(table, pteIndex(addr)); addr < end; addr += PAGE, slot++) {
    const bits = ptBits(pt, slot);
    if (bits === 0) {
      if (holes) {
        push(args, MIGRATE_PFN_MIGRATE);
        args.cpages++;
      } else push(args, 0);
      continue;
    }
    const val = ptVal(pt, slot);
    const mpfn = entryOf(machine, args, sel, bits, val);
    if (mpfn <= 0) {
      if (mpfn < 0) args.cpages++; // the zero page: an empty slot that may be populated
      push(args, mpfn < 0 ? MIGRATE_PFN_MIGRATE : 0);
      continue;
    }
    const page = migratePfnToPage(mpfn);
    getPage(pm, page);
    args.cpages++;
    if (!trylockPage(pm, page)) {
      push(args, mpfn);
      continue;
    }
    const write = migratePfnHas(mpfn, MIGRATE_PFN_WRITE);
    const soft = ptePresent(bits) ? pteSoftDirty(bits) : pteSwpSoftDirty(bits);
    const swp = swpEntryToPteBits(makeMigrationEntry(page, write));
    setPte(pt, slot, soft ? swp | _PAGE_SWP_SOFT_DIRTY : swp, page);
    pageRemoveRmap(machine, page, false);
    mmPutPage(machine, page);
    push(args, mpfn + MIGRATE_PFN_LOCKED);
  }
}

/**
 * A PMD-mapped THP: pin and lock it, split every PMD mapping and then the page itself; false
 * (skip the chunk) when it cannot be locked or split. Mirrors the pmd_trans_huge() branch of
 * migrate_vma_collect_pmd() (there is no huge zero page in the model).
 */
async function splitThp(machine: Machine, head: number): Promise<boolean> {
  const pm = machine.phys;
  getPage(pm, head);
  if (!trylockPage(pm, head)) {
    mmPutPage(machine, head);
    return false;
  }
  for (const { vma, addr } of rmapCandidates(machine, head)) {
    const pt = vma.vmMm.pt;
    const s = pmdOffset(pt, addr);
    if (s >= 0 && pmdTransHuge(ptBits(pt, s)) && ptVal(pt, s) === head) {
      await splitHugePmd(vma, addr);
    }
  }
  const ret = splitHugePage(pm, head);
  unlockPageWakeWaiters(machine, head);
  mmPutPage(machine, head);
  return ret === 0;
}

/** Walk `[start, end)` PMD by PMD. Mirrors walk_page_range() with migrate_vma_walk_ops. */
async function collectRange(
  machine: Machine,
  args: ReadyMigrateVma,
  sel: MigrateVmaSelect,
): Promise<void> {
  if (accessReporting) noteWrite(args);
  const pt = args.vma.vmMm.pt;
  const end = args.end;
  // Empty slots may be populated (v5.9: only where migrate_vma_insert_page() could, anonymous vmas).
  const holes = !sel.anonymousHolesOnly || vmaIsAnonymous(args.vma);
  for (let addr = args.start; addr < end; ) {
    const next = addrEnd(addr, PMD_SIZE, end);
    let slot = pmdOffset(pt, addr);
    let bits = slot < 0 ? 0 : ptBits(pt, slot);
    if (pmdTransHuge(bits)) {
      const ok = await splitThp(machine, ptVal(pt, slot));
      if (accessReporting) noteWrite(args); // a new step: the struct and the page tables are read again
      if (!ok) {
        collectSkip(args, addr, next);
        addr = next;
        continue;
      }
      slot = pmdOffset(pt, addr);
      bits = slot < 0 ? 0 : ptBits(pt, slot);
    }
    if (slot < 0 || pmdNone(bits)) collectHole(args, holes, addr, next);
    else if (!entryIsTable(bits))
      collectSkip(args, addr, next); // pmd_bad, PMD migration entry
    else collectPtes(machine, args, sel, holes, ptVal(pt, slot), addr, next);
    addr = next;
  }
}

/**
 * Fill src[]/dst[] for `[args.start, args.end)` as `sel` allows inside one invalidation (v5.4/v5.7:
 * CLEAR with vma NULL; v5.9: MIGRATE with the vma and the pgmap owner), then set
 * `end = start + npages * PAGE_SIZE`. Mirrors mm/migrate.c:migrate_vma_collect().
 */
export async function migrateVmaCollect(
  machine: Machine,
  args: ReadyMigrateVma,
  sel: MigrateVmaSelect,
): Promise<void> {
  const mm = args.vma.vmMm;
  const range = sel.notifyMigrate
    ? mmuNotifierRangeInitMigrate(0, args.vma, mm, args.start, args.end, sel.notifyOwner)
    : mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, 0, null, mm, args.start, args.end);
  await mmuNotifierInvalidateRangeStart(range);
  await machine.sched.point({ kind: 'migrate', label: 'migrate_vma_collect', obj: `mm${mm.id}` });
  await collectRange(machine, args, sel);
  await mmuNotifierInvalidateRangeEnd(range);
  if (accessReporting) noteWrite(args);
  args.end = args.start + args.npages * PAGE;
}
