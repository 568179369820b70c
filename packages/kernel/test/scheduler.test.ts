import { describe, expect, it } from 'vitest';
import {
  type Choice,
  createScheduler,
  DeadlockError,
  InvalidArgumentError,
  isPreemption,
  KernelBugError,
  type PickContext,
  type SchedulePolicy,
  Spinlock,
  spinLock,
  spinUnlock,
  TICK_NSEC,
} from '../src/index.ts';
import { head, yieldPoint } from './helpers.ts';

describe('boot task (outside run())', () => {
  it('is task 0 and points return at once, advancing the clock by nsPerStep', async () => {
    const s = createScheduler({ nsPerStep: 500 });
    expect(s.current.id).toBe(0);
    expect(s.current.name).toBe('boot');
    expect(s.running).toBe(false);
    for (let i = 0; i < 10; i++) await yieldPoint(s);
    expect(s.clock.now).toBe(5000);
    expect(s.step).toBe(10);
  });

  it('an untimed sleep throws DeadlockError instead of hanging', async () => {
    const s = createScheduler();
    await expect(s.sleep(head('nothing'))).rejects.toThrow(DeadlockError);
    await expect(s.sleep(head('nothing'))).rejects.toThrow(
      /boot task .* sleep forever on test nothing/,
    );
  });

  it('a timed sleep times out with the clock at the expiry', async () => {
    const s = createScheduler();
    await yieldPoint(s);
    expect(await s.sleep(head('t'), 7)).toBe('timeout');
    expect(s.clock.now).toBe(7 * TICK_NSEC);
    expect(s.clock.jiffies).toBe(7);
  });

  it('sleeping in atomic context is a bug', async () => {
    const s = createScheduler();
    const l = new Spinlock(s, 'ptl');
    await spinLock(l);
    expect(s.current.preemptCount).toBe(1);
    await expect(s.sleep(head('x'), 1)).rejects.toThrow(KernelBugError);
    await expect(s.sleep(head('x'), 1)).rejects.toThrow(
      /BUG: sleeping function called from invalid context: schedule\(x\).*preemptCount=1/,
    );
    spinUnlock(l);
    expect(s.current.preemptCount).toBe(0);
    expect(await s.sleep(head('x'), 1)).toBe('timeout');
  });
});

describe('spawn and run', () => {
  it('free-running runs each task to completion in id order', async () => {
    const s = createScheduler();
    const log: string[] = [];
    for (const name of ['a', 'b', 'c']) {
      s.spawn(name, async () => {
        for (let i = 0; i < 3; i++) {
          log.push(`${name}${i}`);
          await yieldPoint(s);
        }
      });
    }
    const r = await s.run();
    expect(log).toEqual(['a0', 'a1', 'a2', 'b0', 'b1', 'b2', 'c0', 'c1', 'c2']);
    expect(r.errors).toEqual([]);
    expect(r.deadlock).toBeUndefined();
    expect(r.preemptions).toBe(0);
    expect(r.switches).toBe(2);
    expect(r.stepLimitReached).toBe(false);
    expect(s.current.id).toBe(0);
    expect(s.running).toBe(false);
  });

  it('current is the running task inside run() and tasks get ids from 1', async () => {
    const s = createScheduler();
    const seen: number[] = [];
    const t1 = s.spawn('one', async () => {
      seen.push(s.current.id);
    });
    const t2 = s.spawn('two', async () => {
      seen.push(s.current.id);
    });
    expect([t1.id, t2.id]).toEqual([1, 2]);
    expect(t1.state).toBe('runnable');
    await s.run();
    expect(seen).toEqual([1, 2]);
    expect(t1.state).toBe('done');
  });

  it('a run with no tasks ends at once', async () => {
    const r = await createScheduler().run();
    expect(r.deadlock).toBeUndefined();
    expect(r.errors).toEqual([]);
  });

  it('tasks spawned by tasks run too, and a scheduler can run again', async () => {
    const s = createScheduler();
    const log: string[] = [];
    s.spawn('parent', async () => {
      s.spawn('child', async () => {
        log.push('child');
      });
      log.push('parent');
    });
    await s.run();
    s.spawn('later', async () => {
      log.push('later');
    });
    await s.run();
    expect(log).toEqual(['parent', 'child', 'later']);
  });

  it('a throwing task is recorded with its name and the others keep running', async () => {
    const s = createScheduler();
    let finished = false;
    s.spawn('bad', async () => {
      await yieldPoint(s);
      throw new Error('boom');
    });
    s.spawn('good', async () => {
      await yieldPoint(s);
      finished = true;
    });
    const r = await s.run();
    expect(finished).toBe(true);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.taskName).toBe('bad');
    expect(r.errors[0]!.taskId).toBe(1);
    expect(String(r.errors[0]!.error)).toContain('boom');
  });

  it('run() during a run is a bug', async () => {
    const s = createScheduler();
    let inner: unknown;
    s.spawn('t', async () => {
      inner = await s.run().catch((e: unknown) => e);
    });
    await s.run();
    expect(inner).toBeInstanceOf(KernelBugError);
  });

  it('rejects bad arguments', () => {
    const s = createScheduler();
    expect(() => s.spawn('x', 42 as unknown as () => Promise<void>)).toThrow(InvalidArgumentError);
    expect(() => createScheduler({ nsPerStep: -1 })).toThrow(
      /createScheduler: nsPerStep is -1, below 0; expected a safe integer >= 0/,
    );
    expect(() => createScheduler({ maxSteps: 0 })).toThrow(InvalidArgumentError);
    expect(() => createScheduler({ nsPerStep: 1.5 })).toThrow(InvalidArgumentError);
  });
});

