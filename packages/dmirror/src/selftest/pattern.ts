/**
 * The data patterns of the selftests, on 32-bit words of user memory: "pattern i" (word k = k),
 * "pattern -i" (word k = -k), "pattern i+c"; written and checked as the test process's CPU would
 * (faulting pages in, device pages back).
 *
 * Mirrors the `for (i = 0, ptr = buffer->…; i < size / sizeof(*ptr); ++i)` loops of
 * tools/testing/selftests/mm/hmm-tests.c.
 */
import { cpuRead, cpuWrite, type MmStruct } from '@hmmsim/mm';
import { SelftestFailure } from './failure.ts';

/** Word k's value. Mirrors: model-only. */
export type WordPattern = (k: number) => number;

/** Word k = k. Model helper. */
export const patternI: WordPattern = (k) => k;
/** Word k = -k. Model helper. */
export const patternMinusI: WordPattern = (k) => -k;
/** Word k = 0. Model helper. */
export const patternZero: WordPattern = () => 0;
/** Word k = k + c. Model helper. */
export function patternIPlus(c: number): WordPattern {
  return (k) => k + c;
}

/** Bytes of `nwords` words of `f` starting at word `first`. Model helper. */
export function patternBytes(nwords: number, f: WordPattern, first = 0): Uint8Array {
  const words = new Int32Array(nwords);
  for (let k = 0; k < nwords; k++) words[k] = f(first + k);
  return new Uint8Array(words.buffer);
}

/**
 * The CPU writes words [first, first + nwords) of `f` at `addr` (word index counted from
 * `addr`). A fault fails the test. Mirrors the `ptr[i] = …` loops of hmm-tests.c.
 */
export async function writeWords(
  mm: MmStruct,
  addr: number,
  nwords: number,
  f: WordPattern,
  first = 0,
): Promise<void> {
  const r = await cpuWrite(mm, addr + first * 4, patternBytes(nwords, f, first));
  if (!r.ok)
    throw new SelftestFailure(`CPU write at 0x${addr.toString(16)}: ${r.signal} ${r.code}`);
}

/** The CPU reads `nwords` words at `addr`. A fault fails the test. Mirrors a `ptr[i]` read loop. */
export async function readWords(mm: MmStruct, addr: number, nwords: number): Promise<Int32Array> {
  const r = await cpuRead(mm, addr, nwords * 4);
  if (!r.ok || r.data === undefined) {
    throw new SelftestFailure(
      `CPU read at 0x${addr.toString(16)}: ${r.ok ? 'no data' : `${r.signal} ${r.code}`}`,
    );
  }
  return new Int32Array(r.data.buffer, r.data.byteOffset, nwords);
}

/**
 * Check words [0, nwords) at `addr` against `f` (the first mismatch fails the test, as
 * ASSERT_EQ(ptr[i], …) in the loop does). `what` names the buffer ('ptr', 'mirror').
 * Mirrors the ASSERT_EQ(ptr[i], …) loops of hmm-tests.c.
 */
export async function expectWords(
  mm: MmStruct,
  addr: number,
  nwords: number,
  f: WordPattern,
  what: string,
): Promise<void> {
  const w = await readWords(mm, addr, nwords);
  for (let k = 0; k < nwords; k++) {
    if (w[k] !== f(k)) throw new SelftestFailure(`${what}[${k}]: got ${w[k]}, expected ${f(k)}`);
  }
}
