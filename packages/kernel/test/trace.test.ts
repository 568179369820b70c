import { describe, expect, it } from 'vitest';
import { createScheduler, formatTrace, Mutex, mutexLock, mutexUnlock } from '../src/index.ts';
import { yieldPoint } from './helpers.ts';

async function twoLockers(trace: boolean) {
  const s = createScheduler({ trace });
  const m = new Mutex(s, 'big_lock', 'dev0');
  for (const name of ['a', 'b']) {
    s.spawn(name, async () => {
      await mutexLock(m);
      await yieldPoint(s);
      mutexUnlock(m);
    });
  }
  await s.run();
  return s;
}

describe('Tracer', () => {
  it('records nothing when disabled (the default)', async () => {
    const s = await twoLockers(false);
    expect(s.trace.enabled).toBe(false);
    expect(s.trace.events).toEqual([]);
  });

  it('records acquire points, acquisitions, releases and scheduler events with step, task and time', async () => {
    const s = await twoLockers(true);
    const kinds = s.trace.events.map((e) => `${e.taskName}:${e.kind}`);
    expect(kinds).toEqual([
      'boot:sched.switch',
      'a:task.start',
      'a:lock.mutex_lock',
      'a:lock.acquired',
      'a:test.yield',
      'a:lock.mutex_unlock',
      'a:task.exit',
      'a:sched.switch',
      'b:task.start',
      'b:lock.mutex_lock',
      'b:lock.acquired',
      'b:test.yield',
      'b:lock.mutex_unlock',
      'b:task.exit',
    ]);
    const acquire = s.trace.events.find((e) => e.kind === 'lock.mutex_lock')!;
    expect(acquire).toMatchObject({ taskId: 1, label: 'big_lock', obj: 'dev0', time: 1000 });
    const steps = s.trace.events.map((e) => e.step);
    expect(steps).toEqual([...steps].sort((x, y) => x - y));
  });

  it('can be switched on later and cleared', async () => {
    const s = createScheduler();
    await yieldPoint(s, 'before');
    s.trace.enabled = true;
    await yieldPoint(s, 'after');
    expect(s.trace.events.map((e) => e.label)).toEqual(['after']);
    s.trace.clear();
    expect(s.trace.events).toEqual([]);
  });

  it('formatTrace prints one line per event', async () => {
    const s = createScheduler({ trace: true });
    await s.point({ kind: 'lock.down_read', label: 'mmap_sem', obj: 'mm1' });
    await yieldPoint(s);
    expect(formatTrace(s.trace.events)).toBe(
      '1\t1000\tT0:boot\tlock.down_read mmap_sem [mm1]\n2\t2000\tT0:boot\ttest.yield yield',
    );
  });
});
