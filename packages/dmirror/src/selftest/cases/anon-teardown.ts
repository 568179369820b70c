/**
 * T20 anon_teardown: NTIMES times, a second CPU sleeps a random 0–31 999 ns and then munmaps the
 * second half of a buffer (setting `ptr` to NULL) while the first CPU has the device READ the
 * whole buffer. Only a READ that returns 0 is checked: cpages = npages, faults = 1, the data is
 * pattern i+c — and (model-only) no page was copied through a stale device entry: success must
 * imply a consistent read. The loop runs on the scheduler, once free-running (no preemption:
 * the reader, started first, finishes before the unmapper) and once under the seeded random
 * policy (a switch may happen at every scheduling point); then (a port addition) the same race
 * at two pages is explored exhaustively (anon-teardown-explore.ts).
 *
 * On the legacy hmm_mirror build a stale copy is race R1: an invalidation that starts and ends
 * between hmm_range_fault() and the locked hmm_range_valid() check leaves `valid` true, so the
 * pass commits pages the munmap already freed.
 *
 * Mirrors tools/testing/selftests/mm/hmm-tests.c: TEST_F(hmm, anon_teardown), unmap_buffer().
 */
import { createRandom, errnoName, PAGE_SIZE, type Random, randomPolicy } from '@hmmsim/kernel';
import { munmap, PROT_READ, PROT_WRITE } from '@hmmsim/mm';
import type { Dmirror } from '../../dmirror.ts';
import { HMM_DMIRROR_READ } from '../../uapi.ts';
import { type HmmBuffer, hmmBufferAlloc, hmmBufferFree } from '../buffer.ts';
import { hmmDmirrorCmd } from '../command.ts';
import { HMM_BUFFER_PAGES, TEARDOWN_DELAY_NS } from '../constants.ts';
import { expectEq, SelftestFailure } from '../failure.ts';
import { type HmmFixture, withHmm } from '../fixture.ts';
import { hmmNanosleep } from '../nanosleep.ts';
import { expectWords, patternIPlus, writeWords } from '../pattern.ts';
import type { SelftestCase, SelftestContext, TeardownMode } from '../selftest-case.ts';
import { exploreTeardown } from './anon-teardown-explore.ts';

/** What one iteration's READ returned. */
interface Outcome {
  readonly rc: number;
  readonly stale: number;
}

/** The unmapping thread. Mirrors hmm-tests.c:unmap_buffer(). */
async function unmapBuffer(self: HmmFixture, buffer: HmmBuffer, delayNs: number): Promise<void> {
  const sched = self.proc.machine.sched;
  await hmmNanosleep(sched, delayNs);
  await munmap(buffer.mm, buffer.ptr + buffer.size / 2, buffer.size / 2);
  buffer.ptr = 0;
}

/** Run the reader and the unmapper as two CPUs; the READ's return value. */
async function race(self: HmmFixture, buffer: HmmBuffer, delayNs: number): Promise<number> {
  const sched = self.proc.machine.sched;
  let rc = 1;
  sched.spawn('cpu0 device READ', async () => {
    rc = await hmmDmirrorCmd(self.fd, HMM_DMIRROR_READ, buffer, HMM_BUFFER_PAGES);
  });
  sched.spawn('cpu1 munmap', () => unmapBuffer(self, buffer, delayNs));
  const res = await sched.run();
  const err = res.errors[0];
  if (err !== undefined) {
    const why = err.error instanceof Error ? err.error.message : String(err.error);
    throw new SelftestFailure(`task '${err.taskName}' failed: ${why}`);
  }
  if (res.deadlock !== undefined) throw new SelftestFailure(`deadlock: ${res.deadlock.message}`);
  return rc;
}

/** The mirror behind the fixture's file. */
function mirrorOf(self: HmmFixture): Dmirror {
  const d = self.fd.privateData;
  if (d === null) throw new SelftestFailure('fixture fd is closed');
  return d;
}

/** Check a successful READ. */
async function checkSuccess(
  ctx: SelftestContext,
  self: HmmFixture,
  buffer: HmmBuffer,
  c: number,
  stale: number,
) {
  if (stale > 0) {
    const why = mirrorOf(self).stats.lastStale;
    const msg = `c=${c}: READ returned 0 after copying ${stale} page(s) through stale device entries (${why})`;
    throw new SelftestFailure(msg, ctx.impl === 'legacy' ? 'R1' : undefined);
  }
  expectEq(buffer.cpages, HMM_BUFFER_PAGES, `c=${c}: cpages`);
  expectEq(buffer.faults, 1, `c=${c}: faults`);
  await expectWords(buffer.mm, buffer.mirror, buffer.size / 4, patternIPlus(c), `c=${c}: mirror`);
}

/** One iteration c. */
async function iteration(
  ctx: SelftestContext,
  self: HmmFixture,
  c: number,
  delays: Random,
): Promise<Outcome> {
  const mm = self.proc.mm;
  const size = HMM_BUFFER_PAGES * PAGE_SIZE;
  const buffer = await hmmBufferAlloc(mm, size, size, PROT_READ | PROT_WRITE);
  await writeWords(mm, buffer.ptr, size / 4, patternIPlus(c));
  const before = mirrorOf(self).stats.staleCopies;
  const rc = await race(self, buffer, delays.nextInt(TEARDOWN_DELAY_NS));
  const stale = mirrorOf(self).stats.staleCopies - before;
  if (rc === 0) await checkSuccess(ctx, self, buffer, c, stale);
  await hmmBufferFree(buffer);
  return { rc, stale };
}

/** 'READ ok 3, failed 7 (EFAULT x7); 0 stale copies'. */
function summary(outcomes: readonly Outcome[]): string {
  const ok = outcomes.filter((o) => o.rc === 0).length;
  const errs = new Map<string, number>();
  for (const o of outcomes) {
    if (o.rc !== 0) errs.set(errnoName(o.rc), (errs.get(errnoName(o.rc)) ?? 0) + 1);
  }
  const list = [...errs].map(([e, n]) => `${e} x${n}`).join(', ');
  const stale = outcomes.reduce((s, o) => s + o.stale, 0);
  return `READ ok ${ok}, failed ${outcomes.length - ok}${list === '' ? '' : ` (${list})`}; ${stale} stale copies`;
}

/** All iterations in one mode. */
async function runMode(ctx: SelftestContext, mode: TeardownMode): Promise<void> {
  const policy = mode === 'random' ? randomPolicy(createRandom(ctx.seed)) : undefined;
  const delays = createRandom(ctx.seed + 1);
  const outcomes: Outcome[] = [];
  await withHmm(
    ctx,
    async (self) => {
      for (let c = 0; c < ctx.teardownIterations; c++) {
        outcomes.push(await iteration(ctx, self, c, delays));
      }
    },
    policy,
  );
  const label = mode === 'random' ? `seeded random, seed ${ctx.seed}` : 'free-running';
  ctx.log(`anon_teardown [${label}]: ${ctx.teardownIterations} iterations: ${summary(outcomes)}`);
}

/** TEST_F(hmm, anon_teardown). Mirrors hmm-tests.c:anon_teardown. */
export const anonTeardown: SelftestCase = {
  name: 'anon_teardown',
  fixture: 'hmm',
  id: 'T20',
  async run(ctx) {
    for (const mode of ctx.teardownModes) {
      if (mode === 'explore') await exploreTeardown(ctx);
      else await runMode(ctx, mode);
    }
  },
};
