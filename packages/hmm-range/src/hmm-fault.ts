/**
 * hmm_range_fault(): snapshot the CPU page table over a range into the driver's entry format,
 * faulting pages in as requested. The walk is synchronous (hmm-walk.ts); when it needs faults it
 * stops with the pages recorded, the faults run here through the mm's fault handler (async), and
 * the range is walked again from `last` — so each pass is: scheduling point, collision check,
 * scheduling point, walk, faults (each after a scheduling point).
 *
 * Two outer loops: v5.4/seed (per VMA: find_vma, VM_IO/VM_READ checks on that VMA, stray first
 * pass, NONE fill on error) and v5.5 (one walk over the whole range, per-VMA test_walk).
 * No page reference is taken (invariant 5).
 *
 * Shared-state reports (explorer's partial-order reduction): the range object (noteRead(range):
 * its fields, the legacy `valid` flag included), the driver's entry array per element and the
 * memmap's size (noteRead(phys), the whole PhysMem); MmStruct and VmArea fields report themselves
 * (@hmmsim/mm accessors). The walk (hmm-walk.ts) reports the rest.
 */
import {
  accessReporting,
  checkIntIn,
  checkUlong,
  EAGAIN,
  EBUSY,
  EFAULT,
  EINVAL,
  EPERM,
  InvalidArgumentError,
  isUlong,
  KernelBugError,
  noteRead,
  noteWrite,
  PAGE_SIZE,
  type SchedEvent,
  VADDR_LIMIT,
} from '@hmmsim/kernel';
import {
  FAULT_FLAG_ALLOW_RETRY,
  FAULT_FLAG_REMOTE,
  FAULT_FLAG_WRITE,
  findVma,
  handleMmFault,
  type MmStruct,
  VM_FAULT_ERROR,
  VM_FAULT_RETRY,
  VM_IO,
  VM_MIXEDMAP,
  VM_PFNMAP,
  VM_READ,
  waitOnPageLocked,
} from '@hmmsim/mm';
import { MEMMAP_END_ELEMENT, type WalkVmas, walkPageRange } from '@hmmsim/pagetable';
import { noteElementsRead, noteElementsWrite } from './access.ts';
import {
  HMM_PFN_FLAG_MAX_V57,
  type HmmCall,
  hmmCheckRangeShape,
  hmmResolveCall,
  hmmVersionHasTables,
} from './hmm-generation.ts';
import {
  HMM_PFN_PFN_SCALE,
  HMM_PFN_ERROR as HMM_PFN_V58_ERROR,
  HMM_PFN_VALID as HMM_PFN_V58_VALID,
  HMM_PFN_WRITE as HMM_PFN_V58_WRITE,
} from './hmm-pfns.ts';
import type { HmmPfnsRange } from './hmm-pfns-range.ts';
import {
  HMM_ENTRY_MAX,
  HMM_FAULT_ALLOW_RETRY,
  HMM_FAULT_SNAPSHOT,
  HMM_PFN_DEVICE_PRIVATE,
  HMM_PFN_ERROR,
  HMM_PFN_FLAG_MAX,
  HMM_PFN_NONE,
  HMM_PFN_SPECIAL,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  type HmmFaultHandler,
  type HmmRange,
  type HmmRangeFaultOptions,
  hmmQuirksFor,
  hmmRangeCheckTables,
  hmmRangeMm,
  hmmRangeNeedsRetry,
} from './hmm-range.ts';
import {
  HmmVmaWalk,
  type HmmWalkFormat,
  hmmRequestOf,
  hmmWalkOps,
  NEED_WRITE,
  PEND_FAULT,
  PEND_MIGRATION_WAIT,
  PEND_NONE,
  pteNeedFault,
  rangeNeedFault,
  WALK_PENDING,
} from './hmm-walk.ts';

const PAGE = PAGE_SIZE;
const VM_UNSUPPORTED = VM_IO | VM_PFNMAP | VM_MIXEDMAP;

