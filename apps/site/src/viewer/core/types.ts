/**
 * The race viewer's data, as plain structured-cloneable values: what the worker sends to the page
 * (catalogue, exploration summary, replayed trace with a state per step) and what the page keeps
 * in its address bar. No runtime code here, so the page can import these types without pulling
 * in the model.
 */

/** The drivers a scenario runs on: the three mirroring implementations, or a pitfall and its fix. */
export type ImplId = 'legacy' | 'shim' | 'interval' | 'mistake' | 'fixed';

/** Every implementation id, in picker order. */
export const IMPL_IDS: readonly ImplId[] = ['legacy', 'shim', 'interval', 'mistake', 'fixed'];

/** What exploring a scenario is expected to find. */
export type Expectation = 'violation' | 'pass';

/** One choice of driver for a scenario. */
export interface ImplInfo {
  readonly id: ImplId;
  /** Short picker label ('legacy hmm_mirror'). */
  readonly label: string;
  /** One line: what this driver is. */
  readonly description: string;
  readonly expect: Expectation;
  /** The explorer scenario name (`hmm-race-munmap-legacy`, `guide-pitfall-…`). */
  readonly scenarioName: string;
  /**
   * True when its shared state reports its accesses, so the viewer can explore every
   * interleaving (with partial-order reduction), not only the schedules up to the bound.
   */
  readonly allInterleavings: boolean;
}

/** One scenario of the viewer's picker. */
export interface ScenarioInfo {
  /** Stable id used in links ('munmap', 'pitfall-forgot-set-seq'). */
  readonly id: string;
  /** 'race': the seed race of @hmmsim/hmm-mirror; 'pitfall': a porting mistake of the guide. */
  readonly kind: 'race' | 'pitfall';
  /** Picker label. */
  readonly title: string;
  /** One line: what CPU0 does while CPU1's device faults the range. */
  readonly description: string;
  /** Its drivers; the first is the default. */
  readonly impls: readonly ImplInfo[];
  /** Pitfalls: the guide chapter source file of the mistake. */
  readonly file?: string | undefined;
}

/** The viewer's address-bar state: what to show, and optionally which schedule and step. */
export interface ViewerState {
  readonly scenario: string;
  readonly impl: ImplId;
  /** A schedule string ('2x6.1'); undefined: explore and show the minimal schedule. */
  readonly schedule?: string | undefined;
  /** Stepper position (0 = before the run). */
  readonly step?: number | undefined;
}

/** Progress of an exploration. */
export interface ExploreProgress {
  /** Schedules run so far. */
  readonly schedules: number;
  /** Scheduler steps over those schedules. */
  readonly steps: number;
  /** Milliseconds since the start, when the caller gave a clock. */
  readonly elapsedMs: number | undefined;
}

/** A failing run's kind and message (see @hmmsim/explorer's ViolationKind). */
export interface FailureInfo {
  readonly kind: string;
  readonly message: string;
}

/** A violation found by the explorer. */
export interface ViolationInfo extends FailureInfo {
  readonly schedule: string;
  readonly preemptions: number;
  readonly steps: number;
}

/** What one exploration found. */
export interface ExploreSummary {
  readonly scenario: string;
  readonly impl: ImplId;
  readonly scenarioName: string;
  readonly bound: number;
  readonly schedules: number;
  readonly steps: number;
  /** Every schedule within the bound was run. */
  readonly exhausted: boolean;
  readonly elapsedMs: number | undefined;
  /** The first failing schedule found. */
  readonly firstViolation: ViolationInfo | undefined;
  /** The minimised violation (fewest preemptions, then fewest steps). */
  readonly violation: ViolationInfo | undefined;
  readonly expect: Expectation;
  /** The result is what the scenario is expected to show. */
  readonly asExpected: boolean;
  /** One sentence for screen readers and the summary line. */
  readonly verdict: string;
}

/** A CPU or device page-table entry. */
export interface PteView {
  readonly pfn: number;
  readonly write: boolean;
}

/** One page of the mirrored range at one step. */
export interface PageView {
  readonly index: number;
  readonly addr: number;
  /** What the CPU maps there (null: nothing present). */
  readonly cpu: PteView | null;
  /** What the device maps there (null: no entry). */
  readonly device: PteView | null;
  /**
   * 'stale': the device maps a page the CPU no longer maps there; 'writable': the device may
   * write where the CPU may not; undefined: the entry agrees with the CPU.
   */
  readonly problem: 'stale' | 'writable' | undefined;
  /** For a stale entry: who owns the device's pfn now ('' if nobody maps it). */
  readonly owner: string;
}

