/**
 * The core's own record of every migrate_vma between migrate_vma_setup() and
 * migrate_vma_finalize(): which struct (and which src/dst arrays) it lives in, the range, the
 * number of slots and the src/dst entries as the core last left them. The kernel trusts the
 * driver here; the model keeps this record so that misuse — a second setup on a struct whose
 * pages are still locked, src/npages/start changed between the steps, pages called twice,
 * finalize without pages — is refused before anything changes, finalize always finishes from the
 * record (no page is left locked), and the invariant checks can tell a page locked by a migration
 * in flight from a page locked by nothing.
 *
 * Access reports (for the explorer's partial-order reduction): the registry (which struct and
 * arrays carry a migration, the set per machine) is reported as one object, `registry` below;
 * each record is reported as a whole (`noteRead(rec)` / `noteWrite(rec)`); the src/dst arrays it
 * copies from are reported on the arrays (element = slot, or the whole array for a scan).
 *
 * Model-only (no kernel counterpart).
 */
import { accessReporting, noteRead, noteWrite, ObjectSlot } from '@hmmsim/kernel';
import type { Machine, VmArea } from '@hmmsim/mm';
import { formatMigratePfn, migratePfnToPage } from './migrate-pfn.ts';
import type { MigrateVma, ReadyMigrateVma } from './migrate-vma.ts';

/**
 * Where a migration is: `collecting` (setup running), `collected` (setup returned, driver's turn),
 * `moving` (pages running), `moved` (pages returned), `finalizing`.
 */
export type MigrateStage = 'collecting' | 'collected' | 'moving' | 'moved' | 'finalizing';

/** One migrate_vma in flight. Model-only. */
export interface MigrateInFlight {
  readonly machine: Machine;
  /** The struct migrate_vma setup ran on. */
  readonly args: MigrateVma;
  readonly srcArray: Float64Array;
  readonly dstArray: Float64Array;
  readonly vma: VmArea;
  /** Range and slot count as setup left them (0 while collecting). */
  start: number;
  end: number;
  npages: number;
  /** src as the core last left it (a copy). */
  src: Float64Array;
  /** dst as migrate_vma_pages() took it (a copy), null before. */
  dst: Float64Array | null;
  stage: MigrateStage;
}

const byArgs = new ObjectSlot<MigrateVma, MigrateInFlight>('migrate_vma.in_flight');
const byArray = new ObjectSlot<Float64Array, MigrateInFlight>('migrate_vma.array_in_flight');
const byMachine = new ObjectSlot<Machine, Set<MigrateInFlight>>('machine.migrations_in_flight');
/** The object that stands for the three maps above in access reports. */
const registry = byArgs;

/**
 * The migration in flight on `args`: set up on this struct, or on one sharing its src or dst
 * array (a copy of the struct). Model-only.
 */
export function migrateInFlightOf(args: MigrateVma): MigrateInFlight | undefined {
  if (accessReporting) noteRead(registry);
  return (
    byArgs.get(args) ??
    (args.src instanceof Float64Array ? byArray.get(args.src) : undefined) ??
    (args.dst instanceof Float64Array ? byArray.get(args.dst) : undefined)
  );
}

/** Every migrate_vma of `machine` between setup and the end of finalize. Model-only. */
export function migrationsInFlight(machine: Machine): readonly MigrateInFlight[] {
  if (accessReporting) noteRead(registry);
  const set = byMachine.get(machine);
  return set === undefined ? [] : [...set];
}

/** Start the record of a setup on `args` (stage 'collecting'). Model-only. */
export function migrateInFlightBegin(machine: Machine, args: ReadyMigrateVma): MigrateInFlight {
  const rec: MigrateInFlight = {
    machine,
    args,
    srcArray: args.src,
    dstArray: args.dst,
    vma: args.vma,
    start: args.start,
    end: args.end,
    npages: 0,
    src: new Float64Array(0),
    dst: null,
    stage: 'collecting',
  };
  if (accessReporting) noteWrite(registry);
  byArgs.set(args, rec);
  byArray.set(args.src, rec);
  byArray.set(args.dst, rec);
  let set = byMachine.get(machine);
  if (set === undefined) {
    set = new Set();
    byMachine.set(machine, set);
  }
  set.add(rec);
  return rec;
}

