import { describe, expect, it } from 'vitest';
import {
  DeadlockError,
  InvalidArgumentError,
  isPfn,
  isVaddr,
  KernelBugError,
  toPfn,
  toVaddr,
} from '../src/index.ts';

describe('toVaddr', () => {
  it('accepts safe integers in [0, 2^48)', () => {
    expect(toVaddr(0)).toBe(0);
    expect(toVaddr(2 ** 48 - 1)).toBe(2 ** 48 - 1);
  });

  it.each([
    [-1, /toVaddr: n is -1, below 0/],
    [2 ** 48, /is 281474976710656, above 281474976710655/],
    [1.5, /not an integer/],
    [Number.NaN, /NaN/],
    [Number.POSITIVE_INFINITY, /not finite/],
    [2 ** 53, /past 2\^53/],
  ])('rejects %s with a message saying why', (n, why) => {
    expect(() => toVaddr(n)).toThrow(InvalidArgumentError);
    expect(() => toVaddr(n)).toThrow(why);
    expect(() => toVaddr(n)).toThrow(/expected a safe integer in \[0, 2\^48\)/);
  });

  it('isVaddr agrees without throwing', () => {
    expect(isVaddr(4096)).toBe(true);
    expect(isVaddr(-1)).toBe(false);
    expect(isVaddr(2 ** 48)).toBe(false);
    expect(isVaddr('4096')).toBe(false);
  });
});

describe('toPfn', () => {
  it('accepts safe integers in [0, 2^36)', () => {
    expect(toPfn(0)).toBe(0);
    expect(toPfn(2 ** 36 - 1)).toBe(2 ** 36 - 1);
  });

  it.each([
    [-1, /toPfn: n is -1, below 0/],
    [2 ** 36, /above 68719476735; expected a safe integer in \[0, 2\^36\)/],
    [0.5, /not an integer/],
    [Number.NaN, /NaN/],
  ])('rejects %s', (n, why) => {
    expect(() => toPfn(n)).toThrow(InvalidArgumentError);
    expect(() => toPfn(n)).toThrow(why);
  });

  it('isPfn agrees', () => {
    expect(isPfn(12)).toBe(true);
    expect(isPfn(2 ** 36)).toBe(false);
    expect(isPfn(undefined)).toBe(false);
  });
});

describe('errors', () => {
  it('are named and typed', () => {
    expect(new KernelBugError('x').name).toBe('KernelBugError');
    expect(new InvalidArgumentError('x')).toBeInstanceOf(RangeError);
    expect(new DeadlockError('x')).toBeInstanceOf(Error);
    expect(new DeadlockError('x').name).toBe('DeadlockError');
  });
});
