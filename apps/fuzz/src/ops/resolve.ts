/**
 * Turning a drawn step into the operations that run: each operation's process, pages and bytes
 * resolved against the live state (indices taken modulo what exists), and the step made
 * checkable — at most one operation per process that changes its memory or mappings (a
 * "mutator": a second one moves to the next process that has none), an exiting process touched
 * by nothing else, fork and exit within the process limits, mmap within the region limit.
 * Operations that fit nowhere are dropped: they do not run and are not counted.
 */
import { PAGE_SIZE } from '@hmmsim/kernel';
import { MAX_PROCS, MAX_REGIONS } from '../config.ts';
import { PROTS, protName, type RefModel, type RefProc } from '../ref-model.ts';
import type { ScheduleSpec } from '../schedule.ts';
import type { OpKind, OpSpec, StepSpec } from './op-spec.ts';

/** Operations that change what their process sees (its mappings or its bytes). */
const MUTATORS: ReadonlySet<OpKind> = new Set<OpKind>([
  'mmap',
  'munmap',
  'mprotect',
  'fork',
  'exit',
  'cpu-write',
  'dev-write',
]);

/** True if the operation changes its process's mappings or bytes. */
export function isMutator(spec: OpSpec): boolean {
  return MUTATORS.has(spec.kind) || (spec.kind === 'madvise' && spec.advice === 'dontneed');
}

/** An operation ready to run. */
export interface ResolvedOp {
  readonly spec: OpSpec;
  /** The CPU (task) that runs it, 0-based. */
  readonly cpu: number;
  readonly pid: number;
  readonly mutator: boolean;
  /** Page-aligned start of the page range (0 for mmap, reclaim, fork, exit). */
  readonly addr: number;
  /** Pages of the range (mmap: pages to map). */
  readonly npages: number;
  /** CPU accesses: the first byte and the length. */
  readonly start: number;
  readonly len: number;
}

/** A step ready to run: the CPUs' operations and the schedule. */
export interface ResolvedStep {
  readonly cpus: readonly (readonly ResolvedOp[])[];
  readonly schedule: ScheduleSpec;
  readonly opCount: number;
}

/** The page range of a ranged operation inside `proc`'s regions. */
function rangeOf(
  proc: RefProc,
  s: { region: number; page: number; npages: number },
): { addr: number; npages: number } {
  const r = proc.regions[s.region % proc.regions.length]!;
  const page = s.page % r.npages;
  return { addr: r.start + page * PAGE_SIZE, npages: Math.min(s.npages, r.npages - page) };
}

/** Resolve one operation of process `proc` on CPU `cpu`. */
function resolveOp(spec: OpSpec, cpu: number, proc: RefProc): ResolvedOp {
  const base = { spec, cpu, pid: proc.pid, mutator: isMutator(spec) };
  switch (spec.kind) {
    case 'mmap':
      return { ...base, addr: 0, npages: spec.npages, start: 0, len: 0 };
    case 'reclaim':
    case 'fork':
    case 'exit':
      return { ...base, addr: 0, npages: 0, start: 0, len: 0 };
    case 'cpu-read':
    case 'cpu-write': {
      const { addr, npages } = rangeOf(proc, spec);
      const byte = spec.byte % PAGE_SIZE;
      const len = 1 + ((spec.len - 1) % (npages * PAGE_SIZE - byte));
      return { ...base, addr, npages, start: addr + byte, len };
    }
    default: {
      const { addr, npages } = rangeOf(proc, spec);
      return { ...base, addr, npages, start: addr, len: npages * PAGE_SIZE };
    }
  }
}

/** Counters of the limits while a step is resolved. */
interface Limits {
  readonly live: number;
  forks: number;
  exits: number;
}

/** True if `spec` may be the mutator of `proc` within the limits. */
function admissible(spec: OpSpec, proc: RefProc, limits: Limits): boolean {
  if (spec.kind === 'fork') return limits.live + limits.forks < MAX_PROCS;
  if (spec.kind === 'exit') return limits.live - limits.exits > 1;
  return spec.kind !== 'mmap' || proc.regions.length < MAX_REGIONS;
}

/**
 * The process a mutator runs on: the one it names if that has no mutator yet, else the next
 * live one (in pid order, cyclically) that has none and can take it; undefined: dropped.
 */
