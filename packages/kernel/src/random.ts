import { checkIntIn } from './validate.ts';

/** A seeded source of pseudo-random numbers; same seed, same sequence on every machine. */
export interface Random {
  /** Uniform integer in [0, 2^32). */
  nextU32(): number;
  /** Uniform float in [0, 1) with 32 bits of randomness. */
  nextFloat(): number;
  /** Uniform integer in [0, n), unbiased; `n` must be an integer in [1, 2^32]. */
  nextInt(n: number): number;
}

const TWO_32 = 2 ** 32;

/** One splitmix32 step: advances `state` and returns a well-mixed 32-bit output. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** sfc32 (Chris Doty-Humphrey's Small Fast Chaotic PRNG), 128 bits of state. */
class Sfc32 implements Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(lo: number, hi: number) {
    const st = { s: lo ^ Math.imul(hi, 0x27d4eb2d) };
    this.a = splitmix32(st);
    this.b = splitmix32(st);
    this.c = splitmix32(st);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  nextFloat(): number {
    return this.nextU32() / TWO_32;
  }

  nextInt(n: number): number {
    if (!(Number.isInteger(n) && n >= 1 && n <= TWO_32)) {
      checkIntIn('nextInt', 'n', n, 1, TWO_32, 'an integer in [1, 2^32]');
    }
    const limit = TWO_32 - (TWO_32 % n);
    let x = this.nextU32();
    while (x >= limit) x = this.nextU32();
    return x % n;
  }
}

/**
 * A deterministic PRNG (sfc32 seeded through splitmix32) for `seed`, any safe integer.
 * Mirrors: model-only; plays the role of lib/random32.c:prandom_u32_state().
 */
export function createRandom(seed: number): Random {
  checkIntIn(
    'createRandom',
    'seed',
    seed,
    Number.MIN_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER,
    'a safe integer',
  );
  const lo = ((seed % TWO_32) + TWO_32) % TWO_32;
  const hi = Math.floor(seed / TWO_32);
  return new Sfc32(lo | 0, hi | 0);
}
