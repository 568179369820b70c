import {
  assertMachineInvariants,
  createMachine,
  createMm,
  InvalidationRecorder,
  type Machine,
  type MachineOptions,
  type MmStruct,
} from '../src/index.ts';

export const KiB = 1024;
export const MiB = 1024 * 1024;
export const PAGE = 4096;

export function setup(opts: MachineOptions = {}): {
  machine: Machine;
  mm: MmStruct;
  rec: InvalidationRecorder;
} {
  const machine = createMachine({ ramBytes: 32 * MiB, swapPages: 1024, ...opts });
  const mm = createMm(machine);
  const rec = new InvalidationRecorder().attach(mm);
  return { machine, mm, rec };
}

export function bytes(n: number, fill: number): Uint8Array {
  return new Uint8Array(n).fill(fill);
}

export function check(machine: Machine): void {
  assertMachineInvariants(machine);
}

export function h(n: number): string {
  return `0x${n.toString(16)}`;
}

/** Start records as compact `EVENT start-end` strings. */
export function starts(rec: InvalidationRecorder, mm?: MmStruct): string[] {
  const names = [
    'UNMAP',
    'CLEAR',
    'PROTECTION_VMA',
    'PROTECTION_PAGE',
    'SOFT_DIRTY',
    'RELEASE',
    'MIGRATE',
  ];
  return rec.starts(mm).map((r) => `${names[r.event]} ${h(r.start)}-${h(r.end)}`);
}

/** The seed to use: HMMSIM_SEED from the environment, else `fallback`. */
export function seedFromEnv(fallback: number): number {
  const { HMMSIM_SEED } = process.env;
  return HMMSIM_SEED === undefined ? fallback : Number(HMMSIM_SEED);
}
