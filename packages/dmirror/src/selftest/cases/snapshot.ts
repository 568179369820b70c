/**
 * T22 snapshot (two devices): seven pages — PROT_NONE, a hole, the zero page read-only, an
 * anonymous read-only page, an anonymous writable page, a page on device 0 and a page on device
 * 1 — snapshotted by device 0: 0, cpages = 7, and the bytes ERROR, ERROR, ZERO|READ, READ, WRITE,
 * DEV_PRIVATE_LOCAL|WRITE, NONE (another device's private page is invisible).
 *
 * Mirrors tools/testing/selftests/mm/hmm-tests.c: TEST_F(hmm2, snapshot).
 */
import { PAGE_SIZE } from '@hmmsim/kernel';
import { cpuRead, mprotect, munmap, PROT_NONE, PROT_READ, PROT_WRITE } from '@hmmsim/mm';
import {
  HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL,
  HMM_DMIRROR_PROT_ERROR,
  HMM_DMIRROR_PROT_NONE,
  HMM_DMIRROR_PROT_READ,
  HMM_DMIRROR_PROT_WRITE,
  HMM_DMIRROR_PROT_ZERO,
  HMM_DMIRROR_SNAPSHOT,
} from '../../uapi.ts';
import { hmmBufferAlloc, hmmBufferFree } from '../buffer.ts';
import { hmmDmirrorCmd, hmmMigrateSysToDev } from '../command.ts';
import { expectEq, SelftestFailure } from '../failure.ts';
import { withHmm2 } from '../fixture.ts';
import { readWords, writeWords } from '../pattern.ts';
import type { SelftestCase } from '../selftest-case.ts';

/** The bytes device 0 must report. Mirrors the ASSERT_EQ(m[i], …) list of the test. */
export const SNAPSHOT_EXPECTED: readonly number[] = Object.freeze([
  HMM_DMIRROR_PROT_ERROR,
  HMM_DMIRROR_PROT_ERROR,
  HMM_DMIRROR_PROT_ZERO | HMM_DMIRROR_PROT_READ,
  HMM_DMIRROR_PROT_READ,
  HMM_DMIRROR_PROT_WRITE,
  HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL | HMM_DMIRROR_PROT_WRITE,
  HMM_DMIRROR_PROT_NONE,
]);

/** TEST_F(hmm2, snapshot). Mirrors hmm-tests.c:snapshot. */
export const snapshot: SelftestCase = {
  name: 'snapshot',
  fixture: 'hmm2',
  id: 'T22',
  run: (ctx) =>
    withHmm2(ctx, async ({ proc, fd0, fd1 }) => {
      const mm = proc.mm;
      const npages = 7;
      const buffer = await hmmBufferAlloc(mm, npages * PAGE_SIZE, npages, PROT_NONE);
      const p = buffer.ptr;
      const page = (i: number) => p + i * PAGE_SIZE;
      expectEq(await munmap(mm, page(1), PAGE_SIZE), 0, 'munmap(page 1)');
      expectEq(await mprotect(mm, page(2), PAGE_SIZE, PROT_READ), 0, 'mprotect(page 2)');
      const val = ((await readWords(mm, page(2), 1))[0] as number) + 3;
      expectEq(val, 3, 'val');
      expectEq(
        await mprotect(mm, page(3), PAGE_SIZE, PROT_READ | PROT_WRITE),
        0,
        'mprotect(page 3)',
      );
      await writeWords(mm, page(3), 1, () => val);
      expectEq(await mprotect(mm, page(3), PAGE_SIZE, PROT_READ), 0, 'mprotect(page 3)');
      expectEq(
        await mprotect(mm, page(4), 3 * PAGE_SIZE, PROT_READ | PROT_WRITE),
        0,
        'mprotect(pages 4-6)',
      );
      await writeWords(mm, page(4), 1, () => val);
      buffer.ptr = page(5);
      expectEq(await hmmMigrateSysToDev(fd0, buffer, 1), 0, 'MIGRATE_TO_DEV(dev 0, page 5)');
      expectEq(buffer.cpages, 1, 'cpages');
      buffer.ptr = page(6);
      expectEq(await hmmMigrateSysToDev(fd1, buffer, 1), 0, 'MIGRATE_TO_DEV(dev 1, page 6)');
      expectEq(buffer.cpages, 1, 'cpages');
      buffer.ptr = p;
      expectEq(await hmmDmirrorCmd(fd0, HMM_DMIRROR_SNAPSHOT, buffer, npages), 0, 'SNAPSHOT');
      expectEq(buffer.cpages, npages, 'cpages');
      const m = await cpuRead(mm, buffer.mirror, npages);
      if (!m.ok || m.data === undefined) throw new SelftestFailure('read mirror: fault');
      SNAPSHOT_EXPECTED.forEach((want, i) => {
        expectEq(m.data?.[i], want, `m[${i}]`);
      });
      await hmmBufferFree(buffer);
    }),
};
