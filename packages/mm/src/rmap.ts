/**
 * Reverse mapping: anon_vma objects and chains, mapcount bookkeeping, and the rmap walk that
 * finds every (vma, address) mapping a page. Mirrors mm/rmap.c.
 *
 * anon_vma model: every vma that has anonymous pages owns an AnonVma; `AnonVma.vmas` lists every
 * vma linked to it through an anon_vma_chain (its owner, vmas split off it, and the vmas of
 * forked children). A page's `mapping` is the AnonVma of the vma that allocated it, so a walk of a
 * parent's page visits the children but a child's own page never visits the parent, as in Linux.
 * Simplifications (documented): no find_mergeable_anon_vma / anon_vma reuse on fork, and the walk
 * visits vmas in link order rather than interval-tree order.
 */

import { accessReporting, KernelBugError, noteRead, noteWrite } from '@hmmsim/kernel';
import { compoundHead, getPage, PG_anon, PG_head, PG_swapbacked } from '@hmmsim/pagetable';
import { checkAddr, checkMachine, checkPfn, checkVma } from './check-args.ts';
import type { Machine } from './machine.ts';
import { machineNextId } from './machine.ts';
import {
  pgCompoundMapcount,
  pgFlags,
  pgIndex,
  pgMapcount,
  pgMapping,
  pgSetCompoundMapcount,
  pgSetFlags,
  pgSetIndex,
  pgSetMapcount,
  pgSetMapping,
  VMA_FIELD_ANON_VMA_CHAIN,
} from './shared-access.ts';
import type { VmArea } from './vma.ts';
import { linearPageIndex, vmaAddress } from './vma.ts';

/** Anonymous memory object shared across fork. Mirrors include/linux/rmap.h:struct anon_vma. */
export class AnonVma {
  readonly id: number;
  readonly root: AnonVma;
  readonly parent: AnonVma | null;
  private readonly _vmas: VmArea[] = [];

  constructor(machine: Machine, parent: AnonVma | null) {
    this.id = machineNextId(machine);
    this.parent = parent;
    this.root = parent === null ? this : parent.root;
    if (accessReporting) noteWrite(machine.anonVmas, this.id);
    machine.anonVmas.set(this.id, this);
  }

  /**
   * Every vma linked to this anon_vma (the interval tree `rb_root` of Linux); reading it reports
   * a read of the whole anon_vma, code that changes it reports a write.
   */
  get vmas(): VmArea[] {
    if (accessReporting) noteRead(this);
    return this._vmas;
  }
}

function link(vma: VmArea, av: AnonVma): void {
  if (accessReporting) noteWrite(vma, VMA_FIELD_ANON_VMA_CHAIN);
  vma.anonVmaChain.push(av);
  if (accessReporting) noteWrite(av);
  av.vmas.push(vma);
}

/**
 * Make sure `vma` has an anon_vma before its first anonymous page; returns 0.
 * Mirrors mm/rmap.c:__anon_vma_prepare().
 */
export function anonVmaPrepare(vma: VmArea): number {
  if (vma.anonVma !== null) return 0;
  const av = new AnonVma(vma.vmMm.machine, null);
  vma.anonVma = av;
  link(vma, av);
  return 0;
}

/**
 * Link `dst` into every anon_vma `src` is linked to (split, merge importer, fork).
 * Mirrors mm/rmap.c:anon_vma_clone().
 */
export function anonVmaClone(dst: VmArea, src: VmArea): number {
  for (const av of src.anonVmaChain) {
    if (!dst.anonVmaChain.includes(av)) link(dst, av);
  }
  return 0;
}

/**
 * Give a forked child vma the parent's chain plus its own new anon_vma (child of the parent's).
 * Mirrors mm/rmap.c:anon_vma_fork().
 */
export function anonVmaFork(vma: VmArea, pvma: VmArea): number {
  if (pvma.anonVma === null) return 0;
  vma.anonVma = null;
  anonVmaClone(vma, pvma);
  const av = new AnonVma(vma.vmMm.machine, pvma.anonVma);
  vma.anonVma = av;
  link(vma, av);
  return 0;
}

/**
 * Unlink `vma` from all its anon_vmas; an anon_vma left without vmas is unregistered.
 * Mirrors mm/rmap.c:unlink_anon_vmas().
 */
