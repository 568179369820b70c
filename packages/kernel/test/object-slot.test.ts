import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../src/errors.ts';
import { ObjectSlot } from '../src/object-slot.ts';

describe('ObjectSlot', () => {
  it('keeps one value per object, as a WeakMap would', () => {
    const slot = new ObjectSlot<object, number>('test.n');
    const a = {};
    const b = {};
    expect(slot.get(a)).toBeUndefined();
    expect(slot.has(a)).toBe(false);
    slot.set(a, 1);
    slot.set(b, 2);
    slot.set(a, 3);
    expect([slot.get(a), slot.get(b)]).toEqual([3, 2]);
    expect(slot.has(a)).toBe(true);
    expect(slot.delete(a)).toBe(true);
    expect(slot.delete(a)).toBe(false);
    expect(slot.get(a)).toBeUndefined();
    expect(slot.get(b)).toBe(2);
  });

  it('keeps two slots of the same name apart', () => {
    const one = new ObjectSlot<object, string>('same');
    const two = new ObjectSlot<object, string>('same');
    const o = {};
    one.set(o, 'one');
    expect(two.get(o)).toBeUndefined();
    two.set(o, 'two');
    expect([one.get(o), two.get(o)]).toEqual(['one', 'two']);
  });

  it('leaves the object looking as it did: no enumerable key, nothing in JSON or inspect', () => {
    const slot = new ObjectSlot<{ x: number }, string>('test.hidden');
    const o = { x: 1 };
    slot.set(o, 'secret');
    expect(Object.keys(o)).toEqual(['x']);
    expect(JSON.stringify(o)).toBe('{"x":1}');
    expect(inspect(o)).toBe('{ x: 1 }');
    expect({ ...o }).toEqual({ x: 1 });
  });

  it('holds values for objects that cannot take a property (frozen, sealed, functions)', () => {
    const slot = new ObjectSlot<object, number>('test.frozen');
    const frozen = Object.freeze({});
    const sealed = Object.seal({});
    const fn = (): void => {};
    slot.set(frozen, 1);
    slot.set(sealed, 2);
    slot.set(fn, 3);
    expect([slot.get(frozen), slot.get(sealed), slot.get(fn)]).toEqual([1, 2, 3]);
    expect(Object.getOwnPropertySymbols(frozen)).toEqual([]);
    expect(slot.delete(frozen)).toBe(true);
    expect(slot.get(frozen)).toBeUndefined();
    expect(slot.get(sealed)).toBe(2);
  });

  it('refuses an object frozen after its slot was set, and keeps the old value', () => {
    const slot = new ObjectSlot<object, number>('test.later');
    const o = {};
    slot.set(o, 1);
    Object.freeze(o);
    expect(() => slot.set(o, 2)).toThrow(/frozen after its slot was set/);
    expect(() => slot.delete(o)).toThrow(InvalidArgumentError);
    expect(slot.get(o)).toBe(1);
  });

  it('answers undefined for a key that is not an object and refuses to set one', () => {
    const slot = new ObjectSlot<object, number>('test.bad');
    for (const bad of [null, undefined, 1, Number.NaN, 'mm', Symbol('s')]) {
      expect(slot.get(bad as unknown as object)).toBeUndefined();
      expect(slot.has(bad as unknown as object)).toBe(false);
      expect(slot.delete(bad as unknown as object)).toBe(false);
      expect(() => slot.set(bad as unknown as object, 1)).toThrow(
        /ObjectSlot test.bad: key is .*; expected an object/,
      );
    }
  });

  it('refuses undefined as a value and an empty name', () => {
    const slot = new ObjectSlot<object, number | undefined>('test.undef');
    const o = {};
    slot.set(o, 1);
    expect(() => slot.set(o, undefined)).toThrow(/set to undefined; expected a value/);
    expect(slot.get(o)).toBe(1);
    expect(() => new ObjectSlot('')).toThrow(InvalidArgumentError);
    expect(() => new ObjectSlot(7 as unknown as string)).toThrow(/expected a non-empty string/);
  });
});
