/**
 * The conformance suite: the eleven scenarios of the kernel's HMM selftests, in the order the
 * kernel's hmm-tests.c defines them.
 *
 * Mirrors tools/testing/selftests/mm/hmm-tests.c (the TEST_F order of the shared subset).
 */
import { anonRead } from './cases/anon-read.ts';
import { anonReadProt } from './cases/anon-read-prot.ts';
import { anonTeardown } from './cases/anon-teardown.ts';
import { anonWrite } from './cases/anon-write.ts';
import { anonWriteChild } from './cases/anon-write-child.ts';
import { anonWriteHuge } from './cases/anon-write-huge.ts';
import { anonWriteProt } from './cases/anon-write-prot.ts';
import { migrate } from './cases/migrate.ts';
import { migrateFault } from './cases/migrate-fault.ts';
import { openClose } from './cases/open-close.ts';
import { snapshot } from './cases/snapshot.ts';
import type { SelftestCase } from './selftest-case.ts';

/** Every scenario, in kernel order. Mirrors the TEST_F list of hmm-tests.c. */
export const DMIRROR_SELFTESTS: readonly SelftestCase[] = Object.freeze([
  openClose,
  anonRead,
  anonReadProt,
  anonWrite,
  anonWriteProt,
  anonWriteChild,
  anonWriteHuge,
  migrate,
  migrateFault,
  anonTeardown,
  snapshot,
]);

/** 'hmm.anon_write': the TAP name of a case. Mirrors the harness's fixture.test naming. */
export function selftestFullName(c: SelftestCase): string {
  return `${c.fixture}.${c.name}`;
}

/**
 * The cases `filter` selects: every case for undefined, else those whose name or full name is
 * `filter` (an empty list when none is). Model helper (the harness's -t / -r options).
 */
export function selectSelftests(filter?: string): readonly SelftestCase[] {
  if (filter === undefined) return DMIRROR_SELFTESTS;
  return DMIRROR_SELFTESTS.filter((c) => c.name === filter || selftestFullName(c) === filter);
}
