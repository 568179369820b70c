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
    // The explorer's clock stands still between timers (nsPerStep 0): no time column.
    expect(lines[0]).toMatch(/^ step\s+T1 inc0\s+T2 inc1$/);
    expect(table).toContain('>> preempted -> T2');
    expect(lines.at(-1)).toBe(
      'VIOLATION (final-check): lost update: x is 1 after two increments; expected 2',
    );
    // T2's steps sit in the second column.
    const t2 = lines.find((l) => l.includes('counter.stored x = 1') && l.indexOf('counter') > 20);
    expect(t2).toBeDefined();
  });

  it('shows a time column when the scenario gives steps a duration', async () => {
    const timed = await explore({ ...lostUpdate, nsPerStep: 1000 });
    const lines = formatTraceTable(timed.trace!).split('\n');
    expect(lines[0]).toMatch(/^ step\s+time\(us\)\s+T1 inc0\s+T2 inc1$/);
    // One microsecond per scheduling point: the time climbs with the steps, never back.
    const times = lines
      .slice(1, -1)
      .map((l) => /^\s*\d+\s+(\d+)\s/.exec(l))
      .filter((m) => m !== null)
      .map((m) => Number(m[1]));
    expect(times.length).toBeGreaterThan(5);
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThanOrEqual(times[i - 1]!);
    expect(times.at(-1)).toBeGreaterThan(times[0]!);
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
