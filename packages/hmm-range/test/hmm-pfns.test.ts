/**
 * The fixed hmm_pfns entry of v5.8+ (include/linux/hmm.h after 2733ea144dcc, map order from
 * 3b50a6e536d2) and its model layout `pfn * 256 + flag byte`: hmm_pfn_to_page(),
 * hmm_pfn_to_map_order(), the kernel-word conversions, the formatter, exact flag tests past 2^32,
 * and bad input.
 */
import { InvalidArgumentError } from '@hmmsim/kernel';
import { describe, expect, it } from 'vitest';
import {
  HMM_PFN_FLAGS_V58,
  HMM_PFN_FLAGS_V59,
  HMM_PFN_PFN_LIMIT,
  HMM_PFN_PFN_SCALE,
  hmmPfnFormat,
  hmmPfnFromKernelWord,
  hmmPfnMake,
  hmmPfnToKernelWord,
  hmmPfnToMapOrder,
  hmmPfnToPage,
} from '../src/index.ts';
import {
  HMM_PFN_ERROR,
  HMM_PFN_ORDER_SHIFT,
  HMM_PFN_REQ_FAULT,
  HMM_PFN_REQ_WRITE,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
} from '../src/v5.9.ts';

const BAD_NUMBERS = [
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  1.5,
  -1,
  -256,
  2 ** 53,
  2 ** 53 + 2,
];

describe('the flag byte (include/linux/hmm.h, v5.8/v5.9)', () => {
  it('VALID / WRITE / ERROR are the kernel bits 63 / 62 / 61, kept at the top of the model byte', () => {
    expect([HMM_PFN_VALID, HMM_PFN_WRITE, HMM_PFN_ERROR]).toEqual([0x80, 0x40, 0x20]);
    expect(HMM_PFN_REQ_FAULT).toBe(HMM_PFN_VALID);
    expect(HMM_PFN_REQ_WRITE).toBe(HMM_PFN_WRITE);
    expect(HMM_PFN_FLAGS_V58).toBe(0xe0);
    expect(HMM_PFN_FLAGS_V59).toBe(0xff);
    expect(HMM_PFN_ORDER_SHIFT).toBe(0);
    expect(HMM_PFN_PFN_SCALE).toBe(256);
    expect(HMM_PFN_PFN_LIMIT).toBe(2 ** 45);
    expect(hmmPfnToKernelWord(HMM_PFN_VALID)).toBe(1n << 63n);
    expect(hmmPfnToKernelWord(HMM_PFN_WRITE)).toBe(1n << 62n);
    expect(hmmPfnToKernelWord(HMM_PFN_ERROR)).toBe(1n << 61n);
    expect(hmmPfnToKernelWord(9)).toBe(9n << 56n); // order field, kernel bits 56..60
  });

  it('(e & HMM_PFN_VALID) is exact for entries whose pfn is past 2^32', () => {
    for (const pfn of [2 ** 32, 2 ** 32 + 0x80, 2 ** 40 + 12345, 2 ** 45 - 1]) {
      const v = hmmPfnMake(pfn, HMM_PFN_VALID | HMM_PFN_WRITE);
      expect(v).toBeGreaterThan(2 ** 32);
      expect(Number.isSafeInteger(v)).toBe(true);
      expect(v & HMM_PFN_VALID).toBe(HMM_PFN_VALID);
      expect(v & HMM_PFN_WRITE).toBe(HMM_PFN_WRITE);
      expect(v & HMM_PFN_ERROR).toBe(0);
      const none = hmmPfnMake(pfn, 0);
      expect(none & HMM_PFN_VALID).toBe(0); // the pfn's own low bits never look like flags
      expect(none & HMM_PFN_FLAGS_V59).toBe(0);
      expect(hmmPfnToPage(v)).toBe(pfn);
    }
  });
});

