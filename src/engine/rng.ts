// rng: the one seeded random number generator of glassbox, specified to the
// bit so a seed means the same stream everywhere.
//
// Generator: xoshiro128** 1.1 (Blackman & Vigna, 2018): 128-bit state in four
// uint32 words, 32-bit outputs, period 2^128 - 1. Arithmetic is Math.imul and
// >>> 0 only.
//
// Keys: every generator has a 64-bit key. `new Rng(seed)` uses the seed itself
// (an integer in [0, 2^53)); `rng.fork(purpose)` and `Rng.derive(seed, purpose)`
// use key' = mix64(key XOR fnv1a64(utf8(purpose))), where mix64 is the
// SplitMix64 finaliser. The stream of a key is independent of how far any
// other generator has run, so adding a consumer never shifts another's stream,
// and fork() does not depend on how much of the parent has been consumed.
//
// State from key: two SplitMix64 outputs (Vigna's recommended seeding for the
// xoshiro family) starting from the key, taken low word then high word:
// s = [lo(z1), hi(z1), lo(z2), hi(z2)] (an all-zero state, which cannot occur
// in practice, is replaced by [1, 0, 0, 0]).
//
// Floats: next() = (a >>> 5) * 2^26 + (b >>> 6)) / 2^53 for two successive
// outputs a, b: 53 random bits, uniform on the multiples of 2^-53 in [0, 1).
//
// Seeding uses BigInt (64-bit SplitMix); the per-draw path does not.

import * as dm from './detmath.js';

/** A serialisable snapshot of a generator: plain numbers only (JSON-safe). */
export interface RngState {
  /** The 64-bit key as [low 32 bits, high 32 bits]; fork() derives from it. */
  key: [number, number];
  /** The four xoshiro128** state words, each an integer in [0, 2^32). */
  s: [number, number, number, number];
  /** The cached second value of the last polar-method pair, or null. */
  spare: number | null;
}

const MASK64 = (1n << 64n) - 1n;
const GOLDEN64 = 0x9e3779b97f4a7c15n;

/** SplitMix64 finaliser (Stafford's "Mix13" variant used by SplitMix64). */
function mix64(z: bigint): bigint {
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

/** FNV-1a, 64-bit, over the UTF-8 bytes of a string. */
export function fnv1a64(text: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= BigInt(byte);
    h = (h * 0x100000001b3n) & MASK64;
  }
  return h;
}

function checkSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`Rng: seed must be an integer in [0, 2^53), got ${seed}`);
  }
}

const TWO_M53 = 1 / 9007199254740992;
const TWO_26 = 67108864;
const TWO_32 = 4294967296;