export function unlinkAnonVmas(vma: VmArea): void {
  const machine = vma.vmMm.machine;
  for (const av of vma.anonVmaChain) {
    if (accessReporting) noteWrite(av);
    const i = av.vmas.indexOf(vma);
    if (i >= 0) av.vmas.splice(i, 1);
    if (av.vmas.length === 0) {
      if (accessReporting) noteWrite(machine.anonVmas, av.id);
      machine.anonVmas.delete(av.id);
    }
  }
  if (accessReporting) noteWrite(vma, VMA_FIELD_ANON_VMA_CHAIN);
  vma.anonVmaChain.length = 0;
}

/** KernelBugError unless `pfn` lies in a THP (a compound mapping must have one); its head. */
function checkThp(machine: Machine, pfn: number, fn: string): number {
  const pm = machine.phys;
  const head = compoundHead(pm, pfn);
  if ((pgFlags(pm, head) & PG_head) === 0) {
    throw new KernelBugError(
      `${fn}: pfn ${pfn} is not part of a THP; expected a compound page for a PMD mapping`,
    );
  }
  return head;
}

/**
 * Account the first mapping of a freshly allocated anonymous page (or THP when `compound`):
 * sets PG_anon/PG_swapbacked, mapping = the vma's anon_vma, index, mapcount 1.
 * Mirrors mm/rmap.c:page_add_new_anon_rmap().
 */
export function pageAddNewAnonRmap(
  machine: Machine,
  pfn: number,
  vma: VmArea,
  addr: number,
  compound: boolean,
): void {
  checkMachine('page_add_new_anon_rmap', machine);
  checkPfn('page_add_new_anon_rmap', machine, pfn);
  checkVma('page_add_new_anon_rmap', vma);
  checkAddr('page_add_new_anon_rmap', 'addr', addr);
  const pm = machine.phys;
  const av = vma.anonVma;
  if (av === null) {
    throw new KernelBugError(
      'page_add_new_anon_rmap: vma has no anon_vma; expected anonVmaPrepare() first',
    );
  }
  if (addr < vma.vmStart || addr >= vma.vmEnd) {
    throw new KernelBugError(
      `page_add_new_anon_rmap: address 0x${addr.toString(16)} is outside the vma [0x${vma.vmStart.toString(16)}, 0x${vma.vmEnd.toString(16)}); expected an address of the vma`,
    );
  }
  pgSetFlags(pm, pfn, pgFlags(pm, pfn) | PG_anon | PG_swapbacked);
  pgSetMapping(pm, pfn, av.id);
  pgSetIndex(pm, pfn, linearPageIndex(vma, addr));
  if (compound) {
    if (checkThp(machine, pfn, 'page_add_new_anon_rmap') !== pfn) {
      throw new KernelBugError(
        `page_add_new_anon_rmap: pfn ${pfn} is a THP tail; expected the head for a PMD mapping`,
      );
    }
    pgSetCompoundMapcount(pm, pfn, 1);
  } else {
    pgSetMapcount(pm, pfn, 1);
  }
}

/**
 * Account one more mapping of an already-anonymous page (swap-in, fork copy).
 * Mirrors mm/rmap.c:page_add_anon_rmap() / include/linux/rmap.h:page_dup_rmap().
 */
export function pageDupRmap(machine: Machine, pfn: number, compound: boolean): void {
  checkMachine('page_dup_rmap', machine);
  checkPfn('page_dup_rmap', machine, pfn);
  const pm = machine.phys;
  if (compound) {
    const head = checkThp(machine, pfn, 'page_dup_rmap');
    pgSetCompoundMapcount(pm, head, pgCompoundMapcount(pm, head) + 1);
  } else {
    pgSetMapcount(pm, pfn, pgMapcount(pm, pfn) + 1);
  }
}

/**
 * Account a new mapping of an anonymous page that may not have its rmap set yet (swap-in of a
 * fresh swap-cache page): sets the anon_vma on first mapping. Mirrors mm/rmap.c:do_page_add_anon_rmap().
 */
