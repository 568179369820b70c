/**
 * Completeness of the access reports: every typed-array element, pool field, contents entry and
 * allocator field that an operation of this package really touches (observed through proxies)
 * must be covered by a noteRead/noteWrite of the same element (or of the whole object) made by
 * that operation.
 */
import { accessSink, HPAGE_PMD_NR, PAGE_SIZE } from '@hmmsim/kernel';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  _PAGE_PRESENT,
  _PAGE_PSE,
  _PAGE_RW,
  _PAGE_USER,
  allocPages,
  clearPage,
  compoundMapcount,
  compoundOrder,
  copyPage,
  createPageTables,
  createPhysMem,
  freePgdRange,
  getPage,
  getPageUnlessZero,
  isZoneDevicePage,
  lockPage,
  memmapAddRange,
  nrFreePages,
  type PageTables,
  type PhysMem,
  pageCount,
  pageHasContents,
  pageLocked,
  pageMapcount,
  pageMapped,
  pfnValid,
  pgdBits,
  pgtablesBytes,
  pmdAlloc,
  pmdBits,
  pmdClear,
  pmdOffset,
  pmdPopulate,
  pteAlloc,
  pteAllocOne,
  pteBits,
  pteClear,
  pteFree,
  pteOffset,
  pteVal,
  putPage,
  readPage,
  setPmd,
  setPte,
  splitHugePage,
  totalMapcount,
  trylockPage,
  unlockPage,
  walkPageRange,
  writePage,
} from '../src/index.ts';
import { PT_POOL_INDEX, PT_TABLE_INDEX, PT_USED_INDEX } from '../src/pgtable.ts';
import { fcSeed } from './fc-seed.ts';

const WHOLE = -1;

/** Accesses seen (actual) or reported, keyed by object then index (WHOLE for the object). */
class Accesses {
  readonly map = new Map<object, Map<number, boolean>>();
  add(obj: object, index: number, write: boolean): void {
    let m = this.map.get(obj);
    if (m === undefined) {
      m = new Map();
      this.map.set(obj, m);
    }
    m.set(index, (m.get(index) ?? false) || write);
  }
  covers(obj: object, index: number, write: boolean): boolean {
    const m = this.map.get(obj);
    if (m === undefined) return false;
    if (m.get(WHOLE) === true || m.get(index) === true) return true;
    return !write && (m.has(WHOLE) || m.has(index));
  }
  clear(): void {
    this.map.clear();
  }
}

const actual = new Accesses();
const reported = new Accesses();
let recording = false;

function isIndex(key: string | symbol): boolean {
  return typeof key === 'string' && /^(0|[1-9][0-9]*)$/.test(key);
}

type TA = Int32Array | Uint32Array | Uint8Array | Uint16Array | Float64Array;

/**
 * A proxy of `arr` that records element i as an access to (`owner`, `map(i)`). A read of
 * `length` starts a bulk copy (TypedArray.prototype.set of a grown pool or memmap copying the old
 * array): its element reads are not recorded, they only move values to the new array.
 */