describe('sleep, wake and timers', () => {
  it('wake makes a blocked task runnable; waking a running or done task returns false', async () => {
    const s = createScheduler();
    const h = head('q');
    const log: string[] = [];
    const sleeper = s.spawn('sleeper', async () => {
      log.push(`woke:${await s.sleep(h)}`);
    });
    s.spawn('waker', async () => {
      expect(sleeper.state).toBe('blocked');
      expect(sleeper.waitingOn).toBe(h);
      expect(s.wake(s.current)).toBe(false);
      expect(s.wake(sleeper)).toBe(true);
      expect(sleeper.state).toBe('runnable');
      expect(sleeper.waitingOn).toBeUndefined();
      expect(s.wake(sleeper)).toBe(false);
      log.push('waker done');
    });
    const r = await s.run();
    expect(log).toEqual(['waker done', 'woke:woken']);
    expect(r.deadlock).toBeUndefined();
    expect(s.wake(sleeper)).toBe(false);
  });

  it('wake of a task of another scheduler is rejected', () => {
    const a = createScheduler();
    const b = createScheduler();
    const t = a.spawn('t', async () => {});
    expect(() => b.wake(t)).toThrow(InvalidArgumentError);
  });

  it('free-running fires a timer only when nothing is runnable, jumping the clock to expiry', async () => {
    const s = createScheduler();
    const log: string[] = [];
    s.spawn('sleeper', async () => {
      const r = await s.sleep(head('t'), 10);
      log.push(`${r}@${s.clock.now}`);
    });
    s.spawn('busy', async () => {
      for (let i = 0; i < 100; i++) await yieldPoint(s);
      log.push(`busy done@${s.clock.now}`);
    });
    const r = await s.run();
    expect(log).toEqual(['busy done@100000', `timeout@${10 * TICK_NSEC}`]);
    expect(r.deadlock).toBeUndefined();
  });

  it('a woken sleeper cancels its timer (the clock does not jump)', async () => {
    const s = createScheduler();
    const h = head('t');
    let result = '';
    const sleeper = s.spawn('sleeper', async () => {
      result = await s.sleep(h, 1000);
    });
    s.spawn('waker', async () => {
      s.wake(sleeper);
    });
    await s.run();
    expect(result).toBe('woken');
    expect(s.clock.now).toBeLessThan(TICK_NSEC);
  });

  it('timers fire earliest first', async () => {
    const s = createScheduler();
    const order: string[] = [];
    for (const [name, j] of [
      ['late', 30],
      ['early', 5],
      ['mid', 12],
    ] as const) {
      s.spawn(name, async () => {
        await s.sleep(head(name), j);
        order.push(`${name}@${s.clock.jiffies}`);
      });
    }
    await s.run();
    expect(order).toEqual(['early@5', 'mid@12', 'late@30']);
  });

  it('rejects a bad timeout', async () => {
    const s = createScheduler();
    await expect(s.sleep(head('x'), -1)).rejects.toThrow(InvalidArgumentError);
    await expect(s.sleep(head('x'), 0.5)).rejects.toThrow(/expected jiffies >= 0/);
  });
});

