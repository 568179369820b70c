/**
 * Page contents as the reference model holds them: immutable 4 KiB arrays (a write makes a new
 * one, so processes may share them after fork), the fill pattern of a write, and byte
 * comparison.
 */
import { PAGE_SIZE } from '@hmmsim/kernel';

/** A page of zeros (never written to). */
export const ZERO_PAGE: Uint8Array = new Uint8Array(PAGE_SIZE);

/**
 * The `len` bytes a write with `stamp` stores: a hash of the stamp and the 4-byte word's index,
 * so every word of every page of every write differs — a stale, misplaced or mixed-up page shows.
 */
export function pattern(stamp: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  const base = Math.imul(stamp + 1, 0x9e3779b1);
  for (let i = 0; i < len; i += 4) {
    let x = Math.imul((i >>> 2) + 1, 0x85ebca6b) ^ base;
    x = Math.imul(x ^ (x >>> 15), 0xc2b2ae35);
    x ^= x >>> 13;
    for (let k = 0; k < 4 && i + k < len; k++) out[i + k] = (x >>> (8 * k)) & 0xff;
  }
  return out;
}

/** A copy of `page` with `bytes` stored at `offset` (the page itself is not changed). */
export function withBytes(page: Uint8Array, offset: number, bytes: Uint8Array): Uint8Array {
  const out = page.slice();
  out.set(bytes, offset);
  return out;
}

/** True if `a` and `b` hold the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(
    Buffer.from(b.buffer, b.byteOffset, b.length),
  );
}

/** 'zeros' or the first 8 bytes in hex, for messages. */
export function describeBytes(bytes: Uint8Array): string {
  if (bytes.every((b) => b === 0)) return 'zeros';
  const head = [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return `${head}${bytes.length > 8 ? ' …' : ''}`;
}