describe('hmm_pfn_to_page()', () => {
  it('the pfn of a VALID entry, whatever else is in the byte', () => {
    expect(hmmPfnToPage(hmmPfnMake(0x1a2b, HMM_PFN_VALID))).toBe(0x1a2b);
    expect(hmmPfnToPage(hmmPfnMake(7, HMM_PFN_VALID | HMM_PFN_WRITE | 9))).toBe(7);
    expect(hmmPfnToPage(hmmPfnMake(0, HMM_PFN_VALID))).toBe(0);
    expect(hmmPfnToPage(hmmPfnMake(2 ** 45 - 1, 0xff))).toBe(2 ** 45 - 1);
  });

  it('an entry without HMM_PFN_VALID: typed error naming the entry (the kernel returns an unrelated page)', () => {
    for (const e of [0, HMM_PFN_ERROR, hmmPfnMake(5, HMM_PFN_WRITE), hmmPfnMake(5, 9)]) {
      expect(() => hmmPfnToPage(e)).toThrow(InvalidArgumentError);
      expect(() => hmmPfnToPage(e)).toThrow(
        /has no HMM_PFN_VALID; expected callers to test HMM_PFN_VALID first/,
      );
    }
    expect(() => hmmPfnToPage(hmmPfnMake(5, HMM_PFN_WRITE))).toThrow(
      'hmm_pfn_to_page: entry 0x4000000000000005 (WRITE pfn 0x5) has no HMM_PFN_VALID',
    );
  });

  it('bad input: NaN, infinities, fractions, negatives, 2^53 and above', () => {
    for (const x of BAD_NUMBERS) {
      expect(() => hmmPfnToPage(x)).toThrow(InvalidArgumentError);
      expect(() => hmmPfnToPage(x)).toThrow(
        /hmm_pfn_to_page: hmm_pfn is .*; expected an hmm_pfns entry/,
      );
    }
  });
});

describe('hmm_pfn_to_map_order() (v5.9)', () => {
  it('0 for a PTE, 9 for a PMD, 18 for a PUD; the other flags do not leak into it', () => {
    expect(hmmPfnToMapOrder(hmmPfnMake(3, HMM_PFN_VALID))).toBe(0);
    expect(hmmPfnToMapOrder(hmmPfnMake(3, HMM_PFN_VALID | HMM_PFN_WRITE | 9))).toBe(9);
    expect(hmmPfnToMapOrder(hmmPfnMake(2 ** 44, HMM_PFN_VALID | 18))).toBe(18);
    expect(hmmPfnToMapOrder(hmmPfnMake(2 ** 45 - 1, 0xe0))).toBe(0);
    expect(hmmPfnToMapOrder(hmmPfnMake(2 ** 45 - 1, 0xff))).toBe(31);
    expect(hmmPfnToMapOrder(hmmPfnMake(0x1f, HMM_PFN_VALID))).toBe(0); // pfn bits are not order bits
  });
});

