/**
 * What fast-check draws: a step is one to MAX_CPUS simulated CPUs, each running one to
 * MAX_OPS_PER_CPU operations in order, and the explorer strategy (random or PCT, with its seed)
 * that interleaves them. Operations name their process, region, device and pages by small
 * indices, resolved against the live state when the step runs (so a shrunk sequence still
 * applies). Weights favour the operations whose races matter (device reads against unmaps,
 * writes that reuse freed pages).
 */
import fc from 'fast-check';
import { MAX_CPUS, MAX_OP_PAGES, MAX_OPS_PER_CPU, MAX_REGION_PAGES } from '../config.ts';
import { PROTS, type ProtName } from '../ref-model.ts';
import { SCHEDULE_STRATEGIES, type ScheduleSpec } from '../schedule.ts';

/** A page range inside one of the process's regions. */
export interface RangeSpec {
  readonly proc: number;
  readonly region: number;
  readonly page: number;
  readonly npages: number;
}

/** One operation, by kind. */
export type OpSpec =
  | {
      readonly kind: 'mmap';
      readonly proc: number;
      readonly npages: number;
      readonly prot: ProtName;
    }
  | ({ readonly kind: 'munmap' } & RangeSpec)
  | ({ readonly kind: 'mprotect'; readonly prot: ProtName } & RangeSpec)
  | ({ readonly kind: 'madvise'; readonly advice: 'dontneed' | 'pageout' } & RangeSpec)
  | { readonly kind: 'reclaim'; readonly proc: number; readonly nr: number }
  | { readonly kind: 'fork'; readonly proc: number }
  | { readonly kind: 'exit'; readonly proc: number; readonly order: 'mm-first' | 'files-first' }
  | ({ readonly kind: 'cpu-read'; readonly byte: number; readonly len: number } & RangeSpec)
  | ({
      readonly kind: 'cpu-write';
      readonly byte: number;
      readonly len: number;
      readonly stamp: number;
    } & RangeSpec)
  | ({ readonly kind: 'dev-read'; readonly dev: number } & RangeSpec)
  | ({ readonly kind: 'dev-write'; readonly dev: number; readonly stamp: number } & RangeSpec)
  | ({ readonly kind: 'dev-snapshot'; readonly dev: number } & RangeSpec)
  | ({ readonly kind: 'migrate-to-dev'; readonly dev: number } & RangeSpec)
  | ({ readonly kind: 'migrate-to-sys'; readonly dev: number } & RangeSpec);

/** The kinds of operation. */
export type OpKind = OpSpec['kind'];

/** One step: the CPUs' operation lists and the schedule that interleaves them. */
export interface StepSpec {
  readonly cpus: readonly (readonly OpSpec[])[];
  readonly schedule: ScheduleSpec;
}

const procArb = fc.nat({ max: 7 });
const devArb = fc.nat({ max: 1 });
const stampArb = fc.nat({ max: 0xffff });
const protArb = fc.constantFrom<ProtName>(...(Object.keys(PROTS) as ProtName[]));

/** A page range: process, region, first page, length. */
const rangeArb: fc.Arbitrary<RangeSpec> = fc.record({
  proc: procArb,
  region: fc.nat({ max: 7 }),
  page: fc.nat({ max: MAX_REGION_PAGES - 1 }),
  npages: fc.integer({ min: 1, max: MAX_OP_PAGES }),
});

/** `rangeArb` plus the fields of one kind. */
function ranged<K extends OpKind, X extends object>(
  kind: K,
  extra: { [P in keyof X]: fc.Arbitrary<X[P]> },
): fc.Arbitrary<{ kind: K } & RangeSpec & X> {
  return fc
    .tuple(rangeArb, fc.record(extra))
    .map(([r, x]) => ({ kind, ...r, ...(x as X) }) as { kind: K } & RangeSpec & X);
}

const byteArb = fc.nat({ max: 4095 });
const lenArb = fc.integer({ min: 1, max: MAX_OP_PAGES * 4096 });

