/**
 * Known issues the fuzzer found, kept from racing while they are open (a fuzzing suppression):
 * a step whose operations would race in a known way runs those operations one after the other
 * on one CPU instead, so every operation still runs and campaigns go on finding new things.
 * `--no-suppress` turns this off (each issue's replay in the README then reproduces it). When an
 * issue is fixed, delete it here; the known-issues test says which ones no longer reproduce.
 */
import type { PageWhere } from './ops/effects.ts';
import type { OpKind } from './ops/op-spec.ts';
import { pageRange } from './ops/pages.ts';
import type { ResolvedOp } from './ops/resolve.ts';

/** Where pages were when the step began (a page of a process by page number). */
export type WhereOf = (pid: number, vpn: number) => PageWhere;

/** What the suppressions may look at when the step begins. */
export interface IssueContext {
  readonly where: WhereOf;
  /**
   * True if the page of `pid` at `vpn` is a private page of device `dev` that another mirror
   * of `dev` migrated there (its backing page's `zone_device_data` names that mirror).
   */
  readonly foreignOwned: (pid: number, dev: number, vpn: number) => boolean;
}

/** One known issue and the operation pairs that must not race while it is open. */
export interface KnownIssue {
  readonly id: string;
  readonly title: string;
  /** 'kernel' when the model reproduces the kernel (or lib/test_hmm.c) faithfully, 'model' for a model bug. */
  readonly kind: 'kernel' | 'model';
  /** Where a fix belongs. */
  readonly owner: string;
  /** True if `a` and `b` (on different CPUs of one step) race in this issue's way. */
  conflicts(a: ResolvedOp, b: ResolvedOp, where: WhereOf): boolean;
  /** True if `op` cannot run at all while the issue is open (it is left out of its step). */
  drops?(op: ResolvedOp, ctx: IssueContext): boolean;
}

const MIGRATIONS: ReadonlySet<OpKind> = new Set<OpKind>(['migrate-to-dev', 'migrate-to-sys']);
/** Operations that store entries in (or read back through) a device's table. */
const TABLE_OPS: ReadonlySet<OpKind> = new Set<OpKind>([
  'dev-read',
  'dev-write',
  'migrate-to-dev',
  'migrate-to-sys',
]);
const DEVICE_OPS: ReadonlySet<OpKind> = new Set<OpKind>([...TABLE_OPS, 'dev-snapshot']);
const CPU_OPS: ReadonlySet<OpKind> = new Set<OpKind>(['cpu-read', 'cpu-write']);
const MAPPING_CHANGES: ReadonlySet<OpKind> = new Set<OpKind>([
  'munmap',
  'mprotect',
  'fork',
  'mmap',
  'exit',
]);

/** The device an operation uses, or undefined. */
function devOf(op: ResolvedOp): number | undefined {
  return 'dev' in op.spec ? op.spec.dev : undefined;
}

/** Either order of a symmetric test. */
function either(a: ResolvedOp, b: ResolvedOp, f: (x: ResolvedOp, y: ResolvedOp) => boolean) {
  return f(a, b) || f(b, a);
}

/** True for reclaim and MADV_PAGEOUT (both walk the reverse map). */
function reclaims(op: ResolvedOp): boolean {
  return op.spec.kind === 'reclaim' || (op.spec.kind === 'madvise' && op.spec.advice === 'pageout');
}

/** The frames an operation's pages mapped when the step began, with where they were. */
function framesOf(op: ResolvedOp, where: WhereOf): Map<number, PageWhere> {
  const out = new Map<number, PageWhere>();
  if (op.npages === 0) return out;
  for (const v of pageRange(op.addr, op.npages)) {
    const w = where(op.pid, v);
    if (w.pfn >= 0) out.set(w.pfn, w);
  }
  return out;
}

/**
 * K1: `t` stores entries in device d's table for process p while `x` makes d's own migration
 * code move a page `t` covers (MMU_NOTIFY_MIGRATE with d as owner, which d's mirror ignores).
 */
function ownMigrationRace(t: ResolvedOp, x: ResolvedOp, where: WhereOf): boolean {
  const d = devOf(t);
  if (!TABLE_OPS.has(t.spec.kind) || d === undefined) return false;
  if (x.pid === t.pid) {
    // Its own migrations of the process, and zaps racing a migration of it.
    if (MIGRATIONS.has(x.spec.kind) && devOf(x) === d) return true;
    if (MIGRATIONS.has(t.spec.kind)) {
      if (DEVICE_OPS.has(x.spec.kind) && devOf(x) === d) return true;
      if (MAPPING_CHANGES.has(x.spec.kind)) return true;
      if (x.spec.kind === 'madvise' && x.spec.advice === 'dontneed') return true;
    }
  }
  // A fault elsewhere (a CPU access, another device) on a page of d that t covers: migrate_to_ram.
  const dx = devOf(x);
  const moves =
    (MIGRATIONS.has(x.spec.kind) && dx === d) ||
    CPU_OPS.has(x.spec.kind) ||
    (DEVICE_OPS.has(x.spec.kind) && dx !== d);
  if (!moves) return false;
  const mine = framesOf(t, where);
  for (const [pfn, w] of framesOf(x, where)) {
    if (!mine.has(pfn)) continue;
    if ((MIGRATIONS.has(x.spec.kind) && dx === d) || w.loc === `dev${d}`) return true;
  }
  return false;
}

