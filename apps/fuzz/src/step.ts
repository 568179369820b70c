/**
 * One fuzz step on the whole stack: resolve the drawn operations, run each CPU's list as a
 * scheduler task under the step's explorer strategy (random or PCT), then judge every result
 * against the reference model (each process's one mutator exactly; readers and page movers
 * against the states before and after it), move the model on, and check the machine-wide
 * invariants and every byte of every process. Any problem throws a FuzzViolation naming the step.
 */
import { chunkPageData, dmirrorPageToChunk, NO_PAGE } from '@hmmsim/dmirror';
import type { TraceRecord } from '@hmmsim/explorer';
import { PAGE_SIZE } from '@hmmsim/kernel';
import { dataProblems } from './checks/data-check.ts';
import { machineProblems } from './checks/machine-checks.ts';
import {
  dropKnownIssues,
  type IssueContext,
  type KnownIssue,
  serializeKnownRaces,
} from './known-issues.ts';
import {
  type MutatorOutcome,
  mutatorOutcome,
  type PageWhere,
  type StepContext,
} from './ops/effects.ts';
import { executeOp, type OpResult } from './ops/execute.ts';
import { judgeOp } from './ops/judge.ts';
import type { StepSpec } from './ops/op-spec.ts';
import { pageRange, statesOf } from './ops/pages.ts';
import {
  describeOp,
  describeStep,
  type ResolvedOp,
  type ResolvedStep,
  resolveStep,
} from './ops/resolve.ts';
import { peekPage } from './peek.ts';
import type { RefModel, RefProc } from './ref-model.ts';
import { countResult, type FuzzStats } from './stats.ts';
import { FuzzViolation } from './violation.ts';
import type { World } from './world.ts';

/** One run's live state: the system, its model, the counters. */
export interface FuzzRun {
  readonly world: World;
  readonly model: RefModel;
  readonly stats: FuzzStats;
  /** Running estimate of scheduler decisions per operation (PCT's k). */
  decisionsPerOp: number;
  /** Record a per-CPU trace of each step (the last one is kept). */
  readonly trace: boolean;
  lastTrace: TraceRecord | undefined;
  /** Known issues whose races are kept apart (empty: none, `--no-suppress`). */
  readonly issues: readonly KnownIssue[];
  /** Called with each step as it ran (narration of a replay). */
  readonly onStep: ((text: string) => void) | undefined;
}

/** The text of a task error. */
function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** Run the CPUs' operations; their results, or the problems of the run itself. */
async function runTasks(run: FuzzRun, step: ResolvedStep) {
  const { world } = run;
  const sched = world.machine.sched;
  const results = step.cpus.map((ops) => new Array<OpResult | undefined>(ops.length));
  const expected = Math.ceil(run.decisionsPerOp * step.opCount);
  if (run.trace) {
    sched.trace.clear();
    sched.trace.enabled = true;
  }
  world.policy.begin(step.schedule, expected, run.trace);
  step.cpus.forEach((ops, i) => {
    sched.spawn(`cpu${i}`, async () => {
      for (const [j, op] of ops.entries()) results[i]![j] = await executeOp(world, op);
    });
  });
  const r = await sched.run();
  const sstats = world.policy.end();
  sched.trace.enabled = false;
  const problems: string[] = [];
  for (const e of r.errors) problems.push(`${e.taskName} threw ${errorText(e.error)}`);
  if (r.deadlock !== undefined) problems.push(`deadlock: ${r.deadlock.message}`);
  if (r.stepLimitReached) problems.push('livelock: the step exceeded its scheduler step limit');
  if (run.trace) {
    const failure =
      problems.length > 0 ? { kind: 'task-error' as const, message: problems[0]! } : undefined;
    run.lastTrace = { events: [...sched.trace.events], preemptSteps: sstats.preemptSteps, failure };
  }
  return { results, problems, sstats };
}

/** Where the pages the step's operations touch are before it runs. */
function whereBefore(world: World, step: ResolvedStep): StepContext['where'] {
  const seen = new Map<string, PageWhere>();
  for (const op of step.cpus.flat()) {
    const mm = world.procs.get(op.pid)?.mm;
    if (mm === undefined || op.addr === 0) continue;
    for (const v of pageRange(op.addr, op.npages)) {
      const p = peekPage(mm, v * PAGE_SIZE);
      const w = p.mapped
        ? { loc: p.loc, devWrite: p.devWrite, pfn: p.pfn, swapCache: p.swapCache }
        : NOWHERE;
      seen.set(`${op.pid}:${v}`, w);
    }
  }
  return (pid, vpn) => seen.get(`${pid}:${vpn}`) ?? NOWHERE;
}

