/**
 * A test process of the selftest port: a fresh machine (the kselftest harness forks one process
 * per test) with the dmirror module loaded, the process's mm, the implementation the device
 * files are opened on, and hmm_open().
 *
 * Mirrors tools/testing/selftests/mm/hmm-tests.c: hmm_open() and the per-test process.
 */
import { createScheduler, InvalidArgumentError, type SchedulePolicy } from '@hmmsim/kernel';
import { createMachine, createMm, type Machine, type MmStruct } from '@hmmsim/mm';
import { type DmirrorFile, dmirrorOpen } from '../file.ts';
import { type DmirrorModule, hmmDmirrorInit } from '../module.ts';
import type { DmirrorImpl, DmirrorOpenOptions } from '../options.ts';
import { SELFTEST_RAM_BYTES } from './constants.ts';
import { SelftestFailure } from './failure.ts';

/** One test's world. Mirrors: the process a TEST_F runs in. */
export interface SelftestProcess {
  readonly machine: Machine;
  readonly module: DmirrorModule;
  readonly mm: MmStruct;
  readonly impl: DmirrorImpl;
  readonly openOptions: DmirrorOpenOptions;
}

/** Options of createSelftestProcess(). Mirrors: model-only. */
export interface SelftestProcessOptions {
  readonly impl: DmirrorImpl;
  /** Scheduling policy (default free-running). */
  readonly policy?: SchedulePolicy;
  /** Extra open options (the impl comes from `impl`). */
  readonly openOptions?: DmirrorOpenOptions;
}

/** A fresh machine, module and process. Model helper. */
export function createSelftestProcess(opts: SelftestProcessOptions): SelftestProcess {
  const sched = createScheduler(opts.policy === undefined ? {} : { policy: opts.policy });
  const machine = createMachine({ ramBytes: SELFTEST_RAM_BYTES, sched });
  const module = hmmDmirrorInit(machine);
  if (typeof module === 'number') {
    throw new InvalidArgumentError(`selftest: hmm_dmirror_init failed with ${module}`);
  }
  const mm = createMm(machine);
  return {
    machine,
    module,
    mm,
    impl: opts.impl,
    openOptions: { ...opts.openOptions, impl: opts.impl },
  };
}

/**
 * Open `/dev/hmm_dmirror<minor>` from the process whose mm is `mm` (default the test process).
 * A failed open fails the test (ASSERT_GE(fd, 0)). Mirrors hmm-tests.c:hmm_open().
 */
export async function hmmOpen(
  proc: SelftestProcess,
  minor: number,
  mm: MmStruct = proc.mm,
): Promise<DmirrorFile> {
  const device = proc.module.devices[minor];
  if (device === undefined)
    throw new SelftestFailure(`open /dev/hmm_dmirror${minor}: no such device`);
  const f = await dmirrorOpen(device, mm, proc.openOptions);
  if (typeof f === 'number') throw new SelftestFailure(`open /dev/hmm_dmirror${minor}: ${f}`);
  return f;
}
