import { InvalidArgumentError } from '@hmmsim/kernel';
import { describe, expect, it } from 'vitest';
import {
  assertPfnValid,
  createPhysMem,
  getPage,
  MAX_PFN_LIMIT,
  memmapAddRange,
  PAGE_FLAGS_CHECK_AT_FREE,
  PG_active,
  PG_anon,
  PG_dirty,
  PG_head,
  PG_locked,
  PG_lru,
  PG_referenced,
  PG_reserved,
  PG_swapbacked,
  PG_swapcache,
  PG_tail,
  PG_uptodate,
  PG_waiters,
  PG_writeback,
  putPage,
} from '../src/index.ts';

describe('page flags', () => {
  it('are distinct single bits; the free-time check covers locked/writeback/swapcache', () => {
    const all = [
      PG_locked,
      PG_referenced,
      PG_uptodate,
      PG_dirty,
      PG_lru,
      PG_active,
      PG_waiters,
      PG_swapcache,
      PG_reserved,
      PG_writeback,
      PG_head,
      PG_swapbacked,
      PG_tail,
      PG_anon,
    ];
    for (const f of all) expect(f > 0 && (f & (f - 1)) === 0).toBe(true);
    expect(new Set(all).size).toBe(all.length);
    expect(PAGE_FLAGS_CHECK_AT_FREE).toBe(PG_locked | PG_writeback | PG_swapcache);
  });

  it('an idle device page loses PG_active/PG_waiters/PG_anon and its mapping', () => {
    const pm = createPhysMem({ ramBytes: 4 * 2 ** 20 });
    const d = memmapAddRange(pm, 1, 1);
    getPage(pm, d);
    pm.flags[d] = PG_reserved | PG_active | PG_waiters | PG_anon | PG_dirty;
    pm.mapping[d] = 3;
    putPage(pm, d);
    expect(pm.flags[d]).toBe(PG_reserved | PG_dirty);
    expect(pm.mapping[d]).toBe(0);
  });

  it('assertPfnValid names the caller', () => {
    const pm = createPhysMem({ ramBytes: 4 * 2 ** 20 });
    expect(() => assertPfnValid(pm, pm.nrPages, 'myFn')).toThrow(InvalidArgumentError);
    expect(() => assertPfnValid(pm, -1, 'myFn')).toThrow(/myFn/);
    assertPfnValid(pm, 0, 'myFn');
    expect(MAX_PFN_LIMIT).toBe(2 ** 32);
  });
});