/**
 * Passes that end in -EBUSY at the same `last` before the model gives up: the kernel would spin
 * until something else changes the page table (or the range is invalidated); here that is a
 * KernelBugError naming the livelock instead of a hang.
 */
export const HMM_LIVELOCK_PASSES = 1000;

/** Everything one call needs besides the walk state. */
interface Call {
  readonly range: HmmRange | HmmPfnsRange;
  readonly mm: MmStruct;
  readonly w: HmmVmaWalk;
  readonly vmas: WalkVmas;
  readonly handler: HmmFaultHandler;
  readonly allowRetry: boolean;
  readonly evCheck: SchedEvent;
  readonly evWalk: SchedEvent;
  readonly evFault: SchedEvent;
  /** Largest flag word, for the representability check. */
  readonly allFlags: number;
  stuck: number;
  stuckAt: number;
}

function readHolds(mm: MmStruct): number {
  const sem = mm.mmapSem;
  return sem.readers.get(sem.sched.current) ?? 0;
}

/** Caller holds mmap_sem (lockdep_assert_held) and an mm_users reference. */
function checkCaller(mm: MmStruct): void {
  const sem = mm.mmapSem;
  const t = sem.sched.current;
  if (sem.writer !== t && !sem.readers.has(t)) {
    throw new KernelBugError(
      `lockdep: hmm_range_fault(mm${mm.id}) by task '${t.name}' without mmap_sem; expected the caller to hold it for read (down_read) around the call`,
    );
  }
  if (mm.mmUsers <= 0 || mm.exited) {
    throw new KernelBugError(
      `hmm_range_fault(mm${mm.id}) with mm_users ${mm.mmUsers}${mm.exited ? ' (the mm has exited)' : ''}; expected the caller to hold an mm_users reference (mmget_not_zero / hmm_range_register)`,
    );
  }
}

/** Every entry the walk can produce must stay below 2^53 (the machine's largest pfn, shifted). */
function checkRepresentable(c: Call): void {
  const w = c.w;
  if (accessReporting) noteRead(c.mm.machine.phys, MEMMAP_END_ELEMENT);
  const maxPfn = c.mm.machine.phys.memmapEnd - 1;
  if (maxPfn * w.scale + c.allFlags > HMM_ENTRY_MAX) {
    throw new InvalidArgumentError(
      `hmm_range_fault: output not representable: pfn ${maxPfn} << pfnShift ${Math.log2(w.scale)} | flags exceeds 2^53 - 1; ` +
        'expected a smaller pfnShift (entries are 53-bit safe integers)',
    );
  }
}

const FN = 'hmm_range_fault';
/** Largest `flags` argument: the kernel's is an unsigned int. */
const UINT_MAX = 2 ** 32 - 1;

/**
 * Bad input that changes nothing: the kernel errno (-EINVAL, as walk_page_range() gives for an
 * empty range) or InvalidArgumentError for values no C caller could pass.
 */
function checkInput(range: HmmRange, flags: number, flagMax: number): number {
  checkIntIn(FN, 'flags', flags, 0, UINT_MAX, 'HMM_FAULT_* bits (an unsigned int)');
  hmmRangeCheckTables(range, flagMax, FN);
  checkSequence(range);
  if (range.notifier === null && typeof range.valid !== 'boolean') {
    throw new InvalidArgumentError(
      `${FN}: range.valid is ${range.valid === null ? 'null' : `a ${typeof range.valid}`}; expected a boolean (the legacy collision flag)`,
    );
  }
  const bad = checkBounds(range.start, range.end);
  if (bad !== 0) return bad;
  checkEntries('pfns', range.pfns, range.start, range.end, range.pfnFlagsMask);
  return 0;
}

/** With a notifier, `notifierSeq` is an unsigned long (what mmu_interval_read_begin() returns). */
function checkSequence(range: HmmRange | HmmPfnsRange): void {
  if (range.notifier !== null && !isUlong(range.notifierSeq)) {
    checkUlong(
      FN,
      'range.notifierSeq',
      range.notifierSeq,
      'the sequence mmu_interval_read_begin() returned',
    );
  }
}

