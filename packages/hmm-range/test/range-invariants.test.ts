/**
 * The range checker (hmmRangeViolations / assertHmmRangeInvariants): silent on a good range of
 * every layout, and each of its checks able to fail.
 */
import { KernelBugError } from '@hmmsim/kernel';
import { describe, expect, it } from 'vitest';
import {
  assertHmmRangeInvariants,
  createHmmRange,
  type HmmRange,
  hmmRangeViolations,
} from '../src/index.ts';
import { BASE, env, FLAGS, PAGE, SHIFT, VALUES } from './helpers.ts';
import { insertNotifier, rangePfns } from './helpers-gen.ts';

function legacy(): HmmRange {
  const e = env();
  return createHmmRange({
    start: BASE,
    end: BASE + 2 * PAGE,
    flags: [...FLAGS],
    values: [...VALUES],
    pfnShift: SHIFT,
    hmm: { mmuNotifier: { mm: e.mm } },
    valid: true,
  });
}

describe('hmmRangeViolations', () => {
  it('is silent on a good legacy range and a good v5.8 range', async () => {
    expect(hmmRangeViolations(legacy())).toEqual([]);
    const e = env();
    const r = await rangePfns(e, BASE, 2);
    expect(hmmRangeViolations(r)).toEqual([]);
    assertHmmRangeInvariants(r);
  });

  it('catches every kind of bad field', async () => {
    const cases: [string, (r: HmmRange) => void, RegExp][] = [
      ['start NaN', (r) => void Object.assign(r, { start: Number.NaN }), /start is NaN/],
      [
        'unaligned',
        (r) => void Object.assign(r, { end: r.end - 1 }),
        /not a non-empty page-aligned/,
      ],
      ['mask -1', (r) => void Object.assign(r, { pfnFlagsMask: -1 }), /pfnFlagsMask is -1/],
      ['pfnShift', (r) => void Object.assign(r, { pfnShift: 60 }), /pfnShift is 60/],
      ['flags', (r) => void Object.assign(r, { flags: [2 ** 31, 2, 8] }), /flags\[0\] is/],
      [
        'entries',
        (r) => {
          r.pfns[1] = Number.NaN;
        },
        /pfns\[1\] is NaN/,
      ],
      [
        'short',
        (r) => void Object.assign(r, { pfns: new Float64Array(1) }),
        /1 entries for 2 pages/,
      ],
      ['not typed', (r) => void Object.assign(r, { pfns: [0, 0] }), /not a Float64Array/],
      ['valid', (r) => void Object.assign(r, { valid: 1 }), /valid is 1, not a boolean/],
    ];
    for (const [what, mutate, msg] of cases) {
      const r = legacy();
      mutate(r);
      expect(hmmRangeViolations(r).join('\n'), what).toMatch(msg);
      expect(() => assertHmmRangeInvariants(r), what).toThrow(KernelBugError);
    }
  });

  it('catches a bad sequence, a foreign notifier object, a never-inserted one and one too small', async () => {
    const e = env();
    const r = await rangePfns(e, BASE, 2);
    r.notifierSeq = -2;
    expect(hmmRangeViolations(r).join()).toMatch(/notifierSeq is -2/);
    r.notifierSeq = 1;
    (r as { notifier: unknown }).notifier = {};
    expect(hmmRangeViolations(r).join()).toMatch(/not an MmuIntervalNotifier/);
    r.notifier = await insertNotifier(e, BASE, 1);
    expect(hmmRangeViolations(r).join()).toMatch(/covers \[0x80000000, 0x80000fff\]/);
  });
});
