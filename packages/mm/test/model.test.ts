/**
 * Model-based test: random mmap/munmap/mprotect/madvise(DONTNEED)/fork/exit/read/write/reclaim
 * sequences against a deliberately simple reference model (per process, a Map from page address
 * to {prot, bytes}); after every command the machine-wide invariants must hold.
 */
import { ENOMEM } from '@hmmsim/kernel';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assertMachineInvariants,
  cpuRead,
  cpuWrite,
  createMachine,
  createMm,
  forEachLeaf,
  fork,
  MADV_DONTNEED,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  type Machine,
  type MmStruct,
  madvise,
  mmap,
  mmput,
  mprotect,
  munmap,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  reclaimPage,
} from '../src/index.ts';
import { seedFromEnv } from './helpers.ts';

const PAGE = 4096;
let executed = 0;
let hugeSeen = 0;
const BASE = 0x10000000;
const PROTS = [PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE] as const;

interface PageModel {
  prot: number;
  /** The page's bytes; null while it reads as zeros (allocated on the first write). */
  data: Uint8Array | null;
}
type Proc = Map<number, PageModel>;
interface Model {
  procs: Proc[];
}
interface Real {
  machine: Machine;
  mms: MmStruct[];
}

const pageAddr = (i: number) => BASE + i * PAGE;

function cloneProc(p: Proc): Proc {
  const q: Proc = new Map();
  for (const [k, v] of p) q.set(k, { prot: v.prot, data: v.data?.slice() ?? null });
  return q;
}

function pick<T>(arr: T[], i: number): T {
  return arr[i % arr.length]!;
}

type Cmd = fc.AsyncCommand<Model, Real, false>;

class MmapCmd implements Cmd {
  constructor(
    readonly p: number,
    readonly i: number,
    readonly n: number,
    readonly prot: number,
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const k = this.p % m.procs.length;
    const ret = await mmap(
      pick(r.mms, k),
      pageAddr(this.i),
      this.n * PAGE,
      this.prot,
      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
    );
    expect(ret).toBe(pageAddr(this.i));
    for (let j = this.i; j < this.i + this.n; j++)
      m.procs[k]!.set(j, { prot: this.prot, data: null });
  }
  toString = () => `mmap(p${this.p}, ${this.i}, ${this.n}, prot ${this.prot})`;
}

class MunmapCmd implements Cmd {
  constructor(
    readonly p: number,
    readonly i: number,
    readonly n: number,
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const k = this.p % m.procs.length;
    expect(await munmap(pick(r.mms, k), pageAddr(this.i), this.n * PAGE)).toBe(0);
    for (let j = this.i; j < this.i + this.n; j++) m.procs[k]!.delete(j);
  }
  toString = () => `munmap(p${this.p}, ${this.i}, ${this.n})`;
}

class MprotectCmd implements Cmd {
  constructor(
    readonly p: number,
    readonly i: number,
    readonly n: number,
    readonly prot: number,
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const k = this.p % m.procs.length;
    const proc = m.procs[k]!;
    let want = 0;
    if (!proc.has(this.i)) want = -ENOMEM;
    else {
      for (let j = this.i; j < this.i + this.n; j++) {
        const pg = proc.get(j);
        if (pg === undefined) {
          want = -ENOMEM;
          break;
        }
        pg.prot = this.prot;
      }
    }
    expect(await mprotect(pick(r.mms, k), pageAddr(this.i), this.n * PAGE, this.prot)).toBe(want);
  }
  toString = () => `mprotect(p${this.p}, ${this.i}, ${this.n}, prot ${this.prot})`;
}

class DontneedCmd implements Cmd {
  constructor(
    readonly p: number,
    readonly i: number,
    readonly n: number,
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const k = this.p % m.procs.length;
    const proc = m.procs[k]!;
    let want = 0;
    for (let j = this.i; j < this.i + this.n; j++) {
      const pg = proc.get(j);
      if (pg === undefined) want = -ENOMEM;
      else pg.data = null;
    }
    expect(await madvise(pick(r.mms, k), pageAddr(this.i), this.n * PAGE, MADV_DONTNEED)).toBe(
      want,
    );
  }
  toString = () => `madvise_dontneed(p${this.p}, ${this.i}, ${this.n})`;
}

class ForkCmd implements Cmd {
  constructor(readonly p: number) {}
  check = (m: Readonly<Model>) => m.procs.length < 3;
  async run(m: Model, r: Real) {
    const k = this.p % m.procs.length;
    const child = await fork(pick(r.mms, k));
    expect(typeof child).not.toBe('number');
    r.mms.push(child as MmStruct);
    m.procs.push(cloneProc(m.procs[k]!));
  }
  toString = () => `fork(p${this.p})`;
}