/** Setup returned: keep what it left in `args`. Model-only. */
export function migrateInFlightCollected(rec: MigrateInFlight, args: ReadyMigrateVma): void {
  if (accessReporting) noteWrite(rec);
  if (accessReporting) noteRead(args.src);
  rec.start = args.start;
  rec.end = args.end;
  rec.npages = args.npages;
  rec.src = args.src.slice(0, args.npages);
  rec.stage = 'collected';
}

/** migrate_vma_pages() returned: keep src and dst as they are now. Model-only. */
export function migrateInFlightMoved(rec: MigrateInFlight): void {
  if (accessReporting) noteWrite(rec);
  if (accessReporting) noteRead(rec.srcArray);
  if (accessReporting) noteRead(rec.dstArray);
  rec.src = rec.srcArray.slice(0, rec.npages);
  rec.dst = rec.dstArray.slice(0, rec.npages);
  rec.stage = 'moved';
}

/** Drop the record (finalize done, or setup failed / selected nothing). Model-only. */
export function migrateInFlightEnd(rec: MigrateInFlight): void {
  if (accessReporting) noteWrite(registry);
  if (byArgs.get(rec.args) === rec) byArgs.delete(rec.args);
  if (byArray.get(rec.srcArray) === rec) byArray.delete(rec.srcArray);
  if (byArray.get(rec.dstArray) === rec) byArray.delete(rec.dstArray);
  byMachine.get(rec.machine)?.delete(rec);
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** 'migrate_vma of [0x…, 0x…) in mm3 (4 slots, collected)'. Model-only. */
export function describeMigrateInFlight(rec: MigrateInFlight): string {
  if (accessReporting) noteRead(rec);
  const slots = rec.stage === 'collecting' ? 'setup running' : `${rec.npages} slots, ${rec.stage}`;
  return `migrate_vma of [${hex(rec.start)}, ${hex(rec.end)}) in mm${rec.vma.vmMm.id} (${slots})`;
}

function entry(v: number | undefined): string {
  if (v === undefined) return 'missing';
  return Number.isSafeInteger(v) && v >= 0 ? formatMigratePfn(v) : String(v);
}

/** The first slot where `now` differs from `kept`, described, or ''. */
function firstDifference(name: string, now: Float64Array, kept: Float64Array): string {
  if (accessReporting) noteRead(now);
  for (let i = 0; i < kept.length; i++) {
    if (!Object.is(now[i], kept[i])) {
      return `args.${name}[${i}] is ${entry(now[i])}, the core left ${entry(kept[i])}`;
    }
  }
  return '';
}

/**
 * What the driver changed in `args` since the core last wrote it ('' when nothing): the struct's
 * vma, start, end, npages, the src/dst arrays themselves, the src entries, and (after
 * migrate_vma_pages) the dst entries. Model-only.
 */
export function describeArgsChange(rec: MigrateInFlight, args: MigrateVma): string {
  if (accessReporting) noteRead(rec);
  if (accessReporting) noteRead(args);
  if (args.vma !== rec.vma) return 'args.vma is not the vma migrate_vma_setup ran on';
  if (args.src !== rec.srcArray) return 'args.src is not the array migrate_vma_setup filled';
  if (args.dst !== rec.dstArray) return 'args.dst is not the array migrate_vma_setup cleared';
  if (!Object.is(args.npages, rec.npages)) {
    return `args.npages is ${args.npages}, migrate_vma_setup left ${rec.npages}`;
  }
  if (!Object.is(args.start, rec.start) || !Object.is(args.end, rec.end)) {
    return `args.start/end are [${args.start}, ${args.end}), migrate_vma_setup left [${hex(rec.start)}, ${hex(rec.end)})`;
  }
  const src = firstDifference('src', rec.srcArray, rec.src);
  if (src !== '') return src;
  return rec.dst === null ? '' : firstDifference('dst', rec.dstArray, rec.dst);
}

/**
 * The pages a migration in flight holds locked: its source pages (VALID entries of the kept src)
 * and, after migrate_vma_pages(), its destination pages. Model-only.
 */
export function migrateInFlightPages(rec: MigrateInFlight): number[] {
  if (accessReporting) noteRead(rec);
  const out: number[] = [];
  for (const arr of [rec.src, rec.dst]) {
    if (arr === null) continue;
    for (let i = 0; i < arr.length; i++) {
      const page = migratePfnToPage(arr[i] as number);
      if (page >= 0) out.push(page);
    }
  }
  return out;
}