describe('hmmPfnMake()', () => {
  it('pfn * 256 + flags', () => {
    expect(hmmPfnMake(0, 0)).toBe(0);
    expect(hmmPfnMake(1, HMM_PFN_VALID)).toBe(256 + 0x80);
    expect(hmmPfnMake(2 ** 45 - 1, 0xff)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('bad pfn: NaN, infinities, fractions, negatives, >= 2^45 (and >= 2^53)', () => {
    for (const pfn of [...BAD_NUMBERS, 2 ** 45, 2 ** 45 + 1, 2 ** 52]) {
      expect(() => hmmPfnMake(pfn, HMM_PFN_VALID)).toThrow(InvalidArgumentError);
      expect(() => hmmPfnMake(pfn, HMM_PFN_VALID)).toThrow(
        /hmmPfnMake: pfn is .*; expected a pfn in \[0, 2\^45\)/,
      );
    }
  });

  it('bad flags: outside one byte or not integers', () => {
    for (const f of [-1, 256, 0x1ff, 0.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => hmmPfnMake(1, f)).toThrow(InvalidArgumentError);
      expect(() => hmmPfnMake(1, f)).toThrow(
        /expected HMM_PFN_\* bits \(an integer in \[0, 0xff\]\)/,
      );
    }
  });
});

describe('kernel word conversions', () => {
  it('hmmPfnToKernelWord: flag byte << 56 | pfn', () => {
    expect(hmmPfnToKernelWord(hmmPfnMake(0x1a2b, HMM_PFN_VALID | HMM_PFN_WRITE))).toBe(
      0xc000_0000_0000_1a2bn,
    );
    expect(hmmPfnToKernelWord(hmmPfnMake(2 ** 45 - 1, 0xff))).toBe(
      (0xffn << 56n) | ((1n << 45n) - 1n),
    );
    expect(hmmPfnToKernelWord(0)).toBe(0n);
  });

  it('hmmPfnFromKernelWord(hmmPfnToKernelWord(e)) === e', () => {
    const entries = [
      0,
      HMM_PFN_ERROR,
      hmmPfnMake(1, HMM_PFN_VALID),
      hmmPfnMake(0x1a2b, HMM_PFN_VALID | HMM_PFN_WRITE | 9),
      hmmPfnMake(2 ** 32 + 5, HMM_PFN_VALID | 18),
      hmmPfnMake(2 ** 45 - 1, 0xff),
    ];
    for (const e of entries) expect(hmmPfnFromKernelWord(hmmPfnToKernelWord(e))).toBe(e);
    expect(hmmPfnFromKernelWord(1n << 63n)).toBe(HMM_PFN_VALID);
    expect(hmmPfnFromKernelWord((1n << 62n) | 42n)).toBe(hmmPfnMake(42, HMM_PFN_WRITE));
  });

  it('bad input: non-BigInt, negative, >= 2^64, a pfn part at or past 2^45', () => {
    for (const w of [-1n, 1n << 64n, (1n << 64n) + 5n]) {
      expect(() => hmmPfnFromKernelWord(w)).toThrow(InvalidArgumentError);
      expect(() => hmmPfnFromKernelWord(w)).toThrow(/expected a 64-bit unsigned BigInt/);
    }
    expect(() => hmmPfnFromKernelWord(5 as unknown as bigint)).toThrow(
      /expected a 64-bit unsigned BigInt/,
    );
    for (const w of [1n << 45n, (1n << 63n) | (1n << 45n), (1n << 56n) - 1n]) {
      expect(() => hmmPfnFromKernelWord(w)).toThrow(InvalidArgumentError);
      expect(() => hmmPfnFromKernelWord(w)).toThrow(/expected a pfn in \[0, 2\^45\)/);
    }
    for (const x of BAD_NUMBERS) {
      expect(() => hmmPfnToKernelWord(x)).toThrow(InvalidArgumentError);
      expect(() => hmmPfnToKernelWord(x)).toThrow(
        /hmmPfnToKernelWord: hmm_pfn is .*; expected an hmm_pfns entry/,
      );
    }
  });
});

describe('hmmPfnFormat()', () => {
  it('the kernel word in hex, the flag names, the order when not 0, the pfn', () => {
    expect(hmmPfnFormat(hmmPfnMake(0x1a2b, HMM_PFN_VALID | HMM_PFN_WRITE))).toBe(
      '0xc000000000001a2b (VALID|WRITE pfn 0x1a2b)',
    );
    expect(hmmPfnFormat(hmmPfnMake(0x200, HMM_PFN_VALID | 9))).toBe(
      '0x8900000000000200 (VALID|order 9 pfn 0x200)',
    );
    expect(hmmPfnFormat(HMM_PFN_ERROR)).toBe('0x2000000000000000 (ERROR pfn 0x0)');
    expect(hmmPfnFormat(0)).toBe('0x0000000000000000 (none pfn 0x0)');
    expect(hmmPfnFormat(hmmPfnMake(2 ** 45 - 1, 0xff))).toBe(
      '0xff001fffffffffff (VALID|WRITE|ERROR|order 31 pfn 0x1fffffffffff)',
    );
  });

  it('something that is not an entry is shown as such, never thrown (it is for messages)', () => {
    expect(hmmPfnFormat(Number.NaN)).toBe('<not an entry: NaN>');
    expect(hmmPfnFormat(-1)).toBe('<not an entry: -1>');
    expect(hmmPfnFormat(1.5)).toBe('<not an entry: 1.5>');
    expect(hmmPfnFormat(2 ** 53)).toBe(`<not an entry: ${2 ** 53}>`);
  });
});