class ExitCmd implements Cmd {
  constructor(readonly p: number) {}
  check = (m: Readonly<Model>) => m.procs.length > 1;
  async run(m: Model, r: Real) {
    const k = this.p % m.procs.length;
    await mmput(r.mms[k]!);
    r.mms.splice(k, 1);
    m.procs.splice(k, 1);
  }
  toString = () => `exit(p${this.p})`;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function readable(pg: PageModel | undefined): boolean {
  return pg !== undefined && (pg.prot & (PROT_READ | PROT_WRITE)) !== 0;
}

class ReadCmd implements Cmd {
  constructor(
    readonly p: number,
    readonly off: number,
    readonly len: number,
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const k = this.p % m.procs.length;
    const proc = m.procs[k]!;
    const start = BASE + this.off;
    const res = await cpuRead(pick(r.mms, k), start, this.len);
    for (let a = start; a < start + this.len; a = (Math.floor(a / PAGE) + 1) * PAGE) {
      const pg = proc.get(Math.floor((a - BASE) / PAGE));
      if (!readable(pg)) {
        expect(res).toEqual({
          ok: false,
          signal: 'SIGSEGV',
          code: pg === undefined ? 'SEGV_MAPERR' : 'SEGV_ACCERR',
          addr: a,
        });
        return;
      }
    }
    const want = new Uint8Array(this.len);
    for (let b = 0; b < this.len; b++) {
      const a = start + b;
      want[b] = proc.get(Math.floor((a - BASE) / PAGE))!.data?.[a % PAGE] ?? 0;
    }
    // The same assertion as toEqual({ ok: true, data: want }); the deep (slow) comparison runs
    // only when a byte differs, to print the diff.
    if (!res.ok || res.data === undefined || !sameBytes(res.data, want)) {
      expect(res).toEqual({ ok: true, data: want });
    }
  }
  toString = () => `read(p${this.p}, +${this.off}, ${this.len})`;
}

class WriteCmd implements Cmd {
  constructor(
    readonly p: number,
    readonly off: number,
    readonly len: number,
    readonly v: number,
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const k = this.p % m.procs.length;
    const proc = m.procs[k]!;
    const start = BASE + this.off;
    const res = await cpuWrite(pick(r.mms, k), start, new Uint8Array(this.len).fill(this.v));
    for (let a = start; a < start + this.len; ) {
      const next = Math.min(start + this.len, (Math.floor(a / PAGE) + 1) * PAGE);
      const pg = proc.get(Math.floor((a - BASE) / PAGE));
      if (pg === undefined || (pg.prot & PROT_WRITE) === 0) {
        expect(res).toEqual({
          ok: false,
          signal: 'SIGSEGV',
          code: pg === undefined ? 'SEGV_MAPERR' : 'SEGV_ACCERR',
          addr: a,
        });
        return;
      }
      pg.data ??= new Uint8Array(PAGE);
      pg.data.fill(this.v, a % PAGE, (a % PAGE) + (next - a));
      a = next;
    }
    expect(res).toEqual({ ok: true });
  }
  toString = () => `write(p${this.p}, +${this.off}, ${this.len}, ${this.v})`;
}

class ReclaimCmd implements Cmd {
  constructor(
    readonly p: number,
    readonly nth: number,
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const mm = pick(r.mms, this.p % m.procs.length);
    const pfns: number[] = [];
    forEachLeaf(mm.pt, (e) => {
      if (e.level === 1 && (e.bits & 1) !== 0 && e.val !== 0) pfns.push(e.val);
    });
    if (pfns.length === 0) return;
    expect([0, -16]).toContain(await reclaimPage(r.machine, pick(pfns, this.nth)));
  }
  toString = () => `reclaim(p${this.p}, #${this.nth})`;
}

function commandArbs(NPAGES: number, near: number[]) {
  const proc = fc.nat(5);
  const page =
    near.length === 0
      ? fc.integer({ min: 0, max: NPAGES - 1 })
      : fc
          .tuple(
            fc.constantFrom(...near),
            fc.oneof(fc.constant(0), fc.integer({ min: -3, max: 3 })),
          )
          .map(([b, d]) => Math.min(NPAGES - 1, Math.max(0, b + d)));
  const count =
    near.length === 0
      ? fc.integer({ min: 1, max: 4 })
      : fc.oneof(fc.integer({ min: 1, max: 4 }), fc.constantFrom(508, 512, 516, 1024));
  const offset =
    near.length === 0
      ? fc.integer({ min: 0, max: NPAGES * PAGE - 1 })
      : page.chain((i) => fc.integer({ min: i * PAGE, max: i * PAGE + PAGE - 1 }));
  const prot = fc.constantFrom(...PROTS);
  const extra =
    near.length === 0
      ? []
      : [
          fc
            .tuple(proc, fc.constantFrom(0, NPAGES / 2), prot)
            .map(([p, i, pr]) => new MmapCmd(p, i, NPAGES - i, pr)),
        ];
  return [
    ...extra,
    fc.tuple(proc, page, count, prot).map(([p, i, n, pr]) => new MmapCmd(p, i, n, pr)),
    fc.tuple(proc, page, count).map(([p, i, n]) => new MunmapCmd(p, i, n)),
    fc.tuple(proc, page, count, prot).map(([p, i, n, pr]) => new MprotectCmd(p, i, n, pr)),
    fc.tuple(proc, page, count).map(([p, i, n]) => new DontneedCmd(p, i, n)),
    proc.map((p) => new ForkCmd(p)),
    proc.map((p) => new ExitCmd(p)),
    fc
      .tuple(proc, offset, fc.integer({ min: 1, max: 2 * PAGE }))
      .map(([p, o, l]) => new ReadCmd(p, o, Math.min(l, NPAGES * PAGE + PAGE - o))),
    fc
      .tuple(proc, offset, fc.integer({ min: 1, max: 2 * PAGE }), fc.integer({ min: 1, max: 255 }))
      .map(([p, o, l, v]) => new WriteCmd(p, o, Math.min(l, NPAGES * PAGE + PAGE - o), v)),
    fc.tuple(proc, fc.nat(64)).map(([p, n]) => new ReclaimCmd(p, n)),
  ];
}

/** One slice of a model test: `runs` runs of fast-check from `seed`. */
interface Slice {
  readonly label: string;
  readonly npages: number;
  readonly near: number[];
  readonly thp: 'never' | 'always';
  readonly runs: number;
  readonly seed: number;
  /** The test name, for the replay line. */
  readonly name: string;
}

async function runModel(slice: Slice): Promise<void> {
  const { label, npages, near, thp, runs: numRuns, name } = slice;
  const seed = seedFromEnv(slice.seed);
  console.log(
    `model test (${label}) seed ${seed} (replay: HMMSIM_SEED=${seed} npx vitest run --project @hmmsim/mm test/model.test.ts -t '${name}')`,
  );
  executed = 0;
  hugeSeen = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.commands(commandArbs(npages, near), { maxCommands: 50, size: 'max' }),
      async (cmds) => {
        const machine = createMachine({
          ramBytes: (thp === 'always' ? 64 : 16) * 1024 * 1024,
          swapPages: 64,
          thp,
        });
        const real: Real = { machine, mms: [createMm(machine)] };
        const model: Model = { procs: [new Map()] };
        const checked = [...cmds].map((c) => {
          const run = c.run.bind(c);
          c.run = async (m: Model, r: Real) => {
            await run(m, r);
            executed++;
            for (const mm of r.mms)
              forEachLeaf(mm.pt, (e) => {
                if (e.level === 2) hugeSeen++;
              });
            // Between commands nothing is in flight: no lock may be left held.
            assertMachineInvariants(r.machine, { quiescent: true });
          };
          return c;
        });
        await fc.asyncModelRun(() => ({ model, real }), checked);
        for (const mm of real.mms) await mmput(mm);
        assertMachineInvariants(machine, { quiescent: true });
        expect(machine.swap.inuse).toBe(0);
        expect(machine.phys.freeArea.nrFree).toBe(machine.phys.nrPages - 1);
      },
    ),
    { seed, numRuns },
  );
  console.log(`model test (${label}) executed ${executed} commands, saw ${hugeSeen} huge PMDs`);
  expect(executed).toBeGreaterThan(numRuns * 5);
}