function mutatorProc(
  spec: OpSpec,
  procs: readonly RefProc[],
  taken: ReadonlyMap<number, OpKind>,
  limits: Limits,
): RefProc | undefined {
  for (let k = 0; k < procs.length; k++) {
    const proc = procs[(spec.proc + k) % procs.length]!;
    if (!taken.has(proc.pid) && admissible(spec, proc, limits)) return proc;
  }
  return undefined;
}

/**
 * Resolve a drawn step against the model's live processes (see the file comment for what is
 * moved or dropped). Deterministic: the same step on the same state resolves the same way.
 */
export function resolveStep(step: StepSpec, model: RefModel): ResolvedStep {
  const procs = [...model.procs.values()].sort((a, b) => a.pid - b.pid);
  const limits: Limits = { live: procs.length, forks: 0, exits: 0 };
  const mutatorOf = new Map<number, OpKind>();
  const kept: ResolvedOp[][] = [];
  for (const ops of step.cpus) {
    const cpu = kept.length;
    const list: ResolvedOp[] = [];
    for (const spec of ops) {
      let proc = procs[spec.proc % procs.length]!;
      if (isMutator(spec)) {
        const p = mutatorProc(spec, procs, mutatorOf, limits);
        if (p === undefined) continue;
        proc = p;
        mutatorOf.set(proc.pid, spec.kind);
        if (spec.kind === 'fork') limits.forks++;
        if (spec.kind === 'exit') limits.exits++;
      }
      list.push(resolveOp(spec, cpu, proc));
    }
    kept.push(list);
  }
  // An exiting process is touched by nothing else in its step.
  const cpus = kept
    .map((list) => list.filter((op) => mutatorOf.get(op.pid) !== 'exit' || op.spec.kind === 'exit'))
    .filter((list) => list.length > 0)
    .map((list, cpu) => list.map((op) => ({ ...op, cpu })));
  const opCount = cpus.reduce((n, l) => n + l.length, 0);
  return { cpus, schedule: step.schedule, opCount };
}

/** `0x7f0000004000+3p`. */
function range(op: ResolvedOp): string {
  return `0x${op.addr.toString(16)}+${op.npages}p`;
}

/** One operation, as the counterexample shows it. */
export function describeOp(op: ResolvedOp): string {
  const s = op.spec;
  const who = `P${op.pid}`;
  switch (s.kind) {
    case 'mmap':
      return `${who} mmap ${s.npages} pages ${s.prot}`;
    case 'munmap':
      return `${who} munmap ${range(op)}`;
    case 'mprotect':
      return `${who} mprotect ${range(op)} ${protName(PROTS[s.prot])}`;
    case 'madvise':
      return `${who} madvise ${range(op)} MADV_${s.advice.toUpperCase()}`;
    case 'reclaim':
      return `${who} reclaim up to ${s.nr} pages`;
    case 'fork':
      return `${who} fork`;
    case 'exit':
      return `${who} exit (${s.order === 'mm-first' ? 'mm torn down, then files closed' : 'files closed, then mm torn down'})`;
    case 'cpu-read':
      return `${who} CPU read 0x${op.start.toString(16)} len ${op.len}`;
    case 'cpu-write':
      return `${who} CPU write 0x${op.start.toString(16)} len ${op.len} stamp ${s.stamp}`;
    case 'dev-read':
      return `${who} dmirror${s.dev % 2} READ ${range(op)}`;
    case 'dev-write':
      return `${who} dmirror${s.dev % 2} WRITE ${range(op)} stamp ${s.stamp}`;
    case 'dev-snapshot':
      return `${who} dmirror${s.dev % 2} SNAPSHOT ${range(op)}`;
    case 'migrate-to-dev':
      return `${who} dmirror${s.dev % 2} MIGRATE_TO_DEV ${range(op)}`;
    case 'migrate-to-sys':
      return `${who} dmirror${s.dev % 2} MIGRATE_TO_SYS ${range(op)}`;
  }
}

/** A step: its schedule and each CPU's operations. */
export function describeStep(step: ResolvedStep): string {
  const cpus = step.cpus.map((ops, i) => `cpu${i}: ${ops.map(describeOp).join('; ')}`);
  const how = step.cpus.length > 1 ? ` [${step.schedule.strategy} seed ${step.schedule.seed}]` : '';
  return `${cpus.join(' || ')}${how}`;
}