/** One interval notifier of the mirrored mm. */
export interface IntervalView {
  /** 'driver notifier' or 'shim range notifier'. */
  readonly label: string;
  readonly start: number;
  /** Last address covered (inclusive). */
  readonly last: number;
  /** The notifier's invalidate_seq (written by set_seq). */
  readonly seq: number;
  /** The read_begin sample the fault path compares it with, when known. */
  readonly sample: number | undefined;
  /** mmu_interval_read_retry(notifier, sample) would say "retry". */
  readonly retry: boolean | undefined;
}

/** One range registered with the legacy (or shim) hmm_range_register(). */
export interface HmmRangeView {
  readonly start: number;
  readonly end: number;
  /** hmm_range_valid(): the v5.4 flag, or the shim's !read_retry. */
  readonly valid: boolean;
}

/** One struct hmm of the mirrored mm. */
export interface HmmView {
  readonly kind: 'legacy' | 'shim';
  /** Invalidations whose start ran and whose end has not (legacy only; 0 for the shim). */
  readonly notifiers: number;
  readonly ranges: readonly HmmRangeView[];
}

/** The notifier side of the mirrored mm at one step. */
export interface SequenceView {
  /** The mm-wide interval sequence (odd while an invalidation window is open); undefined without interval notifiers. */
  readonly mmSeq: number | undefined;
  readonly activeInvalidations: number;
  readonly intervals: readonly IntervalView[];
  readonly hmms: readonly HmmView[];
}

/** A lock held by a task. */
export interface LockHold {
  /** 'mmap_sem [mm1]'. */
  readonly lock: string;
  readonly mode: 'read' | 'write' | 'mutex' | 'spin' | 'held';
}

/** What one task (CPU) is doing at one step. */
export interface LaneState {
  readonly lane: number;
  readonly name: string;
  readonly status: 'not started' | 'running' | 'runnable' | 'blocked' | 'exited';
  readonly holds: readonly LockHold[];
  /** A lock it has reached the acquisition of (the explorer may switch away right there). */
  readonly taking: string | undefined;
  /** A lock it is queued on (another task holds it). */
  readonly waitingFor: string | undefined;
}

/** The state of the run after one stepper position. */
export interface StateView {
  readonly pages: readonly PageView[];
  readonly seq: SequenceView;
  readonly lanes: readonly LaneState[];
  /** Pages whose device entry is stale or wrongly writable. */
  readonly problems: number;
}

/** One task column of the swimlanes. */
export interface LaneInfo {
  readonly id: number;
  readonly name: string;
}

/** One labelled event of a lane (see @hmmsim/explorer's TraceRow). */
export interface RowView {
  readonly step: number;
  /** Virtual nanoseconds. */
  readonly time: number;
  readonly lane: number;
  readonly text: string;
  readonly type: 'event' | 'switch' | 'preempt';
}

/** One stepper position: a scheduler step with its events, and the state after it. */
export interface StepView {
  /** Position in `ReplayView.steps` (0 = the state before the run). */
  readonly index: number;
  /** Scheduler step (undefined for position 0). */
  readonly step: number | undefined;
  /** Rows [rowStart, rowEnd) of `ReplayView.rows` happened in this step. */
  readonly rowStart: number;
  readonly rowEnd: number;
  /** The lane running at the end of this step (undefined for position 0). */
  readonly lane: number | undefined;
  /** A preemption was chosen in this step. */
  readonly preempted: boolean;
  readonly state: StateView;
}

/** A replayed schedule with the state after each step. */
export interface ReplayView {
  readonly scenario: string;
  readonly impl: ImplId;
  readonly scenarioName: string;
  /** The schedule as replayed, in canonical form (trailing default choices left out). */
  readonly schedule: string;
  readonly preemptions: number;
  readonly failure: FailureInfo | undefined;
  readonly lanes: readonly LaneInfo[];
  readonly rows: readonly RowView[];
  readonly steps: readonly StepView[];
  /** Position of the first step whose state has a stale (or wrongly writable) device entry. */
  readonly firstProblemStep: number | undefined;
  /** Position of the step where the first preempted task runs again (where a race lands). */
  readonly resumeStep: number | undefined;
}