export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private key: bigint;
  private spare: number | null = null;

  /** A generator keyed by `seed`, an integer in [0, 2^53). */
  constructor(seed: number) {
    checkSeed(seed);
    this.key = BigInt(seed);
    this.seedFromKey();
  }

  /** The generator for `purpose` under `seed`: the same as new Rng(seed).fork(purpose). */
  static derive(seed: number, purpose: string): Rng {
    return new Rng(seed).fork(purpose);
  }

  /** A generator restored from state(). */
  static fromState(state: RngState): Rng {
    const r = new Rng(0);
    r.setState(state);
    return r;
  }

  /**
   * An independent child generator for `purpose` ("init", "data", "dropout",
   * "init/blocks.0"...). Depends only on this generator's key and the purpose,
   * never on how many numbers this generator has produced.
   */
  fork(purpose: string): Rng {
    const child = new Rng(0);
    child.key = mix64(this.key ^ fnv1a64(purpose));
    child.seedFromKey();
    return child;
  }

  private seedFromKey(): void {
    let x = this.key;
    x = (x + GOLDEN64) & MASK64;
    const z1 = mix64(x);
    x = (x + GOLDEN64) & MASK64;
    const z2 = mix64(x);
    this.s0 = Number(z1 & 0xffffffffn);
    this.s1 = Number(z1 >> 32n);
    this.s2 = Number(z2 & 0xffffffffn);
    this.s3 = Number(z2 >> 32n);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
    this.spare = null;
  }

  /** The next 32-bit output, an integer in [0, 2^32). xoshiro128** 1.1. */
  nextU32(): number {
    const s1 = this.s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 = s1 ^ this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A float in [0, 1) with 53 random bits, from two nextU32() calls (see the header). */
  next(): number {
    const a = this.nextU32() >>> 5;
    const b = this.nextU32() >>> 6;
    return (a * TWO_26 + b) * TWO_M53;
  }

  /** A float uniform in [lo, hi): lo + (hi - lo) * next(). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /**
   * An integer uniform in [0, n) for an integer n in [1, 2^32], without bias:
   * draws x = nextU32() until x < 2^32 - (2^32 mod n), returns x mod n.
   */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_32) {
      throw new RangeError(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    }
    const limit = TWO_32 - (TWO_32 % n);
    for (;;) {
      const x = this.nextU32();
      if (x < limit) return x % n;
    }
  }

  /** True with probability p: next() < p. */
  bernoulli(p: number): boolean {
    return this.next() < p;
  }

  /**
   * A standard normal draw by the Marsaglia polar method: u, v = 2*next() - 1
   * until 0 < s = u^2 + v^2 < 1, then u*f and v*f with f = sqrt(-2 log(s)/s)
   * (detmath.log). The second value is cached and returned by the next call.
   */
  normal(mean = 0, std = 1): number {
    let z: number;
    if (this.spare !== null) {
      z = this.spare;
      this.spare = null;
    } else {
      let u: number;
      let v: number;
      let s: number;
      do {
        u = 2 * this.next() - 1;
        v = 2 * this.next() - 1;
        s = u * u + v * v;
      } while (s >= 1 || s === 0);
      const f = Math.sqrt((-2 * dm.log(s)) / s);
      this.spare = v * f;
      z = u * f;
    }
    return mean + std * z;
  }

  /** Fills `out` with normal(mean, std) draws in index order (stored as f32 for a Float32Array). */
  fillNormal(out: Float32Array | Float64Array, mean = 0, std = 1): void {
    for (let i = 0; i < out.length; i++) out[i] = this.normal(mean, std);
  }

  /** Fills `out` with uniform(lo, hi) draws in index order. */
  fillUniform(out: Float32Array | Float64Array, lo: number, hi: number): void {
    for (let i = 0; i < out.length; i++) out[i] = this.uniform(lo, hi);
  }

  /** Shuffles in place (Fisher-Yates, i from the end down to 1, j = int(i + 1)); returns the array. */
  shuffle<T extends { length: number; [i: number]: unknown }>(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }

  /** A random permutation of 0..n-1 (shuffle of the identity). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }

  /** A snapshot for checkpoints; setState(state()) continues the stream exactly. */
  state(): RngState {
    return {
      key: [Number(this.key & 0xffffffffn), Number(this.key >> 32n)],
      s: [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0],
      spare: this.spare,
    };
  }

  setState(state: RngState): void {
    const words = [...state.key, ...state.s];
    for (const w of words) {
      if (!Number.isInteger(w) || w < 0 || w >= TWO_32) throw new RangeError(`Rng.setState: ${w} is not a uint32 word`);
    }
    if (state.s.length !== 4 || state.key.length !== 2) throw new RangeError('Rng.setState: expected key[2] and s[4]');
    if ((state.s[0] | state.s[1] | state.s[2] | state.s[3]) === 0) throw new RangeError('Rng.setState: all-zero state');
    this.key = BigInt(state.key[0]) | (BigInt(state.key[1]) << 32n);
    this.s0 = state.s[0] | 0;
    this.s1 = state.s[1] | 0;
    this.s2 = state.s[2] | 0;
    this.s3 = state.s[3] | 0;
    this.spare = state.spare ?? null;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
