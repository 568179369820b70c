/**
 * The device-entry helpers of the seed header and the 53-bit entry format.
 */
import { InvalidArgumentError, ULONG_MAX } from '@hmmsim/kernel';
import { describe, expect, it } from 'vitest';
import {
  createHmmRange,
  HMM_ENTRY_MAX,
  HMM_FAULT_SNAPSHOT,
  hmmDeviceEntryFromPage,
  hmmDeviceEntryFromPfn,
  hmmDeviceEntryToPage,
  hmmDeviceEntryToPfn,
  hmmEntryComplement,
  hmmEntryLowBits,
  hmmEntryOr,
  hmmEntryTest,
} from '../src/index.ts';
import {
  BASE,
  ERROR,
  env,
  fault,
  legacyRange,
  mapAnon,
  NONE,
  PAGE,
  pfnAt,
  SPECIAL,
  touch,
  V,
  W,
} from './helpers.ts';

function nouveauLike(pfnShift = 12) {
  // nouveau: V = 1, W = 2, VRAM = 0x10; ERROR = SPECIAL = ~V, NONE = 0 (53-bit stand-ins).
  const notV = hmmEntryComplement(1);
  return createHmmRange({
    start: 0,
    end: PAGE,
    flags: [1, 2, 0x10],
    values: [notV, 0, notV],
    pfnShift,
  });
}

describe('device-entry helpers', () => {
  it('from_pfn / from_page: (pfn << shift) | flags[VALID]', () => {
    const r = nouveauLike();
    expect(hmmDeviceEntryFromPfn(r, 5)).toBe(5 * 4096 + 1);
    expect(hmmDeviceEntryFromPage(r, 5)).toBe(5 * 4096 + 1);
    expect(hmmDeviceEntryFromPfn(r, 2 ** 40)).toBe(2 ** 52 + 1);
  });

  it('to_page / to_pfn decode valid entries and refuse NONE, ERROR, SPECIAL and invalid ones', () => {
    const r = nouveauLike();
    const e = 1234 * 4096 + 1 + 2 + 0x10;
    expect(hmmDeviceEntryToPage(r, e)).toBe(1234);
    expect(hmmDeviceEntryToPfn(r, e)).toBe(1234);
    for (const bad of [0, hmmEntryComplement(1), 1234 * 4096 + 2]) {
      expect(hmmDeviceEntryToPage(r, bad)).toBeNull();
      expect(hmmDeviceEntryToPfn(r, bad)).toBe(ULONG_MAX); // -1UL
    }
  });

  it('equality with a values[] entry wins over a set valid bit', () => {
    const r = createHmmRange({
      start: 0,
      end: PAGE,
      flags: [1, 2, 4],
      values: [4097, 0, 3],
      pfnShift: 12,
    });
    expect(hmmDeviceEntryToPage(r, 4097)).toBeNull(); // equals values[ERROR]
    expect(hmmDeviceEntryToPage(r, 8193)).toBe(2);
  });

  it('the 53-bit limit is checked', () => {
    const r = nouveauLike(20);
    expect(() => hmmDeviceEntryFromPfn(r, 2 ** 33)).toThrow(InvalidArgumentError);
    expect(() => hmmDeviceEntryFromPfn(r, 2 ** 33)).toThrow(/not representable below 2\^53/);
    expect(() => hmmDeviceEntryFromPfn(r, -1)).toThrow(/safe integer/);
    expect(() => hmmDeviceEntryToPage(r, 2 ** 53)).toThrow(/safe integer/);
    expect(() => hmmDeviceEntryToPfn(r, Number.NaN)).toThrow(InvalidArgumentError);
    const badFlags = createHmmRange({
      start: 0,
      end: PAGE,
      flags: [2 ** 31, 0, 0],
      values: [0, 0, 0],
    });
    expect(() => hmmDeviceEntryFromPfn(badFlags, 1)).toThrow(/2\^31/);
    expect(() => hmmDeviceEntryToPfn({ ...r, pfnShift: 64 }, 1)).toThrow(
      /range\.pfnShift is 64, above 52/,
    );
  });

  it('flags are OR-ed into the low 31 bits only', () => {
    expect(hmmEntryOr(2 ** 52 + 4, 1)).toBe(2 ** 52 + 5);
    expect(hmmEntryOr(2 ** 52 + 5, 1)).toBe(2 ** 52 + 5);
    expect(hmmEntryOr(2 ** 31 + 2, 2 ** 30)).toBe(2 ** 31 + 2 + 2 ** 30);
    expect(hmmEntryTest(2 ** 45 + 2, 2)).toBe(true);
    expect(hmmEntryTest(2 ** 45, 1)).toBe(false);
    expect(hmmEntryLowBits(2 ** 40 + 3)).toBe(3);
    expect(hmmEntryComplement(0)).toBe(HMM_ENTRY_MAX);
    expect(() => hmmEntryComplement(-1)).toThrow(InvalidArgumentError);
  });
});

describe('entries produced by the walk', () => {
  it('with pfnShift 0 the flag bits overlap the pfn and are OR-ed, not added', async () => {
    const e = env();
    await mapAnon(e, BASE, 2);
    await touch(e, BASE, 2);
    const r = legacyRange(e, BASE, 2, { pfnShift: 0 });
    expect(await fault(e, r, HMM_FAULT_SNAPSHOT)).toBe(2);
    for (let i = 0; i < 2; i++) {
      const pfn = pfnAt(e, BASE + i * PAGE);
      // bitwise OR of small numbers: fine to compute with | in the test
      expect(r.pfns[i]).toBe(pfn | V | W);
    }
  });

  it('decoding what the walk produced gives back the CPU pfn', async () => {
    const e = env();
    await mapAnon(e, BASE, 2);
    await touch(e, BASE, 1);
    const r = legacyRange(e, BASE, 2);
    await fault(e, r, HMM_FAULT_SNAPSHOT);
    expect(hmmDeviceEntryToPage(r, r.pfns[0] as number)).toBe(pfnAt(e, BASE));
    expect(hmmDeviceEntryToPage(r, r.pfns[1] as number)).toBeNull();
    expect([NONE, ERROR, SPECIAL].map((v) => hmmDeviceEntryToPfn(r, v))).toEqual([
      ULONG_MAX,
      ULONG_MAX,
      ULONG_MAX,
    ]);
  });
});
