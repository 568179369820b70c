/**
 * What a mutator must have returned and what its process sees afterwards. A mutator is the only
 * operation of its step that changes its process's mappings or bytes, so its expected result
 * follows from the state before the step alone, exactly as if it had run by itself (racing
 * readers and page movers cannot change its answer): mmap a fresh range, munmap 0, mprotect and
 * MADV_DONTNEED the kernel's per-VMA walk (-ENOMEM at a hole; mprotect stops there, madvise goes
 * on), CPU writes a fault at the first page they may not write (the pages before it written), a
 * device WRITE -EFAULT / -EPERM at the first page it may not write (pages before it possibly
 * written: whether they had device entries is not modelled), fork a copy, exit nothing left.
 */
import { EBUSY, EFAULT, ENOMEM, EPERM, PAGE_SIZE, TASK_SIZE } from '@hmmsim/kernel';
import { pattern, withBytes, ZERO_PAGE } from '../content.ts';
import type { PageLocation } from '../peek.ts';
import { cloneProc, PROTS, type RefPage, type RefProc, readable, writable } from '../ref-model.ts';
import { IO_BUF_BYTES } from '../world.ts';
import { devWriteBytes, type OpResult } from './execute.ts';
import { hexAddr, pageRange, pieces } from './pages.ts';
import { describeOp, type ResolvedOp } from './resolve.ts';

/** The judgement of a mutator. */
export interface MutatorOutcome {
  readonly problems: string[];
  /** The process afterwards (undefined: it exited). */
  readonly after: RefProc | undefined;
  /** fork: the child's pages and regions (its pid is given when it joins). */
  readonly child: RefProc | undefined;
}

/** Where a page's bytes were when the step began, and whether a device entry allowed writes. */
export interface PageWhere {
  readonly loc: PageLocation;
  readonly devWrite: boolean;
  /** The frame mapped (RAM or device pfn), -1 for none, swap or the zero page. */
  readonly pfn: number;
  /** A RAM page also in the swap cache. */
  readonly swapCache: boolean;
}

/** How the step ran (what the judgement may allow for). */
export interface StepContext {
  /** The legacy hmm_mirror build (race R2 turns racing device faults into -EBUSY). */
  readonly legacy: boolean;
  /** More than one operation ran in the step. */
  readonly concurrent: boolean;
  /** Where a page of a process was when the step began (implementation state, not the model's). */
  readonly where: (pid: number, vpn: number) => PageWhere;
}

/** A problem line: `op` returned `rc`, `expected` instead. */
export function wrongRc(op: ResolvedOp, rc: number, expected: string): string {
  return `${describeOp(op)} returned ${rc}; expected ${expected}`;
}

/** An outcome with no change and no problem beyond `problems`. */
function same(p: RefProc, problems: string[]): MutatorOutcome {
  return { problems, after: p, child: undefined };
}

/** mmap: a fresh page-aligned range that was unmapped, now zero pages. */
function mmapEffect(p: RefProc, op: ResolvedOp, res: OpResult, prot: number): MutatorOutcome {
  const end = res.rc + op.npages * PAGE_SIZE;
  if (res.rc <= 0 || res.rc % PAGE_SIZE !== 0 || end > TASK_SIZE) {
    return same(p, [wrongRc(op, res.rc, 'a page-aligned address below TASK_SIZE')]);
  }
  const after = cloneProc(p);
  const problems: string[] = [];
  for (const v of pageRange(res.rc, op.npages)) {
    if (p.pages.has(v)) problems.push(`${describeOp(op)} returned ${hexAddr(v)}, already mapped`);
    after.pages.set(v, { prot, cands: [ZERO_PAGE] });
  }
  if (res.rc < p.ioBuf + IO_BUF_BYTES && end > p.ioBuf) {
    problems.push(`${describeOp(op)} returned a range overlapping the I/O buffer`);
  }
  after.regions.push({ start: res.rc, npages: op.npages });
  return { problems, after, child: undefined };
}

/** munmap: 0, the range gone. */
function munmapEffect(p: RefProc, op: ResolvedOp, res: OpResult): MutatorOutcome {
  const after = cloneProc(p);
  for (const v of pageRange(op.addr, op.npages)) after.pages.delete(v);
  return { problems: res.rc === 0 ? [] : [wrongRc(op, res.rc, '0')], after, child: undefined };
}

/** mprotect / MADV_DONTNEED: the kernel's VMA walk over the range. */
function walkEffect(
  p: RefProc,
  op: ResolvedOp,
  res: OpResult,
  change: (page: RefPage) => RefPage,
  stopAtHole: boolean,
): MutatorOutcome {
  const after = cloneProc(p);
  let hole = false;
  for (const v of pageRange(op.addr, op.npages)) {
    const page = p.pages.get(v);
    if (page === undefined) {
      hole = true;
      if (stopAtHole) break;
      continue;
    }
    after.pages.set(v, change(page));
  }
  const expected = hole ? -ENOMEM : 0;
  const problems = res.rc === expected ? [] : [wrongRc(op, res.rc, String(expected))];
  return { problems, after, child: undefined };
}

/** 'succeeded' or the fault, for messages. */
function faultText(res: OpResult): string {
  if (res.rc === 0) return 'succeeded';
  return `faulted (${res.fault?.signal} ${res.fault?.code}) at 0x${res.fault?.addr.toString(16)}`;
}

