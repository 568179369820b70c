/**
 * Bad input: a typed error with a clear message (or the kernel errno, see errno.test.ts), and
 * nothing changed — no entry written, no fault taken.
 */
import { InvalidArgumentError } from '@hmmsim/kernel';
import { describe, expect, it } from 'vitest';
import { createHmmRange, type HmmRange, hmmQuirksFor } from '../src/index.ts';
import {
  BASE,
  countingHandler,
  type Env,
  env,
  fault,
  legacyRange,
  mapAnon,
  out,
  PAGE,
  V,
  W,
} from './helpers.ts';

const S = 77;

async function world(): Promise<Env> {
  const e = env();
  await mapAnon(e, BASE, 4);
  return e;
}

/** Expect `mutate(range)` to make hmmRangeFault throw InvalidArgumentError matching `msg`, changing nothing. */
async function rejects(mutate: (r: HmmRange) => void, msg: RegExp, flags = 0): Promise<void> {
  const e = await world();
  const h = countingHandler(e);
  const r = legacyRange(e, BASE, 4, { defaultFlags: V | W });
  r.pfns.fill(S);
  mutate(r);
  const before = out(r);
  await expect(fault(e, r, flags, { faultHandler: h.handler })).rejects.toThrow(
    InvalidArgumentError,
  );
  await expect(fault(e, r, flags, { faultHandler: h.handler })).rejects.toThrow(msg);
  expect(out(r)).toEqual(before);
  expect(h.calls).toEqual([]);
  expect(e.mm.rssPages).toBe(0);
  expect(e.mm.mmapSem.readers.size).toBe(0);
}

describe('bad input', () => {
  it('pfns shorter than the range', async () => {
    await rejects((r) => {
      r.pfns = new Float64Array(3).fill(S);
    }, /has 3 entries for a range of 4 pages/);
  });

  it('pfns that is not a Float64Array', async () => {
    await rejects((r) => {
      (r as { pfns: unknown }).pfns = [S, S, S, S];
    }, /Float64Array/);
  });

  it('pfnShift out of bounds', async () => {
    for (const shift of [-1, 53, 64, 1.5, Number.NaN]) {
      await rejects((r) => {
        r.pfnShift = shift;
      }, /range\.pfnShift is .*; expected a shift in \[0, 52\]/);
    }
  });

  it('output not representable below 2^53', async () => {
    // 64 MiB of RAM: pfns up to 2^14; << 40 passes 2^53.
    await rejects((r) => {
      r.pfnShift = 40;
    }, /not representable/);
  });

  it('flags that are not bit masks below 2^31, or too few of them', async () => {
    for (const flags of [
      [2 ** 31, W, 0],
      [V, -1, 0],
      [V, W, 0.5],
      [V, W],
      [V, W, Number.NaN],
    ]) {
      await rejects((r) => {
        r.flags = flags;
      }, /flags/);
    }
  });

  it('values that are not safe integers in [0, 2^53)', async () => {
    for (const values of [
      [-1, 0, 0],
      [0, 2 ** 53, 0],
      [0, 0, Number.NaN],
      [0, 0],
    ]) {
      await rejects((r) => {
        r.values = values;
      }, /values/);
    }
  });

  it('defaultFlags / pfnFlagsMask out of range (use HMM_PFN_FLAGS_MASK_ALL for ~0)', async () => {
    await rejects((r) => {
      r.pfnFlagsMask = -1;
    }, /HMM_PFN_FLAGS_MASK_ALL/);
    await rejects((r) => {
      r.defaultFlags = 2 ** 53;
    }, /defaultFlags/);
  });

  it('start/end that are not unsigned longs', async () => {
    await rejects((r) => {
      r.start = -PAGE;
    }, /range\.start is -4096, below 0; expected an address/);
    await rejects((r) => {
      r.end = Number.POSITIVE_INFINITY;
    }, /range\.end is Infinity, not finite; expected an address/);
  });

  it('bad flags argument or version', async () => {
    await rejects(() => {}, /HMM_FAULT_\*/, -1);
    const e = await world();
    const r = legacyRange(e, BASE, 4);
    await expect(fault(e, r, 0, { version: '5.6' as unknown as '5.5' })).rejects.toThrow(
      /options\.version is '5.6'/,
    );
  });

  it('createHmmRange fills the defaults and hmmQuirksFor lists the version differences', () => {
    const r = createHmmRange({
      start: BASE,
      end: BASE + 4 * PAGE,
      flags: [1, 2, 4],
      values: [3, 0, 3],
    });
    expect(r.pfns.length).toBe(4);
    expect([r.notifier, r.hmm, r.valid, r.defaultFlags, r.pfnFlagsMask, r.pfnShift]).toEqual([
      null,
      null,
      false,
      0,
      0,
      12,
    ]);
    const diff = (a: object, b: object) =>
      Object.keys(a).filter(
        (k) => (a as Record<string, boolean>)[k] !== (b as Record<string, boolean>)[k],
      );
    expect(diff(hmmQuirksFor('5.4'), hmmQuirksFor('seed'))).toEqual(['q3ZeroPageSpecial']);
    expect(diff(hmmQuirksFor('5.4'), hmmQuirksFor('5.5'))).toEqual([
      'q1StrayWalk',
      'q3ZeroPageSpecial',
      'q8NoneFillOnError',
    ]);
  });
});
