/**
 * The two fixtures of the selftests: `hmm` opens /dev/hmm_dmirror0, `hmm2` opens devices 0 and
 * 1 (the device-private variants; the device-coherent ones would SKIP, the model has no such
 * memory). Teardown closes every file (close must return 0); the port then ends the process
 * (mmput) and checks that nothing outlived it (quiescent.ts).
 *
 * Mirrors tools/testing/selftests/mm/hmm-tests.c: FIXTURE(hmm)/FIXTURE(hmm2) with
 * FIXTURE_SETUP/FIXTURE_TEARDOWN and the hmm_device_private variants.
 */

import type { SchedulePolicy } from '@hmmsim/kernel';
import { mmput } from '@hmmsim/mm';
import { type DmirrorFile, dmirrorRelease } from '../file.ts';
import { expectEq } from './failure.ts';
import { createSelftestProcess, hmmOpen, type SelftestProcess } from './process.ts';
import { checkQuiescent } from './quiescent.ts';
import type { SelftestContext } from './selftest-case.ts';

/** One device file. Mirrors hmm-tests.c:FIXTURE(hmm). */
export interface HmmFixture {
  readonly proc: SelftestProcess;
  readonly fd: DmirrorFile;
}

/** Two device files. Mirrors hmm-tests.c:FIXTURE(hmm2). */
export interface Hmm2Fixture {
  readonly proc: SelftestProcess;
  readonly fd0: DmirrorFile;
  readonly fd1: DmirrorFile;
}

/** The process for a test of `ctx` (optionally on a given scheduling policy). */
function processFor(ctx: SelftestContext, policy?: SchedulePolicy): SelftestProcess {
  const base = { impl: ctx.impl, openOptions: ctx.openOptions };
  return createSelftestProcess(policy === undefined ? base : { ...base, policy });
}

/** Close (must return 0) and end the process. Mirrors FIXTURE_TEARDOWN(hmm). */
async function teardown(proc: SelftestProcess, fds: readonly DmirrorFile[]): Promise<void> {
  for (const fd of fds) expectEq(await dmirrorRelease(fd), 0, 'close(fd)');
  await mmput(proc.mm);
  checkQuiescent(proc);
}

/** Run `body` on FIXTURE(hmm). Mirrors FIXTURE_SETUP(hmm) / FIXTURE_TEARDOWN(hmm). */
export async function withHmm(
  ctx: SelftestContext,
  body: (self: HmmFixture) => Promise<void>,
  policy?: SchedulePolicy,
): Promise<void> {
  const proc = processFor(ctx, policy);
  const fd = await hmmOpen(proc, 0);
  let ok = false;
  try {
    await body({ proc, fd });
    ok = true;
  } finally {
    if (ok) await teardown(proc, [fd]);
  }
}

/** Run `body` on FIXTURE(hmm2). Mirrors FIXTURE_SETUP(hmm2) / FIXTURE_TEARDOWN(hmm2). */
export async function withHmm2(
  ctx: SelftestContext,
  body: (self: Hmm2Fixture) => Promise<void>,
): Promise<void> {
  const proc = processFor(ctx);
  const fd0 = await hmmOpen(proc, 0);
  const fd1 = await hmmOpen(proc, 1);
  let ok = false;
  try {
    await body({ proc, fd0, fd1 });
    ok = true;
  } finally {
    if (ok) await teardown(proc, [fd0, fd1]);
  }
}
