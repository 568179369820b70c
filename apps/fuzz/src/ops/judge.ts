/**
 * What a non-mutating operation may have returned, given that each page it touched may have been
 * seen before or after its process's mutator (a racing reader sees one or the other, page by
 * page; with no mutator there is one state and the rules are exact): bytes that some state held
 * there, a fault or -EFAULT / -EINVAL / -ENOMEM only where some state had no access, SNAPSHOT
 * bytes matching some state's mapping and protection, reclaim a count within its budget. -EBUSY
 * is accepted only on the legacy build in a step where operations raced (race R2).
 */

import { HMM_DMIRROR_PROT_ERROR, HMM_DMIRROR_PROT_WRITE } from '@hmmsim/dmirror';
import { EBUSY, EFAULT, EINVAL, ENOENT, ENOMEM, PAGE_SIZE } from '@hmmsim/kernel';
import { describeBytes, sameBytes } from '../content.ts';
import { type RefPage, readable, writable } from '../ref-model.ts';
import { type PageWhere, type StepContext, wrongRc } from './effects.ts';
import type { OpResult } from './execute.ts';
import { hexAddr, pageRange, pieces, type StatesOf } from './pages.ts';
import { describeOp, type ResolvedOp } from './resolve.ts';

/** Snapshot bytes a valid page may get: NONE, READ/WRITE on RAM, the zero page, device-private. */
const VALID_SNAPSHOT_BYTES: ReadonlySet<number> = new Set([
  0x00, 0x01, 0x02, 0x11, 0x21, 0x22, 0x31, 0x32,
]);

/** True if some state of the page held `bytes` at `off`. */
function heldBy(states: readonly (RefPage | undefined)[], off: number, bytes: Uint8Array): boolean {
  return states.some(
    (s) =>
      readable(s) && s.cands.some((c) => sameBytes(c.subarray(off, off + bytes.length), bytes)),
  );
}

/** What the model allowed for a page, for messages. */
function allowedText(states: readonly (RefPage | undefined)[]): string {
  const opts = states.flatMap((s) => (readable(s) ? s.cands.map(describeBytes) : ['no access']));
  return opts.join(' or ');
}

/** Every page of `vpns` had `ok` in some state / some page lacked it in some state. */
function someAll(
  states: StatesOf,
  vpns: readonly number[],
  ok: (p: RefPage | undefined) => boolean,
) {
  return {
    canAll: vpns.every((v) => states(v).some(ok)),
    canFail: vpns.some((v) => states(v).some((s) => !ok(s))),
  };
}

/** Whole pages of output `data` for the page range, each held by some state. */
function checkPages(op: ResolvedOp, states: StatesOf, data: Uint8Array | undefined): string[] {
  if (data === undefined || data.length !== op.npages * PAGE_SIZE) {
    return [`${describeOp(op)} returned 0 without its ${op.npages} pages of data`];
  }
  const out: string[] = [];
  pageRange(op.addr, op.npages).forEach((v, i) => {
    const got = data.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE);
    if (heldBy(states(v), 0, got)) return;
    out.push(
      `${describeOp(op)} returned 0 with bytes at ${hexAddr(v)} that the process never had there: got ${describeBytes(got)}, expected ${allowedText(states(v))}`,
    );
  });
  return out;
}

/** CPU read: the bytes some state held, or a fault where some state had no read access. */
function judgeCpuRead(op: ResolvedOp, res: OpResult, states: StatesOf): string[] {
  const ps = pieces(op.start, op.len);
  if (res.rc === 0) {
    const data = res.data;
    if (data === undefined) return [`${describeOp(op)} succeeded without data`];
    const out: string[] = [];
    for (const x of ps) {
      const got = data.subarray(x.at, x.at + x.len);
      if (heldBy(states(x.vpn), x.off, got)) continue;
      out.push(
        `${describeOp(op)} read bytes at ${hexAddr(x.vpn)}+${x.off} the process never had there: got ${describeBytes(got)}, expected ${allowedText(states(x.vpn))}`,
      );
    }
    return out;
  }
  const f = res.fault;
  const j = ps.findIndex((x) => f !== undefined && op.start + x.at === f.addr);
  const ok =
    f?.signal === 'SIGSEGV' &&
    j >= 0 &&
    states(ps[j]!.vpn).some((s) => !readable(s)) &&
    ps.slice(0, j).every((x) => states(x.vpn).some(readable));
  if (ok) return [];
  return [
    `${describeOp(op)} faulted (${f?.signal} ${f?.code}) at 0x${f?.addr.toString(16)}, where the process could read`,
  ];
}

/** -EBUSY from a device fault under race R2 (legacy build, operations raced). */
function r2Busy(rc: number, ctx: StepContext): boolean {
  return rc === -EBUSY && ctx.legacy && ctx.concurrent;
}

/** Device READ: 0 with bytes some state held; -EFAULT where some state could not read. */
function judgeDevRead(op: ResolvedOp, res: OpResult, states: StatesOf, ctx: StepContext) {
  const vpns = pageRange(op.addr, op.npages);
  const { canAll, canFail } = someAll(states, vpns, readable);
  if (res.rc === 0 && canAll) return checkPages(op, states, res.data);
  if ((res.rc === -EFAULT && canFail) || r2Busy(res.rc, ctx)) return [];
  return [wrongRc(op, res.rc, canAll ? (canFail ? '0 or -EFAULT' : '0') : '-EFAULT')];
}

