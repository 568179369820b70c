/**
 * Request computation: req(i) = (pfns[i] & pfnFlagsMask) | defaultFlags; VALID is what asks for a
 * fault, WRITE alone does nothing, HMM_FAULT_SNAPSHOT ignores every request; and Q2 (a fault
 * covers the rest of the walk chunk with the same decision).
 */
import { describe, expect, it } from 'vitest';
import { HMM_FAULT_SNAPSHOT, HMM_PFN_FLAGS_MASK_ALL } from '../src/index.ts';
import {
  BASE,
  countingHandler,
  cpuEnt,
  ent,
  env,
  fault,
  legacyRange,
  mapAnon,
  NONE,
  out,
  PAGE,
  pfnAt,
  touch,
  V,
  W,
} from './helpers.ts';

describe('request computation', () => {
  it('defaultFlags = VALID, mask 0: every page faulted for read, array contents ignored', async () => {
    const e = env();
    await mapAnon(e, BASE, 4);
    const r = legacyRange(e, BASE, 4, { defaultFlags: V, pfnFlagsMask: 0 });
    r.pfns.set([W, 0, W, 0]); // ignored: the mask selects nothing
    expect(await fault(e, r, 0)).toBe(4);
    expect(out(r)).toEqual(Array(4).fill(ent(e.machine.phys.zeroPfn, V)));
  });

  it('defaultFlags = VALID, mask = WRITE, pfns[k] = WRITE: read everywhere, write at k', async () => {
    const e = env();
    await mapAnon(e, BASE, 4);
    const r = legacyRange(e, BASE, 4, { defaultFlags: V, pfnFlagsMask: W });
    r.pfns.set([0, 0, W, 0]);
    expect(await fault(e, r, 0, { quirks: { q2FaultWholeChunk: false } })).toBe(4);
    const zero = ent(e.machine.phys.zeroPfn, V);
    expect(out(r)).toEqual([zero, zero, ent(pfnAt(e, BASE + 2 * PAGE), V | W), zero]);
  });

  it('defaultFlags = 0, mask = ~0: fully per entry (Q2 off)', async () => {
    const e = env();
    await mapAnon(e, BASE, 8);
    await touch(e, BASE + 7 * PAGE, 1); // a PTE table exists: the others are pte_none
    const h = countingHandler(e);
    const r = legacyRange(e, BASE, 4, { pfnFlagsMask: HMM_PFN_FLAGS_MASK_ALL });
    r.pfns.set([V, 0, V | W, W]);
    expect(
      await fault(e, r, 0, { faultHandler: h.handler, quirks: { q2FaultWholeChunk: false } }),
    ).toBe(4);
    expect(h.calls.map((c) => [(c.addr - BASE) / PAGE, c.flags & 1])).toEqual([
      [0, 0],
      [2, 1],
    ]);
    expect(out(r)).toEqual([ent(0, V), NONE, ent(pfnAt(e, BASE + 2 * PAGE), V | W), NONE]);
  });

  for (const version of ['seed', '5.5'] as const) {
    it(`${version}: Q2: a fault covers the rest of the chunk with one decision and erases the later requests`, async () => {
      const e = env();
      await mapAnon(e, BASE, 8);
      await touch(e, BASE + 7 * PAGE, 1);
      const h = countingHandler(e);
      const r = legacyRange(e, BASE, 4, { pfnFlagsMask: HMM_PFN_FLAGS_MASK_ALL });
      r.pfns.set([V, 0, V | W, W]);
      expect(await fault(e, r, 0, { version, faultHandler: h.handler })).toBe(4);
      // Page 0 needs a read fault: pages 0..3 are read-faulted (1 and 3 asked for nothing), and
      // each gets NONE first — which is also its request for the re-walk, so page 2's WRITE
      // request is gone: it stays the read-only zero page.
      expect(h.calls.map((c) => [(c.addr - BASE) / PAGE, c.flags & 1])).toEqual([
        [0, 0],
        [1, 0],
        [2, 0],
        [3, 0],
      ]);
      expect(out(r)).toEqual(Array(4).fill(ent(e.machine.phys.zeroPfn, V)));
    });
  }

  it('5.4: the same request fails on the zero page the read faults mapped (Q3)', async () => {
    const e = env();
    await mapAnon(e, BASE, 8);
    await touch(e, BASE + 7 * PAGE, 1);
    const r = legacyRange(e, BASE, 4, { pfnFlagsMask: HMM_PFN_FLAGS_MASK_ALL });
    r.pfns.set([V, 0, V | W, W]);
    expect(await fault(e, r, 0, { version: '5.4' })).toBe(-14);
    expect(out(r)).toEqual(Array(4).fill(NONE));
  });

  it('a hole block takes the OR of its pages and stops at the first write', async () => {
    const e = env();
    await mapAnon(e, BASE, 4);
    const h = countingHandler(e);
    const r = legacyRange(e, BASE, 4, { pfnFlagsMask: HMM_PFN_FLAGS_MASK_ALL });
    r.pfns.set([0, V, 0, V | W]);
    expect(await fault(e, r, 0, { faultHandler: h.handler })).toBe(4);
    // One block (the empty PMD): write faults on all four pages.
    expect(h.calls.map((c) => c.flags & 1)).toEqual([1, 1, 1, 1]);
    for (let i = 0; i < 4; i++) expect(r.pfns[i]).toBe(cpuEnt(e, BASE + i * PAGE));
  });

  it('WRITE without VALID requests nothing', async () => {
    const e = env();
    await mapAnon(e, BASE, 4);
    const h = countingHandler(e);
    const r = legacyRange(e, BASE, 4, { defaultFlags: W, pfnFlagsMask: HMM_PFN_FLAGS_MASK_ALL });
    r.pfns.fill(W);
    expect(await fault(e, r, 0, { faultHandler: h.handler })).toBe(0);
    expect(h.calls).toEqual([]);
    expect(out(r)).toEqual(Array(4).fill(NONE));
  });

  it('HMM_FAULT_SNAPSHOT ignores every request', async () => {
    const e = env();
    await mapAnon(e, BASE, 4);
    await touch(e, BASE, 1, false);
    const h = countingHandler(e);
    const r = legacyRange(e, BASE, 4, {
      defaultFlags: V | W,
      pfnFlagsMask: HMM_PFN_FLAGS_MASK_ALL,
    });
    r.pfns.fill(V | W);
    expect(await fault(e, r, HMM_FAULT_SNAPSHOT, { faultHandler: h.handler })).toBe(4);
    expect(h.calls).toEqual([]);
    expect(out(r)).toEqual([ent(0, V), NONE, NONE, NONE]);
  });

  it('request bits above the low 31 bits are ignored; the mask applies per bit', async () => {
    const e = env();
    await mapAnon(e, BASE, 2);
    await touch(e, BASE + PAGE, 1);
    const h = countingHandler(e);
    const r = legacyRange(e, BASE, 1, { pfnFlagsMask: V });
    r.pfns[0] = 2 ** 40 + W; // WRITE is masked off, the high bit never counts
    expect(await fault(e, r, 0, { faultHandler: h.handler })).toBe(1);
    expect(h.calls).toEqual([]);
    r.pfns[0] = 2 ** 40 + V;
    expect(await fault(e, r, 0, { faultHandler: h.handler })).toBe(1);
    expect(h.calls.length).toBe(1);
  });
});
