/**
 * T03 anon_read_prot: a device READ of a PROT_NONE range fails with -EFAULT and writes nothing
 * to the user buffer; the memory itself is unchanged.
 *
 * Mirrors tools/testing/selftests/mm/hmm-tests.c: TEST_F(hmm, anon_read_prot).
 */
import { EFAULT, PAGE_SIZE } from '@hmmsim/kernel';
import { mprotect, PROT_NONE, PROT_READ, PROT_WRITE } from '@hmmsim/mm';
import { HMM_DMIRROR_READ } from '../../uapi.ts';
import { hmmBufferAlloc, hmmBufferFree } from '../buffer.ts';
import { hmmDmirrorCmd } from '../command.ts';
import { HMM_BUFFER_PAGES } from '../constants.ts';
import { expectEq } from '../failure.ts';
import { withHmm } from '../fixture.ts';
import { expectWords, patternI, patternMinusI, writeWords } from '../pattern.ts';
import type { SelftestCase } from '../selftest-case.ts';

/** TEST_F(hmm, anon_read_prot). Mirrors hmm-tests.c:anon_read_prot. */
export const anonReadProt: SelftestCase = {
  name: 'anon_read_prot',
  fixture: 'hmm',
  id: 'T03',
  run: (ctx) =>
    withHmm(ctx, async ({ proc, fd }) => {
      const npages = HMM_BUFFER_PAGES;
      const size = npages * PAGE_SIZE;
      const words = size / 4;
      const mm = proc.mm;
      const buffer = await hmmBufferAlloc(mm, size, size, PROT_READ | PROT_WRITE);
      await writeWords(mm, buffer.ptr, words, patternI);
      await writeWords(mm, buffer.mirror, words, patternMinusI);
      expectEq(await mprotect(mm, buffer.ptr, size, PROT_NONE), 0, 'mprotect(PROT_NONE)');
      expectEq(await hmmDmirrorCmd(fd, HMM_DMIRROR_READ, buffer, npages), -EFAULT, 'READ');
      expectEq(await mprotect(mm, buffer.ptr, size, PROT_READ), 0, 'mprotect(PROT_READ)');
      await expectWords(mm, buffer.ptr, words, patternI, 'ptr');
      await expectWords(mm, buffer.mirror, words, patternMinusI, 'mirror');
      await hmmBufferFree(buffer);
    }),
};
