/**
 * Run the race scenarios of one implementation exhaustively (DFS, bounded or over all
 * interleavings with partial-order reduction) and gather what a
 * report needs: schedules explored, the minimal violating schedule and its trace, and — replaying
 * that schedule — which device entry went stale and who owns its page now.
 *
 * Mirrors: model-only (what `hmmsim race` prints).
 */
import {
  coverageText,
  DEFAULT_DFS_BOUND,
  explore,
  parseSchedule,
  ReplayChooser,
  runSchedule,
  type TraceRecord,
} from '@hmmsim/explorer';
import { checkIntIn, InvalidArgumentError } from '@hmmsim/kernel';
import {
  describePfnOwner,
  RACE_IMPLS,
  RACE_OPS,
  type RaceImpl,
  type RaceOp,
  type RaceState,
  raceScenario,
  raceViolations,
} from './scenarios.ts';

/**
 * A stale or over-writable device entry seen at the end of the minimal schedule.
 * Mirrors: model-only.
 */
export interface RaceBrokenEntry {
  /** 'stale': the CPU no longer maps the page there; 'writable': the CPU maps it read-only. */
  readonly kind: 'stale' | 'writable';
  readonly addr: number;
  /** The pfn the device still maps. */
  readonly pfn: number;
  /** Who maps that pfn now ('' when nobody: the page is free or only the device has it). */
  readonly owner: string;
}

/**
 * One scenario's exploration.
 * Mirrors: model-only.
 */
export interface RaceOpResult {
  readonly op: RaceOp;
  readonly scenario: string;
  readonly schedules: number;
  readonly exhausted: boolean;
  /**
   * What the search showed, claiming no more than was run (the explorer's coverageText):
   * "verified over all interleavings (...)" for an unbounded search that finished, "clean up to
   * N preemptions (...)" for a bounded one.
   */
  readonly coverage: string;
  /** Present when a violation was found. */
  readonly violation:
    | {
        readonly message: string;
        readonly schedule: string;
        readonly preemptions: number;
        readonly steps: number;
        readonly trace: TraceRecord | undefined;
        readonly broken: readonly RaceBrokenEntry[];
        /** The pfn CPU0 freed and the other process received (munmap, reclaim). */
        readonly reallocated: { readonly pfn: number; readonly owner: string } | undefined;
      }
    | undefined;
}

/**
 * Every scenario of one implementation.
 * Mirrors: model-only.
 */
export interface RaceReport {
  readonly impl: RaceImpl;
  /** What the implementation should show: legacy 'violation', shim and interval 'pass'. */
  readonly expect: 'violation' | 'pass';
  readonly bound: number;
  readonly results: readonly RaceOpResult[];
  /** Schedules over all scenarios. */
  readonly schedules: number;
  /** Scenarios with a violation. */
  readonly violations: number;
  /** True when the outcome matches `expect` for every scenario (and clean ones were exhausted). */
  readonly asExpected: boolean;
}

/**
 * Options of runRace().
 * Mirrors: model-only.
 */
export interface RunRaceOptions {
  /**
   * Preemption bound of the DFS (default 2); Infinity: every interleaving, one schedule per
   * class of schedules that differ only in the order of independent steps (DPOR).
   */
  readonly bound?: number;
  /** Operations to run (default all). */
  readonly ops?: readonly RaceOp[];
}

/** Replay `schedule` and return the final state. */
async function replayState(op: RaceOp, impl: RaceImpl, schedule: string): Promise<RaceState> {
  let state: RaceState | undefined;
  await runSchedule(raceScenario(op, impl), new ReplayChooser(parseSchedule(schedule), schedule), {
    onSchedule: (s) => {
      state = s;
    },
  });
  if (state === undefined) throw new Error(`replay of '${schedule}' produced no state`);
  return state;
}

/** Explore one scenario and describe its violation. */
async function runOne(op: RaceOp, impl: RaceImpl, bound: number): Promise<RaceOpResult> {
  const scenario = raceScenario(op, impl);
  const r = await explore(scenario, { bound });
  const m = r.minimal;
  let violation: RaceOpResult['violation'];
  if (m !== undefined) {
    const s = await replayState(op, impl, m.schedule);
    const broken = raceViolations(s).map((v) => ({
      kind: v.kind,
      addr: v.addr,
      pfn: v.device.pfn,
      owner: describePfnOwner(s, v.device.pfn),
    }));
    const reallocated =
      s.otherPfn !== null && s.otherPfn === s.victimPfn
        ? { pfn: s.otherPfn, owner: describePfnOwner(s, s.otherPfn) }
        : undefined;
    violation = {
      message: m.message,
      schedule: m.schedule,
      preemptions: m.preemptions,
      steps: m.steps,
      trace: r.trace,
      broken,
      reallocated,
    };
  }
  return {
    op,
    scenario: scenario.name,
    schedules: r.schedules,
    exhausted: r.exhausted,
    coverage: coverageText(r),
    violation,
  };
}

/**
 * Explore the race scenarios of `impl` (DFS up to `bound` preemptions, or over all interleavings
 * with bound Infinity) and report schedules, what they show, violations, the minimal trace and
 * the fate of the freed page.
 * Mirrors: model-only.
 */
export async function runRace(impl: RaceImpl, opts: RunRaceOptions = {}): Promise<RaceReport> {
  if (!RACE_IMPLS.includes(impl)) {
    throw new InvalidArgumentError(
      `runRace: impl is '${String(impl)}'; expected one of ${RACE_IMPLS.map((x) => `'${x}'`).join(', ')}`,
    );
  }
  const bound = opts.bound ?? DEFAULT_DFS_BOUND;
  if (bound !== Number.POSITIVE_INFINITY) {
    checkIntIn('runRace', 'bound', bound, 0, 64, 'a preemption bound in [0, 64], or Infinity');
  }
  for (const op of opts.ops ?? []) {
    if (!RACE_OPS.includes(op)) {
      throw new InvalidArgumentError(
        `runRace: ops contains '${String(op)}'; expected ${RACE_OPS.map((x) => `'${x}'`).join(', ')}`,
      );
    }
  }
  const results: RaceOpResult[] = [];
  for (const op of opts.ops ?? RACE_OPS) results.push(await runOne(op, impl, bound));
  const expect = impl === 'legacy' ? 'violation' : 'pass';
  const violations = results.filter((x) => x.violation !== undefined).length;
  const asExpected =
    expect === 'violation'
      ? violations === results.length
      : violations === 0 && results.every((x) => x.exhausted);
  return {
    impl,
    expect,
    bound,
    results,
    schedules: results.reduce((n, x) => n + x.schedules, 0),
    violations,
    asExpected,
  };
}
