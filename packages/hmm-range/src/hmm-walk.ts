/**
 * The page-walk side of hmm_range_fault(): the walk state (struct hmm_vma_walk), the fault
 * decision (hmm_pte_need_fault / hmm_range_need_fault) and the walker ops (hole, PUD, PMD with
 * its PTE-table loop, per-VMA test). Mechanism is @hmmsim/pagetable's walkPageRange(); the walk is
 * synchronous, so where mm/hmm.c would call handle_mm_fault() from inside the walk, the op records
 * the pages to fault in the state (`pend*` fields) and stops the walk with WALK_PENDING; the
 * caller (hmm-fault.ts) runs the faults and walks again — the v5.5 structure.
 *
 * Hot-path rules: one pmdEntry call scans a whole PTE table (as hmm_vma_walk_pmd does); no
 * closures or allocations per entry; imported constants are aliased locally; every bitwise
 * operator works on values below 2^31 (driver flags and request words < 2^31, PTE `bits` < 2^22).
 *
 * Shared-state reports (explorer's partial-order reduction): the driver's entry array per element
 * (noteRead/noteWrite(pfns, i)), page-table entries read here directly per slot
 * (noteRead(pt, slot), as @hmmsim/pagetable reports them), the memmap's pgmap per pfn
 * (noteRead(phys, pfn)) and the dev_pagemap table per id (noteRead(machine.devPagemaps, id));
 * VmArea fields report themselves (@hmmsim/mm accessors). A PTE table is reported as a whole run up front by walkPteTable() (its fast
 * loop reports nothing per entry). The walk state (HmmVmaWalk) is private to one call.
 */
import {
  accessReporting,
  EBUSY,
  EFAULT,
  EPERM,
  HPAGE_PMD_ORDER,
  noteRead,
  PAGE_SHIFT,
  PAGE_SIZE,
  PGDIR_SIZE,
  PTRS_PER_PTE,
  PUD_SHIFT,
  PUD_SIZE,
  pgdIndex,
  pteIndex,
  VADDR_LIMIT,
} from '@hmmsim/kernel';
import type { Machine, VmArea } from '@hmmsim/mm';
import { VM_IO, VM_MIXEDMAP, VM_PFNMAP, VM_READ, VM_WRITE } from '@hmmsim/mm';
import {
  _PAGE_DEVMAP,
  _PAGE_PRESENT,
  _PAGE_PROTNONE,
  _PAGE_PSE,
  _PAGE_RW,
  _PAGE_SPECIAL,
  _PAGE_SWP_ENTRY,
  _PAGE_SWP_TYPE_SHIFT,
  _PAGE_TABLE,
  _PAGE_USER,
  MAX_SWAPFILES,
  type MmWalk,
  type MmWalkOps,
  SWP_DEVICE_READ,
  SWP_DEVICE_WRITE,
  SWP_MIGRATION_READ,
  SWP_MIGRATION_WRITE,
} from '@hmmsim/pagetable';
import { noteElementsRead, noteElementsWrite } from './access.ts';
import { entryLowBits, entryOr } from './entry-bits.ts';
import type { HmmQuirks } from './hmm-range.ts';

// Local aliases: loads of imported bindings are not constant-folded in hot loops under tsx.
const PAGE = PAGE_SIZE;
const PTRS = PTRS_PER_PTE;
const PRESENT = _PAGE_PRESENT;
const PROTNONE = _PAGE_PROTNONE;
const PRESENT_OR_PROTNONE = _PAGE_PRESENT | _PAGE_PROTNONE;
const RW = _PAGE_RW;
const SPECIAL = _PAGE_SPECIAL;
const DEVMAP = _PAGE_DEVMAP;
const PSE = _PAGE_PSE;
const SWP = _PAGE_SWP_ENTRY;
const SWP_TYPE_SHIFT = _PAGE_SWP_TYPE_SHIFT;
const TABLE_BITS = _PAGE_TABLE & ~_PAGE_USER;
/** Bits that take a present PTE off the fast path (special, devmap). */
const FAST_MASK = _PAGE_PRESENT | _PAGE_SPECIAL | _PAGE_DEVMAP;
const VM_UNSUPPORTED = VM_IO | VM_PFNMAP | VM_MIXEDMAP;
/** Order of a PUD leaf (PUD_SHIFT - PAGE_SHIFT = 18 on x86-64). */
const PUD_ORDER = PUD_SHIFT - PAGE_SHIFT;

/** Fault decision bits (hmm_pte_need_fault's fault / write_fault). */
export const NEED_FAULT = 1;
/** Write fault (always with NEED_FAULT). */
export const NEED_WRITE = 2;

/** Op result: the walk stopped because faults (or a migration wait) are pending in the state. */
export const WALK_PENDING = -4096;