/** IssueContext.foreignOwned on the live world (see known-issues.ts, K3). */
function foreignOwnedIn(world: World): IssueContext['foreignOwned'] {
  return (pid, dev, vpn) => {
    const proc = world.procs.get(pid);
    const device = world.devices[dev];
    if (proc === undefined || device === undefined) return false;
    const p = peekPage(proc.mm, vpn * PAGE_SIZE);
    if (!p.mapped || p.loc !== `dev${dev}`) return false;
    const chunk = dmirrorPageToChunk(world.machine, p.pfn);
    const backing = chunk === null ? NO_PAGE : chunkPageData(chunk, p.pfn);
    return device.backingMirror.get(backing) !== proc.files[dev]?.privateData;
  };
}

const NOWHERE: PageWhere = { loc: 'none', devWrite: false, pfn: -1, swapCache: false };

/** Judge every operation; the model's processes after the step and the forked children. */
function judge(
  run: FuzzRun,
  step: ResolvedStep,
  results: (OpResult | undefined)[][],
  where: StepContext['where'],
) {
  const before = new Map(run.model.procs);
  const ctx: StepContext = {
    legacy: run.world.impl === 'legacy',
    concurrent: step.opCount > 1,
    where,
  };
  const problems: string[] = [];
  const after = new Map<number, RefProc | undefined>();
  const forks: { outcome: MutatorOutcome; res: OpResult }[] = [];
  const all = step.cpus.flatMap((ops, i) => ops.map((op, j) => ({ op, res: results[i]![j]! })));
  for (const { op, res } of all) {
    countResult(run.stats, op, res);
    if (!op.mutator) continue;
    const outcome = mutatorOutcome(before.get(op.pid)!, op, res, ctx);
    problems.push(...outcome.problems);
    after.set(op.pid, outcome.after);
    if (outcome.child !== undefined) forks.push({ outcome, res });
  }
  for (const { op, res } of all) {
    if (op.mutator) continue;
    const b = before.get(op.pid)!;
    const states = statesOf(b, after.has(op.pid) ? after.get(op.pid) : b);
    problems.push(...judgeOp(op, res, states, ctx));
  }
  return { problems, after, forks };
}

/** Move the model and the world's process table on past the step. */
function apply(run: FuzzRun, j: ReturnType<typeof judge>): void {
  const { model, world } = run;
  for (const [pid, p] of j.after) {
    if (p !== undefined) {
      model.procs.set(pid, p);
      continue;
    }
    model.procs.delete(pid);
    world.procs.delete(pid);
  }
  for (const { outcome, res } of j.forks) {
    const pid = model.nextPid++;
    const child = outcome.child!;
    model.procs.set(pid, { ...child, pid });
    const c = res.child!;
    world.procs.set(pid, { pid, mm: c.mm, files: c.files, ioBuf: child.ioBuf });
  }
}

/** `cpu0 WRITE -> -14`: one operation's result for the narration. */
function resultText(op: ResolvedOp, res: OpResult | undefined): string {
  const name = describeOp(op).split(' ').slice(1, 3).join(' ');
  if (res === undefined) return `cpu${op.cpu} ${name}: did not return`;
  const what =
    res.fault === undefined
      ? String(res.rc)
      : `${res.fault.signal} at 0x${res.fault.addr.toString(16)}`;
  return `cpu${op.cpu} P${op.pid} ${name}: ${what}`;
}

/** Run one drawn step (see the file comment); throws FuzzViolation on any problem. Model helper. */
export async function runStep(run: FuzzRun, spec: StepSpec): Promise<void> {
  const resolved = resolveStep(spec, run.model);
  const where = whereBefore(run.world, resolved);
  const ictx = { where, foreignOwned: foreignOwnedIn(run.world) };
  const kept = dropKnownIssues(resolved.cpus, run.issues, ictx);
  const cpus = serializeKnownRaces(kept, run.issues, where);
  const step = { ...resolved, cpus, opCount: cpus.reduce((n, l) => n + l.length, 0) };
  if (step.opCount === 0) return;
  const text = describeStep(step);
  const { results, problems, sstats } = await runTasks(run, step);
  if (run.onStep !== undefined) {
    const rcs = step.cpus.flatMap((ops, i) => ops.map((op, k) => resultText(op, results[i]![k])));
    run.onStep(`${text}\n      -> ${rcs.join('; ')}`);
  }
  if (problems.length > 0) throw new FuzzViolation(problems, text);
  const j = judge(run, step, results, where);
  apply(run, j);
  const checks = [
    ...j.problems,
    ...machineProblems(run.world),
    ...dataProblems(run.world, run.model, run.stats.locations),
  ];
  const s = run.stats;
  s.steps++;
  s.ops += step.opCount;
  s.decisions += sstats.decisions;
  s.preemptions += sstats.preemptions;
  if (step.cpus.length > 1) s.concurrentSteps++;
  run.decisionsPerOp = 0.9 * run.decisionsPerOp + (0.1 * sstats.decisions) / step.opCount;
  if (checks.length > 0) throw new FuzzViolation(checks, text);
}
