/**
 * CPU accesses from user space: walk the page tables like the MMU, fault through the arch
 * handler's checks and handleMmFault as needed (looping until the access succeeds), copy the
 * bytes and set the accessed/dirty bits. Mirrors arch/x86/mm/fault.c:do_user_addr_fault() plus the
 * hardware walk.
 *
 * Model choice: mmap_sem is held for read across the whole access (a user copy of several pages
 * behaves like one faulting instruction per page with the lock held), so nothing can unmap a page
 * between the walk and the copy.
 */

import {
  downRead,
  HPAGE_PMD_ORDER,
  InvalidArgumentError,
  KernelBugError,
  PAGE_SIZE,
  PMD_SIZE,
  pteIndex,
  TASK_SIZE,
  upRead,
  VADDR_LIMIT,
} from '@hmmsim/kernel';
import {
  _PAGE_ACCESSED,
  entryIsTable,
  pmdOffset,
  pmdProtnone,
  pmdTransHuge,
  pmdWrite,
  pteMkdirty,
  ptePresent,
  pteProtnone,
  pteWrite,
  readPage,
  setPmd,
  setPte,
  tableSlot,
  writePage,
} from '@hmmsim/pagetable';
import { checkAddr, checkBytes, checkMm, checkSize } from './check-args.ts';
import {
  FAULT_FLAG_USER,
  FAULT_FLAG_WRITE,
  handleMmFault,
  VM_FAULT_ERROR,
  VM_FAULT_HWPOISON,
  VM_FAULT_HWPOISON_LARGE,
  VM_FAULT_OOM,
  VM_FAULT_SIGBUS,
} from './memory.ts';
import type { MmStruct } from './mm-struct.ts';
import { ptBits, ptVal } from './shared-access.ts';
import { findVma, VM_EXEC, VM_READ, VM_WRITE } from './vma.ts';

/** A failed user access: the signal the process would get. */
export interface CpuAccessFault {
  readonly ok: false;
  readonly signal: 'SIGSEGV' | 'SIGBUS' | 'SIGKILL';
  /** SEGV_MAPERR (no mapping), SEGV_ACCERR (protection), BUS_ADRERR, BUS_MCEERR_AR (poison), OOM (killed). */
  readonly code: 'SEGV_MAPERR' | 'SEGV_ACCERR' | 'BUS_ADRERR' | 'BUS_MCEERR_AR' | 'OOM';
  readonly addr: number;
}

/** Result of cpuRead / cpuWrite. */
export type CpuAccessResult = { readonly ok: true; readonly data?: Uint8Array } | CpuAccessFault;

/** What the CPU maps at an address: the page, whether writable, and the mapping's order. */
export interface PteMapping {
  readonly pfn: number;
  readonly write: boolean;
  /** 0 for a PTE, HPAGE_PMD_ORDER (9) for a huge PMD. */
  readonly order: number;
}

/**
 * What the CPU page table maps at `addr` right now — the page, writability and mapping order —
 * or null when an access would fault (nothing present, PROT_NONE). Reads only: no accessed or
 * dirty bit is set, no lock is taken, nothing changes, so invariant checks can call it at any
 * step. Mirrors mm/memory.c:follow_pte() (which, like follow_pte_pmd(), also reports a huge PMD).
 */
export function followPte(mm: MmStruct, addr: number): PteMapping | null {
  checkMm('followPte', mm);
  checkAddr('followPte', 'addr', addr);
  if (addr >= VADDR_LIMIT) return null;
  const pt = mm.pt;
  const pmd = pmdOffset(pt, addr);
  if (pmd < 0) return null;
  const pb = ptBits(pt, pmd);
  if (pmdTransHuge(pb)) {
    if (pmdProtnone(pb)) return null;
    const pfn = ptVal(pt, pmd) + Math.floor((addr % PMD_SIZE) / PAGE_SIZE);
    return { pfn, write: pmdWrite(pb), order: HPAGE_PMD_ORDER };
  }
  if (!entryIsTable(pb)) return null;
  const slot = tableSlot(ptVal(pt, pmd), pteIndex(addr));
  const bits = ptBits(pt, slot);
  if (!ptePresent(bits) || pteProtnone(bits)) return null;
  return { pfn: ptVal(pt, slot), write: pteWrite(bits), order: 0 };
}

