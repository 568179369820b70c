/**
 * T05 anon_write_prot: on a read-only mapping, a one-page READ installs the zero page and a
 * read-only table entry; a WRITE then fails with -EPERM and changes nothing; after mprotect to
 * RW the WRITE succeeds (0, npages, 1 fault) and replaces the zero page.
 *
 * Mirrors tools/testing/selftests/mm/hmm-tests.c: TEST_F(hmm, anon_write_prot).
 */
import { EPERM, PAGE_SIZE } from '@hmmsim/kernel';
import { mprotect, PROT_READ, PROT_WRITE } from '@hmmsim/mm';
import { HMM_DMIRROR_READ, HMM_DMIRROR_WRITE } from '../../uapi.ts';
import { hmmBufferAlloc, hmmBufferFree } from '../buffer.ts';
import { hmmDmirrorCmd } from '../command.ts';
import { HMM_BUFFER_PAGES } from '../constants.ts';
import { expectEq } from '../failure.ts';
import { withHmm } from '../fixture.ts';
import { expectWords, patternI, patternZero, writeWords } from '../pattern.ts';
import type { SelftestCase } from '../selftest-case.ts';

/** TEST_F(hmm, anon_write_prot). Mirrors hmm-tests.c:anon_write_prot. */
export const anonWriteProt: SelftestCase = {
  name: 'anon_write_prot',
  fixture: 'hmm',
  id: 'T05',
  run: (ctx) =>
    withHmm(ctx, async ({ proc, fd }) => {
      const npages = HMM_BUFFER_PAGES;
      const size = npages * PAGE_SIZE;
      const words = size / 4;
      const mm = proc.mm;
      const buffer = await hmmBufferAlloc(mm, size, size, PROT_READ);
      expectEq(await hmmDmirrorCmd(fd, HMM_DMIRROR_READ, buffer, 1), 0, 'READ(1 page)');
      expectEq(buffer.cpages, 1, 'cpages');
      expectEq(buffer.faults, 1, 'faults');
      await writeWords(mm, buffer.mirror, words, patternI);
      expectEq(await hmmDmirrorCmd(fd, HMM_DMIRROR_WRITE, buffer, npages), -EPERM, 'WRITE');
      await expectWords(mm, buffer.ptr, words, patternZero, 'ptr');
      expectEq(await mprotect(mm, buffer.ptr, size, PROT_WRITE | PROT_READ), 0, 'mprotect(RW)');
      expectEq(await hmmDmirrorCmd(fd, HMM_DMIRROR_WRITE, buffer, npages), 0, 'WRITE');
      expectEq(buffer.cpages, npages, 'cpages');
      expectEq(buffer.faults, 1, 'faults');
      await expectWords(mm, buffer.ptr, words, patternI, 'ptr');
      await hmmBufferFree(buffer);
    }),
};
