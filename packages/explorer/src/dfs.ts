import type { Choice, PickContext } from '@hmmsim/kernel';
import type { Chooser } from './chooser.ts';
import { type DecisionNode, describeNode, newNode, sameDecision } from './decision-node.ts';
import { NondeterminismError } from './errors.ts';
import type { Violation } from './outcome.ts';
import { type RunOptions, type RunRecord, runSchedule } from './run-schedule.ts';
import type { Scenario } from './scenario.ts';
import { formatSchedule } from './schedule-string.ts';

/** What a replay that diverged should check. */
export const NONDETERMINISM_HINT =
  'setup() must build all state afresh and tasks must not depend on random numbers, the ' +
  'wall clock or state kept between runs';

/**
 * Depth-first enumeration of schedules with a preemption bound, replaying the current prefix
 * on every run (stateless model checking) and checking that replays match.
 */
export class DfsChooser implements Chooser {
  protected readonly stack: DecisionNode[] = [];
  private prefix = 0;

  constructor(
    private readonly bound: number,
    private readonly scenarioName: string,
    /** Choice codes of leading decisions every run takes (a unit of a split search). */
    private readonly fixed: readonly number[] = [],
  ) {}

  /** Call before each run: the current stack is the prefix to replay. */
  startRun(): void {
    this.prefix = this.stack.length;
  }

  /** Replay the prefix (verifying it), then extend it with default-first decisions. */
  choose(ctx: PickContext, d: number, preemptionsSoFar: number): Choice {
    let node = this.stack[d];
    if (node === undefined) {
      node = this.place(newNode(ctx, preemptionsSoFar), d);
      this.stack.push(node);
    } else if (!sameDecision(node, ctx)) {
      this.diverged(d, describeNode(newNode(ctx, preemptionsSoFar)), describeNode(node));
    }
    return ctx.choices[node.order[node.pos]!]!;
  }

  /** After a run of `decisions` decisions; `cut` = it ended at a decision (failure, pruning). */
  finishRun(decisions: number, cut: boolean): void {
    if (cut) {
      if (this.stack.length > decisions) this.stack.length = decisions;
    } else if (decisions < this.prefix) {
      this.diverged(decisions, 'the end of the run', 'more decisions');
    }
  }

  /** A node met for the first time at decision `d`, as this search takes it. */
  protected place(node: DecisionNode, d: number): DecisionNode {
    return d < this.fixed.length ? this.frozen(node, d) : node;
  }

  /** The node of prefix decision `d`: its one alternative is the prefix's choice. */
  private frozen(node: DecisionNode, d: number): DecisionNode {
    const code = this.fixed[d]!;
    const at = node.order.findIndex((idx) => node.codes[idx] === code);
    if (at < 0) this.diverged(d, describeNode(node), `a choice of ${code}`);
    return {
      ...node,
      order: [node.order[at]!],
      cost: [node.cost[at]!],
      pos: 0,
    };
  }

  /** Decisions no search of this chooser changes (its prefix). */
  protected get frozenDepth(): number {
    return this.fixed.length;
  }

  /** Move to the next schedule within the bound; false when the space is exhausted. */
  advance(): boolean {
    const s = this.stack;
    while (s.length > this.fixed.length) {
      const top = s[s.length - 1]!;
      for (let p = top.pos + 1; p < top.order.length; p++) {
        if (top.preBefore + top.cost[p]! <= this.bound) {
          top.pos = p;
          return true;
        }
      }
      s.pop();
    }
    return false;
  }

  /** Text form of the first `n` decisions of the current path. */
  prefixText(n: number): string {
    const codes: number[] = [];
    for (const node of this.stack.slice(0, n)) codes.push(node.codes[node.order[node.pos]!]!);
    return formatSchedule(codes);
  }

  /** Throw NondeterminismError for decision `d`. */
  protected diverged(d: number, now: string, before: string): never {
    const schedule = this.prefixText(this.prefix);
    throw new NondeterminismError(
      `scenario '${this.scenarioName}' is not deterministic: replaying schedule '${schedule}', ` +
        `decision ${d + 1} found ${now}, where an earlier run of the same schedule found ` +
        `${before}; ${NONDETERMINISM_HINT}`,
      schedule,
    );
  }
}