/** What the walk left for the caller to do. */
export const PEND_NONE = 0;
/** Fault [pendAddr, pendEnd) (hmm_vma_walk_hole_ with fault set). */
export const PEND_FAULT = 1;
/** Wait for the migration of page pendPfn, then re-walk (migration_entry_wait). */
export const PEND_MIGRATION_WAIT = 2;

/**
 * The entry format one call writes, decoded into numbers: the driver tables of v5.4–v5.7, or the
 * fixed hmm_pfns format of v5.8+ (flag byte below the pfn, hmm-pfns.ts), which is the same
 * mechanism with fixed values. Model-only.
 */
export interface HmmWalkFormat {
  readonly pfns: Float64Array;
  readonly rangeStart: number;
  /** Request/output bits of VALID, WRITE, DEVICE_PRIVATE (0 where the generation has none). */
  readonly fValid: number;
  readonly fWrite: number;
  readonly fDev: number;
  readonly none: number;
  readonly error: number;
  readonly special: number;
  /** 2^pfn position. */
  readonly scale: number;
  readonly defaultFlags: number;
  readonly pfnFlagsMask: number;
}

/**
 * What the generation being run does, beyond the quirk switches: the structural changes of the
 * 2020 series that are API, not bug fixes. Model-only.
 */
export interface HmmWalkGeneration {
  /** HMM_FAULT_SNAPSHOT was passed (v5.4–v5.5 only). */
  readonly snapshot: boolean;
  /** v5.5+: the per-VMA test runs in test_walk. */
  readonly testVma: boolean;
  /**
   * v5.7+: dev_private_owner filter; no pfns written on error or before a fault; no-VMA holes and
   * unsupported VMAs give ERROR; no get_dev_pagemap check; protnone encoded as a pfn.
   */
  readonly modern: boolean;
  /** dev_private_owner (v5.7+). */
  readonly owner: unknown;
  /** v5.9: the map order goes into PMD/PUD entries (added to the output flags). */
  readonly mapOrder: boolean;
}

/**
 * Per-call walk state: the entry format decoded into 32-bit words, the position reached
 * (`last`), the quirk and generation switches and the pending fault.
 * Mirrors mm/hmm.c:struct hmm_vma_walk.
 */
export class HmmVmaWalk {
  readonly pfns: Float64Array;
  readonly rangeStart: number;
  /** First address not yet known to be done (hmm_vma_walk.last). */
  last: number;
  readonly snapshot: boolean;
  readonly fValid: number;
  readonly fWrite: number;
  readonly fDev: number;
  /** Output flag words: VALID, VALID|WRITE, VALID|DEVICE_PRIVATE, VALID|DEVICE_PRIVATE|WRITE. */
  readonly encV: number;
  readonly encVW: number;
  readonly encDev: number;
  readonly encDevW: number;
  /** CPU-flag words for the decision: present RO / RW, device-private RO / RW. */
  readonly cpuV: number;
  readonly cpuVW: number;
  readonly cpuDev: number;
  readonly cpuDevW: number;
  readonly none: number;
  readonly error: number;
  readonly special: number;
  /** 2^pfnShift. */
  readonly scale: number;
  /** True if every flag bit is below 2^pfnShift, so `pfn << shift | f` is `pfn * scale + f`. */
  readonly addFlags: boolean;
  readonly defaultLo: number;
  readonly maskLo: number;
  /** True if the mask selects no flag bit: every page's request is defaultFlags. */
  readonly constReq: boolean;
  /** Decision for a present read-only / writable PTE under a constant request. */
  readonly constNeedRO: number;
  readonly constNeedRW: number;
  readonly q2: boolean;
  readonly q3: boolean;
  readonly q4: boolean;
  readonly q5: boolean;
  readonly q10: boolean;
  readonly q12: boolean;
  readonly q13: boolean;
  /** v5.5: apply the per-VMA test (VM_IO/PFNMAP/MIXEDMAP, VM_READ) in testWalk. */
  readonly testVma: boolean;
  /** v5.7+ structure (see HmmWalkGeneration.modern). */
  readonly modern: boolean;
  readonly owner: unknown;
  /** Output flags of an unfaulted protnone entry (v5.7+); -1 before v5.7 (hole logic / Q12). */
  readonly protnoneEnc: number;
  /** Order bits added to PMD / PUD leaf entries (v5.9), else 0. */
  readonly pmdOrder: number;
  readonly pudOrder: number;
  readonly machine: Machine;
  readonly zeroPfn: number;
  // ---- pending work left by the last walk ----
  pendKind = PEND_NONE;
  pendAddr = 0;
  pendEnd = 0;
  /** NEED_* decision for the whole chunk. */
  pendNeed = 0;
  /** Decide page by page (Q2 off, block entries): pendCpu holds the block's CPU flags. */
  pendPerPage = false;
  pendCpu = 0;
  pendVma: VmArea | undefined = undefined;
  pendPfn = 0;

