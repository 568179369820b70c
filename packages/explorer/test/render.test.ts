import { describe, expect, it } from 'vitest';
import { explore, formatTraceTable, lostUpdate, toMermaid, traceRows } from '../src/index.ts';

describe('trace rendering', async () => {
  const r = await explore(lostUpdate);
  const trace = r.trace!;

  it('has one lane per task and marks the preemption', () => {
    const { lanes, rows } = traceRows(trace);
    expect(lanes).toEqual([
      { id: 1, name: 'inc0' },
      { id: 2, name: 'inc1' },
    ]);
    expect(rows.filter((x) => x.type === 'preempt')).toHaveLength(1);
    expect(rows.find((x) => x.type === 'preempt')).toMatchObject({ lane: 1, to: 2 });
  });

  it('prints a per-CPU table with labelled steps in per-task columns', () => {
    const table = formatTraceTable(trace);
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^ step\s+time\(us\)\s+T1 inc0\s+T2 inc1$/);
    expect(table).toContain('>> preempted -> T2');
    expect(lines.at(-1)).toBe(
      'VIOLATION (final-check): lost update: x is 1 after two increments; expected 2',
    );
    // T2's steps sit in the second column.
    const t2 = lines.find((l) => l.includes('counter.stored x = 1') && l.indexOf('counter') > 30);
    expect(t2).toBeDefined();
  });

  it('draws a Mermaid sequence diagram', () => {
    const m = toMermaid(trace, 'lost-update');
    const lines = m.split('\n');
    expect(lines[0]).toBe('sequenceDiagram');
    expect(m).toContain('participant T1 as T1 inc0');
    expect(m).toContain('T1-)T2: preempt');
    expect(m).toContain('T2-->>T1: switch');
    expect(lines.at(-1)).toMatch(
      /^ {2}Note over T1,T2: VIOLATION \(final-check\): .*#59; expected 2$/,
    );
  });
});
