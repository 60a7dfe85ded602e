/**
 * Mixing expert distributions over the 256 byte values, deterministically.
 *
 * A geometric (log-linear) mixer, the multi-symbol form of the logistic
 * mixing in PAQ-style compressors:
 *
 *   p(s) = exp(sum_k w_k f_k(s)) / Z,   f_k(s) = ln p_k(s) (expert k's log-probability)
 *
 * The weights are learned online, one gradient step per coded byte, on the
 * code length -ln p(y):  dL/dw_k = E_p[f_k] - f_k(y).  Several weight sets
 * are kept; a small context (how confident each expert is) picks the set, so
 * the mixer can trust the transformer where it is sure and the counts elsewhere.
 *
 * Everything is f64 arithmetic in a fixed order plus two table-driven
 * approximations below (no Math.exp/log), so encoder and decoder compute the
 * same bits on every platform. Their accuracy (~1e-7 relative) only affects
 * how good the mix is, never whether decoding works.
 */
import { log as detLog } from '../engine/detmath.js';
import { LN2, LOG2E } from '../engine/constants.js';

const N = 256;

// ---------------------------------------------------------------- ln

const LN_BITS = 10;
/** LN_TABLE[k] = ln(1 + k / 2^LN_BITS), k = 0..2^LN_BITS (detmath, correctly rounded within 1 ulp). */
const LN_TABLE = (() => {
  const t = new Float64Array((1 << LN_BITS) + 1);
  for (let k = 0; k <= 1 << LN_BITS; k++) t[k] = detLog(1 + k / (1 << LN_BITS));
  return t;
})();
const F32 = new Float32Array(1);
const I32 = new Int32Array(F32.buffer);
const FRAC_SHIFT = 23 - LN_BITS;
const FRAC_SCALE = 1 / (1 << FRAC_SHIFT);

/**
 * ln(x) for x > 0 seen as an f32 (values below 2^-126 count as 2^-126):
 * exponent from the bits, mantissa by linear interpolation in a 1025-entry
 * table. Absolute error < 2e-7.
 */
export function lnApprox(x: number): number {
  F32[0] = x;
  let b = I32[0];
  if (b < 0x00800000) b = 0x00800000; // zero, subnormal (and negative: callers pass positives)
  const e = (b >>> 23) - 127;
  const m = b & 0x7fffff;
  const k = m >>> FRAC_SHIFT;
  const frac = (m & ((1 << FRAC_SHIFT) - 1)) * FRAC_SCALE;
  const lo = LN_TABLE[k];
  return e * LN2 + lo + (LN_TABLE[k + 1] - lo) * frac;
}

// ---------------------------------------------------------------- exp

const EXP_BITS = 8;
/** 2^f for f in [0, 1), as the Taylor series of e^(f ln 2) (30 terms: exact to the last bits). */
function twoPow(f: number): number {
  const x = f * LN2;
  let term = 1;
  let sum = 1;
  for (let n = 1; n < 30; n++) {
    term = (term * x) / n;
    sum += term;
  }
  return sum;
}
/** EXP_TABLE[j] = 2^(j / 256). */
const EXP_TABLE = (() => {
  const t = new Float64Array(1 << EXP_BITS);
  for (let j = 0; j < 1 << EXP_BITS; j++) t[j] = twoPow(j / (1 << EXP_BITS));
  return t;
})();
/** POW2_NEG[k] = 2^-k for k = 0..1022 (exact). */
const POW2_NEG = (() => {
  const t = new Float64Array(1023);
  let v = 1;
  for (let k = 0; k < 1023; k++, v /= 2) t[k] = v;
  return t;
})();

/**
 * e^x for x <= 0 (0 below -700): 2^(x log2 e) split into an integer power,
 * a 256-entry table and a cubic for the remainder (< 1/256). Relative error < 1e-9.
 */
export function expApprox(x: number): number {
  if (!(x > -700)) return 0;
  const y = x * LOG2E; // <= 0
  const k = Math.floor(y);
  const f = y - k; // [0, 1)
  const j = (f * (1 << EXP_BITS)) | 0;
  const r = (f - j / (1 << EXP_BITS)) * LN2;
  const poly = 1 + r * (1 + r * (0.5 + r * (1 / 6)));
  return EXP_TABLE[j] * poly * POW2_NEG[-k];
}

// ---------------------------------------------------------------- the mixer

/** Which of 4 confidence buckets a distribution's largest probability falls in (0: p > 0.6 ... 3: p <= 0.15). */
export function confidenceBucket(maxP: number): number {
  return maxP > 0.6 ? 0 : maxP > 0.35 ? 1 : maxP > 0.15 ? 2 : 3;
}

export class GeometricMixer {
  readonly nInputs: number;
  readonly nSets: number;
  readonly lr: number;
  private readonly w: Float64Array;
  private readonly p = new Float64Array(N);
  private inputs: Float64Array[] = [];
  private set = 0;

  /** `init`: the starting weight of each input (the same in every set). */
  constructor(nInputs: number, nSets: number, init: readonly number[], lr: number) {
    if (init.length !== nInputs) throw new RangeError(`GeometricMixer: ${init.length} initial weights for ${nInputs} inputs`);
    this.nInputs = nInputs;
    this.nSets = nSets;
    this.lr = lr;
    this.w = new Float64Array(nSets * nInputs);
    for (let s = 0; s < nSets; s++) for (let k = 0; k < nInputs; k++) this.w[s * nInputs + k] = init[k];
  }

  /** The weights of set `s` (a copy), for reports and tests. */
  weights(s: number): number[] {
    return Array.from(this.w.subarray(s * this.nInputs, (s + 1) * this.nInputs));
  }

  /**
   * Mix the inputs (each 256 log-probabilities) with weight set `set` into
   * `out` (probabilities summing to ~1), and their logs into `logOut` if given.
   */
  mix(inputs: Float64Array[], set: number, out: Float32Array, logOut?: Float64Array): void {
    const K = this.nInputs;
    const w = this.w;
    const o = set * K;
    const p = this.p;
    this.inputs = inputs;
    this.set = set;
    let mx = -Infinity;
    for (let s = 0; s < N; s++) {
      let v = 0;
      for (let k = 0; k < K; k++) v += w[o + k] * inputs[k][s];
      p[s] = v;
      if (v > mx) mx = v;
    }
    let z = 0;
    for (let s = 0; s < N; s++) {
      const d = p[s] - mx;
      if (logOut) logOut[s] = d;
      const e = expApprox(d);
      p[s] = e;
      z += e;
    }
    if (logOut) {
      const lz = lnApprox(z);
      for (let s = 0; s < N; s++) logOut[s] -= lz;
    }
    const inv = 1 / z;
    for (let s = 0; s < N; s++) {
      p[s] *= inv;
      out[s] = p[s];
    }
  }

  /** Learn from the actual byte y (after mix). */
  update(y: number): void {
    const K = this.nInputs;
    const o = this.set * K;
    const p = this.p;
    for (let k = 0; k < K; k++) {
      const f = this.inputs[k];
      let e = 0;
      for (let s = 0; s < N; s++) e += p[s] * f[s];
      let wk = this.w[o + k] - this.lr * (e - f[y]);
      // Keep weights in a sane range: a runaway weight would only cost bits, but bounded is easier to reason about.
      if (wk < -4) wk = -4;
      else if (wk > 4) wk = 4;
      this.w[o + k] = wk;
    }
  }
}
