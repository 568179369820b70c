import { describe, expect, it } from 'vitest';
import {
  COMPLETION_ALL,
  Completion,
  complete,
  completeAll,
  completionDone,
  createScheduler,
  DeadlockError,
  InvalidArgumentError,
  reinitCompletion,
  Spinlock,
  spinLock,
  spinUnlock,
  TICK_NSEC,
  tryWaitForCompletion,
  waitForCompletion,
  waitForCompletionTimeout,
} from '../src/index.ts';
import { timerAtYieldPolicy, yieldPoint } from './helpers.ts';

describe('completion from the boot task', () => {
  it('counts completions and consumes one per wait', async () => {
    const s = createScheduler();
    const x = new Completion(s, 'x');
    expect(completionDone(x)).toBe(false);
    expect(tryWaitForCompletion(x)).toBe(false);
    complete(x);
    complete(x);
    expect(x.done).toBe(2);
    expect(completionDone(x)).toBe(true);
    await waitForCompletion(x);
    expect(tryWaitForCompletion(x)).toBe(true);
    expect(completionDone(x)).toBe(false);
    await expect(waitForCompletion(x)).rejects.toThrow(DeadlockError);
    await expect(waitForCompletion(x)).rejects.toThrow(
      /completion x \(wait_for_completion: not completed\)/,
    );
    expect(x.waiters).toEqual([]);
  });

  it('completeAll satisfies every wait until reinitCompletion', async () => {
    const s = createScheduler();
    const x = new Completion(s, 'x');
    completeAll(x);
    for (let i = 0; i < 5; i++) await waitForCompletion(x);
    expect(tryWaitForCompletion(x)).toBe(true);
    expect(x.done).toBe(COMPLETION_ALL);
    reinitCompletion(x);
    expect(completionDone(x)).toBe(false);
  });

  it('waitForCompletionTimeout: remaining jiffies if done, 0 after jumping to the expiry if not', async () => {
    const s = createScheduler();
    const x = new Completion(s, 'x');
    complete(x);
    expect(await waitForCompletionTimeout(x, 10)).toBe(10);
    expect(await waitForCompletionTimeout(x, 10)).toBe(0);
    expect(s.clock.jiffies).toBe(10);
    expect(x.waiters).toEqual([]);
  });

  it('rejects a bad timeout and sleeping in atomic context', async () => {
    const s = createScheduler();
    const x = new Completion(s, 'x');
    await expect(waitForCompletionTimeout(x, -3)).rejects.toThrow(InvalidArgumentError);
    const l = new Spinlock(s, 'l');
    await spinLock(l);
    complete(x);
    await expect(waitForCompletion(x)).rejects.toThrow(/invalid context: wait_for_completion\(x\)/);
    spinUnlock(l);
    expect(x.done).toBe(1);
  });
});

describe('completion between tasks', () => {
  it('complete wakes only the first waiter (FIFO); the other stays blocked', async () => {
    const s = createScheduler();
    const x = new Completion(s, 'x');
    const log: string[] = [];
    for (const name of ['a', 'b']) {
      s.spawn(name, async () => {
        await waitForCompletion(x);
        log.push(name);
      });
    }
    s.spawn('completer', async () => {
      complete(x);
    });
    const r = await s.run();
    expect(log).toEqual(['a']);
    expect(r.deadlock?.blocked.map((b) => [b.name, b.waitsOn])).toEqual([['b', 'completion x']]);
  });

  it('completeAll wakes every waiter', async () => {
    const s = createScheduler();
    const x = new Completion(s, 'x');
    const log: string[] = [];
    for (const name of ['a', 'b', 'c']) {
      s.spawn(name, async () => {
        await waitForCompletion(x);
        log.push(name);
      });
    }
    s.spawn('completer', async () => completeAll(x));
    const r = await s.run();
    expect(r.deadlock).toBeUndefined();
    expect(log).toEqual(['a', 'b', 'c']);
  });

  it('a timed wait completed in time returns the remaining jiffies', async () => {
    const s = createScheduler({ nsPerStep: TICK_NSEC });
    const x = new Completion(s, 'x');
    let result = -1;
    s.spawn('waiter', async () => {
      result = await waitForCompletionTimeout(x, 20); // registered at jiffy 1, expires at 21
    });
    s.spawn('completer', async () => {
      await yieldPoint(s);
      await yieldPoint(s); // jiffy 3
      complete(x);
    });
    await s.run();
    expect(result).toBe(18);
    expect(x.done).toBe(0);
  });

  it('a waiter that timed out but finds the completion done takes it and returns 1', async () => {
    const s = createScheduler({ policy: timerAtYieldPolicy });
    const x = new Completion(s, 'x');
    let result = -1;
    s.spawn('waiter', async () => {
      result = await waitForCompletionTimeout(x, 5);
    });
    s.spawn('completer', async () => {
      await yieldPoint(s); // the waiter's timer fires here
      complete(x);
    });
    await s.run();
    expect(result).toBe(1);
    expect(x.done).toBe(0);
    expect(s.clock.jiffies).toBe(5);
  });
});