  constructor(fmt: HmmWalkFormat, quirks: HmmQuirks, gen: HmmWalkGeneration, machine: Machine) {
    this.pfns = fmt.pfns;
    this.rangeStart = fmt.rangeStart;
    this.last = fmt.rangeStart;
    this.snapshot = gen.snapshot;
    const v = fmt.fValid;
    const w = fmt.fWrite;
    const d = fmt.fDev;
    this.fValid = v;
    this.fWrite = w;
    this.fDev = d;
    this.encV = v;
    this.encVW = v | w;
    this.encDev = v | d;
    this.encDevW = v | d | w;
    this.cpuV = v;
    this.cpuVW = this.encVW;
    this.cpuDev = this.encDev;
    this.cpuDevW = this.encDevW;
    this.none = fmt.none;
    this.error = fmt.error;
    this.special = fmt.special;
    this.scale = fmt.scale;
    this.defaultLo = entryLowBits(fmt.defaultFlags);
    this.maskLo = entryLowBits(fmt.pfnFlagsMask);
    this.constReq = (this.maskLo & (v | w | d)) === 0;
    this.constNeedRO = this.constReq ? pteNeedFault(this, this.defaultLo, this.cpuV) : 0;
    this.constNeedRW = this.constReq ? pteNeedFault(this, this.defaultLo, this.cpuVW) : 0;
    this.q2 = quirks.q2FaultWholeChunk;
    this.q3 = quirks.q3ZeroPageSpecial;
    this.q4 = quirks.q4MigrationNoWait;
    this.q5 = quirks.q5PmdMigrationLeavesRequests;
    this.q10 = quirks.q10SpecialFailsInSnapshot;
    this.q12 = quirks.q12ProtnoneReportedValid;
    this.q13 = quirks.q13ForeignPrivateFaultFails;
    this.testVma = gen.testVma;
    this.modern = gen.modern;
    this.owner = gen.owner;
    // v5.7 encodes a protnone entry as pfn | VALID (Q12); v5.8 as the bare pfn.
    this.protnoneEnc = gen.modern ? (this.q12 ? v : 0) : -1;
    this.pmdOrder = gen.mapOrder ? HPAGE_PMD_ORDER : 0;
    this.pudOrder = gen.mapOrder ? PUD_ORDER : 0;
    this.addFlags = (v | w | d | this.pudOrder) < this.scale;
    this.machine = machine;
    this.zeroPfn = machine.phys.zeroPfn;
  }
}

/** The request word of an input entry: (pfns[i] & pfnFlagsMask) | defaultFlags, low 31 bits. */
export function hmmRequestOf(w: HmmVmaWalk, entry: number): number {
  return w.constReq ? w.defaultLo : (entryLowBits(entry) & w.maskLo) | w.defaultLo;
}

/**
 * NEED_* bits for one page: request word `req` against the CPU-derived flag word `cpu` (0 for
 * none/swap/migration/protnone). Mirrors mm/hmm.c:hmm_pte_need_fault().
 */
export function pteNeedFault(w: HmmVmaWalk, req: number, cpu: number): number {
  if (w.snapshot || (req & w.fValid) === 0) return 0;
  if ((cpu & w.fDev) !== 0) {
    if ((req & w.fDev) === 0) return 0;
    return (req & w.fWrite) !== 0 ? NEED_FAULT | NEED_WRITE : NEED_FAULT;
  }
  if ((req & w.fWrite) !== 0 && (cpu & w.fWrite) === 0) return NEED_FAULT | NEED_WRITE;
  return (cpu & w.fValid) === 0 ? NEED_FAULT : 0;
}

/**
 * NEED_* bits for `n` pages from index `i` sharing one CPU flag word: OR of the pages' decisions,
 * stopping at the first write fault. Mirrors mm/hmm.c:hmm_range_need_fault().
 */
export function rangeNeedFault(w: HmmVmaWalk, i: number, n: number, cpu: number): number {
  if (w.snapshot || n <= 0) return 0;
  if (w.constReq) return pteNeedFault(w, w.defaultLo, cpu);
  const pfns = w.pfns;
  let need = 0;
  for (let k = i; k < i + n; k++) {
    if (accessReporting) noteRead(pfns, k);
    need |= pteNeedFault(w, hmmRequestOf(w, pfns[k] as number), cpu);
    if ((need & NEED_WRITE) !== 0) break;
  }
  return need;
}

/** Entry for `pfn` with flag word `enc` OR-ed in. Mirrors hmm_device_entry_from_pfn(range, pfn) | cpu_flags. */
function encode(w: HmmVmaWalk, pfn: number, enc: number): number {
  const base = pfn * w.scale;
  return w.addFlags ? base + enc : entryOr(base, enc);
}

