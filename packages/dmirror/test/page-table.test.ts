import { PAGE_SIZE } from '@hmmsim/kernel';
import {
  MMU_NOTIFIER_RANGE_BLOCKABLE,
  MMU_NOTIFY_CLEAR,
  MMU_NOTIFY_UNMAP,
  mmuNotifierRangeInit,
  mmuNotifierRangeInitMigrate,
} from '@hmmsim/mm';
import { describe, expect, it } from 'vitest';
import {
  DmirrorPageTable,
  DPT_XA_TAG_READ,
  DPT_XA_TAG_WRITE,
  dmirrorInvalidate,
} from '../src/index.ts';
import { open, world } from './helpers.ts';

describe('the device page table', () => {
  it('stores page + tag per page number; erase and inclusive range erase', () => {
    const pt = new DmirrorPageTable();
    pt.store(10, 1234, DPT_XA_TAG_WRITE);
    pt.store(11, 99, DPT_XA_TAG_READ);
    pt.store(12, 5, DPT_XA_TAG_READ);
    expect(pt.load(10)).toEqual({ page: 1234, tag: DPT_XA_TAG_WRITE });
    expect(pt.load(11)).toEqual({ page: 99, tag: DPT_XA_TAG_READ });
    expect(pt.load(13)).toBeNull();
    expect(pt.eraseRange(11, 12)).toBe(2); // through 12, inclusive
    expect(pt.vpns()).toEqual([10]);
    expect(pt.eraseRange(0, Number.MAX_SAFE_INTEGER)).toBe(1); // a whole-space erase
    expect(pt.size).toBe(0);
  });

  it('an invalidation erases its pages and one page past the end; own MMU_NOTIFY_MIGRATE is skipped', async () => {
    const w = world();
    const f = await open(w, 'interval');
    const d = f.privateData!;
    for (let v = 100; v < 110; v++) d.pt.store(v, v, DPT_XA_TAG_READ);
    const r = mmuNotifierRangeInit(
      MMU_NOTIFY_UNMAP,
      MMU_NOTIFIER_RANGE_BLOCKABLE,
      null,
      w.mm,
      102 * PAGE_SIZE,
      104 * PAGE_SIZE,
    );
    expect(await dmirrorInvalidate(d, r, null)).toBe(true);
    expect(d.pt.vpns()).toEqual([100, 101, 105, 106, 107, 108, 109]);
    const at = (event: 'own' | 'other' | 'clear') => {
      const [s, e] = [106 * PAGE_SIZE, 107 * PAGE_SIZE];
      if (event === 'clear') {
        return mmuNotifierRangeInit(
          MMU_NOTIFY_CLEAR,
          MMU_NOTIFIER_RANGE_BLOCKABLE,
          null,
          w.mm,
          s,
          e,
        );
      }
      const owner = event === 'own' ? d.mdevice : w.module.devices[1];
      return mmuNotifierRangeInitMigrate(MMU_NOTIFIER_RANGE_BLOCKABLE, null, w.mm, s, e, owner);
    };
    // This device's own migration: skipped, whatever it covers.
    expect(await dmirrorInvalidate(d, at('own'), null)).toBe(true);
    expect(d.pt.vpns()).toContain(106);
    expect(d.stats.ownMigrationsIgnored).toBe(1);
    // Another device's migration, or a CLEAR: ordinary invalidations.
    expect(await dmirrorInvalidate(d, at('other'), null)).toBe(true);
    expect(d.pt.vpns()).toEqual([100, 101, 105, 108, 109]);
    d.pt.store(106, 106, DPT_XA_TAG_READ);
    expect(await dmirrorInvalidate(d, at('clear'), null)).toBe(true);
    expect(d.pt.vpns()).toEqual([100, 101, 105, 108, 109]);
    expect(d.stats.ownMigrationsIgnored).toBe(1);
  });

  it('a non-blockable invalidation is refused while the mirror mutex is held', async () => {
    const w = world();
    const f = await open(w, 'interval');
    const d = f.privateData!;
    const { mutexTrylock, mutexUnlock } = await import('@hmmsim/kernel');
    expect(mutexTrylock(d.mutex)).toBe(1);
    const r = mmuNotifierRangeInit(MMU_NOTIFY_UNMAP, 0, null, w.mm, 0, PAGE_SIZE);
    expect(await dmirrorInvalidate(d, r, null)).toBe(false);
    expect(d.stats.invalidationsRefused).toBe(1);
    mutexUnlock(d.mutex);
  });
});
