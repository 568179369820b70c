/**
 * The constants of the kernel's HMM selftests, at 4 KiB pages.
 *
 * Mirrors tools/testing/selftests/mm/hmm-tests.c: HMM_BUFFER_SIZE, NTIMES, TWOMEG,
 * read_pmd_pagesize().
 */
import { PAGE_SIZE, PMD_SIZE } from '@hmmsim/kernel';

/** The standard buffer: 1024 << 12 bytes (4 MiB). Mirrors hmm-tests.c:HMM_BUFFER_SIZE. */
export const HMM_BUFFER_SIZE = 1024 * 2 ** 12;
/** The standard page count: HMM_BUFFER_SIZE / PAGE_SIZE = 1024. Model helper. */
export const HMM_BUFFER_PAGES = HMM_BUFFER_SIZE / PAGE_SIZE;
/** Iterations of the loop tests. Mirrors hmm-tests.c:NTIMES. */
export const NTIMES = 10;
/** 2 MiB. Mirrors hmm-tests.c:TWOMEG. */
export const TWOMEG = 2 * 2 ** 20;
/** The PMD (THP) size the selftest reads from sysfs: 2 MiB on x86-64. Mirrors read_pmd_pagesize(). */
export const THP_SIZE = PMD_SIZE;
/** The unmapping thread's delay bound in ns (random % 32000). Mirrors hmm-tests.c:unmap_buffer(). */
export const TEARDOWN_DELAY_NS = 32000;
/** RAM of each test's machine. Model helper. */
export const SELFTEST_RAM_BYTES = 128 * 2 ** 20;