function indexOf(w: HmmVmaWalk, addr: number): number {
  return (addr - w.rangeStart) / PAGE;
}

/** Set the entries of [addr, end) to `value`. Mirrors mm/hmm.c:hmm_pfns_fill(). */
export function pfnsFill(w: HmmVmaWalk, addr: number, end: number, value: number): number {
  noteElementsWrite(w.pfns, indexOf(w, addr), indexOf(w, end));
  w.pfns.fill(value, indexOf(w, addr), indexOf(w, end));
  return 0;
}

/**
 * [addr, end) lacks usable entries: with no fault needed, set NONE; with one, check VM_WRITE and
 * leave the faults to the caller (WALK_PENDING). Mirrors mm/hmm.c:hmm_vma_walk_hole_().
 * `perPage`: Q2 off and a block of pages sharing `cpu` — decide page by page when faulting.
 */
function holeFault(
  w: HmmVmaWalk,
  walk: MmWalk<HmmVmaWalk>,
  addr: number,
  end: number,
  need: number,
  perPage: boolean,
  cpu: number,
): number {
  w.last = addr;
  const vma = walk.vma;
  if ((need & NEED_WRITE) !== 0 && vma !== undefined && (vma.vmFlags & VM_WRITE) === 0) {
    return -EPERM;
  }
  if (need === 0) return pfnsFill(w, addr, end, w.none);
  w.pendKind = PEND_FAULT;
  w.pendAddr = addr;
  w.pendEnd = end;
  w.pendNeed = need;
  w.pendPerPage = perPage;
  w.pendCpu = cpu;
  w.pendVma = vma as VmArea | undefined;
  return WALK_PENDING;
}

/** A block of pages with the same CPU flags (hole, huge entry) needs `need`: fault it. */
function blockFault(
  w: HmmVmaWalk,
  walk: MmWalk<HmmVmaWalk>,
  addr: number,
  end: number,
  need: number,
  cpu: number,
): number {
  return holeFault(w, walk, addr, end, need, !w.q2, cpu);
}

/** One hole chunk as the kernel's walker reports it. Mirrors mm/hmm.c:hmm_vma_walk_hole(). */
function holeChunk(w: HmmVmaWalk, walk: MmWalk<HmmVmaWalk>, addr: number, end: number): number {
  const need = rangeNeedFault(w, indexOf(w, addr), (end - addr) / PAGE, 0);
  if (w.modern && walk.vma === undefined) {
    // v5.7 "return error for non-vma snapshots": ERROR, or -EFAULT with nothing written.
    w.last = addr;
    return need !== 0 ? -EFAULT : pfnsFill(w, addr, end, w.error);
  }
  return blockFault(w, walk, addr, end, need, 0);
}

/**
 * pte_hole op. Holes inside a VMA come per empty PGD/PUD/PMD chunk already. A gap with no VMA
 * (depth -1) comes as one call from the model's walker; the 2019 walker reported it per PGD
 * chunk (empty PGD entry) or PUD chunk, so it is cut the same way here: which page gets the
 * ERROR marker depends on it.
 */
function hmmPteHole(addr: number, end: number, depth: number, walk: MmWalk<HmmVmaWalk>): number {
  const w = walk.private;
  if (depth !== -1) return holeChunk(w, walk, addr, end);
  const bits = walk.pt.bits;
  while (addr < end) {
    let next: number;
    if (addr >= VADDR_LIMIT) next = end;
    else {
      const pgd = pgdIndex(addr);
      if (accessReporting) noteRead(walk.pt, pgd);
      if (bits[pgd] === 0) next = (Math.floor(addr / PGDIR_SIZE) + 1) * PGDIR_SIZE;
      else next = (Math.floor(addr / PUD_SIZE) + 1) * PUD_SIZE;
    }
    if (next > end) next = end;
    const err = holeChunk(w, walk, addr, next);
    if (err !== 0) return err;
    addr = next;
  }
  return 0;
}

/**
 * A present huge PMD (THP) or PUD leaf with bits `b` whose page at `addr` is `firstPfn`: per-4K
 * entries for [addr, end), or the hole logic when PROT_NONE or a fault is needed.
 * Mirrors mm/hmm.c:hmm_vma_handle_pmd() (and the huge branch of hmm_vma_walk_pud()).
 */
