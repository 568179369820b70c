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
 */
import {
  EAGAIN,
  EBUSY,
  EFAULT,
  EINVAL,
  EPERM,
  InvalidArgumentError,
  KernelBugError,
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
import { type WalkVmas, walkPageRange } from '@hmmsim/pagetable';
import {
  HMM_ENTRY_MAX,
  HMM_FAULT_ALLOW_RETRY,
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
  hmmRequestOf,
  hmmWalkOps,
  NEED_WRITE,
  PEND_FAULT,
  PEND_MIGRATION_WAIT,
  PEND_NONE,
  pteNeedFault,
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
  readonly range: HmmRange;
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
      `hmm_range_fault(mm${mm.id}) with mm_users ${mm.mmUsers}; expected the caller to hold an mm_users reference (mmget_not_zero / hmm_range_register)`,
    );
  }
}

/** Every entry the walk can produce must stay below 2^53 (the machine's largest pfn, shifted). */
function checkRepresentable(c: Call): void {
  const w = c.w;
  const maxPfn = c.mm.machine.phys.memmapEnd - 1;
  if (maxPfn * w.scale + c.allFlags > HMM_ENTRY_MAX) {
    throw new InvalidArgumentError(
      `hmm_range_fault: output not representable: pfn ${maxPfn} << pfnShift ${c.range.pfnShift} | flags exceeds 2^53 - 1; ` +
        'expected a smaller pfnShift (entries are 53-bit safe integers)',
    );
  }
}

/**
 * Bad input that changes nothing: the kernel errno (-EINVAL, as walk_page_range() gives for an
 * empty range) or InvalidArgumentError for model-level misuse.
 */
function checkInput(range: HmmRange, flags: number): number {
  if (typeof range !== 'object' || range === null) {
    throw new InvalidArgumentError('hmm_range_fault: expected an HmmRange');
  }
  if (!Number.isInteger(flags) || flags < 0) {
    throw new InvalidArgumentError(
      `hmm_range_fault: flags ${flags}; expected HMM_FAULT_* bits (an integer >= 0)`,
    );
  }
  hmmRangeCheckTables(range);
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0) {
    throw new InvalidArgumentError(
      `hmm_range_fault: [${start}, ${end}) is not a pair of unsigned longs (safe integers >= 0)`,
    );
  }
  if (start % PAGE !== 0 || end % PAGE !== 0 || start >= end || end > VADDR_LIMIT) return -EINVAL;
  if (!(range.pfns instanceof Float64Array)) {
    throw new InvalidArgumentError('hmm_range_fault: range.pfns must be a Float64Array');
  }
  const npages = (end - start) / PAGE;
  if (range.pfns.length < npages) {
    throw new InvalidArgumentError(
      `hmm_range_fault: range.pfns has ${range.pfns.length} entries for a range of ${npages} pages; expected at least ${npages}`,
    );
  }
  return 0;
}

/** Migration of `pfn` in progress: sleep until the page is unlocked. Mirrors mm/migrate.c:migration_entry_wait(). */
async function migrationEntryWait(c: Call, pfn: number): Promise<void> {
  await c.mm.machine.sched.point(c.evFault);
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
    w.pfns[(addr - w.rangeStart) / PAGE] = w.error;
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
    let need = w.pendNeed;
    if (w.pendPerPage) need = pteNeedFault(w, hmmRequestOf(w, pfns[i] as number), w.pendCpu);
    pfns[i] = w.none;
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
  let ret: number;
  for (;;) {
    await sched.point(c.evCheck);
    if (hmmRangeNeedsRetry(range)) return -EBUSY;
    await sched.point(c.evWalk);
    const before = w.last;
    ret = await walkPass(c, w.last, range.end);
    if (ret !== -EBUSY) break;
    noteBusy(c, before);
  }
  if (ret !== 0) return ret;
  return (w.last - range.start) / PAGE;
}

/** Q8: entries from `last` to the end of the range become NONE. */
function noneFillFrom(c: Call, last: number): void {
  const w = c.w;
  w.pfns.fill(w.none, (last - w.rangeStart) / PAGE, (c.range.end - w.rangeStart) / PAGE);
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
  } while (start < range.end);
  return (w.last - range.start) / PAGE;
}

/**
 * Fill `range.pfns` with the CPU page-table state of [range.start, range.end), faulting pages in
 * as the requests `(pfns[i] & pfnFlagsMask) | defaultFlags` demand (never with HMM_FAULT_SNAPSHOT).
 * The caller holds mmap_sem (for read) and an mm_users reference; no page reference is taken.
 * Returns the number of pages from range.start that were processed (`(last - start) >> PAGE_SHIFT`),
 * or -EBUSY (collision: new notifierSeq / wait until valid), -EFAULT, -EPERM, -EAGAIN (only with
 * HMM_FAULT_ALLOW_RETRY; mmap_sem already released), -EINVAL (empty or unaligned range, nothing
 * changed). -ENOMEM is documented by the kernel but not produced by this code (VM_FAULT_OOM is a
 * VM_FAULT_ERROR and gives -EFAULT). `opts.version` selects '5.5' (default), 'seed' or '5.4'.
 * Mirrors mm/hmm.c:hmm_range_fault().
 */
export async function hmmRangeFault(
  range: HmmRange,
  flags: number,
  opts: HmmRangeFaultOptions = {},
): Promise<number> {
  const bad = checkInput(range, flags);
  if (bad !== 0) return bad;
  const mm = hmmRangeMm(range);
  checkCaller(mm);
  const version = opts.version ?? '5.5';
  if (version !== '5.4' && version !== 'seed' && version !== '5.5') {
    throw new InvalidArgumentError(
      `hmm_range_fault: version '${String(version)}'; expected '5.4', 'seed' or '5.5'`,
    );
  }
  const quirks = { ...hmmQuirksFor(version), ...opts.quirks };
  const w = new HmmVmaWalk(range, flags, quirks, version === '5.5', mm.machine);
  const obj = `mm${mm.id}`;
  const c: Call = {
    range,
    mm,
    w,
    vmas: { findVma: (addr: number) => findVma(mm, addr) },
    handler: opts.faultHandler ?? handleMmFault,
    allowRetry: (flags & HMM_FAULT_ALLOW_RETRY) !== 0,
    evCheck: { kind: 'hmm.range_fault', label: 'check_retry', obj },
    evWalk: { kind: 'hmm.range_fault', label: 'walk_page_range', obj },
    evFault: { kind: 'hmm.range_fault', label: 'fault', obj },
    allFlags: w.fValid | w.fWrite | w.fDev,
    stuck: 0,
    stuckAt: -1,
  };
  checkRepresentable(c);
  if (version === '5.5') return faultV55(c);
  return faultV54(c, quirks.q1StrayWalk, quirks.q8NoneFillOnError);
}
