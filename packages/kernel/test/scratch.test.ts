import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../src/errors.ts';
import { scratchInt32, scratchUint8 } from '../src/scratch.ts';

describe('scratch arrays', () => {
  it('hands the same array back to the same owner and purpose, zeroed each time', () => {
    const owner = {};
    const a = scratchInt32(owner, 'test.a', 8);
    expect([...a]).toEqual(new Array(8).fill(0));
    a.fill(7);
    const again = scratchInt32(owner, 'test.a', 8);
    expect(again).toBe(a);
    expect([...again]).toEqual(new Array(8).fill(0));
  });

  it('keeps purposes and owners apart', () => {
    const owner = {};
    const other = {};
    const a = scratchInt32(owner, 'test.a', 4);
    const b = scratchInt32(owner, 'test.b', 4);
    const c = scratchInt32(other, 'test.a', 4);
    expect(new Set([a, b, c]).size).toBe(3);
    a[0] = 1;
    b[0] = 2;
    expect(scratchInt32(other, 'test.a', 4)[0]).toBe(0);
    expect(a[0]).toBe(1);
  });

  it('makes a new array when the length or the type changes', () => {
    const owner = {};
    const a = scratchInt32(owner, 'test.a', 4);
    const longer = scratchInt32(owner, 'test.a', 6);
    expect(longer).not.toBe(a);
    expect(longer.length).toBe(6);
    const bytes = scratchUint8(owner, 'test.a', 6);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(bytes.length).toBe(6);
    expect(scratchUint8(owner, 'test.a', 6)).toBe(bytes);
    expect(scratchInt32(owner, 'test.empty', 0).length).toBe(0);
  });

  it('rejects a length that is not an element count, and an owner that is not an object', () => {
    const owner = {};
    for (const bad of [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, 2 ** 53 + 2]) {
      expect(() => scratchInt32(owner, 'test.bad', bad)).toThrow(InvalidArgumentError);
      expect(() => scratchUint8(owner, 'test.bad', bad)).toThrow(
        /length .*; expected an element count in \[0, 2\^30\]/,
      );
    }
    expect(() => scratchInt32(null as unknown as object, 'test.bad', 1)).toThrow(
      /owner is null; expected an object/,
    );
    expect(() => scratchInt32(3 as unknown as object, 'test.bad', 1)).toThrow(InvalidArgumentError);
  });
});