function handleHuge(
  w: HmmVmaWalk,
  walk: MmWalk<HmmVmaWalk>,
  addr: number,
  end: number,
  b: number,
  firstPfn: number,
  order: number,
): number {
  const protnone = (b & PRESENT_OR_PROTNONE) === PROTNONE;
  const cpu = protnone ? 0 : (b & RW) !== 0 ? w.cpuVW : w.cpuV;
  const i = indexOf(w, addr);
  const n = (end - addr) / PAGE;
  const need = rangeNeedFault(w, i, n, cpu);
  if (need !== 0 || (protnone && !w.modern)) return blockFault(w, walk, addr, end, need, cpu);
  if (!w.modern && (b & DEVMAP) !== 0 && !devPagemapLive(w, firstPfn, n)) return -EBUSY;
  const pfns = w.pfns;
  noteElementsWrite(pfns, i, i + n);
  // v5.7+: a protnone leaf is encoded too (no flags, no order from v5.8 on).
  const enc = protnone ? w.protnoneEnc : ((b & RW) !== 0 ? w.encVW : w.encV) + order;
  if (w.addFlags) {
    const scale = w.scale;
    let e = firstPfn * scale + enc;
    let k = i | 0;
    const kEnd = (i + n) | 0;
    // Unrolled by four (the THP snapshot is this loop).
    for (; k + 3 < kEnd; k += 4) {
      pfns[k] = e;
      pfns[k + 1] = e + scale;
      pfns[k + 2] = e + 2 * scale;
      pfns[k + 3] = e + 3 * scale;
      e += 4 * scale;
    }
    for (; k < kEnd; k++) {
      pfns[k] = e;
      e += scale;
    }
  } else {
    for (let k = 0; k < n; k++) pfns[i + k] = encode(w, firstPfn + k, enc);
  }
  w.last = end;
  return 0;
}

/** get_dev_pagemap() for `n` pfns from `pfn`: each page's dev_pagemap must still be registered. */
function devPagemapLive(w: HmmVmaWalk, pfn: number, n: number): boolean {
  const pm = w.machine.phys;
  const maps = w.machine.devPagemaps;
  for (let k = pfn; k < pfn + n; k++) {
    if (accessReporting) noteRead(pm, k);
    const id = pm.pgmap[k];
    if (id === undefined || id === 0) return false;
    if (accessReporting) noteRead(maps, id);
    if (!maps.has(id)) return false;
  }
  return true;
}

/**
 * One PTE off the fast path (empty, swap-format, PROT_NONE, special, devmap, or a fault-mode
 * present PTE): writes pfns[i] and returns 0, an errno, or WALK_PENDING. Its caller reported the
 * PTE slot and pfns[i]. Mirrors mm/hmm.c:hmm_vma_handle_pte().
 */
function handlePte(
  w: HmmVmaWalk,
  walk: MmWalk<HmmVmaWalk>,
  b: number,
  v: number,
  i: number,
  addr: number,
  end: number,
): number {
  if (w.modern) return handlePteModern(w, walk, b, v, i, addr, end);
  const pfns = w.pfns;
  const orig = pfns[i] as number;
  pfns[i] = w.none;
  const faultEnd = w.q2 ? end : addr + PAGE;
  if (b === 0) {
    const need = w.snapshot ? 0 : pteNeedFault(w, hmmRequestOf(w, orig), 0);
    return need === 0 ? 0 : holeFault(w, walk, addr, faultEnd, need, false, 0);
  }
  if ((b & PRESENT_OR_PROTNONE) === 0) {
    // Swap-format entry: `v` is the swap offset (a pfn for the special types).
    const type = (b >>> SWP_TYPE_SHIFT) & 31;
    if (type < MAX_SWAPFILES) {
      const need = w.snapshot ? 0 : pteNeedFault(w, hmmRequestOf(w, orig), 0);
      return need === 0 ? 0 : holeFault(w, walk, addr, faultEnd, need, false, 0);
    }
    if (type === SWP_DEVICE_READ || type === SWP_DEVICE_WRITE) {
      const write = type === SWP_DEVICE_WRITE;
      const need = w.snapshot
        ? 0
        : pteNeedFault(w, hmmRequestOf(w, orig), write ? w.cpuDevW : w.cpuDev);
      if (need !== 0) return holeFault(w, walk, addr, faultEnd, need, false, 0);
      pfns[i] = encode(w, v, write ? w.encDevW : w.encDev);
      return 0;
    }
    if (type === SWP_MIGRATION_READ || type === SWP_MIGRATION_WRITE) {
      // Q4: the 2019 code tests a fault decision it never computed, so it never waits.
      if (w.q4 || w.snapshot || pteNeedFault(w, hmmRequestOf(w, orig), 0) === 0) return 0;
      w.last = addr;
      w.pendKind = PEND_MIGRATION_WAIT;
      w.pendPfn = v;
      return WALK_PENDING;
    }
    // hwpoison and anything else.
    pfns[i] = w.error;
    if (w.q10 || (!w.snapshot && pteNeedFault(w, hmmRequestOf(w, orig), 0) !== 0)) return -EFAULT;
    return 0;
  }
  const protnone = (b & PRESENT) === 0;
  const cpu = protnone ? 0 : (b & RW) !== 0 ? w.cpuVW : w.cpuV;
  const need = w.snapshot ? 0 : pteNeedFault(w, hmmRequestOf(w, orig), cpu);
  if (need !== 0) return holeFault(w, walk, addr, faultEnd, need, false, 0);
  if (protnone && !w.q12) return 0;
  if ((b & DEVMAP) !== 0) {
    if (!devPagemapLive(w, v, 1)) return -EBUSY;
  } else if ((b & SPECIAL) !== 0 && (w.q3 || v !== w.zeroPfn)) {
    pfns[i] = w.special;
    // Q10: fails even when nothing was requested (a needed fault was handled above).
    return w.q10 ? -EFAULT : 0;
  }
  pfns[i] = encode(w, v, cpu === w.cpuVW ? w.encVW : w.encV);
  return 0;
}

