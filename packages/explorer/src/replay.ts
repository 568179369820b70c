import type { Choice, PickContext } from '@hmmsim/kernel';
import { type Chooser, defaultIndex } from './chooser.ts';
import { ScheduleMismatchError } from './errors.ts';
import type { ScheduleOutcome } from './outcome.ts';
import { runSchedule } from './run-schedule.ts';
import type { Scenario } from './scenario.ts';
import { choiceCode, formatSchedule, parseSchedule, TIMER_CODE } from './schedule-string.ts';

/** 'T1, T2, timer' for the choices of a decision.
 * Mirrors: model-only.
 */
export function describeChoices(ctx: PickContext): string {
  return ctx.choices
    .map((c) => (c.type === 'task' ? `T${c.task.id} '${c.task.name}'` : 'timer'))
    .join(', ');
}

/** Follows a list of choice codes, then takes default choices. */
export class ReplayChooser implements Chooser {
  /** Decisions seen so far. */
  decisions = 0;

  constructor(
    private readonly codes: readonly number[],
    private readonly text: string,
  ) {}

  /** The coded choice at decision `d`, or the default past the end. */
  choose(ctx: PickContext, d: number): Choice {
    this.decisions = d + 1;
    const code = this.codes[d];
    if (code === undefined) return ctx.choices[defaultIndex(ctx)]!;
    const found = ctx.choices.find((c) => choiceCode(c) === code);
    if (found !== undefined) return found;
    const want = code === TIMER_CODE ? 'the timer' : `task ${code}`;
    throw new ScheduleMismatchError(
      `schedule '${this.text}' asks for ${want} at decision ${d + 1}, but the choices there are ` +
        `${describeChoices(ctx)}; expected a schedule printed for this scenario`,
    );
  }

  /** Throw if the schedule has more decisions than the run made. */
  checkConsumed(): void {
    if (this.codes.length > this.decisions) {
      throw new ScheduleMismatchError(
        `schedule '${this.text}' has ${this.codes.length} decisions but the run made only ` +
          `${this.decisions}; expected a schedule printed for this scenario`,
      );
    }
  }
}

/** Options of replaySchedule(). */
export interface ReplayOptions {
  /** Record the trace (default true). */
  readonly trace?: boolean | undefined;
}

/**
 * Rerun exactly the interleaving `schedule` (text form) describes; throws ScheduleSyntaxError or
 * ScheduleMismatchError when it does not fit the scenario.
 * Mirrors: model-only (CHESS/loom-style replay of a recorded schedule).
 */
export async function replaySchedule<S>(
  scenario: Scenario<S>,
  schedule: string,
  opts: ReplayOptions = {},
): Promise<ScheduleOutcome> {
  const codes = parseSchedule(schedule);
  const chooser = new ReplayChooser(codes, formatSchedule(codes));
  const outcome = await runSchedule(scenario, chooser, { trace: opts.trace ?? true });
  chooser.checkConsumed();
  return outcome;
}
