/**
 * The bounce buffer every data command goes through: kernel memory the size of the whole
 * request, filled from the device table (READ, migrate read-back) or from the user buffer
 * (WRITE), and copied to or from the user only as a whole.
 *
 * Mirrors lib/test_hmm.c: struct dmirror_bounce, dmirror_bounce_init(), dmirror_bounce_fini().
 */
import { checkUlong, ENOMEM, PAGE_SIZE } from '@hmmsim/kernel';
import type { Machine } from '@hmmsim/mm';

/** A bounce buffer for `[addr, addr + size)`. Mirrors lib/test_hmm.c:struct dmirror_bounce. */
export interface DmirrorBounce {
  readonly buf: Uint8Array;
  readonly size: number;
  readonly addr: number;
  /** Pages copied so far. */
  cpages: number;
}

/**
 * A zeroed bounce buffer for `size` bytes at `addr`, or -ENOMEM when it cannot be allocated
 * (more than the machine's RAM: vmalloc would fail); an addr or size that is not an unsigned
 * long throws InvalidArgumentError. Mirrors lib/test_hmm.c:dmirror_bounce_init().
 */
export function dmirrorBounceInit(
  machine: Machine,
  addr: number,
  size: number,
): DmirrorBounce | number {
  checkUlong('dmirror_bounce_init', 'addr', addr, 'an address');
  checkUlong('dmirror_bounce_init', 'size', size, 'a size in bytes');
  if (size > machine.phys.nrPages * PAGE_SIZE) return -ENOMEM;
  return { buf: new Uint8Array(size), size, addr, cpages: 0 };
}

/** The page-sized window of the buffer for `va`. Mirrors `bounce->ptr + ((va - bounce->addr) & PAGE_MASK)`. */
export function bouncePage(bounce: DmirrorBounce, va: number): Uint8Array {
  const off = Math.floor((va - bounce.addr) / PAGE_SIZE) * PAGE_SIZE;
  return bounce.buf.subarray(off, off + PAGE_SIZE);
}
