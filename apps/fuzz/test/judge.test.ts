import { EBUSY, EFAULT, EINVAL, ENOENT, ENOMEM, EPERM, PAGE_SIZE } from '@hmmsim/kernel';
import { describe, expect, it } from 'vitest';
import { pattern, ZERO_PAGE } from '../src/content.ts';
import { mutatorOutcome, type PageWhere, type StepContext } from '../src/ops/effects.ts';
import type { OpResult } from '../src/ops/execute.ts';
import { judgeOp } from '../src/ops/judge.ts';
import type { OpSpec } from '../src/ops/op-spec.ts';
import { statesOf } from '../src/ops/pages.ts';
import type { ResolvedOp } from '../src/ops/resolve.ts';
import { PROTS, type RefProc } from '../src/ref-model.ts';

const BASE = 0x7f0000000000;
const V = BASE / PAGE_SIZE;
const A = pattern(1, PAGE_SIZE);
const B = pattern(2, PAGE_SIZE);

/** A process with pages V.. V+3: rw A, rw B, r zeros, none. */
function proc(): RefProc {
  const pages = new Map([
    [V, { prot: PROTS.rw, cands: [A] }],
    [V + 1, { prot: PROTS.rw, cands: [B] }],
    [V + 2, { prot: PROTS.r, cands: [ZERO_PAGE] }],
    [V + 3, { prot: PROTS.none, cands: [ZERO_PAGE] }],
  ]);
  return { pid: 1, pages, regions: [{ start: BASE, npages: 6 }], ioBuf: 0x1000000 };
}

const RAM: PageWhere = { loc: 'ram', devWrite: false, pfn: 5, swapCache: false };

function ctx(over: Partial<StepContext> = {}): StepContext {
  return { legacy: false, concurrent: false, where: () => RAM, ...over };
}

function op(spec: OpSpec, page: number, npages: number, mutator = false): ResolvedOp {
  const addr = BASE + page * PAGE_SIZE;
  return { spec, cpu: 0, pid: 1, mutator, addr, npages, start: addr, len: npages * PAGE_SIZE };
}

function res(rc: number, data?: Uint8Array): OpResult {
  return { rc, data, fault: undefined, child: undefined };
}

const r0 = { proc: 0, region: 0, page: 0, npages: 1 };
const readOp = (page: number, n: number) => op({ kind: 'dev-read', ...r0, dev: 0 }, page, n);
const same = (p: RefProc) => statesOf(p, p);

describe('device READ is judged against what the process had', () => {
  it('accepts its bytes, rejects bytes the process never had there', () => {
    const p = proc();
    const ok = new Uint8Array([...A, ...B]);
    expect(judgeOp(readOp(0, 2), res(0, ok), same(p), ctx())).toEqual([]);
    const wrong = new Uint8Array([...B, ...B]);
    expect(judgeOp(readOp(0, 2), res(0, wrong), same(p), ctx()).join()).toMatch(
      /never had there: got .*, expected/,
    );
  });

  it('wants -EFAULT exactly where a page has no read access', () => {
    const p = proc();
    expect(judgeOp(readOp(2, 2), res(-EFAULT), same(p), ctx())).toEqual([]);
    expect(judgeOp(readOp(0, 2), res(-EFAULT), same(p), ctx()).join()).toMatch(/expected 0/);
    expect(
      judgeOp(readOp(2, 2), res(0, new Uint8Array(2 * PAGE_SIZE)), same(p), ctx()),
    ).not.toEqual([]);
  });

  it('accepts -EBUSY only on legacy in a racing step (race R2)', () => {
    const p = proc();
    expect(judgeOp(readOp(0, 1), res(-EBUSY), same(p), ctx())).not.toEqual([]);
    expect(judgeOp(readOp(0, 1), res(-EBUSY), same(p), ctx({ concurrent: true }))).not.toEqual([]);
    expect(judgeOp(readOp(0, 1), res(-EBUSY), same(p), ctx({ legacy: true }))).not.toEqual([]);
    const r2 = ctx({ legacy: true, concurrent: true });
    expect(judgeOp(readOp(0, 1), res(-EBUSY), same(p), r2)).toEqual([]);
  });

  it('while racing a munmap, accepts the old bytes or -EFAULT, nothing else', () => {
    const before = proc();
    const after: RefProc = { ...before, pages: new Map(before.pages) };
    after.pages.delete(V);
    const states = statesOf(before, after);
    expect(judgeOp(readOp(0, 1), res(0, A.slice()), states, ctx())).toEqual([]);
    expect(judgeOp(readOp(0, 1), res(-EFAULT), states, ctx())).toEqual([]);
    expect(judgeOp(readOp(0, 1), res(0, B.slice()), states, ctx())).not.toEqual([]);
  });
});

