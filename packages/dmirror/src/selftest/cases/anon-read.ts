/**
 * T02 anon_read: the CPU writes pattern i everywhere but pages 0 and 1, the range becomes
 * read-only, the CPU reads page 1 (installing the zero page), then one device READ of the whole
 * range: 0, cpages = npages, faults = 1, and the device read zeros for pages 0-1 and k for the
 * rest. (The mirror buffer starts filled with junk, standing for uninitialised malloc memory.)
 *
 * Mirrors tools/testing/selftests/mm/hmm-tests.c: TEST_F(hmm, anon_read).
 */
import { PAGE_SIZE } from '@hmmsim/kernel';
import { mprotect, PROT_READ, PROT_WRITE } from '@hmmsim/mm';
import { HMM_DMIRROR_READ } from '../../uapi.ts';
import { hmmBufferAlloc, hmmBufferFree } from '../buffer.ts';
import { hmmDmirrorCmd } from '../command.ts';
import { HMM_BUFFER_PAGES } from '../constants.ts';
import { expectEq } from '../failure.ts';
import { withHmm } from '../fixture.ts';
import { expectWords, readWords, writeWords } from '../pattern.ts';
import type { SelftestCase } from '../selftest-case.ts';

const WORDS_PER_PAGE = PAGE_SIZE / 4;

/** TEST_F(hmm, anon_read). Mirrors hmm-tests.c:anon_read. */
export const anonRead: SelftestCase = {
  name: 'anon_read',
  fixture: 'hmm',
  id: 'T02',
  run: (ctx) =>
    withHmm(ctx, async ({ proc, fd }) => {
      const npages = HMM_BUFFER_PAGES;
      const size = npages * PAGE_SIZE;
      const words = size / 4;
      const buffer = await hmmBufferAlloc(proc.mm, size, size, PROT_READ | PROT_WRITE);
      await writeWords(proc.mm, buffer.mirror, words, () => 0x5a5a5a5a); // uninitialised
      const skip = 2 * WORDS_PER_PAGE;
      await writeWords(proc.mm, buffer.ptr, words - skip, (k) => k, skip);
      expectEq(await mprotect(proc.mm, buffer.ptr, size, PROT_READ), 0, 'mprotect(PROT_READ)');
      const w = await readWords(proc.mm, buffer.ptr + PAGE_SIZE, 1);
      expectEq(w[0], 0, 'ptr[page 1][0]');
      expectEq(await hmmDmirrorCmd(fd, HMM_DMIRROR_READ, buffer, npages), 0, 'READ');
      expectEq(buffer.cpages, npages, 'cpages');
      expectEq(buffer.faults, 1, 'faults');
      await expectWords(proc.mm, buffer.mirror, words, (k) => (k < skip ? 0 : k), 'mirror');
      await hmmBufferFree(buffer);
    }),
};
