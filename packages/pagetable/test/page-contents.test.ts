import { InvalidArgumentError, KernelBugError, PAGE_SIZE } from '@hmmsim/kernel';
import { describe, expect, it } from 'vitest';
import {
  allocPages,
  clearPage,
  copyPage,
  createPhysMem,
  memmapAddRange,
  pageHasContents,
  putPage,
  readPage,
  writePage,
} from '../src/index.ts';

const MiB = 2 ** 20;

describe('page contents', () => {
  it('unwritten pages (and the zero page) read as zeros without allocating a buffer', () => {
    const pm = createPhysMem({ ramBytes: 4 * MiB });
    const p = allocPages(pm, 0) as number;
    const buf = new Uint8Array(PAGE_SIZE).fill(7);
    readPage(pm, p, 0, buf);
    expect(buf.every((b) => b === 0)).toBe(true);
    buf.fill(7);
    readPage(pm, 0, 0, buf);
    expect(buf.every((b) => b === 0)).toBe(true);
    expect(pm.contents.size).toBe(0);
  });

  it('writes allocate a buffer; reads at offsets see the bytes', () => {
    const pm = createPhysMem({ ramBytes: 4 * MiB });
    const p = allocPages(pm, 0) as number;
    writePage(pm, p, 100, new Uint8Array([1, 2, 3]));
    expect(pageHasContents(pm, p)).toBe(true);
    const out = new Uint8Array(5);
    readPage(pm, p, 99, out);
    expect([...out]).toEqual([0, 1, 2, 3, 0]);
    writePage(pm, p, PAGE_SIZE - 1, new Uint8Array([9]));
    const last = new Uint8Array(1);
    readPage(pm, p, PAGE_SIZE - 1, last);
    expect(last[0]).toBe(9);
  });

  it('copyPage copies (or zeroes when the source is unwritten); clearPage zeroes', () => {
    const pm = createPhysMem({ ramBytes: 4 * MiB });
    const a = allocPages(pm, 0) as number;
    const b = allocPages(pm, 0) as number;
    const c = allocPages(pm, 0) as number;
    writePage(pm, a, 0, new Uint8Array([5, 6]));
    copyPage(pm, b, a);
    writePage(pm, a, 0, new Uint8Array([8])); // the copy is independent
    const out = new Uint8Array(2);
    readPage(pm, b, 0, out);
    expect([...out]).toEqual([5, 6]);
    copyPage(pm, b, c);
    expect(pageHasContents(pm, b)).toBe(false);
    copyPage(pm, a, a);
    clearPage(pm, a);
    readPage(pm, a, 0, out);
    expect([...out]).toEqual([0, 0]);
    copyPage(pm, c, 0); // copying from the zero page is fine
  });

  it('contents are dropped on free, so a reallocated page reads as zeros', () => {
    const pm = createPhysMem({ ramBytes: 4 * MiB });
    const p = allocPages(pm, 0) as number;
    writePage(pm, p, 0, new Uint8Array([1]));
    putPage(pm, p);
    expect(pm.contents.size).toBe(0);
    expect(allocPages(pm, 0)).toBe(p);
    const out = new Uint8Array(1);
    readPage(pm, p, 0, out);
    expect(out[0]).toBe(0);
  });

  it('device pages hold contents too', () => {
    const pm = createPhysMem({ ramBytes: 4 * MiB });
    const d = memmapAddRange(pm, 2, 1);
    writePage(pm, d, 0, new Uint8Array([4]));
    const out = new Uint8Array(1);
    readPage(pm, d, 0, out);
    expect(out[0]).toBe(4);
  });

  it('rejects writes to the zero page, use after free and out-of-page spans', () => {
    const pm = createPhysMem({ ramBytes: 4 * MiB });
    const p = allocPages(pm, 0) as number;
    expect(() => writePage(pm, 0, 0, new Uint8Array(1))).toThrow(KernelBugError);
    expect(() => clearPage(pm, 0)).toThrow(KernelBugError);
    expect(() => copyPage(pm, 0, p)).toThrow(KernelBugError);
    expect(() => readPage(pm, p, PAGE_SIZE - 1, new Uint8Array(2))).toThrow(InvalidArgumentError);
    expect(() => writePage(pm, p, -1, new Uint8Array(1))).toThrow(InvalidArgumentError);
    expect(() => writePage(pm, p, 0.5, new Uint8Array(1))).toThrow(InvalidArgumentError);
    expect(() => readPage(pm, pm.nrPages, 0, new Uint8Array(1))).toThrow(InvalidArgumentError);
    const freePfn = p + 1;
    expect(() => readPage(pm, freePfn, 0, new Uint8Array(1))).toThrow(/use after free/);
    expect(() => writePage(pm, freePfn, 0, new Uint8Array(1))).toThrow(/use after free/);
    expect(pm.contents.size).toBe(0);
  });

  it('tails of a THP are readable and writable', () => {
    const pm = createPhysMem({ ramBytes: 8 * MiB });
    const thp = allocPages(pm, 9) as number;
    writePage(pm, thp + 511, 0, new Uint8Array([3]));
    const out = new Uint8Array(1);
    readPage(pm, thp + 511, 0, out);
    expect(out[0]).toBe(3);
  });
});
