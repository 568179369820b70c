/**
 * T14 migrate_fault: migrate a buffer to the device, fault its first half back with CPU reads,
 * migrate the whole range again: 0 and cpages = npages both times (cpages counts pages the device
 * can see through its table, not pages moved), and the read-back is pattern i.
 *
 * Mirrors tools/testing/selftests/mm/hmm-tests.c: TEST_F(hmm, migrate_fault).
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

/** TEST_F(hmm, migrate_fault). Mirrors hmm-tests.c:migrate_fault. */
export const migrateFault: SelftestCase = {
  name: 'migrate_fault',
  fixture: 'hmm',
  id: 'T14',
  run: (ctx) =>
    withHmm(ctx, async ({ proc, fd }) => {
      const npages = HMM_BUFFER_PAGES;
      const size = npages * PAGE_SIZE;
      const mm = proc.mm;
      const buffer = await hmmBufferAlloc(mm, size, size, PROT_READ | PROT_WRITE);
      await writeWords(mm, buffer.ptr, size / 4, patternI);
      expectEq(await hmmMigrateSysToDev(fd, buffer, npages), 0, 'MIGRATE_TO_DEV');
      expectEq(buffer.cpages, npages, 'cpages');
      await expectWords(mm, buffer.mirror, size / 4, patternI, 'mirror');
      await expectWords(mm, buffer.ptr, size / 8, patternI, 'ptr (first half, faulted back)');
      expectEq(await hmmMigrateSysToDev(fd, buffer, npages), 0, 'MIGRATE_TO_DEV again');
      expectEq(buffer.cpages, npages, 'cpages');
      await expectWords(mm, buffer.mirror, size / 4, patternI, 'mirror');
      await hmmBufferFree(buffer);
    }),
};
