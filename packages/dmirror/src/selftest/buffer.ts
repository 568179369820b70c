/**
 * The selftest's buffer object: `ptr` (the mapping the device works on; 0 for NULL), `mirror`
 * (the user buffer the device reads into or writes from — malloc() in C, an anonymous mapping of
 * the same process here), their sizes, and the cpages/faults of the last successful command.
 *
 * Mirrors tools/testing/selftests/mm/hmm-tests.c: struct hmm_buffer, hmm_buffer_free().
 */
import { PAGE_SIZE, pageAlignUp } from '@hmmsim/kernel';
import {
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  type MmStruct,
  mmap,
  munmap,
  PROT_READ,
  PROT_WRITE,
} from '@hmmsim/mm';
import { expectTrue } from './failure.ts';

/** A test buffer. Mirrors hmm-tests.c:struct hmm_buffer. */
export interface HmmBuffer {
  readonly mm: MmStruct;
  /** The device's target address (0 = NULL). */
  ptr: number;
  /** Bytes at `ptr` to unmap on free. */
  size: number;
  /** The user-side data buffer. */
  mirror: number;
  readonly mirrorSize: number;
  cpages: number;
  faults: number;
}

/** malloc(size) in the test process: an anonymous RW mapping (zero-filled). Model helper. */
export async function mallocUser(mm: MmStruct, size: number): Promise<number> {
  const a = await mmap(
    mm,
    0,
    pageAlignUp(size),
    PROT_READ | PROT_WRITE,
    MAP_PRIVATE | MAP_ANONYMOUS,
  );
  expectTrue(a > 0, `malloc(${size})`);
  return a;
}

/**
 * A buffer whose mirror is allocated first (as every test does) and whose `ptr` is a fresh
 * mapping of `size` bytes with `prot`/`flags` (ASSERT_NE(ptr, MAP_FAILED)).
 * Mirrors the allocation preamble of the hmm-tests.c tests.
 */
export async function hmmBufferAlloc(
  mm: MmStruct,
  size: number,
  mirrorSize: number,
  prot: number,
  flags = MAP_PRIVATE | MAP_ANONYMOUS,
): Promise<HmmBuffer> {
  const mirror = await mallocUser(mm, mirrorSize);
  const ptr = await mmap(mm, 0, size, prot, flags);
  expectTrue(ptr > 0 && ptr % PAGE_SIZE === 0, 'mmap(buffer) != MAP_FAILED');
  return { mm, ptr, size, mirror, mirrorSize, cpages: 0, faults: 0 };
}

/** Unmap `ptr` (when not NULL) and free the mirror. Mirrors hmm-tests.c:hmm_buffer_free(). */
export async function hmmBufferFree(buffer: HmmBuffer): Promise<void> {
  if (buffer.ptr !== 0) await munmap(buffer.mm, buffer.ptr, buffer.size);
  await munmap(buffer.mm, buffer.mirror, pageAlignUp(buffer.mirrorSize));
}