/** Options of dfsSearch(). */
export interface DfsSearchOptions<S> {
  /** Preemption bound (Infinity: none). */
  readonly bound: number;
  /** Stop (not exhausted) after this many schedules. */
  readonly maxSchedules: number;
  /** Called after every run that was not pruned; return true to stop the search. */
  readonly visit: (rec: RunRecord, run: number) => boolean;
  /** Cut runs that reach this many steps (re-read before every run). */
  readonly pruneAtSteps?: (() => number) | undefined;
  /** Called with the final state and outcome of every schedule run (not the pruned ones). */
  readonly onSchedule?: RunOptions<S>['onSchedule'];
  /** Only the schedules that start with these choice codes (a unit of a split search). */
  readonly prefix?: readonly number[] | undefined;
}

/** Counts and end state of a search. */
export interface SearchResult {
  readonly schedules: number;
  readonly steps: number;
  /** Every schedule within the bound was run. */
  readonly exhausted: boolean;
  /** Set when a replay diverged (the scenario is not deterministic). */
  readonly nondeterminism: Violation | undefined;
}

/** The violation reported for a non-deterministic scenario. */
function nondeterminismViolation(e: NondeterminismError, run: number): Violation {
  return {
    kind: 'nondeterminism',
    message: e.message,
    schedule: e.schedule,
    preemptions: 0,
    steps: 0,
    decisions: 0,
    run,
    seed: undefined,
  };
}

/**
 * The end of a search whose run number `schedules` diverged from its replay.
 * Mirrors: model-only.
 */
export function nondeterminismResult(
  e: NondeterminismError,
  schedules: number,
  steps: number,
): SearchResult {
  const v = nondeterminismViolation(e, schedules);
  return { schedules: schedules + 1, steps, exhausted: false, nondeterminism: v };
}

/**
 * Run every schedule of `scenario` with at most `bound` preemptions, depth first, default
 * choices first, until `visit` says stop or the budget runs out.
 * Mirrors: model-only (CHESS-style preemption-bounded search).
 */
export function dfsSearch<S>(
  scenario: Scenario<S>,
  opts: DfsSearchOptions<S>,
): Promise<SearchResult> {
  return searchLoop(scenario, new DfsChooser(opts.bound, scenario.name, opts.prefix), opts);
}

/** What searchLoop() adds to each run: more run options, and a step after a run that continues. */
export interface SearchLoopHooks<S> {
  /** Options for the run about to start (called once per run, before it). */
  readonly runOptions?: (() => RunOptions<S>) | undefined;
  /** After a run that did not stop the search, before the chooser moves on. */
  readonly afterRun?: (() => void) | undefined;
}

/**
 * The loop of every systematic search: run the chooser's current schedule, let `visit` see it,
 * move the chooser to its next schedule; until `visit` stops it, the budget runs out, the
 * chooser has nothing left, or a replay diverges (a nondeterminism result).
 * Mirrors: model-only (the driver loop of a stateless model checker).
 */
export async function searchLoop<S>(
  scenario: Scenario<S>,
  chooser: DfsChooser,
  opts: Omit<DfsSearchOptions<S>, 'bound' | 'prefix'>,
  hooks: SearchLoopHooks<S> = {},
): Promise<SearchResult> {
  let schedules = 0;
  let steps = 0;
  for (;;) {
    if (schedules >= opts.maxSchedules) {
      return { schedules, steps, exhausted: false, nondeterminism: undefined };
    }
    chooser.startRun();
    let rec: RunRecord;
    try {
      rec = await runSchedule(scenario, chooser, {
        pruneAtSteps: opts.pruneAtSteps?.(),
        onSchedule: opts.onSchedule,
        ...hooks.runOptions?.(),
      });
      chooser.finishRun(rec.codes.length, rec.cut);
    } catch (error) {
      if (!(error instanceof NondeterminismError)) throw error;
      return nondeterminismResult(error, schedules, steps);
    }
    const run = schedules++;
    steps += rec.steps;
    if (!rec.pruned && opts.visit(rec, run)) {
      return { schedules, steps, exhausted: false, nondeterminism: undefined };
    }
    hooks.afterRun?.();
    if (!chooser.advance()) return { schedules, steps, exhausted: true, nondeterminism: undefined };
  }
}
