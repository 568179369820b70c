/**
 * Replay one schedule of a viewer scenario with the trace on, reading the state at every
 * scheduling point (through the scenario's invariant hook, which the explorer calls after every
 * step), and cut the trace into stepper positions: one per scheduler step, each with its events
 * and the state after it.
 */
import {
  parseSchedule,
  replaySchedule,
  type Scenario,
  ScheduleMismatchError,
  ScheduleSyntaxError,
  type TraceRow,
  traceRows,
} from '@hmmsim/explorer';
import type { Scheduler } from '@hmmsim/kernel';
import { captureState, LaneTracker, type RawState, stateView } from './capture.ts';
import { ViewerInputError } from './errors.ts';
import { type ViewerScenario, viewerScenario } from './registry.ts';
import type { ReplayView, RowView, StepView } from './types.ts';

/**
 * Check that `schedule` is a schedule string ('2x6.1'); ViewerInputError naming the bad token.
 */
export function checkScheduleText(schedule: string): void {
  try {
    parseSchedule(schedule);
  } catch (error) {
    if (error instanceof ScheduleSyntaxError) throw new ViewerInputError(error.message);
    throw error;
  }
}

/** The lane running after `row`: the switch's target, else the row's own lane. */
function laneAfter(row: TraceRow): number {
  return row.type !== 'event' && row.to !== undefined ? row.to : row.lane;
}

/** `vs.scenario` with an invariant that first records the state it is given. */
function capturing(vs: ViewerScenario, captures: RawState[]): Scenario<unknown> {
  const base = vs.scenario;
  let sched: Scheduler | undefined;
  return {
    ...base,
    setup(s) {
      sched = s;
      return base.setup(s);
    },
    invariant(state) {
      const trace = sched?.trace;
      const n = trace?.enabled === true ? trace.events.length : 0;
      const raw = captureState(vs.probe(state), n);
      // Same event count, same step: the later read is the more recent state of that step.
      if (captures.length > 0 && captures[captures.length - 1]!.eventCount === n) captures.pop();
      captures.push(raw);
      base.invariant?.(state);
    },
  };
}

/**
 * Replay `schedule` of scenario `scenarioId` on driver `implId` and return the per-CPU trace with
 * the state after every step. ViewerInputError for an unknown scenario or driver, a schedule
 * that does not parse, or one that does not fit this scenario.
 */
export async function replayView(
  scenarioId: string,
  implId: string,
  schedule: string,
): Promise<ReplayView> {
  const vs = viewerScenario(scenarioId, implId);
  checkScheduleText(schedule);
  const captures: RawState[] = [];
  let outcome: Awaited<ReturnType<typeof replaySchedule>>;
  try {
    outcome = await replaySchedule(capturing(vs, captures), schedule, { trace: true });
  } catch (error) {
    if (error instanceof ScheduleMismatchError) {
      throw new ViewerInputError(
        `the schedule does not fit ${vs.impl.scenarioName}: ${error.message}`,
      );
    }
    throw error;
  }
  const trace = outcome.trace!;
  const { lanes, rows } = traceRows(trace);
  const rowViews: RowView[] = rows.map((r) => ({
    step: r.step,
    time: r.time,
    lane: r.lane,
    text: r.text,
    type: r.type,
  }));
  const preempt = new Set(trace.preemptSteps);
  const tracker = new LaneTracker(lanes);
  const events = trace.events;
  /** The first capture holding at least `need` events (else the last one). */
  let c = 0;
  const captureFor = (need: number): RawState => {
    while (c < captures.length - 1 && captures[c]!.eventCount < need) c++;
    return captures[c]!;
  };
  const view = (raw: RawState) => {
    tracker.feedTo(events, raw.eventCount);
    return stateView(raw, tracker);
  };
  const steps: StepView[] = [
    {
      index: 0,
      step: undefined,
      rowStart: 0,
      rowEnd: 0,
      lane: undefined,
      preempted: false,
      state: view(captureFor(0)),
    },
  ];
  let e = 0;
  for (let r = 0; r < rowViews.length; ) {
    const step = rowViews[r]!.step;
    let end = r;
    while (end < rowViews.length && rowViews[end]!.step === step) end++;
    while (e < events.length && events[e]!.step <= step) e++;
    steps.push({
      index: steps.length,
      step,
      rowStart: r,
      rowEnd: end,
      lane: laneAfter(rows[end - 1]!),
      preempted: preempt.has(step),
      state: view(captureFor(e)),
    });
    r = end;
  }
  const first = steps.find((s) => s.state.problems > 0);
  // The step where the first preempted task gets the CPU back.
  let resumeStep: number | undefined;
  const p = rows.findIndex((row) => row.type === 'preempt');
  if (p >= 0) {
    const lane = rows[p]!.lane;
    const back = rows.findIndex((row, i) => i > p && row.type !== 'event' && row.to === lane);
    if (back >= 0) resumeStep = steps.find((s) => s.rowStart <= back && back < s.rowEnd)?.index;
  }
  return {
    scenario: vs.info.id,
    impl: vs.impl.id,
    scenarioName: vs.impl.scenarioName,
    schedule: outcome.schedule,
    preemptions: outcome.preemptions,
    failure:
      outcome.failure === undefined
        ? undefined
        : { kind: outcome.failure.kind, message: outcome.failure.message },
    lanes,
    rows: rowViews,
    steps,
    firstProblemStep: first?.index,
    resumeStep,
  };
}