/** True if the device-private page `pfn` belongs to the range's dev_private_owner. */
function ownerMatches(w: HmmVmaWalk, pfn: number): boolean {
  if (accessReporting) noteRead(w.machine.phys, pfn);
  const id = w.machine.phys.pgmap[pfn] as number;
  if (accessReporting) noteRead(w.machine.devPagemaps, id);
  const pgmap = w.machine.devPagemaps.get(id);
  if (pgmap === undefined) return false;
  if (accessReporting) noteRead(pgmap);
  return (pgmap.owner ?? null) === w.owner;
}

/**
 * handlePte() of v5.7+: the entry is written only when the walk goes on (never before a fault or
 * on an error); device-private pages are reported only to their owner and never faulted; other
 * non-present entries are NONE unless a fault is requested, then faulted (swap), waited on
 * (migration) or -EFAULT (hwpoison; another owner's device page until v5.19, Q13).
 * Mirrors mm/hmm.c:hmm_vma_handle_pte() (v5.7, v5.8).
 */
function handlePteModern(
  w: HmmVmaWalk,
  walk: MmWalk<HmmVmaWalk>,
  b: number,
  v: number,
  i: number,
  addr: number,
  end: number,
): number {
  const pfns = w.pfns;
  const req = hmmRequestOf(w, pfns[i] as number);
  const faultEnd = w.q2 ? end : addr + PAGE;
  if (b === 0) {
    const need = pteNeedFault(w, req, 0);
    if (need !== 0) return holeFault(w, walk, addr, faultEnd, need, false, 0);
    pfns[i] = w.none;
    return 0;
  }
  if ((b & PRESENT_OR_PROTNONE) === 0) {
    const type = (b >>> SWP_TYPE_SHIFT) & 31;
    const devPrivate = type === SWP_DEVICE_READ || type === SWP_DEVICE_WRITE;
    if (devPrivate && ownerMatches(w, v)) {
      pfns[i] = encode(w, v, type === SWP_DEVICE_WRITE ? w.encVW : w.encV);
      return 0;
    }
    const need = pteNeedFault(w, req, 0);
    if (need === 0) {
      pfns[i] = w.none;
      return 0;
    }
    if (type < MAX_SWAPFILES || (devPrivate && !w.q13)) {
      return holeFault(w, walk, addr, faultEnd, need, false, 0);
    }
    if (type === SWP_MIGRATION_READ || type === SWP_MIGRATION_WRITE) {
      w.last = addr;
      w.pendKind = PEND_MIGRATION_WAIT;
      w.pendPfn = v;
      return WALK_PENDING;
    }
    return -EFAULT;
  }
  const protnone = (b & PRESENT) === 0;
  const cpu = protnone ? 0 : (b & RW) !== 0 ? w.cpuVW : w.cpuV;
  const need = pteNeedFault(w, req, cpu);
  if (need !== 0) return holeFault(w, walk, addr, faultEnd, need, false, 0);
  if ((b & SPECIAL) !== 0 && v !== w.zeroPfn) {
    if (pteNeedFault(w, req, 0) !== 0) return -EFAULT;
    pfns[i] = w.special;
    return 0;
  }
  pfns[i] = encode(w, v, protnone ? w.protnoneEnc : cpu === w.cpuVW ? w.encVW : w.encV);
  return 0;
}

/**
 * Entries of one PTE table from index `i` (slot `slot`) to `iEnd`, one by one: fast-path PTEs
 * inline, everything else through handlePte(). Sets `last` at the failing entry or at `end`.
 * walkPteTable() reported the slots and entries of the whole run.
 */