/**
 * [start, end): InvalidArgumentError unless safe integers >= 0; -EINVAL if empty or unaligned, and
 * up to v5.7 (`beyondLimit` false) past 2^48. From v5.8 a range may reach past the user address
 * space: the part above it is a hole without a VMA, as the kernel's walk finds it.
 */
function checkBounds(start: number, end: number, beyondLimit = false): number {
  checkUlong(FN, 'range.start', start, 'an address');
  checkUlong(FN, 'range.end', end, 'an address');
  if (start % PAGE !== 0 || end % PAGE !== 0 || start >= end) return -EINVAL;
  if (end > VADDR_LIMIT && !beyondLimit) return -EINVAL;
  return 0;
}

/**
 * The pages of [max(start, VADDR_LIMIT), end) after a successful walk below the limit: no VMA
 * there, so ERROR, or -EFAULT (nothing written) when one of them requests a fault.
 * Mirrors mm/hmm.c:hmm_vma_walk_hole() with no vma (v5.8), for addresses above TASK_SIZE.
 */
function beyondLimit(c: Call): number {
  const w = c.w;
  const from = Math.max(c.range.start, VADDR_LIMIT);
  const i = (from - w.rangeStart) / PAGE;
  const n = (c.range.end - from) / PAGE;
  if (rangeNeedFault(w, i, n, 0) !== 0) return -EFAULT;
  noteElementsWrite(w.pfns, i, i + n);
  w.pfns.fill(w.error, i, i + n);
  return 0;
}

/**
 * The entry array must be a Float64Array covering the range; when requests are read from it
 * (`pfnFlagsMask` not 0) every entry of the range must be an entry (a safe integer >= 0): the
 * kernel's are u64 words, and a NaN or negative request would read as arbitrary bits.
 */
function checkEntries(
  name: string,
  entries: unknown,
  start: number,
  end: number,
  mask: number,
): void {
  if (!(entries instanceof Float64Array)) {
    throw new InvalidArgumentError(
      `${FN}: range.${name} is ${entries === null ? 'null' : `a ${typeof entries === 'object' ? (entries.constructor?.name ?? 'object') : typeof entries}`}; expected a Float64Array`,
    );
  }
  const npages = (end - start) / PAGE;
  if (entries.length < npages) {
    throw new InvalidArgumentError(
      `${FN}: range.${name} has ${entries.length} entries for a range of ${npages} pages; expected at least ${npages}`,
    );
  }
  if (mask === 0) return;
  noteElementsRead(entries, 0, npages);
  for (let i = 0; i < npages; i++) {
    const e = entries[i] as number;
    if (!(e >= 0 && e <= HMM_ENTRY_MAX && e === Math.floor(e))) {
      checkUlong(FN, `range.${name}[${i}]`, e, 'a request entry (a safe integer >= 0)');
    }
  }
}

/** Migration of `pfn` in progress: sleep until the page is unlocked. Mirrors mm/migrate.c:migration_entry_wait(). */
async function migrationEntryWait(c: Call, pfn: number): Promise<void> {
  await c.mm.machine.sched.point(c.evFault);
  if (accessReporting) noteRead(c.mm.machine.phys, MEMMAP_END_ELEMENT);
  if (pfn < c.mm.machine.phys.memmapEnd) await waitOnPageLocked(c.mm.machine, pfn);
}

/**
 * What a handle_mm_fault() result means for the walk: -EBUSY ("done, walk again"), -EAGAIN
 * (VM_FAULT_RETRY: mmap_sem was released), or -EFAULT with the ERROR marker (VM_FAULT_ERROR).
 * `holds` is the caller's read-hold count of mmap_sem before the fault.
 * Mirrors the result handling of mm/hmm.c:hmm_vma_do_fault().
 */