function watchArray<T extends TA>(arr: T, owner: object, map: (i: number) => number): T {
  let copying = 0;
  const rec = (i: number, w: boolean) => {
    if (recording) actual.add(owner, map(i), w);
  };
  return new Proxy(arr, {
    get(target, key) {
      if (isIndex(key)) {
        const i = Number(key);
        if (copying > 0 && i === target.length - copying) copying--;
        else rec(i, false);
        return target[i];
      }
      if (key === 'fill') {
        return (v: number, s = 0, e = target.length) => {
          for (let i = s; i < e; i++) rec(i, true);
          target.fill(v, s, e);
        };
      }
      if (key === 'length') {
        copying = target.length;
        return target.length;
      }
      const v = Reflect.get(target, key, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
    set(target, key, value) {
      if (isIndex(key)) {
        rec(Number(key), true);
        target[Number(key)] = value;
        return true;
      }
      return Reflect.set(target, key, value, target);
    },
  });
}

const MEMMAP_FIELDS = [
  'refcount',
  'mapcount',
  'flags',
  'order',
  'mapping',
  'index',
  'privateVal',
  'pgmap',
] as const;

/** Replace the memmap arrays of `pm` with recording ones (again after memmapAddRange). */
function watchMemmap(pm: PhysMem): void {
  const w = pm as unknown as Record<string, TA>;
  for (const f of MEMMAP_FIELDS) w[f] = watchArray(pm[f], pm, (i) => i);
  w['compoundMapcounts'] = watchArray(pm.compoundMapcounts, pm, (b) => b * HPAGE_PMD_NR);
}

/** Replace the memmap arrays, contents methods and allocator of `pm` with recording ones. */
function watchPhysMem(pm: PhysMem): void {
  watchMemmap(pm);
  const c = pm.contents;
  const get = c.get.bind(c);
  const set = c.set.bind(c);
  const del = c.delete.bind(c);
  const has = c.has.bind(c);
  const rec = (k: number, wr: boolean) => {
    if (recording) actual.add(c, k, wr);
  };
  c.get = (k) => {
    rec(k, false);
    return get(k);
  };
  c.set = (k, v) => {
    rec(k, true);
    return set(k, v);
  };
  c.delete = (k) => {
    rec(k, true);
    return del(k);
  };
  c.has = (k) => {
    rec(k, false);
    return has(k);
  };
  const fa = pm.freeArea;
  const faWatched = new Proxy(fa, {
    get(target, key) {
      if (recording) actual.add(faWatched, WHOLE, false);
      const v = Reflect.get(target, key, target);
      if (ArrayBuffer.isView(v)) {
        return watchArray(v as TA, faWatched, () => WHOLE);
      }
      return v;
    },
    set(target, key, value) {
      if (recording) actual.add(faWatched, WHOLE, true);
      return Reflect.set(target, key, value, target);
    },
  });
  Object.defineProperty(pm, 'freeArea', { value: faWatched });
}

const PT_SLOT_FIELDS = ['bits', 'val'] as const;
const PT_TABLE_FIELDS = ['level', 'parent', 'nextFree'] as const;
const PT_POOL_FIELDS = ['freeHead', 'nrTables'];
/**
 * Pool fields whose reads need no report of their own (writes are still checked): `capacity`
 * and `top` only decide whether a slot or table exists, and a table below `top` was handed out
 * by a step that wrote its identity element, which the reader reports (pgtable.ts
 * noteTableRead); above `top` the reader reports the pool element.
 */
const PT_POOL_UNREPORTED_READS = ['top', 'capacity'];

/** A recording proxy of `pt`; pass it (not `pt`) to the functions under test. */
function watchPageTables(pt: PageTables): PageTables {
  const cache = new Map<string, { raw: TA; proxy: TA }>();
  const proxy: PageTables = new Proxy(pt, {
    get(target, key) {
      const v = Reflect.get(target, key, target);
      if (typeof key !== 'string' || PT_POOL_UNREPORTED_READS.includes(key)) return v;
      if (PT_POOL_FIELDS.includes(key)) {
        if (recording) actual.add(proxy, PT_POOL_INDEX, false);
        return v;
      }
      let map: ((i: number) => number) | undefined;
      if ((PT_SLOT_FIELDS as readonly string[]).includes(key)) map = (i) => i;
      else if ((PT_TABLE_FIELDS as readonly string[]).includes(key))
        map = (t) => PT_TABLE_INDEX + t;
      else if (key === 'used') map = (t) => PT_USED_INDEX + t;
      if (map === undefined) return v;
      const hit = cache.get(key);
      if (hit !== undefined && hit.raw === v) return hit.proxy;
      const p = watchArray(v as TA, proxy, map);
      cache.set(key, { raw: v as TA, proxy: p });
      return p;
    },
    set(target, key, value) {
      if (recording) actual.add(proxy, PT_POOL_INDEX, true);
      return Reflect.set(target, key, value, target);
    },
  });
  return proxy;
}

/** Run `op` recording both sides, then check that every actual access was reported. */
function checked(name: string, op: () => unknown): void {
  actual.clear();
  reported.clear();
  recording = true;
  try {
    op();
  } catch {
    // Error paths must report what they read too.
  } finally {
    recording = false;
  }
  for (const [obj, m] of actual.map) {
    for (const [index, write] of m) {
      if (!reported.covers(obj, index, write)) {
        throw new Error(
          `${name}: unreported ${write ? 'write' : 'read'} of ${obj.constructor.name}[${index === WHOLE ? 'all' : index}]`,
        );
      }
    }
  }
}

afterEach(() => {
  accessSink.hook = undefined;
});

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const LEAF = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER;

describe('access reports cover every access', () => {
  it('random operations on memmap, contents, allocator and page tables', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(32), fc.nat(), fc.nat(), fc.nat()), {
          minLength: 40,
          maxLength: 200,
        }),
        (ops) => {
          accessSink.hook = (obj, write, index) => {
            if (recording) reported.add(obj, index ?? WHOLE, write);
          };
          const pm = createPhysMem({ ramBytes: 8 * MiB });
          watchPhysMem(pm);
          const pt = watchPageTables(createPageTables({ initialTables: 1, maxTables: 64 }));
          const pfns: number[] = [0];
          const addrs = [0, 2 * MiB, GiB, 513 * GiB, 4096 * 3, 2 * MiB + PAGE_SIZE];
          const detached: number[] = [];
          const buf = new Uint8Array(16);
          for (const [k, a, b, c] of ops) {
            const p = pfns[a % pfns.length] as number;
            const q = pfns[b % pfns.length] as number;
            const addr = addrs[c % addrs.length] as number;
            const step = (name: string, op: () => unknown) => checked(`${name}(${a},${b})`, op);
            switch (k) {
              case 0:
                step('allocPages0', () => {
                  const r = allocPages(pm, 0);
                  if (r !== -1) pfns.push(r);
                });
                break;
              case 1:
                step('allocPages9', () => {
                  const r = allocPages(pm, 9);
                  if (r !== -1) pfns.push(r, r + (c % HPAGE_PMD_NR));
                });
                break;
              case 2:
                step('getPage', () => getPage(pm, p));
                break;
              case 3:
                step('putPage', () => putPage(pm, p));
                break;
              case 4:
                step('getPageUnlessZero', () => getPageUnlessZero(pm, p));
                break;
              case 5:
                step('trylockPage', () => trylockPage(pm, p));
                break;
              case 6:
                step('lockPage', () => lockPage(pm, p));
                break;
              case 7:
                step('unlockPage', () => unlockPage(pm, p));
                break;
              case 8:
                step('queries', () => {
                  pfnValid(pm, p);
                  isZoneDevicePage(pm, p);
                  compoundOrder(pm, p);
                  pageCount(pm, p);
                  pageMapcount(pm, p);
                  compoundMapcount(pm, p);
                  pageLocked(pm, p);
                  pageHasContents(pm, p);
                  nrFreePages(pm);
                });
                break;
              case 9:
                step('totalMapcount', () => totalMapcount(pm, p));
                break;
              case 10:
                step('pageMapped', () => pageMapped(pm, p));
                break;
              case 11:
                step('writePage', () => writePage(pm, p, c % 64, buf));
                break;
              case 12:
                step('readPage', () => readPage(pm, p, c % 64, buf));
                break;
              case 13:
                step('copyPage', () => copyPage(pm, p, q));
                break;
              case 14:
                step('clearPage', () => clearPage(pm, p));
                break;
              case 15:
                step('splitHugePage', () => {
                  lockPage(pm, p);
                  splitHugePage(pm, p);
                });
                break;
              case 16:
                step('memmapAddRange', () => {
                  const first = memmapAddRange(pm, 1 + (c % 600), 1 + (a % 3));
                  watchMemmap(pm);
                  pfns.push(first, first + (c % 600));
                });
                break;
              case 17:
                step('pteAlloc', () => pteAlloc(pt, addr));
                break;
              case 18:
                step('pmdAlloc', () => pmdAlloc(pt, addr));
                break;
              case 19:
                step('setPte', () => setPte(pt, pteOffset(pt, addr), LEAF, p));
                break;
              case 20:
                step('pteClear', () => pteClear(pt, pteOffset(pt, addr)));
                break;
              case 21:
                step('pteVal', () => {
                  const s = pteOffset(pt, addr);
                  pteVal(pt, s);
                  pteBits(pt, s);
                });
                break;
              case 22:
                step('pmd', () => {
                  const s = pmdOffset(pt, addr);
                  pmdBits(pt, s);
                  pgdBits(pt, 0);
                });
                break;
              case 23:
                step('setPmd', () => setPmd(pt, pmdOffset(pt, addr), LEAF | _PAGE_PSE, p));
                break;
              case 24:
                step('pmdClear', () => pmdClear(pt, pmdOffset(pt, addr)));
                break;
              case 25:
                step('pteAllocOne', () => {
                  const t = pteAllocOne(pt);
                  if (t >= 0) detached.push(t);
                });
                break;
              case 26:
                step('pmdPopulate', () =>
                  pmdPopulate(pt, pmdOffset(pt, addr), detached.pop() ?? a % 8),
                );
                break;
              case 27:
                step('pteFree', () => pteFree(pt, detached.pop() ?? a % 8));
                break;
              case 28:
                step('freePgdRange', () => freePgdRange(pt, 0, 2 ** 48));
                break;
              case 29:
                step('walkPageRange', () =>
                  walkPageRange(
                    pt,
                    0,
                    2 ** 48,
                    {
                      pmdEntry: (s, _a, _n, w) => {
                        pmdBits(w.pt, s);
                        return 0;
                      },
                      pteEntry: (s, _a, _n, w) => {
                        pteBits(w.pt, s);
                        return 0;
                      },
                      pteHole: () => 0,
                    },
                    undefined,
                  ),
                );
                break;
              case 30:
                step('pgtablesBytes', () => pgtablesBytes(pt));
                break;
              case 31:
                step('badSlot', () => pteVal(pt, a % 100_000));
                break;
              default:
                step('pfnValid', () => pfnValid(pm, p + (c % 1024)));
            }
          }
          accessSink.hook = undefined;
        },
      ),
      { seed: fcSeed, numRuns: 100 },
    );
  });

  it('the checker itself notices an unreported access', () => {
    accessSink.hook = (obj, write, index) => {
      if (recording) reported.add(obj, index ?? WHOLE, write);
    };
    const pm = createPhysMem({ ramBytes: 8 * MiB });
    watchPhysMem(pm);
    expect(() => checked('raw', () => pm.refcount[5])).toThrow(/unreported read of PhysMem\[5\]/);
    expect(() =>
      checked('raw', () => {
        pm.flags[7] = 1;
      }),
    ).toThrow(/unreported write of PhysMem\[7\]/);
  });
});