function walkPteSlow(
  w: HmmVmaWalk,
  walk: MmWalk<HmmVmaWalk>,
  slot: number,
  i: number,
  iEnd: number,
  end: number,
  okRW: number,
  okRO: number,
): number {
  const bits = walk.pt.bits;
  const val = walk.pt.val;
  const pfns = w.pfns;
  for (; i < iEnd; i++, slot++) {
    const b = bits[slot] as number;
    const k = b & (FAST_MASK | RW);
    if (k === okRW) pfns[i] = encode(w, val[slot] as number, w.encVW);
    else if (k === okRO) pfns[i] = encode(w, val[slot] as number, w.encV);
    else {
      const a = w.rangeStart + i * PAGE;
      const err = handlePte(w, walk, b, val[slot] as number, i, a, end);
      if (err !== 0) {
        w.last = a;
        return err;
      }
    }
  }
  w.last = end;
  return 0;
}

/**
 * The PTE table `table` for [addr, end): a tight loop over present normal PTEs that nothing can
 * fault, handing the rest of the table to walkPteSlow() at the first other entry.
 * Mirrors the table loop of mm/hmm.c:hmm_vma_walk_pmd().
 */
function walkPteTable(
  w: HmmVmaWalk,
  walk: MmWalk<HmmVmaWalk>,
  table: number,
  addr: number,
  end: number,
): number {
  const pt = walk.pt;
  const bits = pt.bits;
  const val = pt.val;
  const pfns = w.pfns;
  // Slots and indexes are below 2^31: keep them small integers for the JIT.
  let slot = (table * PTRS + pteIndex(addr)) | 0;
  let i = ((addr - w.rangeStart) / PAGE) | 0;
  const iEnd = (i + (end - addr) / PAGE) | 0;
  // Every slot of the run may be read and every entry written (the fast loop, walkPteSlow(),
  // handlePte()): reported here at once, nothing per entry below.
  noteElementsRead(pt, slot, slot + (iEnd - i));
  noteElementsWrite(pfns, i, iEnd);
  // Present normal PTEs need no per-entry decision when nothing can fault them: the values of
  // (bits & mask) that take the fast path (-1 never matches).
  const snap = w.snapshot;
  const okRW = snap || (w.constReq && w.constNeedRW === 0) ? PRESENT | RW : -1;
  const okRO = snap || (w.constReq && w.constNeedRO === 0) ? PRESENT : -1;
  if (w.addFlags) {
    const mask = FAST_MASK | RW;
    const scale = w.scale;
    const encV = w.encV;
    const encVW = w.encVW;
    // Unrolled by four (measured 1.7x over the plain loop): each group stops at its first slow entry.
    for (; i + 3 < iEnd; i += 4, slot += 4) {
      const k0 = (bits[slot] as number) & mask;
      if (k0 === okRW) pfns[i] = (val[slot] as number) * scale + encVW;
      else if (k0 === okRO) pfns[i] = (val[slot] as number) * scale + encV;
      else break;
      const k1 = (bits[slot + 1] as number) & mask;
      if (k1 === okRW) pfns[i + 1] = (val[slot + 1] as number) * scale + encVW;
      else if (k1 === okRO) pfns[i + 1] = (val[slot + 1] as number) * scale + encV;
      else {
        i += 1;
        slot += 1;
        break;
      }
      const k2 = (bits[slot + 2] as number) & mask;
      if (k2 === okRW) pfns[i + 2] = (val[slot + 2] as number) * scale + encVW;
      else if (k2 === okRO) pfns[i + 2] = (val[slot + 2] as number) * scale + encV;
      else {
        i += 2;
        slot += 2;
        break;
      }
      const k3 = (bits[slot + 3] as number) & mask;
      if (k3 === okRW) pfns[i + 3] = (val[slot + 3] as number) * scale + encVW;
      else if (k3 === okRO) pfns[i + 3] = (val[slot + 3] as number) * scale + encV;
      else {
        i += 3;
        slot += 3;
        break;
      }
    }
    for (; i < iEnd; i++, slot++) {
      const k = (bits[slot] as number) & mask;
      if (k === okRW) pfns[i] = (val[slot] as number) * scale + encVW;
      else if (k === okRO) pfns[i] = (val[slot] as number) * scale + encV;
      else break;
    }
    if (i === iEnd) {
      w.last = end;
      return 0;
    }
  }
  return walkPteSlow(w, walk, slot, i, iEnd, end, okRW, okRO);
}

/**
 * pmd_entry op: every non-empty PMD (empty ones come through pte_hole): THP-migration entry,
 * other non-present entry, huge leaf, bad entry, or a PTE table scanned in one loop.
 * Mirrors mm/hmm.c:hmm_vma_walk_pmd().
 */