function faultResult(c: Call, ret: number, addr: number, holds: number): number {
  if ((ret & VM_FAULT_RETRY) !== 0) {
    if (!c.allowRetry) {
      throw new KernelBugError(
        `hmm_range_fault: the fault handler returned VM_FAULT_RETRY at 0x${addr.toString(16)} without FAULT_FLAG_ALLOW_RETRY; expected it only when retry is allowed`,
      );
    }
    if (holds > 0 && readHolds(c.mm) >= holds) {
      throw new KernelBugError(
        `hmm_range_fault: the fault handler returned VM_FAULT_RETRY at 0x${addr.toString(16)} but mmap_sem is still held; expected it to up_read() first, as handle_mm_fault does`,
      );
    }
    return -EAGAIN;
  }
  if ((ret & VM_FAULT_ERROR) !== 0) {
    const w = c.w;
    // v5.7 "do not set pfns when returning an error code": no ERROR marker from then on.
    if (!w.modern) {
      const i = (addr - w.rangeStart) / PAGE;
      if (accessReporting) noteWrite(w.pfns, i);
      w.pfns[i] = w.error;
    }
    return -EFAULT;
  }
  return -EBUSY;
}

/**
 * Fault the pages the walk left pending: each gets NONE, then (after a scheduling point) a fault
 * with FAULT_FLAG_REMOTE [| FAULT_FLAG_ALLOW_RETRY] [| FAULT_FLAG_WRITE]; stop at the first result
 * other than -EBUSY. No VMA: ERROR and -EFAULT.
 * Mirrors the fault loop of mm/hmm.c:hmm_vma_walk_hole_() with hmm_vma_do_fault().
 */
async function runFaults(c: Call): Promise<number> {
  const w = c.w;
  const pfns = w.pfns;
  const vma = w.pendVma;
  const end = w.pendEnd;
  const sched = c.mm.machine.sched;
  const handler = c.handler;
  const baseFlags = c.allowRetry ? FAULT_FLAG_REMOTE | FAULT_FLAG_ALLOW_RETRY : FAULT_FLAG_REMOTE;
  for (let addr = w.pendAddr; addr < end; addr += PAGE) {
    const i = (addr - w.rangeStart) / PAGE;
    if (accessReporting) noteWrite(pfns, i);
    let need = w.pendNeed;
    if (w.pendPerPage) need = pteNeedFault(w, hmmRequestOf(w, pfns[i] as number), w.pendCpu);
    // v5.7 "do not unconditionally set pfns when returning EBUSY": the request stays.
    if (!w.modern) pfns[i] = w.none;
    if (need === 0) continue;
    if (vma === undefined) {
      pfns[i] = w.error;
      return -EFAULT;
    }
    await sched.point(c.evFault);
    const holds = c.allowRetry ? readHolds(c.mm) : 0;
    const ret = await handler(
      vma,
      addr,
      (need & NEED_WRITE) !== 0 ? baseFlags | FAULT_FLAG_WRITE : baseFlags,
    );
    if (ret !== 0) {
      const r = faultResult(c, ret, addr, holds);
      if (r !== -EBUSY) return r;
    }
  }
  return -EBUSY;
}

/** One walk_page_range() call as the kernel sees it: walk, then the faults it needed. */
async function walkPass(c: Call, start: number, end: number): Promise<number> {
  const w = c.w;
  w.pendKind = PEND_NONE;
  checkRepresentable(c);
  const ret = walkPageRange(c.mm.pt, start, end, hmmWalkOps, w, c.vmas);
  if (ret !== WALK_PENDING) return ret;
  if (w.pendKind === PEND_MIGRATION_WAIT) {
    await migrationEntryWait(c, w.pendPfn);
    return -EBUSY;
  }
  if (w.pendKind === PEND_FAULT) return runFaults(c);
  throw new KernelBugError('hmm_range_fault: walk stopped with nothing pending');
}

/** Count -EBUSY passes that did not move `last`; throw on a livelock. */
function noteBusy(c: Call, lastBefore: number): void {
  const last = c.w.last;
  if (last !== lastBefore || last !== c.stuckAt) {
    c.stuckAt = last;
    c.stuck = 0;
    return;
  }
  if (++c.stuck >= HMM_LIVELOCK_PASSES) {
    throw new KernelBugError(
      `hmm_range_fault: livelock: ${HMM_LIVELOCK_PASSES} passes returned -EBUSY at 0x${last.toString(16)} without progress ` +
        '(the kernel would spin here until the page table or the range changes); check what keeps the entry from resolving',
    );
  }
}

