/**
 * T08 anon_write_huge: a device WRITE of one THP-aligned, MADV_HUGEPAGE range of a 2×THP
 * mapping: 0, cpages = 512, faults = 1, and the CPU reads pattern i — the same as with small
 * pages, whether or not a huge page was allocated.
 *
 * Mirrors tools/testing/selftests/mm/hmm-tests.c: TEST_F(hmm, anon_write_huge).
 */
import { PAGE_SIZE } from '@hmmsim/kernel';
import { MADV_HUGEPAGE, madvise, PROT_READ, PROT_WRITE } from '@hmmsim/mm';
import { HMM_DMIRROR_WRITE } from '../../uapi.ts';
import { hmmBufferAlloc, hmmBufferFree } from '../buffer.ts';
import { hmmDmirrorCmd } from '../command.ts';
import { THP_SIZE } from '../constants.ts';
import { expectEq } from '../failure.ts';
import { withHmm } from '../fixture.ts';
import { expectWords, patternI, writeWords } from '../pattern.ts';
import type { SelftestCase } from '../selftest-case.ts';

/** TEST_F(hmm, anon_write_huge). Mirrors hmm-tests.c:anon_write_huge. */
export const anonWriteHuge: SelftestCase = {
  name: 'anon_write_huge',
  fixture: 'hmm',
  id: 'T08',
  run: (ctx) =>
    withHmm(ctx, async ({ proc, fd }) => {
      const mm = proc.mm;
      const buffer = await hmmBufferAlloc(mm, 2 * THP_SIZE, 2 * THP_SIZE, PROT_READ | PROT_WRITE);
      const size = THP_SIZE;
      const npages = size / PAGE_SIZE;
      const map = Math.ceil(buffer.ptr / size) * size;
      expectEq(await madvise(mm, map, size, MADV_HUGEPAGE), 0, 'madvise(MADV_HUGEPAGE)');
      const oldPtr = buffer.ptr;
      buffer.ptr = map;
      await writeWords(mm, buffer.mirror, size / 4, patternI);
      expectEq(await hmmDmirrorCmd(fd, HMM_DMIRROR_WRITE, buffer, npages), 0, 'WRITE');
      expectEq(buffer.cpages, npages, 'cpages');
      expectEq(buffer.faults, 1, 'faults');
      await expectWords(mm, buffer.ptr, size / 4, patternI, 'ptr');
      buffer.ptr = oldPtr;
      await hmmBufferFree(buffer);
    }),
};