/**
 * The access the hardware (or GUP with FOLL_TOUCH) makes: the pfn mapped at `addr` if the access
 * (read, or write when `write`) would succeed now, setting the accessed (and, for a write, dirty)
 * bit; null if it would fault. For a lookup without side effects use followPte().
 * Mirrors mm/gup.c:follow_page_mask() with FOLL_TOUCH [| FOLL_WRITE] (and the x86 hardware walk).
 */
export function followPageMask(mm: MmStruct, addr: number, write: boolean): number | null {
  checkAddr('followPageMask', 'addr', addr);
  if (addr >= VADDR_LIMIT) return null;
  const pt = mm.pt;
  const pmd = pmdOffset(pt, addr);
  if (pmd < 0) return null;
  const pb = ptBits(pt, pmd);
  if (pmdTransHuge(pb)) {
    if (pmdProtnone(pb) || (write && !pmdWrite(pb))) return null;
    const nb = write ? pteMkdirty(pb | _PAGE_ACCESSED) : pb | _PAGE_ACCESSED;
    const head = ptVal(pt, pmd);
    if (nb !== pb) setPmd(pt, pmd, nb, head);
    return head + Math.floor((addr % PMD_SIZE) / PAGE_SIZE);
  }
  if (!entryIsTable(pb)) return null;
  const slot = tableSlot(ptVal(pt, pmd), pteIndex(addr));
  const bits = ptBits(pt, slot);
  if (!ptePresent(bits) || pteProtnone(bits) || (write && !pteWrite(bits))) return null;
  const nb = write ? pteMkdirty(bits | _PAGE_ACCESSED) : bits | _PAGE_ACCESSED;
  const pfn = ptVal(pt, slot);
  if (nb !== bits) setPte(pt, slot, nb, pfn);
  return pfn;
}

const MAX_FAULT_RETRIES = 1000;

/** Resolve `addr` for an access (mmap_sem held for read): the pfn, or the signal. */
async function translate(
  mm: MmStruct,
  addr: number,
  write: boolean,
): Promise<number | CpuAccessFault> {
  for (let tries = 0; tries < MAX_FAULT_RETRIES; tries++) {
    const pfn = followPageMask(mm, addr, write);
    if (pfn !== null) return pfn;
    const vma = findVma(mm, addr);
    if (vma === undefined || vma.vmStart > addr) {
      return { ok: false, signal: 'SIGSEGV', code: 'SEGV_MAPERR', addr };
    }
    const allowed = write
      ? (vma.vmFlags & VM_WRITE) !== 0
      : (vma.vmFlags & (VM_READ | VM_WRITE | VM_EXEC)) !== 0;
    if (!allowed) return { ok: false, signal: 'SIGSEGV', code: 'SEGV_ACCERR', addr };
    const ret = await handleMmFault(vma, addr, FAULT_FLAG_USER | (write ? FAULT_FLAG_WRITE : 0));
    if ((ret & VM_FAULT_ERROR) !== 0) {
      if ((ret & VM_FAULT_OOM) !== 0) return { ok: false, signal: 'SIGKILL', code: 'OOM', addr };
      if ((ret & (VM_FAULT_HWPOISON | VM_FAULT_HWPOISON_LARGE)) !== 0) {
        return { ok: false, signal: 'SIGBUS', code: 'BUS_MCEERR_AR', addr };
      }
      if ((ret & VM_FAULT_SIGBUS) !== 0)
        return { ok: false, signal: 'SIGBUS', code: 'BUS_ADRERR', addr };
      return { ok: false, signal: 'SIGSEGV', code: 'SEGV_MAPERR', addr };
    }
  }
  throw new KernelBugError(
    `cpu access: mm${mm.id} 0x${addr.toString(16)} still faults after ${MAX_FAULT_RETRIES} retries`,
  );
}