export function pageAddAnonRmap(machine: Machine, pfn: number, vma: VmArea, addr: number): void {
  checkMachine('page_add_anon_rmap', machine);
  checkPfn('page_add_anon_rmap', machine, pfn);
  checkVma('page_add_anon_rmap', vma);
  checkAddr('page_add_anon_rmap', 'addr', addr);
  const pm = machine.phys;
  if ((pgFlags(pm, pfn) & PG_anon) === 0) {
    pageAddNewAnonRmap(machine, pfn, vma, addr, false);
    return;
  }
  pgSetMapcount(pm, pfn, pgMapcount(pm, pfn) + 1);
}

/** Account a new mapping of a page-cache page. Mirrors mm/rmap.c:page_add_file_rmap(). */
export function pageAddFileRmap(machine: Machine, pfn: number): void {
  checkMachine('page_add_file_rmap', machine);
  checkPfn('page_add_file_rmap', machine, pfn);
  const pm = machine.phys;
  pgSetMapcount(pm, pfn, pgMapcount(pm, pfn) + 1);
}

/** Drop one mapping (PTE, or PMD when `compound`). Mirrors mm/rmap.c:page_remove_rmap(). */
export function pageRemoveRmap(machine: Machine, pfn: number, compound: boolean): void {
  checkMachine('page_remove_rmap', machine);
  checkPfn('page_remove_rmap', machine, pfn);
  const pm = machine.phys;
  if (compound) {
    const head = checkThp(machine, pfn, 'page_remove_rmap');
    const n = pgCompoundMapcount(pm, head) - 1;
    if (n < 0) {
      throw new KernelBugError(
        `page_remove_rmap: THP ${pfn} compound mapcount underflow; expected a PMD mapping to remove`,
      );
    }
    pgSetCompoundMapcount(pm, head, n);
  } else {
    const n = pgMapcount(pm, pfn) - 1;
    if (n < 0) {
      throw new KernelBugError(
        `page_remove_rmap: pfn ${pfn} mapcount underflow; expected a PTE mapping to remove`,
      );
    }
    pgSetMapcount(pm, pfn, n);
  }
}

/**
 * Make `vma`'s anon_vma the owner of an exclusively mapped anonymous page (COW reuse).
 * Mirrors mm/rmap.c:page_move_anon_rmap().
 */
export function pageMoveAnonRmap(machine: Machine, pfn: number, vma: VmArea): void {
  checkMachine('page_move_anon_rmap', machine);
  checkPfn('page_move_anon_rmap', machine, pfn);
  checkVma('page_move_anon_rmap', vma);
  if (vma.anonVma === null) return;
  const pm = machine.phys;
  const head = compoundHead(pm, pfn);
  pgSetMapping(pm, head, vma.anonVma.id);
  if (head !== pfn) pgSetMapping(pm, pfn, vma.anonVma.id);
}

/** Take a page reference for a new mapping. Mirrors include/linux/mm.h:get_page(). */
export function getPageRef(machine: Machine, pfn: number): void {
  checkMachine('getPageRef', machine);
  checkPfn('getPageRef', machine, pfn);
  getPage(machine.phys, pfn);
}

/**
 * Every (vma, address) that may map page `pfn` (anon: the vmas linked to its anon_vma; file:
 * the mapping's i_mmap), in walk order. Mirrors mm/rmap.c:rmap_walk() (rmap_walk_anon /
 * rmap_walk_file) collecting instead of calling back.
 */
export function rmapCandidates(machine: Machine, pfn: number): { vma: VmArea; addr: number }[] {
  checkMachine('rmap_walk', machine);
  checkPfn('rmap_walk', machine, pfn);
  const pm = machine.phys;
  const head = compoundHead(pm, pfn);
  const f = pgFlags(pm, head);
  const id = pgMapping(pm, head);
  const pgoff = pgIndex(pm, head) + (pfn - head);
  const out: { vma: VmArea; addr: number }[] = [];
  let vmas: Iterable<VmArea> | undefined;
  if ((f & PG_anon) !== 0) {
    if (accessReporting) noteRead(machine.anonVmas, id);
    vmas = machine.anonVmas.get(id)?.vmas;
  } else {
    if (accessReporting) noteRead(machine.addressSpaces, id);
    vmas = machine.addressSpaces.get(id)?.iMmap;
  }
  if (vmas === undefined) return out;
  for (const vma of [...vmas]) {
    const addr = vmaAddress(vma, pgoff);
    if (addr < vma.vmStart || addr >= vma.vmEnd) continue;
    out.push({ vma, addr });
  }
  return out;
}
