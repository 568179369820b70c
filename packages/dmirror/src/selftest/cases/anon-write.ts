/**
 * T04 anon_write: a device WRITE of a never-touched private anonymous range populates it (0,
 * cpages = npages, faults = 1) and the CPU sees the bytes.
 *
 * Mirrors tools/testing/selftests/mm/hmm-tests.c: TEST_F(hmm, anon_write).
 */
import { PAGE_SIZE } from '@hmmsim/kernel';
import { PROT_READ, PROT_WRITE } from '@hmmsim/mm';
import { HMM_DMIRROR_WRITE } from '../../uapi.ts';
import { hmmBufferAlloc, hmmBufferFree } from '../buffer.ts';
import { hmmDmirrorCmd } from '../command.ts';
import { HMM_BUFFER_PAGES } from '../constants.ts';
import { expectEq } from '../failure.ts';
import { withHmm } from '../fixture.ts';
import { expectWords, patternI, writeWords } from '../pattern.ts';
import type { SelftestCase } from '../selftest-case.ts';

/** TEST_F(hmm, anon_write). Mirrors hmm-tests.c:anon_write. */
export const anonWrite: SelftestCase = {
  name: 'anon_write',
  fixture: 'hmm',
  id: 'T04',
  run: (ctx) =>
    withHmm(ctx, async ({ proc, fd }) => {
      const npages = HMM_BUFFER_PAGES;
      const size = npages * PAGE_SIZE;
      const words = size / 4;
      const buffer = await hmmBufferAlloc(proc.mm, size, size, PROT_READ | PROT_WRITE);
      await writeWords(proc.mm, buffer.mirror, words, patternI);
      expectEq(await hmmDmirrorCmd(fd, HMM_DMIRROR_WRITE, buffer, npages), 0, 'WRITE');
      expectEq(buffer.cpages, npages, 'cpages');
      expectEq(buffer.faults, 1, 'faults');
      await expectWords(proc.mm, buffer.ptr, words, patternI, 'ptr');
      await hmmBufferFree(buffer);
    }),
};
