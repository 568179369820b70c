// Access reports of the clock and of timers: what the explorer's partial-order reduction takes
// as the dependencies of a step that reads the time, and of a timer firing.
import { describe, expect, it } from 'vitest';
import {
  accessReporting,
  accessSink,
  type Choice,
  Clock,
  createScheduler,
  noteRead,
  noteWrite,
  type PickContext,
  reportingAccesses,
  type Task,
  WaitQueueHead,
  waitEventTimeout,
} from '../src/index.ts';

/** One report: who (task name or '-'), read or write, and what. */
type Report = string;

/** Run `fn` with a hook that records every report as 'R name' / 'W name'. */
function recorded(fn: () => void): Report[] {
  const out: Report[] = [];
  const name = (o: object) => (o instanceof Clock ? 'clock' : o.constructor.name);
  accessSink.hook = (obj, write) => out.push(`${write ? 'W' : 'R'} ${name(obj)}`);
  try {
    fn();
  } finally {
    accessSink.hook = undefined;
  }
  return out;
}

describe('the clock as a shared object', () => {
  it('a read of the time is a read of the clock; moving it is a write; standing still is nothing', () => {
    const c = new Clock();
    expect(recorded(() => c.jiffies)).toEqual(['R clock']);
    expect(recorded(() => c.now)).toEqual(['R clock']);
    expect(recorded(() => c.advance(0))).toEqual([]);
    expect(recorded(() => c.advance(1000))).toEqual(['W clock']);
    expect(recorded(() => c.advanceTo(500))).toEqual([]); // earlier than now: it does not move
    expect(recorded(() => c.advanceTo(2000))).toEqual(['W clock']);
    expect(c.now).toBe(2000);
  });
});

describe('a timer firing', () => {
  it('reports the timer list, the sleeper and the clock, and nothing for a step at nsPerStep 0', async () => {
    const reports: string[] = [];
    let firing = false;
    const policy = {
      name: 'fire-timers',
      pick(ctx: PickContext): Choice {
        const timer = ctx.choices.find((c) => c.type === 'timer');
        firing = timer !== undefined;
        return timer ?? ctx.choices[0]!;
      },
      access(task: Task, obj: object | undefined, write: boolean) {
        const what =
          obj === undefined ? 'everything' : obj instanceof Clock ? 'clock' : obj.constructor.name;
        reports.push(`${firing ? 'timer' : task.name}: ${write ? 'W' : 'R'} ${what}`);
      },
    };
    const sched = createScheduler({ policy, nsPerStep: 0 });
    const wq = new WaitQueueHead(sched, 'never');
    let left = -1;
    sched.spawn('sleeper', async () => {
      left = await waitEventTimeout(wq, () => false, 2);
    });
    sched.spawn('other', async () => {
      await sched.point({ kind: 'op', label: 'x' });
    });
    await sched.run();
    expect(left).toBe(0);
    const timer = reports.filter((r) => r.startsWith('timer'));
    expect(timer).toContain('timer: W TaskImpl');
    expect(timer).toContain('timer: W TimerList');
    expect(timer).toContain('timer: W clock');
    expect(reports).not.toContain('other: W clock'); // no time passes per step at nsPerStep 0
    expect(reports.some((r) => r.endsWith('everything'))).toBe(false);
    // The sleeper armed the timer (a write of the list) after reading the time.
    expect(reports).toContain('sleeper: W TimerList');
    expect(reports).toContain('sleeper: R clock');
  });
});

describe('accessReporting', () => {
  it('is true exactly while a hook takes reports, and a guarded report reaches the hook', () => {
    expect(accessReporting).toBe(false);
    expect(reportingAccesses()).toBe(false);
    const seen: string[] = [];
    const obj = {};
    accessSink.hook = (o, write, index) => seen.push(`${o === obj} ${write} ${index}`);
    try {
      expect(accessReporting).toBe(true);
      expect(reportingAccesses()).toBe(true);
      if (accessReporting) noteRead(obj, 3);
      if (accessReporting) noteWrite(obj);
    } finally {
      accessSink.hook = undefined;
    }
    expect(accessReporting).toBe(false);
    noteRead(obj, 4); // no hook: nothing recorded
    expect(seen).toEqual(['true false 3', 'true true undefined']);
  });
});