/** One SNAPSHOT byte against the page's states (loose: any state, any location). */
function snapshotByteOk(b: number, states: readonly (RefPage | undefined)[]): boolean {
  return states.some((s) => {
    if (!readable(s)) return b === HMM_DMIRROR_PROT_ERROR;
    if (!VALID_SNAPSHOT_BYTES.has(b)) return false;
    return (b & HMM_DMIRROR_PROT_WRITE) === 0 || writable(s);
  });
}

/**
 * The SNAPSHOT bytes a page alone in its step may get, from where it is: nothing there, in swap
 * or on the other device: NONE; on this device: DEV_PRIVATE_LOCAL, WRITE iff its entry allows
 * it; in RAM: READ or WRITE, the zero page READ.
 */
function exactSnapshotBytes(where: PageWhere, dev: number): readonly number[] {
  if (where.loc === `dev${dev}`) return [where.devWrite ? 0x22 : 0x21];
  if (where.loc === 'ram') return [0x01, 0x02, 0x11];
  return [0x00];
}

/**
 * SNAPSHOT: 0, with ERROR exactly where no access, WRITE only where writable; alone in its step,
 * the exact bytes of where each page is.
 */
function judgeSnapshot(
  op: ResolvedOp,
  res: OpResult,
  states: StatesOf,
  ctx: StepContext,
  dev: number,
) {
  if (r2Busy(res.rc, ctx)) return [];
  if (res.rc !== 0) return [wrongRc(op, res.rc, '0')];
  const data = res.data;
  if (data === undefined || data.length !== op.npages) return [`${describeOp(op)}: no bytes`];
  const out: string[] = [];
  pageRange(op.addr, op.npages).forEach((v, i) => {
    const b = data[i]!;
    const st = states(v);
    const exact = !ctx.concurrent && readable(st[0]);
    const ok = exact
      ? exactSnapshotBytes(ctx.where(op.pid, v), dev).includes(b)
      : snapshotByteOk(b, st);
    if (exact && !ok) {
      const w = ctx.where(op.pid, v);
      out.push(
        `${describeOp(op)}: byte 0x${b.toString(16)} for ${hexAddr(v)}, which is in ${w.loc}${w.devWrite ? ' (writable device entry)' : ''}; expected ${exactSnapshotBytes(
          w,
          dev,
        )
          .map((x) => `0x${x.toString(16)}`)
          .join(' or ')}`,
      );
    } else if (!ok) {
      out.push(
        `${describeOp(op)}: byte 0x${b.toString(16)} for ${hexAddr(v)} contradicts its mapping (${states(
          v,
        )
          .map((s) => (s === undefined ? 'unmapped' : `prot ${s.prot}`))
          .join(' or ')})`,
      );
    }
  });
  return out;
}

/**
 * Migrations: -EINVAL where some state had no readable VMA; MIGRATE_TO_DEV reads the range back
 * through the device table, -ENOENT when a page did not move there and has no entry — one in
 * swap or on a device (not selected: only system pages move), one in the swap cache (it has a
 * mapping, and migrate_vma_pages() moves only mapping-less anonymous pages to device-private
 * memory), or a racing step.
 */
function judgeMigrate(
  op: ResolvedOp,
  res: OpResult,
  states: StatesOf,
  ctx: StepContext,
  toDev: boolean,
) {
  const vpns = pageRange(op.addr, op.npages);
  const { canAll, canFail } = someAll(states, vpns, readable);
  if (res.rc === -EINVAL && canFail) return [];
  const unmovable = vpns.some((v) => {
    const w = ctx.where(op.pid, v);
    return w.swapCache || !['ram', 'none'].includes(w.loc);
  });
  if (toDev && res.rc === -ENOENT && canAll && (unmovable || ctx.concurrent)) return [];
  if (res.rc === 0 && canAll) return toDev ? checkPages(op, states, res.data) : [];
  return [wrongRc(op, res.rc, canAll ? (canFail ? '0 or -EINVAL' : '0') : '-EINVAL')];
}

/** MADV_PAGEOUT: 0, or -ENOMEM where some state had a hole; the bytes stay. */
function judgePageout(op: ResolvedOp, res: OpResult, states: StatesOf) {
  const vpns = pageRange(op.addr, op.npages);
  const { canAll, canFail } = someAll(states, vpns, (s) => s !== undefined);
  if ((res.rc === 0 && canAll) || (res.rc === -ENOMEM && canFail)) return [];
  return [wrongRc(op, res.rc, canAll ? (canFail ? '0 or -ENOMEM' : '0') : '-ENOMEM')];
}

/**
 * Judge non-mutating `op`'s result against the states its pages may have been in.
 * Model helper (the fuzzer's reference semantics of each reader and page mover).
 */
export function judgeOp(
  op: ResolvedOp,
  res: OpResult,
  states: StatesOf,
  ctx: StepContext,
): string[] {
  const s = op.spec;
  switch (s.kind) {
    case 'cpu-read':
      return judgeCpuRead(op, res, states);
    case 'dev-read':
      return judgeDevRead(op, res, states, ctx);
    case 'dev-snapshot':
      return judgeSnapshot(op, res, states, ctx, s.dev);
    case 'migrate-to-dev':
      return judgeMigrate(op, res, states, ctx, true);
    case 'migrate-to-sys':
      return judgeMigrate(op, res, states, ctx, false);
    case 'madvise':
      return judgePageout(op, res, states);
    case 'reclaim':
      return res.rc >= 0 && res.rc <= s.nr ? [] : [wrongRc(op, res.rc, `0..${s.nr}`)];
    default:
      return [`${describeOp(op)} is a mutator; judged by its effect`];
  }
}
