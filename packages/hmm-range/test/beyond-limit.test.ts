/**
 * v5.8+: a range reaching past the 48-bit user address space is walked below it; the pages above
 * have no VMA (ERROR in a snapshot, -EFAULT when a fault is requested there), as the kernel's walk
 * finds them. Up to v5.7 the model keeps -EINVAL for such a range (nothing written).
 */
import { VADDR_LIMIT } from '@hmmsim/kernel';
import { describe, expect, it } from 'vitest';
import { HMM_PFN_ERROR, HMM_PFN_REQ_FAULT, hmmPfnToMapOrder } from '../src/hmm-pfns.ts';
import { env, PAGE } from './helpers.ts';
import {
  fault57,
  faultPfns,
  outPfns,
  PFNS_VERSIONS,
  range57,
  rangePfns,
  S,
} from './helpers-gen.ts';

/** Two pages below the 48-bit limit (no VMA can be there: TASK_SIZE is 2^47) and two above. */
const TOP = VADDR_LIMIT - 2 * PAGE;

describe('ranges past the user address space', () => {
  for (const version of PFNS_VERSIONS) {
    it(`${version}: snapshot: every page without a VMA is HMM_PFN_ERROR, above the limit too; 0`, async () => {
      const e = env();
      const r = await rangePfns(e, TOP, 4);
      r.hmmPfns.fill(S);
      expect(await faultPfns(e, r, version)).toBe(0);
      expect(outPfns(r)).toEqual(Array(4).fill(HMM_PFN_ERROR));
    });

    it(`${version}: a fault requested only above the limit is -EFAULT, the entries below written, above not`, async () => {
      const e = env();
      const r = await rangePfns(e, TOP, 4);
      r.hmmPfns.fill(0);
      r.hmmPfns[3] = HMM_PFN_REQ_FAULT;
      r.pfnFlagsMask = HMM_PFN_REQ_FAULT;
      expect(await faultPfns(e, r, version)).toBe(-14);
      expect(outPfns(r)).toEqual([HMM_PFN_ERROR, HMM_PFN_ERROR, 0, HMM_PFN_REQ_FAULT]);
    });

    it(`${version}: a range wholly above the limit is all ERROR`, async () => {
      const e = env();
      const r = await rangePfns(e, VADDR_LIMIT, 2);
      expect(await faultPfns(e, r, version)).toBe(0);
      expect(outPfns(r)).toEqual([HMM_PFN_ERROR, HMM_PFN_ERROR]);
    });
  }

  it('5.7: -EINVAL, nothing written (the table generations keep the 2^48 check)', async () => {
    const e = env();
    const r = await range57(e, TOP, 4);
    r.pfns.fill(S);
    expect(await fault57(e, r)).toBe(-22);
    expect([...r.pfns]).toEqual([S, S, S, S]);
  });
});

describe('hmmPfnToMapOrder bad input', () => {
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, -1, 1.5, 2 ** 53]) {
    it(`${bad}: InvalidArgumentError`, () => {
      expect(() => hmmPfnToMapOrder(bad)).toThrow(
        /hmm_pfn_to_map_order: hmm_pfn is .*; expected an hmm_pfns entry/,
      );
    });
  }
});
