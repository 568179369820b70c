/**
 * T12 migrate: MIGRATE_TO_DEV of a private anonymous buffer holding pattern i: 0, cpages =
 * npages, and the device's read-back (through its table) is pattern i. Freeing the buffer
 * releases the device pages.
 *
 * Mirrors tools/testing/selftests/mm/hmm-tests.c: TEST_F(hmm, migrate).
 */
import { PAGE_SIZE } from '@hmmsim/kernel';
import { PROT_READ, PROT_WRITE } from '@hmmsim/mm';
import { hmmBufferAlloc, hmmBufferFree } from '../buffer.ts';
import { hmmMigrateSysToDev } from '../command.ts';
import { HMM_BUFFER_PAGES } from '../constants.ts';
import { expectEq } from '../failure.ts';
import { withHmm } from '../fixture.ts';
import { expectWords, patternI, writeWords } from '../pattern.ts';
import type { SelftestCase } from '../selftest-case.ts';

/** TEST_F(hmm, migrate). Mirrors hmm-tests.c:migrate. */
export const migrate: SelftestCase = {
  name: 'migrate',
  fixture: 'hmm',
  id: 'T12',
  run: (ctx) =>
    withHmm(ctx, async ({ proc, fd }) => {
      const npages = HMM_BUFFER_PAGES;
      const size = npages * PAGE_SIZE;
      const buffer = await hmmBufferAlloc(proc.mm, size, size, PROT_READ | PROT_WRITE);
      await writeWords(proc.mm, buffer.ptr, size / 4, patternI);
      expectEq(await hmmMigrateSysToDev(fd, buffer, npages), 0, 'MIGRATE_TO_DEV');
      expectEq(buffer.cpages, npages, 'cpages');
      await expectWords(proc.mm, buffer.mirror, size / 4, patternI, 'mirror');
      await hmmBufferFree(buffer);
    }),
};