/** Largest user copy the model makes in one call (its buffer is allocated up front). */
export const MAX_USER_COPY = 2 ** 30;

/**
 * InvalidArgumentError for arguments no user program could produce (not an mm, an address or
 * length that is no unsigned long, a copy past MAX_USER_COPY); else the fault of an address past
 * user space, or null.
 */
function badRange(fn: string, mm: MmStruct, addr: number, len: number): CpuAccessFault | null {
  checkMm(fn, mm);
  checkAddr(fn, 'addr', addr);
  checkSize(fn, 'len', len);
  if (len > MAX_USER_COPY) {
    throw new InvalidArgumentError(
      `${fn}: len ${len} is past the model's largest user copy; expected at most 2^30 bytes`,
    );
  }
  if (addr >= TASK_SIZE) return { ok: false, signal: 'SIGSEGV', code: 'SEGV_MAPERR', addr };
  return null;
}

/**
 * Copy between `buf` and `[addr, addr + buf.length)` (into the pages when `write`) page piece
 * by page piece with mmap_sem held for read, faulting each page in as the access needs; null
 * when done, or the fault that stopped it (the pieces before it were copied). The loop of a user
 * copy: arch/x86/lib/usercopy_64.c with the fault handler retrying the faulting access.
 */
async function userCopy(
  mm: MmStruct,
  addr: number,
  buf: Uint8Array,
  write: boolean,
): Promise<CpuAccessFault | null> {
  const pm = mm.machine.phys;
  const end = addr + buf.length;
  await downRead(mm.mmapSem);
  try {
    for (let p = addr; p < end; ) {
      const off = p % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, end - p);
      let pfn = followPageMask(mm, p, write); // the MMU hit: no fault, no promise
      if (pfn === null) {
        const r = await translate(mm, p, write);
        if (typeof r !== 'number') return r;
        pfn = r;
      }
      const piece = buf.subarray(p - addr, p - addr + n);
      if (write) writePage(pm, pfn, off, piece);
      else readPage(pm, pfn, off, piece);
      p += n;
    }
  } finally {
    upRead(mm.mmapSem);
  }
  return null;
}

/**
 * Read `len` bytes at `addr` as user code would: `{ok: true, data}` or the signal (never throws
 * for user errors; bytes before a faulting page are not returned). Takes mmap_sem for read.
 * InvalidArgumentError for an address or length that is no unsigned long (no program can make
 * such an access) or a copy past MAX_USER_COPY.
 * Mirrors arch/x86/mm/fault.c:do_user_addr_fault() around a user load (copy_to_user semantics).
 */
export async function cpuRead(mm: MmStruct, addr: number, len: number): Promise<CpuAccessResult> {
  const bad = badRange('cpuRead', mm, addr, len);
  if (bad !== null) return bad;
  if (mm.exited) return { ok: false, signal: 'SIGSEGV', code: 'SEGV_MAPERR', addr };
  const out = new Uint8Array(len);
  return (await userCopy(mm, addr, out, false)) ?? { ok: true, data: out };
}

/**
 * Write `bytes` at `addr` as user code would: `{ok: true}` or the signal (pages before the
 * faulting one are written, as a partial copy would). Takes mmap_sem for read. Bad arguments
 * as for cpuRead().
 * Mirrors arch/x86/mm/fault.c:do_user_addr_fault() around a user store.
 */
export async function cpuWrite(
  mm: MmStruct,
  addr: number,
  bytes: Uint8Array,
): Promise<CpuAccessResult> {
  checkBytes('cpuWrite', 'bytes', bytes);
  const bad = badRange('cpuWrite', mm, addr, bytes.length);
  if (bad !== null) return bad;
  if (mm.exited) return { ok: false, signal: 'SIGSEGV', code: 'SEGV_MAPERR', addr };
  return (await userCopy(mm, addr, bytes, true)) ?? { ok: true };
}