/** CPU write: a fault at the first page it may not write; the pages before it written. */
function cpuWriteEffect(p: RefProc, op: ResolvedOp, res: OpResult, stamp: number): MutatorOutcome {
  const ps = pieces(op.start, op.len);
  const bad = ps.findIndex((x) => !writable(p.pages.get(x.vpn)));
  const problems: string[] = [];
  if (bad < 0 && res.rc !== 0)
    problems.push(`${describeOp(op)} ${faultText(res)}; expected success`);
  if (bad >= 0) {
    const at = op.start + ps[bad]!.at;
    if (res.rc === 0 || res.fault?.addr !== at || res.fault.signal !== 'SIGSEGV') {
      problems.push(
        `${describeOp(op)} ${faultText(res)}; expected SIGSEGV at 0x${at.toString(16)}`,
      );
    }
  }
  const after = cloneProc(p);
  const bytes = pattern(stamp, op.len);
  for (const x of bad < 0 ? ps : ps.slice(0, bad)) {
    const page = p.pages.get(x.vpn)!;
    const piece = bytes.subarray(x.at, x.at + x.len);
    const cands = page.cands.map((c) => withBytes(c, x.off, piece));
    after.pages.set(x.vpn, { prot: page.prot, cands });
  }
  return { problems, after, child: undefined };
}

/**
 * Device WRITE. Per page: no VMA or no read access: hmm_range_fault() fails with -EFAULT there; a
 * read-only VMA: -EPERM there (the write fault is refused) — except for this device's own private
 * pages, which the core never faults (it hands them back as they are), and -EPERM or -EFAULT
 * for another device's page there; the first such page in the range decides. Without one, a page of this device mapped read-only (COW-shared after fork,
 * or in a read-only VMA) gives 0 or -EFAULT: met first, dmirror_do_fault() refuses it (the kernel
 * WARNs); after a page that needs a fault, hmm_vma_fault() faults it too (migrated back and
 * COW-broken) — which one depends on the device table's entries, which the model does not
 * follow. Else 0. Where a page lives can change during a racing step (a page COW-shared with
 * another process moves when that process migrates it), so then any page may or may not be
 * the device's: 0 or -EFAULT with every page writable, -EFAULT or -EPERM otherwise.
 */
function devWriteEffect(
  p: RefProc,
  op: ResolvedOp,
  res: OpResult,
  s: { stamp: number; dev: number },
  ctx: StepContext,
): MutatorOutcome {
  const vpns = pageRange(op.addr, op.npages);
  const own = (v: number) => ctx.where(op.pid, v).loc === `dev${s.dev}`;
  const notWritable = vpns.findIndex((v) => !writable(p.pages.get(v)));
  const bad = vpns.findIndex((v) => {
    const page = p.pages.get(v);
    return !readable(page) || (!writable(page) && !own(v));
  });
  const ownRo = vpns.findIndex((v) => own(v) && !ctx.where(op.pid, v).devWrite);
  const badPage = bad < 0 ? undefined : p.pages.get(vpns[bad]!);
  // Another device's page in a read-only VMA: its owner's migrate_to_ram() comes first, and
  // the generations differ in which refusal they report (v5.5's fault loop: -EFAULT).
  const foreign = bad >= 0 && /^dev\d$/.test(ctx.where(op.pid, vpns[bad]!).loc);
  let expected: number[];
  if (ctx.concurrent) expected = notWritable >= 0 ? [-EFAULT, -EPERM] : [0, -EFAULT];
  else if (bad >= 0)
    expected = !readable(badPage) ? [-EFAULT] : foreign ? [-EPERM, -EFAULT] : [-EPERM];
  else expected = ownRo >= 0 ? [0, -EFAULT] : [0];
  const busy = res.rc === -EBUSY && ctx.legacy && ctx.concurrent;
  const problems =
    expected.includes(res.rc) || busy ? [] : [wrongRc(op, res.rc, expected.join(' or '))];
  const bytes = devWriteBytes(s.stamp, op.npages);
  const after = cloneProc(p);
  // On an error, the pages before the first bad one may have been written (they had entries).
  const firsts = (ctx.concurrent ? [notWritable] : [bad, ownRo]).filter((i) => i >= 0);
  const limit = res.rc === 0 || firsts.length === 0 ? vpns.length : Math.min(...firsts);
  vpns.forEach((v, i) => {
    if (i >= limit) return;
    const page = p.pages.get(v)!;
    const data = bytes.slice(i * PAGE_SIZE, (i + 1) * PAGE_SIZE);
    after.pages.set(v, { prot: page.prot, cands: res.rc === 0 ? [data] : [...page.cands, data] });
  });
  return { problems, after, child: undefined };
}

/**
 * Judge mutator `op` of process `p` (its state before the step) and give the state after it.
 * Model helper (the fuzzer's reference semantics of each mutator).
 */
export function mutatorOutcome(
  p: RefProc,
  op: ResolvedOp,
  res: OpResult,
  ctx: StepContext,
): MutatorOutcome {
  const s = op.spec;
  switch (s.kind) {
    case 'mmap':
      return mmapEffect(p, op, res, PROTS[s.prot]);
    case 'munmap':
      return munmapEffect(p, op, res);
    case 'mprotect':
      return walkEffect(p, op, res, (page) => ({ ...page, prot: PROTS[s.prot] }), true);
    case 'madvise':
      return walkEffect(p, op, res, (page) => ({ ...page, cands: [ZERO_PAGE] }), false);
    case 'fork':
      if (res.rc !== 0 || res.child === undefined) return same(p, [wrongRc(op, res.rc, 'a child')]);
      return { problems: [], after: p, child: cloneProc(p) };
    case 'exit':
      return {
        problems: res.rc === 0 ? [] : [wrongRc(op, res.rc, '0 from every close')],
        after: undefined,
        child: undefined,
      };
    case 'cpu-write':
      return cpuWriteEffect(p, op, res, s.stamp);
    case 'dev-write':
      return devWriteEffect(p, op, res, s, ctx);
    default:
      return same(p, [`${describeOp(op)} is not a mutator`]);
  }
}
