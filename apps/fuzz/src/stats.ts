/**
 * What a campaign did, for the report: operations, steps, how many steps raced, scheduler
 * decisions and preemptions, each operation kind's return values, and where the checked pages
 * were (RAM, swap, device memory) — the coverage that says the fuzzer reached what it claims.
 */
import { errnoName } from '@hmmsim/kernel';
import { emptyLocationCounts, type LocationCounts } from './checks/data-check.ts';
import type { OpResult } from './ops/execute.ts';
import type { ResolvedOp } from './ops/resolve.ts';

/** Campaign counters. */
export interface FuzzStats {
  runs: number;
  steps: number;
  ops: number;
  /** Steps with two or more CPUs. */
  concurrentSteps: number;
  decisions: number;
  preemptions: number;
  /** Device copies the dmirror copy-time oracle called stale (transient, bytes verified). */
  staleCopies: number;
  /** Swap-cache pages left unmapped at the end of a run and reclaimed then. */
  orphanSwapCache: number;
  /** 'dev-read 0', 'dev-read EFAULT', 'cpu-write SIGSEGV', 'mmap ok' … → count. */
  readonly results: Map<string, number>;
  readonly locations: LocationCounts;
}

/** Zeroed counters. */
export function emptyStats(): FuzzStats {
  return {
    runs: 0,
    steps: 0,
    ops: 0,
    concurrentSteps: 0,
    decisions: 0,
    preemptions: 0,
    staleCopies: 0,
    orphanSwapCache: 0,
    results: new Map(),
    locations: emptyLocationCounts(),
  };
}

/** The result class of one operation ('0', 'EFAULT', 'SIGSEGV', 'ok', 'count'). */
function resultClass(op: ResolvedOp, res: OpResult): string {
  if (res.fault !== undefined) return res.fault.signal;
  if (op.spec.kind === 'mmap') return res.rc > 0 ? 'ok' : errnoName(res.rc);
  if (op.spec.kind === 'reclaim') return res.rc > 0 ? 'reclaimed' : 'none';
  return res.rc < 0 ? errnoName(res.rc) : String(res.rc);
}

/** Count one operation's result. */
export function countResult(stats: FuzzStats, op: ResolvedOp, res: OpResult): void {
  const key = `${op.spec.kind} ${resultClass(op, res)}`;
  stats.results.set(key, (stats.results.get(key) ?? 0) + 1);
}

/** Add `b` into `a`. */
export function addStats(a: FuzzStats, b: FuzzStats): void {
  a.runs += b.runs;
  a.steps += b.steps;
  a.ops += b.ops;
  a.concurrentSteps += b.concurrentSteps;
  a.decisions += b.decisions;
  a.preemptions += b.preemptions;
  a.staleCopies += b.staleCopies;
  a.orphanSwapCache += b.orphanSwapCache;
  for (const [k, n] of b.results) a.results.set(k, (a.results.get(k) ?? 0) + n);
  for (const k of Object.keys(b.locations) as (keyof LocationCounts)[]) {
    a.locations[k] += b.locations[k];
  }
}
