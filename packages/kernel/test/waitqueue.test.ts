import { describe, expect, it } from 'vitest';
import {
  createScheduler,
  DeadlockError,
  InvalidArgumentError,
  Spinlock,
  spinLock,
  spinUnlock,
  TICK_NSEC,
  WaitQueueHead,
  waitEvent,
  waitEventTimeout,
  waitqueueActive,
  wakeUp,
  wakeUpAll,
} from '../src/index.ts';
import { timerAtYieldPolicy, yieldPoint } from './helpers.ts';

describe('waitEvent', () => {
  it('returns at once when the condition already holds (boot task)', async () => {
    const s = createScheduler();
    const wq = new WaitQueueHead(s, 'wq');
    await waitEvent(wq, () => true);
    expect(waitqueueActive(wq)).toBe(false);
  });

  it('from the boot task with a false condition throws DeadlockError and dequeues', async () => {
    const s = createScheduler();
    const wq = new WaitQueueHead(s, 'wq', 'dev');
    await expect(waitEvent(wq, () => false)).rejects.toThrow(DeadlockError);
    await expect(waitEvent(wq, () => false)).rejects.toThrow(/waitqueue wq \(dev\)/);
    expect(wq.waiters).toEqual([]);
  });

  it('in atomic context is a bug', async () => {
    const s = createScheduler();
    const wq = new WaitQueueHead(s, 'wq');
    const l = new Spinlock(s, 'l');
    await spinLock(l);
    await expect(waitEvent(wq, () => true)).rejects.toThrow(/invalid context: wait_event\(wq\)/);
    await expect(waitEventTimeout(wq, () => true, 1)).rejects.toThrow(
      /invalid context: wait_event_timeout\(wq\)/,
    );
    spinUnlock(l);
  });

  it('re-checks the condition after each wake-up and sleeps again if it is false', async () => {
    const s = createScheduler();
    const wq = new WaitQueueHead(s, 'wq');
    let ready = false;
    const log: string[] = [];
    const waiter = s.spawn('waiter', async () => {
      await waitEvent(wq, () => {
        log.push(`check ${ready}`);
        return ready;
      });
      log.push('done');
    });
    s.spawn('waker', async () => {
      expect(waitqueueActive(wq)).toBe(true);
      wakeUp(wq); // spurious: condition still false
      const pause = new WaitQueueHead(s, 'pause');
      await waitEventTimeout(pause, () => false, 1); // let the waiter run, re-check and sleep again
      log.push(`waiter is ${waiter.state}`);
      ready = true;
      wakeUp(wq);
    });
    const r = await s.run();
    expect(r.deadlock).toBeUndefined();
    expect(log).toEqual(['check false', 'check false', 'waiter is blocked', 'check true', 'done']);
  });

  it('wakeUp and wakeUpAll both wake every (non-exclusive) waiter', async () => {
    for (const wake of [wakeUp, wakeUpAll]) {
      const s = createScheduler();
      const wq = new WaitQueueHead(s, 'wq');
      let go = false;
      const done: string[] = [];
      for (const name of ['a', 'b', 'c']) {
        s.spawn(name, async () => {
          await waitEvent(wq, () => go);
          done.push(name);
        });
      }
      s.spawn('waker', async () => {
        expect(wq.waiters.map((t) => t.name)).toEqual(['a', 'b', 'c']);
        go = true;
        wake(wq);
        expect(wq.waiters).toEqual([]);
      });
      const r = await s.run();
      expect(r.deadlock, wake.name).toBeUndefined();
      expect(done).toEqual(['a', 'b', 'c']);
    }
  });
});

describe('waitEventTimeout', () => {
  it('times out in virtual time with the clock exactly at the expiry', async () => {
    const s = createScheduler();
    const wq = new WaitQueueHead(s, 'wq');
    let result = -1;
    s.spawn('waiter', async () => {
      result = await waitEventTimeout(wq, () => false, 25);
    });
    const r = await s.run();
    expect(r.deadlock).toBeUndefined();
    expect(result).toBe(0);
    expect(s.clock.now).toBe(25 * TICK_NSEC);
    expect(s.clock.jiffies).toBe(25);
    expect(wq.waiters).toEqual([]);
  });

  it('returns the remaining jiffies when the condition becomes true first', async () => {
    const s = createScheduler({ nsPerStep: TICK_NSEC }); // one jiffy per scheduling point
    const wq = new WaitQueueHead(s, 'wq');
    let ready = false;
    let result = -1;
    s.spawn('waiter', async () => {
      result = await waitEventTimeout(wq, () => ready, 25); // registered at jiffy 1, expires at 26
    });
    s.spawn('waker', async () => {
      for (let i = 0; i < 3; i++) await yieldPoint(s); // now jiffy 4
      ready = true;
      wakeUp(wq);
    });
    await s.run();
    expect(result).toBe(22);
    expect(s.clock.jiffies).toBe(4);
  });

  it('returns 1 when the condition is true right at the timeout', async () => {
    const s = createScheduler();
    const wq = new WaitQueueHead(s, 'wq');
    let ready = false;
    let result = -1;
    s.spawn('waiter', async () => {
      result = await waitEventTimeout(wq, () => ready, 10);
    });
    s.spawn('setter', async () => {
      ready = true; // no wake-up: only the timer gets the waiter going
    });
    await s.run();
    expect(result).toBe(1);
    expect(s.clock.jiffies).toBe(10);
  });

  it('timeout 0 does not sleep: 0 if false, 1 if true', async () => {
    const s = createScheduler();
    const wq = new WaitQueueHead(s, 'wq');
    expect(await waitEventTimeout(wq, () => false, 0)).toBe(0);
    expect(await waitEventTimeout(wq, () => true, 0)).toBe(1);
    expect(await waitEventTimeout(wq, () => true, 9)).toBe(9);
    expect(s.clock.jiffies).toBe(0);
  });

  it('from the boot task times out by jumping the clock', async () => {
    const s = createScheduler();
    const wq = new WaitQueueHead(s, 'wq');
    expect(await waitEventTimeout(wq, () => false, 5)).toBe(0);
    expect(s.clock.jiffies).toBe(5);
    expect(wq.waiters).toEqual([]);
  });

  it('a waiter that timed out but has not run yet stays queued; a later wake-up skips it', async () => {
    const s = createScheduler({ policy: timerAtYieldPolicy });
    const wq = new WaitQueueHead(s, 'wq');
    let result = -1;
    const log: string[] = [];
    const waiter = s.spawn('waiter', async () => {
      result = await waitEventTimeout(wq, () => false, 5);
    });
    s.spawn('waker', async () => {
      await yieldPoint(s); // the policy fires the waiter's timer here
      log.push(`waiter ${waiter.state}, queued ${wq.waiters.length}`);
      wakeUp(wq);
      log.push(`after wake_up queued ${wq.waiters.length}`);
    });
    await s.run();
    expect(log).toEqual(['waiter runnable, queued 1', 'after wake_up queued 1']);
    expect(result).toBe(0);
    expect(wq.waiters).toEqual([]);
  });

  it('rejects a bad timeout', async () => {
    const s = createScheduler();
    const wq = new WaitQueueHead(s, 'wq');
    await expect(waitEventTimeout(wq, () => true, -1)).rejects.toThrow(InvalidArgumentError);
    await expect(waitEventTimeout(wq, () => true, 1.5)).rejects.toThrow(
      /timeout is 1.5, not an integer; expected jiffies >= 0/,
    );
  });
});
