import { createRandom, PAGE_SIZE, type Random } from '@hmmsim/kernel';
import {
  assertMachineInvariants,
  cpuRead,
  cpuWrite,
  createMachine,
  createMm,
  InvalidationRecorder,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  type Machine,
  type MachineOptions,
  type MmStruct,
  mmap,
  PROT_READ,
  PROT_WRITE,
} from '@hmmsim/mm';
import { expect } from 'vitest';
import {
  assertMigrateInvariants,
  createTestDevice,
  type RefcountCheckOptions,
  type TestDevice,
} from '../src/index.ts';

export const PAGE = PAGE_SIZE;
export const MiB = 2 ** 20;

/** A machine, an mm with an invalidation recorder, and one test device. */
export interface World {
  readonly machine: Machine;
  readonly mm: MmStruct;
  readonly dev: TestDevice;
  readonly rec: InvalidationRecorder;
}

/** Worlds created by the current test, checked by checkAll() in afterEach. */
const live: World[] = [];
/** Extra references a test holds on purpose (pins), consulted by the refcount invariant. */
export const pins = new Map<number, number>();

export function setup(opts: MachineOptions & { devicePages?: number } = {}): World {
  const machine = createMachine({ ramBytes: 16 * MiB, swapPages: 256, thp: 'never', ...opts });
  const mm = createMm(machine);
  const rec = new InvalidationRecorder().attach(mm);
  const dev = createTestDevice(machine, { nrPages: opts.devicePages ?? 64 });
  const w = { machine, mm, dev, rec };
  live.push(w);
  return w;
}

/** Invariants 16–20 plus the mm's machine invariants on every world of the test; then forget them. */
export function checkAll(extra: RefcountCheckOptions = {}): void {
  const worlds = live.splice(0);
  for (const w of worlds) {
    assertMachineInvariants(w.machine);
    assertMigrateInvariants(w.machine, {
      quiescent: true,
      freeLists: [w.dev],
      extraRefs: extra.extraRefs ?? ((pfn) => pins.get(pfn) ?? 0),
    });
  }
  pins.clear();
}

export async function mmapAnon(
  mm: MmStruct,
  pages: number,
  prot = PROT_READ | PROT_WRITE,
): Promise<number> {
  const addr = await mmap(mm, 0, pages * PAGE, prot, MAP_PRIVATE | MAP_ANONYMOUS);
  expect(addr).toBeGreaterThan(0);
  return addr;
}

/** The seed for random contents: HMMSIM_SEED or `fallback`; printed so a failure can be replayed. */
export function seeded(fallback: number): { seed: number; rng: Random } {
  const env = process.env['HMMSIM_SEED'];
  const seed = env === undefined ? fallback : Number(env);
  console.log(
    `[migrate tests] random contents seed = ${seed} (replay: HMMSIM_SEED=${seed} npx vitest run --project @hmmsim/migrate)`,
  );
  return { seed, rng: createRandom(seed) };
}

export function randomBytes(rng: Random, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 4) {
    const v = rng.nextU32();
    out[i] = v & 0xff;
    out[i + 1] = (v >>> 8) & 0xff;
    out[i + 2] = (v >>> 16) & 0xff;
    out[i + 3] = (v >>> 24) & 0xff;
  }
  return out;
}

export async function write(mm: MmStruct, addr: number, bytes: Uint8Array): Promise<void> {
  const r = await cpuWrite(mm, addr, bytes);
  expect(r.ok).toBe(true);
}

export async function read(mm: MmStruct, addr: number, len: number): Promise<Uint8Array> {
  const r = await cpuRead(mm, addr, len);
  if (!r.ok || r.data === undefined) throw new Error(`cpuRead failed: ${JSON.stringify(r)}`);
  return r.data;
}

/** Byte-exact comparison that stays fast on megabytes (toEqual walks element by element). */
export function expectSameBytes(got: Uint8Array, want: Uint8Array): void {
  const same = got.length === want.length && Buffer.from(got).equals(Buffer.from(want));
  if (!same) {
    const at = got.findIndex((b, k) => b !== want[k]);
    expect.fail(`bytes differ (lengths ${got.length}/${want.length}, first difference at ${at})`);
  }
}
