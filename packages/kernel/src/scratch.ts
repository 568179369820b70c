/**
 * Scratch arrays for consistency checks that run at every explorer step: a check that counts
 * something per pfn, per swap slot or per table takes a zeroed array kept with the object it
 * checks instead of allocating one each time (a fresh typed array per step is memory the garbage
 * collector must then reclaim, tens of kilobytes per step on a machine of 64 MiB).
 *
 * Mirrors: model-only.
 */
import { InvalidArgumentError } from './errors.ts';
import { ObjectSlot } from './object-slot.ts';
import { checkIntIn } from './validate.ts';

/** The typed arrays a scratch buffer can be. */
export type ScratchArray = Int32Array | Uint8Array;

/** Largest scratch array, in elements (2^30: a memmap of 4 TiB of 4 KiB pages). */
const MAX_SCRATCH = 2 ** 30;

const scratches = new ObjectSlot<object, Map<string, ScratchArray>>('scratch');

/**
 * A zeroed `Int32Array` of `length` elements kept for `owner` under `purpose` (a name unique to
 * the caller, such as 'mm.machine-invariants.pte'). The next call with the same owner and purpose
 * returns the same array, zeroed again, so a caller must be done with it before it asks again.
 * Mirrors: model-only.
 */
export function scratchInt32(owner: object, purpose: string, length: number): Int32Array {
  return scratch(owner, purpose, length, Int32Array);
}

/** As scratchInt32, a `Uint8Array`. Mirrors: model-only. */
export function scratchUint8(owner: object, purpose: string, length: number): Uint8Array {
  return scratch(owner, purpose, length, Uint8Array);
}

/** The array of (owner, purpose), zeroed; a new one when there is none of that type and length. */
function scratch<A extends ScratchArray>(
  owner: object,
  purpose: string,
  length: number,
  ctor: new (n: number) => A,
): A {
  if (typeof owner !== 'object' || owner === null) {
    throw new InvalidArgumentError(`scratch: owner is ${String(owner)}; expected an object`);
  }
  checkIntIn('scratch', 'length', length, 0, MAX_SCRATCH, 'an element count in [0, 2^30]');
  let byPurpose = scratches.get(owner);
  if (byPurpose === undefined) {
    byPurpose = new Map();
    scratches.set(owner, byPurpose);
  }
  const old = byPurpose.get(purpose);
  if (old instanceof ctor && old.length === length) return old.fill(0) as A;
  const fresh = new ctor(length);
  byPurpose.set(purpose, fresh);
  return fresh;
}
