import { PAGE_SIZE } from '@hmmsim/kernel';
import {
  MMU_NOTIFY_CLEAR,
  MMU_NOTIFY_MIGRATE,
  type MmuNotifierRange,
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
  mmuNotifierRangeInitMigrate,
} from '@hmmsim/mm';
import { describe, expect, it } from 'vitest';
import { MmuNotifier, mmuNotifierRegister } from '../src/index.ts';
import { TestDriver, world } from './helpers.ts';

const A = 0x10000000;

async function bracket(range: MmuNotifierRange): Promise<void> {
  await mmuNotifierInvalidateRangeStart(range);
  await mmuNotifierInvalidateRangeEnd(range);
}

describe('MMU_NOTIFY_MIGRATE reaches both kinds of subscriber with its owner (v5.9)', () => {
  it('an interval notifier and a legacy subscriber see the event and migratePgmapOwner unchanged', async () => {
    const { mm, sched } = world();
    const owner = { device: 'gpu0' };
    const interval: [string, unknown][] = [];
    const legacy: [string, unknown][] = [];
    const d = new TestDriver(sched, 'drv');
    d.onInvalidate = (r) => interval.push([`${r.event}`, r.migratePgmapOwner]);
    expect(await d.insert(mm, A, 4 * PAGE_SIZE)).toBe(0);
    const mn = new MmuNotifier({
      invalidateRangeStart: (_mn, r) => {
        legacy.push([`${r.event}`, r.migratePgmapOwner]);
        return 0;
      },
    });
    expect(await mmuNotifierRegister(mn, mm)).toBe(0);
    await bracket(mmuNotifierRangeInitMigrate(0, null, mm, A, A + PAGE_SIZE, owner));
    await bracket(mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, 0, null, mm, A, A + PAGE_SIZE));
    const want = [
      [`${MMU_NOTIFY_MIGRATE}`, owner],
      [`${MMU_NOTIFY_CLEAR}`, null],
    ];
    expect(interval).toEqual(want);
    expect(interval[0]![1]).toBe(owner);
    expect(legacy).toEqual(want);
    expect(legacy[0]![1]).toBe(owner);
    expect(d.seen()).toEqual([
      `MIGRATE 0x${A.toString(16)}-0x${(A + PAGE_SIZE).toString(16)}`,
      `CLEAR 0x${A.toString(16)}-0x${(A + PAGE_SIZE).toString(16)}`,
    ]);
  });
});