/** The open issues. */
export const KNOWN_ISSUES: readonly KnownIssue[] = [
  {
    id: 'K1',
    title:
      "device d's own migrations race d's table: dmirror_interval_invalidate() (and the hmm_mirror builds' callback) skips MMU_NOTIFY_MIGRATE events whose owner is d without mmu_interval_set_seq(), and dmirror_migrate_finalize_and_map() stores entries with no sequence check; so a fault pass of d that sampled a page before d's MIGRATE_TO_DEV/TO_SYS, or before a CPU or another device faulted one of d's pages back (migrate_to_ram), commits the old page — freed by the migration — and a zap (munmap, MADV_DONTNEED, mprotect, fork) racing d's migration leaves an entry for a device page that ends up unmapped and freed",
    kind: 'kernel',
    owner: '@hmmsim/dmirror (faithful to lib/test_hmm.c: a driver race on all three builds)',
    conflicts: (a, b, where) => ownMigrationRace(a, b, where) || ownMigrationRace(b, a, where),
  },
  {
    id: 'K3',
    title:
      "two mirrors of one device hold the same device page (a fork child's READ/WRITE on a page COW-shared with its parent): the invalidation of its migration back to RAM (owner = the device) is skipped by every mirror of that device, and dmirror_devmem_fault() erases the entry only from the mirror named by the backing page (rpage->zone_device_data, the one that migrated it), so the other mirror keeps an entry for a device page that is freed and reused",
    kind: 'kernel',
    owner: '@hmmsim/dmirror (faithful to lib/test_hmm.c: a driver bug on all three builds)',
    conflicts: () => false,
    drops: (op, ctx) => {
      if (op.spec.kind !== 'dev-read' && op.spec.kind !== 'dev-write') return false;
      const dev = op.spec.dev;
      return pageRange(op.addr, op.npages).some((v) => ctx.foreignOwned(op.pid, dev, v));
    },
  },
  {
    id: 'K2',
    title:
      "reclaim's reverse-map walk (try_to_unmap) takes its (vma, address) candidates once and sleeps in the notifier calls between them; a munmap/mprotect/mmap/fork/exit meanwhile splits or frees a candidate vma and try_to_unmap_one() gets an address outside it (KernelBugError; Linux holds the anon_vma lock across the walk, and vma splits take it)",
    kind: 'model',
    owner: '@hmmsim/mm (vmscan.ts tryToUnmap / rmap.ts rmapCandidates)',
    conflicts: (a, b) => either(a, b, (r, o) => reclaims(r) && MAPPING_CHANGES.has(o.spec.kind)),
  },
];

/** `cpus` without the operations an open issue drops (empty CPUs removed). */
export function dropKnownIssues(
  cpus: readonly (readonly ResolvedOp[])[],
  issues: readonly KnownIssue[],
  ctx: IssueContext,
): ResolvedOp[][] {
  return cpus
    .map((ops) => ops.filter((op) => !issues.some((k) => k.drops?.(op, ctx) === true)))
    .filter((ops) => ops.length > 0);
}

/**
 * `cpus` with every pair of CPUs whose operations conflict under `issues` merged into one CPU
 * (the first one's operations, then the other's), until no two CPUs conflict.
 */
export function serializeKnownRaces(
  cpus: readonly (readonly ResolvedOp[])[],
  issues: readonly KnownIssue[],
  where: WhereOf,
): ResolvedOp[][] {
  const out = cpus.map((ops) => [...ops]);
  const clash = (x: readonly ResolvedOp[], y: readonly ResolvedOp[]) =>
    x.some((a) => y.some((b) => issues.some((k) => k.conflicts(a, b, where))));
  for (let merged = true; merged; ) {
    merged = false;
    for (let i = 0; i < out.length && !merged; i++) {
      for (let j = i + 1; j < out.length && !merged; j++) {
        if (!clash(out[i]!, out[j]!)) continue;
        out[i]!.push(...out[j]!);
        out.splice(j, 1);
        merged = true;
      }
    }
  }
  return out.map((ops, cpu) => ops.map((op) => ({ ...op, cpu })));
}