/** The v5.5 loop: one walk of [last, end) per pass. Mirrors mm/hmm.c:hmm_range_fault() after d28c2c9a4877. */
async function faultV55(c: Call): Promise<number> {
  const { range, w } = c;
  const sched = c.mm.machine.sched;
  const end = Math.min(range.end, VADDR_LIMIT);
  let ret = 0;
  for (;;) {
    await sched.point(c.evCheck);
    if (hmmRangeNeedsRetry(range)) return -EBUSY;
    if (w.last >= end) break;
    await sched.point(c.evWalk);
    const before = w.last;
    ret = await walkPass(c, w.last, end);
    if (ret !== -EBUSY) break;
    noteBusy(c, before);
  }
  if (ret !== 0) return ret;
  if (accessReporting) noteRead(range);
  if (range.end > VADDR_LIMIT) return beyondLimit(c);
  return (w.last - range.start) / PAGE;
}

/** Q8: entries from `last` to the end of the range become NONE. */
function noneFillFrom(c: Call, last: number): void {
  const w = c.w;
  const from = (last - w.rangeStart) / PAGE;
  const to = (c.range.end - w.rangeStart) / PAGE;
  noteElementsWrite(w.pfns, from, to);
  w.pfns.fill(w.none, from, to);
}

/**
 * The v5.4 / seed loop: per VMA found by find_vma(), checks on that VMA, a stray first pass (Q1),
 * then walks until done or collided, NONE fill on error (Q8).
 * Mirrors mm/hmm.c:hmm_range_fault() of v5.4 with the seed's collision check.
 */
async function faultV54(c: Call, q1: boolean, q8: boolean): Promise<number> {
  const { range, mm, w } = c;
  const sched = mm.machine.sched;
  let start = range.start;
  do {
    await sched.point(c.evCheck);
    if (hmmRangeNeedsRetry(range)) return -EBUSY;
    const vma = findVma(mm, start);
    if (vma === undefined || (vma.vmFlags & VM_UNSUPPORTED) !== 0) return -EFAULT;
    if ((vma.vmFlags & VM_READ) === 0) {
      noteElementsWrite(w.pfns, 0, (range.end - range.start) / PAGE);
      w.pfns.fill(w.none, 0, (range.end - range.start) / PAGE);
      return -EPERM;
    }
    w.last = start;
    const end = Math.min(range.end, vma.vmEnd);
    if (q1) {
      await sched.point(c.evWalk);
      await walkPass(c, start, end);
    }
    let ret: number;
    for (;;) {
      await sched.point(c.evWalk);
      const before = w.last;
      ret = await walkPass(c, start, end);
      start = w.last;
      if (ret !== -EBUSY || hmmRangeNeedsRetry(range)) break;
      noteBusy(c, before);
    }
    if (ret !== 0) {
      if (q8) noneFillFrom(c, w.last);
      return ret;
    }
    start = end;
    if (accessReporting) noteRead(range);
  } while (start < range.end);
  return (w.last - range.start) / PAGE;
}

/** The walk's entry format for a table range (v5.4–v5.7). */
function tableFormat(range: HmmRange): HmmWalkFormat {
  const f = range.flags;
  const v = range.values;
  return {
    pfns: range.pfns,
    rangeStart: range.start,
    fValid: f[HMM_PFN_VALID] as number,
    fWrite: f[HMM_PFN_WRITE] as number,
    fDev: (f[HMM_PFN_DEVICE_PRIVATE] as number | undefined) ?? 0,
    none: v[HMM_PFN_NONE] as number,
    error: v[HMM_PFN_ERROR] as number,
    special: v[HMM_PFN_SPECIAL] as number,
    scale: 2 ** range.pfnShift,
    defaultFlags: range.defaultFlags,
    pfnFlagsMask: range.pfnFlagsMask,
  };
}