describe('migrations and MADV_PAGEOUT', () => {
  it('MIGRATE_TO_DEV: -EINVAL only with an unreadable page, -ENOENT only for pages that cannot move', () => {
    const p = proc();
    const m = (page: number, n: number) => op({ kind: 'migrate-to-dev', ...r0, dev: 0 }, page, n);
    expect(judgeOp(m(2, 2), res(-EINVAL), same(p), ctx())).toEqual([]);
    expect(judgeOp(m(0, 2), res(-EINVAL), same(p), ctx())).not.toEqual([]);
    expect(judgeOp(m(0, 1), res(-ENOENT), same(p), ctx())).not.toEqual([]);
    const inSwap = ctx({
      where: () => ({ loc: 'swap', devWrite: false, pfn: -1, swapCache: false }),
    });
    expect(judgeOp(m(0, 1), res(-ENOENT), same(p), inSwap)).toEqual([]);
  });

  it('MADV_PAGEOUT: -ENOMEM exactly when the range has a hole', () => {
    const p = proc();
    const po = (page: number, n: number) =>
      op({ kind: 'madvise', ...r0, advice: 'pageout' }, page, n);
    expect(judgeOp(po(0, 4), res(0), same(p), ctx())).toEqual([]);
    expect(judgeOp(po(3, 2), res(-ENOMEM), same(p), ctx())).toEqual([]);
    expect(judgeOp(po(0, 4), res(-ENOMEM), same(p), ctx())).not.toEqual([]);
  });
});

describe("a mutator's result is predicted exactly", () => {
  it('munmap must return 0 and the pages go', () => {
    const p = proc();
    const m = op({ kind: 'munmap', ...r0 }, 0, 2, true);
    const ok = mutatorOutcome(p, m, res(0), ctx());
    expect(ok.problems).toEqual([]);
    expect(ok.after?.pages.has(V)).toBe(false);
    expect(mutatorOutcome(p, m, res(-EINVAL), ctx()).problems.join()).toMatch(/expected 0/);
  });

  it('mmap must return a fresh range', () => {
    const p = proc();
    const m = op({ kind: 'mmap', proc: 0, npages: 2, prot: 'rw' }, 0, 2, true);
    expect(mutatorOutcome(p, m, res(BASE + 8 * PAGE_SIZE), ctx()).problems).toEqual([]);
    expect(mutatorOutcome(p, m, res(BASE), ctx()).problems.join()).toMatch(/already mapped/);
  });

  it('a device WRITE gets -EPERM at a read-only page, -EFAULT at an inaccessible one', () => {
    const p = proc();
    const w = (page: number, n: number) =>
      op({ kind: 'dev-write', ...r0, dev: 0, stamp: 3 }, page, n, true);
    expect(mutatorOutcome(p, w(0, 2), res(0), ctx()).problems).toEqual([]);
    expect(mutatorOutcome(p, w(1, 2), res(-EPERM), ctx()).problems).toEqual([]);
    expect(mutatorOutcome(p, w(1, 2), res(-EFAULT), ctx()).problems).not.toEqual([]);
    expect(mutatorOutcome(p, w(3, 1), res(-EFAULT), ctx()).problems).toEqual([]);
    // On success the pages hold the written bytes; on -EPERM the page before may or may not.
    const after = mutatorOutcome(p, w(1, 2), res(-EPERM), ctx()).after!;
    expect(after.pages.get(V + 1)!.cands).toHaveLength(2);
  });

  it("a device WRITE over this device's own read-only page may give -EFAULT", () => {
    const p = proc();
    const own = ctx({
      where: () => ({ loc: 'dev0', devWrite: false, pfn: 70000, swapCache: false }),
    });
    const w = op({ kind: 'dev-write', ...r0, dev: 0, stamp: 3 }, 0, 1, true);
    expect(mutatorOutcome(p, w, res(-EFAULT), own).problems).toEqual([]);
    expect(mutatorOutcome(p, w, res(-EFAULT), ctx()).problems).not.toEqual([]);
  });

  it('a CPU write faults at the first page it may not write, having written the ones before', () => {
    const p = proc();
    const spec: OpSpec = { kind: 'cpu-write', ...r0, byte: 0, len: 0, stamp: 9 };
    const w = { ...op(spec, 1, 2, true), start: BASE + PAGE_SIZE + 10, len: PAGE_SIZE };
    const fault = (addr: number): OpResult => ({
      rc: -1,
      data: undefined,
      fault: { ok: false, signal: 'SIGSEGV', code: 'SEGV_ACCERR', addr },
      child: undefined,
    });
    const good = mutatorOutcome(p, w, fault(BASE + 2 * PAGE_SIZE), ctx());
    expect(good.problems).toEqual([]);
    expect(good.after!.pages.get(V + 1)!.cands[0]![10]).toBe(pattern(9, 1)[0]);
    expect(mutatorOutcome(p, w, res(0), ctx()).problems.join()).toMatch(/expected SIGSEGV/);
  });
});
