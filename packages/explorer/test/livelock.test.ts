import type { TraceEvent } from '@hmmsim/kernel';
import { describe, expect, it } from 'vitest';
import { cycleAt, describeLivelock, formatTraceTable, tailCycle } from '../src/index.ts';

/** A trace event of task 1 ('T') with a label. */
function ev(step: number, kind: string, label: string, taskId = 1, taskName = 'T'): TraceEvent {
  return { step, taskId, taskName, kind, label, time: step * 1000 };
}

describe('cycles', () => {
  it('tailCycle finds the block the sequence ends with, preferring the most coverage', () => {
    const keys = ['a', 'b', 'x', 'y', 'z', 'x', 'y', 'z', 'x', 'y', 'z', 'x', 'y', 'z'];
    expect(tailCycle(keys)).toEqual({ start: 2, period: 3, repeats: 4 });
    expect(tailCycle(['a', 'b', 'c', 'd'])).toBeUndefined();
    expect(tailCycle(['a', 'a'])).toBeUndefined(); // fewer than three copies
  });

  it('cycleAt finds the repetition starting at a position', () => {
    const keys = ['s', 'p', 'q', 'p', 'q', 'p', 'q', 'e'];
    expect(cycleAt(keys, 1)).toEqual({ start: 1, period: 2, repeats: 3 });
    expect(cycleAt(keys, 0)).toBeUndefined();
  });
});

describe('describeLivelock', () => {
  it('names the task, the turn length, the count and says nothing changes when the sequence is traced', () => {
    const events = [ev(1, 'task.start', 'T')];
    for (let i = 0; i < 50; i++) {
      events.push(ev(2 + 2 * i, 'mmu_interval.check_retry', 'seq=1 (now 3) -> true'));
      events.push(ev(3 + 2 * i, 'hmm.range_fault', 'ret -16'));
    }
    const d = describeLivelock(events);
    expect(d).toMatch(/^livelock: 'T' repeated the same 2-event turn 50 times/);
    expect(d).toMatch(/the sequence it retries with never changes/);
  });

  it('undefined for a trace that does not end in a cycle', () => {
    expect(describeLivelock([ev(1, 'a', ''), ev(2, 'b', ''), ev(3, 'c', '')])).toBeUndefined();
  });
});

describe('formatTraceTable', () => {
  it('wraps a long cell onto more lines instead of cutting it', () => {
    const long = `UNMAP ${'0x10001000-0x10002000 '.repeat(6)}end`;
    const table = formatTraceTable({
      events: [ev(1, 'task.start', 'T'), ev(2, 'mmu_notifier.invalidate_range_start', long)],
      preemptSteps: [],
      failure: undefined,
    });
    const joined = table
      .split('\n')
      .map((l) => l.slice(18).trim())
      .join(' ');
    expect(joined.replace(/\s+/g, ' ')).toContain(long.replace(/\s+/g, ' ').trim());
    expect(table).not.toContain('…');
  });

  it('folds a block of rows repeated three or more times into one copy and a count', () => {
    const events = [ev(1, 'task.start', 'T')];
    for (let i = 0; i < 100; i++) events.push(ev(2 + i, 'spin', 'again'));
    const table = formatTraceTable({ events, preemptSteps: [], failure: undefined });
    expect(table).toMatch(/the 1 row\(s\) above repeat 99 more time\(s\), identical, to step 101/);
    expect(table.split('\n').length).toBeLessThan(8);
  });
});
