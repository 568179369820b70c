import { InvalidArgumentError } from '@hmmsim/kernel';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IntervalTree, IT_NIL } from '../src/interval-tree.ts';

interface Item {
  readonly name: number;
  readonly start: number;
  readonly last: number;
}

/** All payloads overlapping [s, l] by iterFirst/iterNext. */
function query(t: IntervalTree<Item>, s: number, l: number): Item[] {
  const out: Item[] = [];
  for (let n = t.iterFirst(s, l); n !== IT_NIL; n = t.iterNext(n, s, l)) out.push(t.payload(n));
  return out;
}

/** All payloads in order by inOrderFirst/inOrderNext. */
function walk(t: IntervalTree<Item>): Item[] {
  const out: Item[] = [];
  for (let n = t.inOrderFirst(); n !== IT_NIL; n = t.inOrderNext(n)) out.push(t.payload(n));
  return out;
}

describe('IntervalTree', () => {
  it('finds overlaps of closed intervals, ascending start', () => {
    const t = new IntervalTree<string>();
    t.insert(0x1000, 0x2fff, 'A');
    t.insert(0x5000, 0x5fff, 'B');
    t.insert(0x3000, 0x3fff, 'C');
    const names = (s: number, l: number): string[] => {
      const out: string[] = [];
      for (let n = t.iterFirst(s, l); n !== IT_NIL; n = t.iterNext(n, s, l)) out.push(t.payload(n));
      return out;
    };
    expect(names(0, 0xffff)).toEqual(['A', 'C', 'B']);
    expect(names(0x2fff, 0x3000)).toEqual(['A', 'C']);
    // touching but not overlapping
    expect(names(0x3000 + 0x1000, 0x4fff)).toEqual([]);
    expect(names(0, 0xfff)).toEqual([]);
    expect(t.size).toBe(3);
    expect(t.checkStructure()).toEqual([]);
  });

  it('visits equal starts in insertion order', () => {
    const t = new IntervalTree<number>();
    for (let i = 0; i < 20; i++) t.insert(100, 100 + i, i);
    const seen: number[] = [];
    for (let n = t.iterFirst(0, 1000); n !== IT_NIL; n = t.iterNext(n, 0, 1000))
      seen.push(t.payload(n));
    expect(seen).toEqual([...Array(20).keys()]);
    expect(t.inOrder().map((n) => t.payload(n))).toEqual(seen);
  });

  it('handles addresses above 2^32 and up to 2^53 - 1 without bitwise truncation', () => {
    const t = new IntervalTree<string>();
    const big = 2 ** 47 - 4096;
    t.insert(big, big + 4095, 'top');
    t.insert(0, Number.MAX_SAFE_INTEGER - 1, 'all');
    const found: string[] = [];
    for (
      let n = t.iterFirst(big + 4095, big + 4095);
      n !== IT_NIL;
      n = t.iterNext(n, big + 4095, big + 4095)
    )
      found.push(t.payload(n));
    expect(found).toEqual(['all', 'top']);
  });

  it('rejects bad input', () => {
    const t = new IntervalTree<number>();
    expect(() => t.insert(5, 4, 0)).toThrow(InvalidArgumentError);
    expect(() => t.insert(-1, 4, 0)).toThrow(InvalidArgumentError);
    expect(() => t.insert(0.5, 4, 0)).toThrow(InvalidArgumentError);
    expect(() => t.insert(0, 2 ** 53, 0)).toThrow(InvalidArgumentError);
    expect(() => t.remove(1)).toThrow(InvalidArgumentError);
    expect(() => t.remove(IT_NIL)).toThrow(InvalidArgumentError);
    expect(() => t.payload(1)).toThrow(InvalidArgumentError);
    expect(t.inOrderFirst()).toBe(IT_NIL);
    const id = t.insert(1, 2, 7);
    for (const bad of [IT_NIL, id + 1, -1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(() => t.inOrderNext(bad)).toThrow(/inOrderNext\(.*\): not a linked node id/);
    }
    expect(t.inOrderNext(id)).toBe(IT_NIL);
    t.remove(id);
    expect(() => t.remove(id)).toThrow(InvalidArgumentError);
    expect(() => t.inOrderNext(id)).toThrow(InvalidArgumentError);
  });

  it('checkStructure reports a corrupted tree', () => {
    const t = new IntervalTree<number>();
    for (let i = 0; i < 8; i++) t.insert(i * 10, i * 10 + 5, i);
    // corrupt the augmented maximum of the root through the private arrays
    (t as unknown as { maxA: Float64Array }).maxA[t.root] = 1;
    expect(t.checkStructure().join('\n')).toMatch(/subtree last/);
  });

  it('matches a brute-force list under random inserts, removes and queries', () => {
    const op = fc.oneof(
      fc.record({
        k: fc.constant('ins' as const),
        s: fc.integer({ min: 0, max: 200 }),
        len: fc.integer({ min: 1, max: 40 }),
      }),
      fc.record({ k: fc.constant('del' as const), i: fc.nat() }),
      fc.record({
        k: fc.constant('q' as const),
        s: fc.integer({ min: 0, max: 250 }),
        len: fc.integer({ min: 1, max: 60 }),
      }),
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 30, maxLength: 300 }), (ops) => {
        const t = new IntervalTree<Item>();
        const live: { id: number; item: Item }[] = [];
        let name = 0;
        for (const o of ops) {
          if (o.k === 'ins') {
            const item = { name: name++, start: o.s, last: o.s + o.len - 1 };
            live.push({ id: t.insert(item.start, item.last, item), item });
          } else if (o.k === 'del') {
            if (live.length === 0) continue;
            const [gone] = live.splice(o.i % live.length, 1);
            t.remove(gone!.id);
          } else {
            const s = o.s;
            const l = o.s + o.len - 1;
            const want = live
              .map((x) => x.item)
              .filter((x) => x.start <= l && s <= x.last)
              .sort((a, b) => a.start - b.start || a.name - b.name);
            expect(query(t, s, l)).toEqual(want);
          }
          expect(t.checkStructure()).toEqual([]);
          expect(t.size).toBe(live.length);
          const sorted = live
            .map((x) => x.item)
            .sort((a, b) => a.start - b.start || a.name - b.name);
          expect(t.inOrder().map((n) => t.payload(n))).toEqual(sorted);
          expect(walk(t)).toEqual(sorted);
          const visited: Item[] = [];
          t.forEachInOrder((id, item) => {
            expect(t.payload(id)).toBe(item);
            visited.push(item);
          });
          expect(visited).toEqual(sorted);
        }
      }),
      { numRuns: 200 },
    );
  });
});