describe('deadlock detection', () => {
  it('ends run() with a description of every blocked task', async () => {
    const s = createScheduler();
    s.spawn('a', async () => {
      await s.sleep({ kind: 'test', name: 'qa', obj: 'o1', describeWaiter: () => 'never woken' });
    });
    s.spawn('b', async () => {
      await s.sleep(head('qb'));
    });
    s.spawn('c', async () => {});
    const r = await s.run();
    expect(r.deadlock?.blocked).toEqual([
      { id: 1, name: 'a', waitsOn: 'test qa (o1)', spinning: false, detail: 'never woken' },
      { id: 2, name: 'b', waitsOn: 'test qb', spinning: false, detail: '' },
    ]);
    expect(r.deadlock?.message).toContain("T1 'a' sleeps on test qa (o1): never woken");
    expect(s.current.id).toBe(0);
  });

  it('abandoned tasks are never resumed after the run', async () => {
    const s = createScheduler();
    const h = head('q');
    let resumed = false;
    const t = s.spawn('stuck', async () => {
      await s.sleep(h);
      resumed = true;
    });
    const r = await s.run();
    expect(r.deadlock).toBeDefined();
    expect(s.wake(t)).toBe(false);
    await s.run();
    await yieldPoint(s);
    expect(resumed).toBe(false);
  });

  it('maxSteps ends a livelock', async () => {
    const s = createScheduler({ maxSteps: 50 });
    let spins = 0;
    s.spawn('spinner', async () => {
      for (;;) {
        spins++;
        await yieldPoint(s);
      }
    });
    const r = await s.run();
    expect(r.stepLimitReached).toBe(true);
    expect(r.deadlock).toBeUndefined();
    expect(spins).toBeLessThanOrEqual(51);
  });
});

/** Records every context it is asked about, then defers to `inner`. */
function recordingPolicy(inner: (ctx: PickContext) => Choice) {
  const seen: {
    step: number;
    current: number | undefined;
    choices: string[];
    event: string | undefined;
    preempt: boolean;
  }[] = [];
  const policy: SchedulePolicy = {
    name: 'recording',
    pick(ctx) {
      const c = inner(ctx);
      seen.push({
        step: ctx.step,
        current: ctx.current?.id,
        choices: ctx.choices.map((x) => (x.type === 'timer' ? 'timer' : `T${x.task.id}`)),
        event: ctx.event?.kind,
        preempt: isPreemption(ctx, c),
      });
      return c;
    },
  };
  return { policy, seen };
}

describe('policy interface', () => {
  it('sees choices in id order with the timer last, the current task and its event', async () => {
    // Always the lowest-id task; the timer only when nothing is runnable.
    const { policy, seen } = recordingPolicy((ctx) => ctx.choices[0]!);
    const s = createScheduler({ policy });
    s.spawn('a', async () => {
      await s.sleep(head('a'), 3);
    });
    s.spawn('b', async () => {
      await yieldPoint(s, 'b1');
      await yieldPoint(s, 'b2');
    });
    const r = await s.run();
    expect(seen[0]).toEqual({
      step: 1,
      current: undefined,
      choices: ['T1', 'T2'],
      event: undefined,
      preempt: false,
    });
    expect(seen.some((x) => x.choices.join() === 'T2,timer')).toBe(true);
    expect(seen.some((x) => x.event === 'test.yield')).toBe(true);
    expect(r.preemptions).toBe(seen.filter((x) => x.preempt).length);
    expect(r.deadlock).toBeUndefined();
  });

  it('counts a switch away from a runnable task as a preemption', async () => {
    // Alternate between tasks at every point.
    const { policy, seen } = recordingPolicy((ctx) => {
      const other = ctx.choices.find((c) => c.type === 'task' && c.task !== ctx.current);
      return other ?? ctx.choices[0]!;
    });
    const s = createScheduler({ policy });
    const log: string[] = [];
    for (const name of ['a', 'b']) {
      s.spawn(name, async () => {
        for (let i = 0; i < 2; i++) {
          log.push(`${name}${i}`);
          await yieldPoint(s);
        }
      });
    }
    const r = await s.run();
    expect(log).toEqual(['a0', 'b0', 'a1', 'b1']);
    expect(r.preemptions).toBeGreaterThan(0);
    expect(r.preemptions).toBe(seen.filter((x) => x.preempt).length);
  });

  it('a policy may return an equal choice value rather than the same object', async () => {
    const s = createScheduler({
      policy: { pick: (ctx) => ({ ...ctx.choices[0]! }) },
    });
    const log: string[] = [];
    s.spawn('a', async () => {
      log.push('a');
      await yieldPoint(s);
    });
    s.spawn('b', async () => {
      log.push('b');
    });
    await s.run();
    expect(log).toEqual(['a', 'b']);
  });

  it('a choice not in ctx.choices aborts the run with a KernelBugError', async () => {
    const s = createScheduler({ policy: { name: 'broken', pick: () => ({ type: 'timer' }) } });
    s.spawn('a', async () => {});
    s.spawn('b', async () => {});
    await expect(s.run()).rejects.toThrow(
      /policy 'broken' returned a choice that is not in ctx.choices/,
    );
    expect(s.running).toBe(false);
  });

  it('a throwing policy aborts the run with its error', async () => {
    const s = createScheduler({
      policy: {
        pick: () => {
          throw new Error('policy failed');
        },
      },
    });
    s.spawn('a', async () => {});
    s.spawn('b', async () => {});
    await expect(s.run()).rejects.toThrow('policy failed');
  });
});