/** The walk's entry format for an hmm_pfns range (v5.8+): fixed bits, SPECIAL reported as ERROR. */
function pfnsFormat(range: HmmPfnsRange): HmmWalkFormat {
  return {
    pfns: range.hmmPfns,
    rangeStart: range.start,
    fValid: HMM_PFN_V58_VALID,
    fWrite: HMM_PFN_V58_WRITE,
    fDev: 0,
    none: 0,
    error: HMM_PFN_V58_ERROR,
    special: HMM_PFN_V58_ERROR,
    scale: HMM_PFN_PFN_SCALE,
    defaultFlags: range.defaultFlags,
    pfnFlagsMask: range.pfnFlagsMask,
  };
}

/** Bad input of an hmm_pfns range (v5.8+): -EINVAL for an empty or unaligned range, else throws. */
function checkPfnsInput(range: HmmPfnsRange): number {
  checkIntIn(
    FN,
    'range.defaultFlags',
    range.defaultFlags,
    0,
    0xff,
    'HMM_PFN_REQ_FAULT [| HMM_PFN_REQ_WRITE] (flag-byte bits, 0..0xff)',
  );
  checkUlong(
    FN,
    'range.pfnFlagsMask',
    range.pfnFlagsMask,
    'a mask (HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE for per-page requests)',
  );
  checkSequence(range);
  const bad = checkBounds(range.start, range.end, true);
  if (bad !== 0) return bad;
  checkEntries('hmmPfns', range.hmmPfns, range.start, range.end, range.pfnFlagsMask);
  return 0;
}

/** The Call of one hmm_range_fault(): walk state, events, handler. */
function makeCall(
  range: HmmRange | HmmPfnsRange,
  mm: MmStruct,
  w: HmmVmaWalk,
  flags: number,
  opts: HmmRangeFaultOptions,
): Call {
  const obj = `mm${mm.id}`;
  return {
    range,
    mm,
    w,
    vmas: { findVma: (addr: number) => findVma(mm, addr) },
    handler: opts.faultHandler ?? handleMmFault,
    allowRetry: (flags & HMM_FAULT_ALLOW_RETRY) !== 0,
    evCheck: { kind: 'hmm.range_fault', label: 'check_retry', obj },
    evWalk: { kind: 'hmm.range_fault', label: 'walk_page_range', obj },
    evFault: { kind: 'hmm.range_fault', label: 'fault', obj },
    allFlags: w.fValid | w.fWrite | w.fDev | w.pudOrder,
    stuck: 0,
    stuckAt: -1,
  };
}

/** v5.4–v5.7: a range with driver tables. */
async function faultTables(range: HmmRange, call: HmmCall): Promise<number> {
  const { version, flags, opts } = call;
  if (accessReporting) noteRead(range.flags);
  if (accessReporting) noteRead(range.values);
  const v57 = version === '5.7';
  const bad = checkInput(range, flags, v57 ? HMM_PFN_FLAG_MAX_V57 : HMM_PFN_FLAG_MAX);
  if (bad !== 0) return bad;
  const mm = hmmRangeMm(range);
  checkCaller(mm);
  const quirks = { ...hmmQuirksFor(version), ...opts.quirks };
  const gen = {
    snapshot: (flags & HMM_FAULT_SNAPSHOT) !== 0,
    testVma: version === '5.5' || v57,
    modern: v57,
    owner: v57 ? (range.devPrivateOwner ?? null) : null,
    mapOrder: false,
  };
  const w = new HmmVmaWalk(tableFormat(range), quirks, gen, mm.machine);
  const c = makeCall(range, mm, w, flags, opts);
  checkRepresentable(c);
  if (gen.testVma) return faultV55(c);
  return faultV54(c, quirks.q1StrayWalk, quirks.q8NoneFillOnError);
}

