/**
 * T06 anon_write_child: for migrate ∈ {0, 1} × use_thp ∈ {0, 1}: a private buffer (pattern i,
 * mirror pattern -i; optionally migrated to device 0 first, which reads pattern i back into the
 * mirror) is inherited by a forked child; the child sees the parent's values, opens its own
 * mirror of its own mm and device-writes the mirror into the buffer (0, npages, 1 fault; without
 * migration the child then reads pattern -i); the parent's buffer is unchanged (COW).
 *
 * Port notes: the child runs to completion before the parent's checks (the parent waits for it);
 * its verdict is passed back (a failed child ASSERT aborts the child in kselftest, which the
 * parent's WIFEXITED check turns into a failure).
 *
 * Mirrors tools/testing/selftests/mm/hmm-tests.c: TEST_F(hmm, anon_write_child) (newest
 * version, four sub-cases).
 */
import { PAGE_SIZE } from '@hmmsim/kernel';
import {
  fork,
  MADV_HUGEPAGE,
  type MmStruct,
  madvise,
  mmput,
  PROT_READ,
  PROT_WRITE,
} from '@hmmsim/mm';
import { dmirrorRelease } from '../../file.ts';
import { HMM_DMIRROR_WRITE } from '../../uapi.ts';
import { type HmmBuffer, hmmBufferAlloc, hmmBufferFree } from '../buffer.ts';
import { hmmDmirrorCmd, hmmMigrateSysToDev } from '../command.ts';
import { HMM_BUFFER_SIZE, THP_SIZE } from '../constants.ts';
import { expectEq, SelftestFailure } from '../failure.ts';
import { type HmmFixture, withHmm } from '../fixture.ts';
import { expectWords, patternI, patternMinusI, writeWords } from '../pattern.ts';
import { hmmOpen } from '../process.ts';
import type { SelftestCase } from '../selftest-case.ts';

/** The child's side; throws on a failed check. */
async function childBody(
  self: HmmFixture,
  child: MmStruct,
  buffer: HmmBuffer,
  npages: number,
  migrate: boolean,
): Promise<void> {
  const words = (npages * PAGE_SIZE) / 4;
  await expectWords(child, buffer.ptr, words, patternI, 'child ptr');
  if (!migrate) await expectWords(child, buffer.mirror, words, patternMinusI, 'child mirror');
  const childFd = await hmmOpen(self.proc, 0, child);
  try {
    const ret = await hmmDmirrorCmd(childFd, HMM_DMIRROR_WRITE, buffer, npages, child);
    expectEq(ret, 0, 'child WRITE');
    expectEq(buffer.cpages, npages, 'child cpages');
    expectEq(buffer.faults, 1, 'child faults');
    if (!migrate) await expectWords(child, buffer.ptr, words, patternMinusI, 'child ptr');
  } finally {
    expectEq(await dmirrorRelease(childFd), 0, 'child close(child_fd)');
  }
}

/** fork, run the child to its _exit, and return its verdict ('' = exited after passing). */
async function runChild(
  self: HmmFixture,
  buffer: HmmBuffer,
  npages: number,
  migrate: boolean,
): Promise<string> {
  const child = await fork(self.proc.mm);
  if (typeof child === 'number') throw new SelftestFailure(`fork: ${child}`);
  const view: HmmBuffer = { ...buffer, mm: child };
  try {
    await childBody(self, child, view, npages, migrate);
    return '';
  } catch (error) {
    if (error instanceof SelftestFailure) return error.message;
    throw error;
  } finally {
    await mmput(child); // _exit(0)
  }
}

/** One sub-case. */
async function subCase(self: HmmFixture, migrate: boolean, useThp: boolean): Promise<void> {
  const mm = self.proc.mm;
  const size = useThp ? THP_SIZE : HMM_BUFFER_SIZE;
  const npages = size / PAGE_SIZE;
  const words = size / 4;
  const buffer = await hmmBufferAlloc(mm, size * 2, size, PROT_READ | PROT_WRITE);
  const oldPtr = buffer.ptr;
  if (useThp) {
    const map = Math.ceil(buffer.ptr / size) * size;
    expectEq(await madvise(mm, map, size, MADV_HUGEPAGE), 0, 'madvise(MADV_HUGEPAGE)');
    buffer.ptr = map;
  }
  await writeWords(mm, buffer.ptr, words, patternI);
  await writeWords(mm, buffer.mirror, words, patternMinusI);
  if (migrate) {
    expectEq(await hmmMigrateSysToDev(self.fd, buffer, npages), 0, 'MIGRATE_TO_DEV');
    expectEq(buffer.cpages, npages, 'cpages');
  }
  const verdict = await runChild(self, buffer, npages, migrate);
  const sub = `migrate=${Number(migrate)} use_thp=${Number(useThp)}`;
  if (verdict !== '') throw new SelftestFailure(`${sub}: child: ${verdict}`);
  await expectWords(mm, buffer.ptr, words, patternI, `${sub}: parent ptr`);
  buffer.ptr = oldPtr;
  await hmmBufferFree(buffer);
}

/** TEST_F(hmm, anon_write_child). Mirrors hmm-tests.c:anon_write_child. */
export const anonWriteChild: SelftestCase = {
  name: 'anon_write_child',
  fixture: 'hmm',
  id: 'T06',
  run: (ctx) =>
    withHmm(ctx, async (self) => {
      for (const migrate of [false, true]) {
        for (const useThp of [false, true]) await subCase(self, migrate, useThp);
      }
    }),
};
