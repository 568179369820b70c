import {
  Completion,
  complete,
  createScheduler,
  KernelBugError,
  waitForCompletion,
} from '@hmmsim/kernel';
import { describe, expect, it } from 'vitest';
import {
  callSrcu,
  mmuNotifierSrcu,
  SrcuStruct,
  srcuBarrier,
  srcuReadLock,
  srcuReadUnlock,
  synchronizeSrcu,
} from '../src/index.ts';
import { runTasks } from './run.ts';

describe('SRCU', () => {
  it('synchronize returns at once without readers', async () => {
    const ss = new SrcuStruct(createScheduler(), 'ss');
    await synchronizeSrcu(ss);
    expect(ss.completed).toBe(1);
  });

  it('synchronize waits for readers that began before it, not for later ones', async () => {
    const sched = createScheduler();
    const ss = new SrcuStruct(sched, 'ss');
    const inside = new Completion(sched, 'inside');
    const leave = new Completion(sched, 'leave');
    const journal: string[] = [];
    await runTasks(sched, {
      reader: async () => {
        const idx = srcuReadLock(ss);
        complete(inside);
        await waitForCompletion(leave);
        journal.push('old reader leaves');
        srcuReadUnlock(ss, idx);
      },
      writer: async () => {
        await waitForCompletion(inside);
        const late = srcuReadLock(ss); // a reader that starts after synchronize is called...
        srcuReadUnlock(ss, late);
        const late2 = srcuReadLock(ss);
        journal.push('synchronize');
        complete(leave);
        const p = synchronizeSrcu(ss);
        // A reader that begins after synchronize was called is not waited for: it stays open
        // across the whole grace period (waiting for it would deadlock this task).
        const after = srcuReadLock(ss);
        srcuReadUnlock(ss, late2); // ...(this one started before: it is waited for too)
        await p;
        journal.push('synchronize returned');
        expect(ss.nrReaders).toBe(1);
        srcuReadUnlock(ss, after);
      },
    });
    expect(journal).toEqual(['synchronize', 'old reader leaves', 'synchronize returned']);
    expect(ss.nrReaders).toBe(0);
  });

  it('callSrcu never runs the callback inline; it runs once the grace period is over', async () => {
    const sched = createScheduler();
    const ss = new SrcuStruct(sched, 'ss');
    const ran: string[] = [];
    const idx = srcuReadLock(ss);
    callSrcu(ss, () => ran.push('cb1'));
    expect(ran).toEqual([]);
    const later = srcuReadLock(ss); // does not hold cb1 back
    srcuReadUnlock(ss, later);
    expect(ran).toEqual([]);
    srcuReadUnlock(ss, idx); // the last old reader ends the grace period
    expect(ran).toEqual(['cb1']);
    callSrcu(ss, () => ran.push('cb2'));
    expect(ran).toEqual(['cb1']); // still not inline, even with no reader
    await srcuBarrier(ss);
    expect(ran).toEqual(['cb1', 'cb2']);
    await srcuBarrier(ss); // nothing pending
  });

  it('rejects an unlock with a wrong index', () => {
    const ss = new SrcuStruct(createScheduler(), 'ss');
    expect(() => srcuReadUnlock(ss, 5)).toThrow(KernelBugError);
  });

  it('there is one notifier domain per machine (scheduler)', () => {
    const a = createScheduler();
    expect(mmuNotifierSrcu(a)).toBe(mmuNotifierSrcu(a));
    expect(mmuNotifierSrcu(a)).not.toBe(mmuNotifierSrcu(createScheduler()));
  });
});