/** v5.8+: an hmm_pfns range; 0 or -errno. */
async function faultPfns(range: HmmPfnsRange, call: HmmCall): Promise<number> {
  const bad = checkPfnsInput(range);
  if (bad !== 0) return bad;
  const mm = hmmRangeMm(range);
  checkCaller(mm);
  const quirks = { ...hmmQuirksFor(call.version), ...call.opts.quirks };
  const gen = {
    snapshot: false,
    testVma: true,
    modern: true,
    owner: range.devPrivateOwner ?? null,
    mapOrder: call.version === '5.9',
  };
  const w = new HmmVmaWalk(pfnsFormat(range), quirks, gen, mm.machine);
  const ret = await faultV55(makeCall(range, mm, w, 0, call.opts));
  return Math.min(ret, 0);
}

/**
 * Fill the range's entries with the CPU page-table state of [range.start, range.end), faulting
 * pages in as the requests `(entry & pfnFlagsMask) | defaultFlags` demand. The caller holds
 * mmap_sem (for read) and an mm_users reference; no page reference is taken. One function, the
 * call shape of each generation (`opts.version`, see HmmVersion):
 *
 * - `hmmRangeFault(range, flags, opts?)`, v5.4 / seed / v5.5 (default '5.5'): driver tables,
 *   HMM_FAULT_SNAPSHOT / HMM_FAULT_ALLOW_RETRY; returns the number of pages from range.start that
 *   were processed, or -EBUSY (collision), -EFAULT, -EPERM, -EAGAIN (ALLOW_RETRY, mmap_sem
 *   already released), -EINVAL (empty or unaligned range, nothing changed).
 * - `hmmRangeFault(range, { version: '5.7' })`: no flags (a snapshot requests nothing),
 *   `devPrivateOwner`, two-entry flags table, a notifier required; still the page count.
 * - `hmmRangeFault(range, opts?)`, v5.8 / v5.9 (default '5.8'): an HmmPfnsRange with HMM_PFN_*
 *   entries; returns 0 or -EBUSY / -EFAULT / -EPERM / -EINVAL. Only -EBUSY means "retry".
 *
 * A call whose arguments or range do not match the generation throws HmmGenerationError.
 * Mirrors mm/hmm.c:hmm_range_fault().
 */
export function hmmRangeFault(
  range: HmmRange,
  flags: number,
  opts?: HmmRangeFaultOptions,
): Promise<number>;
export function hmmRangeFault(
  range: HmmRange | HmmPfnsRange,
  opts?: HmmRangeFaultOptions,
): Promise<number>;
export async function hmmRangeFault(
  range: HmmRange | HmmPfnsRange,
  a?: number | HmmRangeFaultOptions,
  b?: HmmRangeFaultOptions,
): Promise<number> {
  if (typeof range !== 'object' || range === null) {
    throw new InvalidArgumentError('hmm_range_fault: expected an HmmRange or HmmPfnsRange');
  }
  const call = hmmResolveCall(a, b);
  if (accessReporting) noteRead(range);
  hmmCheckRangeShape(call.version, range);
  const ret = hmmVersionHasTables(call.version)
    ? await faultTables(range as HmmRange, call)
    : await faultPfns(range as HmmPfnsRange, call);
  traceResult(range, call.version, ret);
  return ret;
}

/** 'v5.8 [0x10000000, 0x10002000) seq=4 (now 5) -> -16' on the trace, when tracing. */
function traceResult(range: HmmRange | HmmPfnsRange, version: string, ret: number): void {
  const mm = range.notifier?.mm ?? (range as HmmRange).hmm?.mmuNotifier.mm ?? null;
  const trace = mm?.machine.sched.trace;
  if (trace === undefined || !trace.enabled) return;
  const n = range.notifier;
  const seq =
    n === null
      ? `valid=${(range as HmmRange).valid}`
      : `seq=${range.notifierSeq} (now ${n.invalidateSeq})`;
  trace.emit(
    'hmm.range_fault',
    `v${version} [0x${range.start.toString(16)}, 0x${range.end.toString(16)}) ${seq} -> ${ret}`,
  );
}