/**
 * The 150 runs of the 4 KiB model test and the 50 of the THP one, each cut into five slices (30
 * and 10 runs) with their own seed (1911, 1912, ...), so that every test stays far inside its
 * time budget on a loaded 2-core CI machine; the number of runs and what each run checks are
 * unchanged.
 */
function slices(
  base: Omit<Slice, 'runs' | 'seed' | 'name'>,
  total: number,
  per: number,
  title: string,
): Slice[] {
  const n = total / per;
  return Array.from({ length: n }, (_, i) => ({
    ...base,
    label: `${base.label} ${i + 1}/${n}`,
    runs: per,
    seed: 1911 + i,
    name: `${title}, runs ${i * per + 1}-${(i + 1) * per} of ${total}`,
  }));
}

const FOUR_K = slices(
  { label: '4k', npages: 12, near: [], thp: 'never' },
  150,
  30,
  'agrees with the reference model and keeps every invariant (4 KiB pages)',
);
const THP = slices(
  { label: 'thp', npages: 1024, near: [0, 4, 508, 512, 1020], thp: 'always' },
  50,
  10,
  'agrees with the reference model around THP boundaries (thp=always)',
);

describe('model-based test of the mm against a page map', () => {
  for (const slice of [...FOUR_K, ...THP]) {
    it(slice.name, async () => {
      await runModel(slice);
    });
  }
});
