/**
 * A fuzz campaign on one implementation: fast-check model-based runs (each a fresh machine and
 * up to MAX_STEPS_PER_RUN steps, then every process exits and nothing may be left) in chunks of
 * runs — chunk k's fast-check seed the k-th draw of createRandom(seed) — until the operation budget is spent or a run fails. A
 * failure is shrunk by fast-check and replayed once more, narrated and traced, for the report.
 * Deterministic: the same implementation, budget and seed do the same operations.
 */
import type { DmirrorImpl } from '@hmmsim/dmirror';
import { formatTraceTable, type TraceRecord } from '@hmmsim/explorer';
import { createRandom } from '@hmmsim/kernel';
import fc from 'fast-check';
import { StepCommand } from './command.ts';
import { MAX_STEPS_PER_RUN } from './config.ts';
import { KNOWN_ISSUES, type KnownIssue } from './known-issues.ts';
import { type StepSpec, stepArb } from './ops/op-spec.ts';
import { addStats, emptyStats, type FuzzStats } from './stats.ts';
import { type FuzzRun, runStep } from './step.ts';
import { endRun } from './teardown.ts';
import { FuzzViolation } from './violation.ts';
import { createWorld } from './world.ts';

/** Options of runCampaign(). */
export interface CampaignOptions {
  readonly impl: DmirrorImpl;
  /** Stop after at least this many operations (or at the first failure). */
  readonly ops: number;
  readonly seed: number;
  /** Replay one run: fast-check's seed, counterexample path and commands replay path. */
  readonly replay?: FuzzReplay | undefined;
  /** Let known issues race (default false: they are serialised, see known-issues.ts). */
  readonly noSuppress?: boolean | undefined;
  /** Let only these known issues (ids) race. */
  readonly lift?: readonly string[] | undefined;
  /** Stop shrinking after this many ms (fast-check's interruptAfterTimeLimit); default: none. */
  readonly shrinkMs?: number | undefined;
  /** Wall clock in ms, only to report ops/s (no clock: no timing). */
  readonly now?: (() => number) | undefined;
  /** Progress lines (one per chunk). */
  readonly progress?: ((line: string) => void) | undefined;
}

/** What replays one fast-check run: its seed, its path, and fc.commands' replayPath. */
export interface FuzzReplay {
  readonly seed: number;
  readonly path: string;
  readonly replayPath: string;
}

/** `seed:path@replayPath`, as `--replay` takes it. */
export function formatReplay(r: FuzzReplay): string {
  return `${r.seed}:${r.path}@${r.replayPath}`;
}

/** The FuzzReplay of a `--replay` token, or undefined when it is not one. */
export function parseReplay(text: string): FuzzReplay | undefined {
  const m = /^(\d+):(\d+(?::\d+)*)@([A-Za-z0-9+/]*:[A-Za-z0-9+/]*)$/.exec(text);
  if (m === null) return undefined;
  const seed = Number(m[1]);
  return Number.isSafeInteger(seed) ? { seed, path: m[2]!, replayPath: m[3]! } : undefined;
}

/** A failing run, shrunk. */
export interface FuzzFailure {
  /** What replays the shrunk counterexample (`--replay`). */
  readonly replay: FuzzReplay;
  readonly numShrinks: number;
  /** The shrunk steps as drawn, and as they ran (resolved), and the problems. */
  readonly counterexample: readonly StepSpec[];
  readonly narration: readonly string[];
  readonly problems: readonly string[];
  /** The per-CPU trace of the failing step (explorer format), when it had one. */
  readonly trace: string | undefined;
}

/** What a campaign did. */
export interface CampaignResult {
  readonly impl: DmirrorImpl;
  readonly seed: number;
  readonly stats: FuzzStats;
  readonly elapsedMs: number | undefined;
  readonly failure: FuzzFailure | undefined;
}

/** Runs per chunk at most (progress is reported per chunk). */
const MAX_RUNS_PER_CHUNK = 50;

/** How runs are made: the implementation and whether known issues are kept apart. */
interface RunSetup {
  readonly impl: DmirrorImpl;
  readonly issues: readonly KnownIssue[];
}

/** The RunSetup of campaign options. */
function setupOf(opts: CampaignOptions): RunSetup {
  const lifted = new Set(opts.lift ?? []);
  const issues = opts.noSuppress === true ? [] : KNOWN_ISSUES.filter((k) => !lifted.has(k.id));
  return { impl: opts.impl, issues };
}

/** A fresh run on a fresh machine. */
async function freshRun(setup: RunSetup, trace: boolean, onStep?: (t: string) => void) {
  const { world, model } = await createWorld(setup.impl);
  const run: FuzzRun = {
    world,
    model,
    stats: emptyStats(),
    decisionsPerOp: 30,
    trace,
    lastTrace: undefined,
    issues: setup.issues,
    onStep,
  };
  return run;
}

/**
 * The property: a run of the drawn steps is clean. `counted` receives the stats of passing runs;
 * `replayPath` (from a failure report) makes fc.commands replay that run's commands exactly.
 */
function runProperty(setup: RunSetup, counted: (s: FuzzStats) => void, replayPath?: string) {
  const constraints = { maxCommands: MAX_STEPS_PER_RUN, size: 'max' } as const;
  const cmds = fc.commands(
    [stepArb.map((s) => new StepCommand(s))],
    replayPath === undefined ? constraints : { ...constraints, replayPath },
  );
  return fc.asyncProperty(cmds, async (steps) => {
    const run = await freshRun(setup, false);
    await fc.asyncModelRun(() => ({ model: run.model, real: run }), steps);
    await endRun(run);
    run.stats.runs = 1;
    counted(run.stats);
  });
}