function hmmPmdEntry(slot: number, addr: number, next: number, walk: MmWalk<HmmVmaWalk>): number {
  const w = walk.private;
  const pt = walk.pt;
  if (accessReporting) noteRead(pt, slot);
  const b = pt.bits[slot] as number;
  walk.action = 'continue';
  if ((b & ~_PAGE_USER) === TABLE_BITS)
    return walkPteTable(w, walk, pt.val[slot] as number, addr, next);
  if ((b & (PRESENT | PROTNONE | PSE)) === 0) {
    const type = (b >>> SWP_TYPE_SHIFT) & 31;
    if ((b & SWP) !== 0 && (type === SWP_MIGRATION_READ || type === SWP_MIGRATION_WRITE)) {
      const need = rangeNeedFault(w, indexOf(w, addr), (next - addr) / PAGE, 0);
      if (need !== 0) {
        w.last = addr;
        w.pendKind = PEND_MIGRATION_WAIT;
        w.pendPfn = pt.val[slot] as number;
        return WALK_PENDING;
      }
      // Q5: the entries keep the caller's request bits.
      return w.q5 ? 0 : pfnsFill(w, addr, next, w.none);
    }
    return badPmd(w, addr, next);
  }
  if ((b & PSE) !== 0) {
    const head = pt.val[slot] as number;
    return handleHuge(w, walk, addr, next, b, head + pteIndex(addr), w.pmdOrder);
  }
  // Present, not huge, not a well-formed table pointer: pmd_bad().
  return badPmd(w, addr, next);
}

/**
 * A PMD that is neither a table, a leaf nor a migration entry: ERROR; from v5.7 -EFAULT (nothing
 * written) when a fault is requested there. Mirrors the !pmd_present / pmd_bad branches of
 * mm/hmm.c:hmm_vma_walk_pmd().
 */
function badPmd(w: HmmVmaWalk, addr: number, next: number): number {
  if (w.modern && rangeNeedFault(w, indexOf(w, addr), (next - addr) / PAGE, 0) !== 0) {
    w.last = addr;
    return -EFAULT;
  }
  return pfnsFill(w, addr, next, w.error);
}

/**
 * pud_entry op: table pointers are descended; a 1 GiB leaf (only DAX devmap in 2019; the model's
 * mm never creates one) is reported per 4K page like a huge PMD, or faulted.
 * Mirrors mm/hmm.c:hmm_vma_walk_pud().
 */
function hmmPudEntry(slot: number, addr: number, next: number, walk: MmWalk<HmmVmaWalk>): number {
  const pt = walk.pt;
  if (accessReporting) noteRead(pt, slot);
  const b = pt.bits[slot] as number;
  if ((b & (PRESENT | PSE | SWP)) === PRESENT) return 0; // a PMD table: walk it
  walk.action = 'continue';
  const w = walk.private;
  if ((b & PRESENT) === 0) return holeChunk(w, walk, addr, next);
  const head = pt.val[slot] as number;
  const first = head + Math.floor((addr % PUD_SIZE) / PAGE);
  return handleHuge(w, walk, addr, next, b, first, w.pudOrder);
}

/**
 * test_walk op (v5.5 only): VM_IO/VM_PFNMAP/VM_MIXEDMAP fail with -EFAULT; a VMA without
 * VM_READ fails with -EFAULT if a fault is requested there, else its entries become NONE and it
 * is skipped. Mirrors mm/hmm.c:hmm_vma_walk_test().
 */
function hmmTestWalk(start: number, end: number, walk: MmWalk<HmmVmaWalk>): number {
  const w = walk.private;
  if (!w.testVma) return 0;
  const flags = (walk.vma as VmArea).vmFlags;
  if (w.modern) return testWalkModern(w, start, end, flags);
  if ((flags & VM_UNSUPPORTED) !== 0) return -EFAULT;
  if ((flags & VM_READ) === 0) {
    if (rangeNeedFault(w, indexOf(w, start), (end - start) / PAGE, 0) !== 0) return -EFAULT;
    pfnsFill(w, start, end, w.none);
    w.last = end;
    return 1;
  }
  return 0;
}

/**
 * test_walk of v5.7+: a VMA that is unsupported or without VM_READ fails with -EFAULT when a
 * fault is requested in it, else its entries are ERROR and it is skipped.
 * Mirrors mm/hmm.c:hmm_vma_walk_test() (v5.7).
 */
function testWalkModern(w: HmmVmaWalk, start: number, end: number, flags: number): number {
  if ((flags & VM_UNSUPPORTED) === 0 && (flags & VM_READ) !== 0) return 0;
  if (rangeNeedFault(w, indexOf(w, start), (end - start) / PAGE, 0) !== 0) return -EFAULT;
  pfnsFill(w, start, end, w.error);
  w.last = end;
  return 1;
}

/** The walker ops of hmm_range_fault(). Mirrors mm/hmm.c:hmm_walk_ops. */
export const hmmWalkOps: MmWalkOps<HmmVmaWalk> = {
  pudEntry: hmmPudEntry,
  pmdEntry: hmmPmdEntry,
  pteHole: hmmPteHole,
  testWalk: hmmTestWalk,
};