/** Every operation, weighted. */
export const opArb: fc.Arbitrary<OpSpec> = fc.oneof(
  { weight: 6, arbitrary: ranged('dev-read', { dev: devArb }) },
  { weight: 5, arbitrary: ranged('cpu-write', { byte: byteArb, len: lenArb, stamp: stampArb }) },
  { weight: 3, arbitrary: ranged('cpu-read', { byte: byteArb, len: lenArb }) },
  { weight: 4, arbitrary: ranged('munmap', {}) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('mmap' as const),
      proc: procArb,
      npages: fc.integer({ min: 1, max: MAX_REGION_PAGES }),
      prot: fc.oneof({ weight: 6, arbitrary: fc.constant<ProtName>('rw') }, protArb),
    }),
  },
  { weight: 3, arbitrary: ranged('dev-write', { dev: devArb, stamp: stampArb }) },
  { weight: 3, arbitrary: ranged('migrate-to-dev', { dev: devArb }) },
  { weight: 2, arbitrary: ranged('migrate-to-sys', { dev: devArb }) },
  { weight: 2, arbitrary: ranged('dev-snapshot', { dev: devArb }) },
  { weight: 2, arbitrary: ranged('mprotect', { prot: protArb }) },
  {
    weight: 2,
    arbitrary: ranged('madvise', {
      advice: fc.constantFrom<'dontneed' | 'pageout'>('dontneed', 'pageout'),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('reclaim' as const),
      proc: procArb,
      nr: fc.integer({ min: 1, max: 32 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('fork' as const), proc: procArb }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('exit' as const),
      proc: procArb,
      order: fc.constantFrom<'mm-first' | 'files-first'>('mm-first', 'files-first'),
    }),
  },
);

const scheduleArb = fc.record({
  strategy: fc.constantFrom(...SCHEDULE_STRATEGIES),
  seed: fc.nat(),
});

/** A step of independent draws: 1–3 CPUs of 1–3 operations. */
const freeStepArb: fc.Arbitrary<StepSpec> = fc.record({
  cpus: fc.array(fc.array(opArb, { minLength: 1, maxLength: MAX_OPS_PER_CPU }), {
    minLength: 1,
    maxLength: MAX_CPUS,
  }),
  schedule: scheduleArb,
});

/** The device side of a race template: a device command on the range. */
const deviceSide = fc.constantFrom('dev-read', 'dev-write', 'dev-snapshot', 'migrate-to-dev');
/** The CPU side: what changes the range under the device. */
const cpuSide = fc.constantFrom('munmap', 'mprotect', 'dontneed', 'pageout', 'cpu-write', 'fork');

/** The CPU side's operation on `r`. */
function cpuSideOp(kind: string, r: RangeSpec, stamp: number): OpSpec {
  switch (kind) {
    case 'munmap':
      return { kind: 'munmap', ...r };
    case 'mprotect':
      return { kind: 'mprotect', ...r, prot: 'r' };
    case 'dontneed':
    case 'pageout':
      return { kind: 'madvise', ...r, advice: kind };
    case 'cpu-write':
      return { kind: 'cpu-write', ...r, byte: 0, len: r.npages * 4096, stamp };
    default:
      return { kind: 'fork', proc: r.proc };
  }
}

/** The device side's operation on `r`. */
function deviceSideOp(kind: string, r: RangeSpec, dev: number, stamp: number): OpSpec {
  if (kind === 'dev-write') return { kind: 'dev-write', ...r, dev, stamp };
  return { kind: kind as 'dev-read' | 'dev-snapshot' | 'migrate-to-dev', ...r, dev };
}

/**
 * A race template: a device command and an operation that changes the same pages under it, on
 * two CPUs, and optionally a third CPU writing another process's memory (which reuses freed
 * pages at once): the shape of race R1 and its relatives, drawn far more often than independent
 * draws would line them up.
 */
const raceStepArb: fc.Arbitrary<StepSpec> = fc
  .record({
    range: rangeArb,
    dev: devArb,
    device: deviceSide,
    cpu: cpuSide,
    stamp: stampArb,
    reuse: fc.option(ranged('cpu-write', { byte: byteArb, len: lenArb, stamp: stampArb }), {
      nil: undefined,
    }),
    schedule: scheduleArb,
  })
  .map(({ range, dev, device, cpu, stamp, reuse, schedule }) => {
    const cpus: OpSpec[][] = [
      [deviceSideOp(device, range, dev, stamp)],
      [cpuSideOp(cpu, range, stamp)],
    ];
    if (reuse !== undefined) cpus.push([{ ...reuse, proc: range.proc + 1 }]);
    return { cpus, schedule };
  });

/** One step: mostly independent draws, sometimes a race template. */
export const stepArb: fc.Arbitrary<StepSpec> = fc.oneof(
  { weight: 3, arbitrary: freeStepArb },
  { weight: 1, arbitrary: raceStepArb },
);
