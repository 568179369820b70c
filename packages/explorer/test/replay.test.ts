import { describe, expect, it } from 'vitest';
import {
  abbaDeadlock,
  explore,
  formatSchedule,
  formatTraceTable,
  independentSteps,
  lostUpdate,
  replaySchedule,
  type Scenario,
  ScheduleMismatchError,
  ScheduleSyntaxError,
  waitTimeout,
} from '../src/index.ts';

describe('replay', () => {
  for (const scenario of [lostUpdate, abbaDeadlock] as Scenario[]) {
    it(`reproduces the printed violation of ${scenario.name} exactly`, async () => {
      const r = await explore(scenario);
      const v = r.minimal!;
      for (const schedule of [v.schedule, r.violation!.schedule]) {
        const o = await replaySchedule(scenario, schedule);
        expect(o.failure?.kind).toBe(r.violation!.kind);
        expect(o.schedule).toBe(schedule);
      }
      const again = await replaySchedule(scenario, v.schedule);
      expect(again.failure).toEqual({ kind: v.kind, message: v.message });
      expect(again.steps).toBe(v.steps);
      expect(again.preemptions).toBe(v.preemptions);
      expect(again.codes.length).toBe(v.decisions);
      expect(again.trace?.events).toEqual(r.trace?.events);
      expect(formatTraceTable(again.trace!)).toBe(formatTraceTable(r.trace!));
    });
  }

  it('accepts the full (untrimmed) schedule as well as the trimmed one', async () => {
    const o = await replaySchedule(lostUpdate, '1.1.2');
    const full = formatSchedule(o.codes);
    expect(full).toBe('1.1.2x3');
    const o2 = await replaySchedule(lostUpdate, full);
    expect(o2.failure).toEqual(o.failure);
    expect(o2.schedule).toBe('1.1.2');
  });

  it('runs default choices for an empty schedule (no violation for the lost update)', async () => {
    const o = await replaySchedule(lostUpdate, '');
    expect(o.failure).toBeUndefined();
    expect(o.preemptions).toBe(0);
  });

  it('pins a timeout: the timer fires where the schedule says', async () => {
    const timeout = await replaySchedule(waitTimeout, '1.1.t');
    expect(timeout.trace?.events.find((e) => e.kind === 'sched.timer')?.label).toBe('waiter');
    expect(timeout.failure).toBeUndefined();
    const woken = await replaySchedule(waitTimeout, '1.1.2');
    expect(woken.trace?.events.some((e) => e.kind === 'sched.timer')).toBe(false);
  });

  it('rejects a schedule that does not fit the scenario, saying where', async () => {
    await expect(replaySchedule(lostUpdate, '1.3')).rejects.toThrow(ScheduleMismatchError);
    await expect(replaySchedule(lostUpdate, '1.3')).rejects.toThrow(
      /asks for task 3 at decision 2, but the choices there are T1 'inc0', T2 'inc1'/,
    );
    await expect(replaySchedule(lostUpdate, '1.t')).rejects.toThrow(/asks for the timer/);
    await expect(replaySchedule(independentSteps(1), '1.1.1.1')).rejects.toThrow(
      /has 4 decisions but the run made only 1/,
    );
    await expect(replaySchedule(lostUpdate, '1.x')).rejects.toThrow(ScheduleSyntaxError);
  });
});