/** Replay `specs` once more with narration and a trace of each step; the problems and trace. */
async function narrate(setup: RunSetup, specs: readonly StepSpec[]) {
  const narration: string[] = [];
  const run = await freshRun(setup, true, (t) =>
    narration.push(`step ${narration.length + 1}: ${t}`),
  );
  let problems: string[] = ['the replay did not fail again (nondeterminism)'];
  let trace: TraceRecord | undefined;
  try {
    for (const s of specs) await runStep(run, s);
    await endRun(run);
  } catch (error) {
    problems = error instanceof FuzzViolation ? [...error.problems] : [String(error)];
    const last = run.lastTrace;
    // A problem the step's checks found (not a task's own error) ends the trace as a violation.
    trace =
      last === undefined || last.failure !== undefined
        ? last
        : { ...last, failure: { kind: 'invariant', message: problems.join('; ') } };
  }
  const text = trace !== undefined && trace.events.length > 0 ? formatTraceTable(trace) : undefined;
  return { narration, problems, trace: text };
}

/** The specs of a counterexample's commands that ran (fast-check wraps each in `{ cmd, hasRan }`). */
function specsOf(counterexample: unknown): StepSpec[] {
  const [cmds] = counterexample as [Iterable<{ cmd?: unknown; hasRan?: boolean }>];
  const out: StepSpec[] = [];
  for (const w of cmds) {
    const c = w.cmd ?? w;
    if (c instanceof StepCommand && w.hasRan !== false) out.push(c.spec);
  }
  return out;
}

/** Shrink the failing run of `found` (replayed from its seed and path), within `shrinkMs`. */
async function shrink(
  property: fc.IAsyncPropertyWithHooks<[unknown]>,
  found: fc.RunDetails<[unknown]>,
  shrinkMs: number | undefined,
): Promise<fc.RunDetails<[unknown]>> {
  const params: fc.Parameters<[unknown]> = {
    seed: found.seed,
    path: found.counterexamplePath ?? '',
  };
  const d = (await fc.check(
    property,
    shrinkMs === undefined ? params : { ...params, interruptAfterTimeLimit: shrinkMs },
  )) as fc.RunDetails<[unknown]>;
  return d.failed && d.counterexample !== null ? d : found;
}

/** fc.commands' replayPath of a counterexample (from its `replayPath="…"` metadata). */
function replayPathOf(counterexample: unknown): string {
  const [cmds] = counterexample as [{ metadataForReplay?: () => string }];
  const m = /replayPath="([^"]*)"/.exec(cmds.metadataForReplay?.() ?? '');
  return m?.[1] ?? '';
}

/** The failure report of fast-check's details. */
async function failureOf(setup: RunSetup, d: fc.RunDetails<[unknown]>): Promise<FuzzFailure> {
  const specs = d.counterexample === null ? [] : specsOf(d.counterexample);
  const told = await narrate(setup, specs);
  return {
    replay: {
      seed: d.seed,
      path: d.counterexamplePath ?? '',
      replayPath: d.counterexample === null ? '' : replayPathOf(d.counterexample),
    },
    numShrinks: d.numShrinks,
    counterexample: specs,
    ...told,
  };
}

/**
 * Fuzz `opts.impl` until `opts.ops` operations ran or a run failed (see the file comment).
 * Model helper (the fuzzer's driver).
 */
export async function runCampaign(opts: CampaignOptions): Promise<CampaignResult> {
  const total = emptyStats();
  const start = opts.now?.();
  let failed = false;
  const setup = setupOf(opts);
  const property = runProperty(
    setup,
    (s) => {
      if (!failed) addStats(total, s);
    },
    opts.replay?.replayPath,
  );
  const elapsed = () => {
    const end = opts.now?.();
    return start === undefined || end === undefined ? undefined : end - start;
  };
  const chunkSeeds = createRandom(opts.seed);
  for (let chunk = 0; opts.replay !== undefined || total.ops < opts.ops; chunk++) {
    const chunkSeed = chunkSeeds.nextU32() >>> 1;
    const perRun = total.runs > 0 ? total.ops / total.runs : 40;
    const numRuns = Math.min(
      MAX_RUNS_PER_CHUNK,
      Math.max(1, Math.ceil((opts.ops - total.ops) / perRun)),
    );
    const params: fc.Parameters<[unknown]> =
      opts.replay === undefined
        ? { seed: chunkSeed, numRuns, endOnFailure: true }
        : { seed: opts.replay.seed, path: opts.replay.path, numRuns: 1, endOnFailure: true };
    const d = (await fc.check(property, params)) as fc.RunDetails<[unknown]>;
    if (d.failed) {
      failed = true;
      const searchMs = elapsed();
      const shrunk = opts.replay === undefined ? await shrink(property, d, opts.shrinkMs) : d;
      const failure = await failureOf(setup, shrunk);
      return { impl: opts.impl, seed: opts.seed, stats: total, elapsedMs: searchMs, failure };
    }
    opts.progress?.(
      `${opts.impl}: ${total.ops} ops in ${total.runs} runs (chunk ${chunk}, fast-check seed ${chunkSeed})`,
    );
    if (opts.replay !== undefined) break;
  }
  return {
    impl: opts.impl,
    seed: opts.seed,
    stats: total,
    elapsedMs: elapsed(),
    failure: undefined,
  };
}
