/**
 * mm_take_all_locks() in the first registration: switching an mm's interval tree on waits out an
 * invalidation already in flight (reclaim and migration run theirs under rmap locks, without
 * mmap_sem), so a first interval notifier can never be linked in the middle of one and miss it.
 */
import { Completion, complete, waitForCompletion } from '@hmmsim/kernel';
import {
  MMU_NOTIFY_CLEAR,
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
} from '@hmmsim/mm';
import { describe, expect, it } from 'vitest';
import { mmuIntervalReadBegin, mmuNotifierMmOf } from '../src/index.ts';
import { TestDriver, world } from './helpers.ts';
import { runTasks } from './run.ts';

describe('the first registration (mm_take_all_locks)', () => {
  it('waits for an invalidation that started before the mm had any notifier', async () => {
    const { mm, sched } = world();
    const B = new TestDriver(sched, 'B');
    const r = mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, 0, null, mm, 0x5000, 0x6000);
    const started = new Completion(sched, 'started');
    const go = new Completion(sched, 'go');
    const journal: string[] = [];
    let seq = -1;
    await runTasks(sched, {
      reclaim: async () => {
        await mmuNotifierInvalidateRangeStart(r); // no listener yet: nothing is called
        complete(started);
        complete(started); // two waiters
        await waitForCompletion(go);
        await mmuNotifierInvalidateRangeEnd(r);
        journal.push('invalidation ended');
      },
      driver: async () => {
        await waitForCompletion(started);
        journal.push('insert');
        expect(await B.insert(mm, 0x5000, 0x1000)).toBe(0);
        journal.push('insert returned');
        seq = await mmuIntervalReadBegin(B.mni);
      },
      other: async () => {
        await waitForCompletion(started);
        complete(go);
      },
    });
    expect(journal).toEqual(['insert', 'invalidation ended', 'insert returned']);
    expect(mm.invalidatesInFlight).toBe(0);
    expect(mmuNotifierMmOf(mm)?.hasItree).toBe(true);
    // read_begin did not have to wait: the tree is not inside an invalidation window.
    expect(seq).toBe((mmuNotifierMmOf(mm)?.invalidateSeq ?? 0) - 1);
  });
});
