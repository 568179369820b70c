import { describe, expect, it } from 'vitest';
import { createRandom, InvalidArgumentError } from '../src/index.ts';

function take(seed: number, n: number): number[] {
  const r = createRandom(seed);
  return Array.from({ length: n }, () => r.nextU32());
}

describe('createRandom', () => {
  it('same seed, same sequence', () => {
    expect(take(42, 20)).toEqual(take(42, 20));
  });

  it('is pinned across machines (known first outputs for seed 1)', () => {
    // Regression pin: changing the generator changes every recorded schedule.
    expect(take(1, 3)).toMatchInlineSnapshot(`
      [
        792534090,
        3215351813,
        160231488,
      ]
    `);
  });

  it('different seeds differ, including seeds that differ only above 2^32', () => {
    expect(take(1, 5)).not.toEqual(take(2, 5));
    expect(take(2 ** 32 + 1, 5)).not.toEqual(take(1, 5));
    expect(take(-1, 5)).not.toEqual(take(1, 5));
  });

  it('nextU32 is a 32-bit unsigned integer and nextFloat is in [0, 1)', () => {
    const r = createRandom(7);
    for (let i = 0; i < 1000; i++) {
      const u = r.nextU32();
      expect(Number.isInteger(u) && u >= 0 && u < 2 ** 32).toBe(true);
      const f = r.nextFloat();
      expect(f >= 0 && f < 1).toBe(true);
    }
  });

  it('nextInt is in range and roughly uniform', () => {
    const r = createRandom(3);
    const counts = [0, 0, 0];
    for (let i = 0; i < 3000; i++) counts[r.nextInt(3)]!++;
    for (const c of counts) expect(c).toBeGreaterThan(850);
    expect(r.nextInt(1)).toBe(0);
  });

  it('rejects bad arguments', () => {
    expect(() => createRandom(Number.NaN)).toThrow(InvalidArgumentError);
    expect(() => createRandom(1.5)).toThrow(/expected a safe integer/);
    const r = createRandom(1);
    expect(() => r.nextInt(0)).toThrow(InvalidArgumentError);
    expect(() => r.nextInt(2.5)).toThrow(/expected an integer in \[1, 2\^32\]/);
    expect(() => r.nextInt(2 ** 32 + 1)).toThrow(InvalidArgumentError);
  });
});
