// Activation-grade transcendentals for the hot loops (softmax, GELU,
// cross-entropy). Their results are stored as f32, so they need ~1e-9
// relative accuracy, not detmath's last-ulp f64 accuracy, and they must be
// cheap. They use only IEEE +, -, *, / and a table of exact powers of two,
// so they are as deterministic as detmath (no Math.exp anywhere).

import { LN2_HI, LN2_LO, LOG2E as INV_LN2 } from './constants.js';

/** 2^k for k in [-1074, 1023] (index k + 1074); every entry is exact. */
const POW2 = (() => {
  const t = new Float64Array(1074 + 1024);
  let v = 1;
  for (let k = 0; k <= 1023; k++, v *= 2) t[k + 1074] = v;
  v = 1;
  for (let k = 0; k >= -1074; k--, v /= 2) t[k + 1074] = v;
  return t;
})();

/**
 * e^x with relative error below 2e-10 for x in [-745, 709]; 0 below, Infinity
 * above, NaN stays NaN. x = k ln2 + r with |r| <= ln2/2, e^r by a degree-9
 * Taylor polynomial (truncation < 3e-11 relative), times the exact 2^k from the table.
 */
export function expFast(x: number): number {
  if (!(x > -745)) return x !== x ? x : 0;
  if (x > 709) return Infinity;
  const k = Math.floor(x * INV_LN2 + 0.5);
  const r = x - k * LN2_HI - k * LN2_LO;
  const p = 1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720 + r * (1 / 5040 + r * (1 / 40320 + r * (1 / 362880)))))))));
  // k >= -1075 here since x > -745; a subnormal product rounds once, which is fine for f32 results.
  return k >= -1074 ? p * POW2[k + 1074] : p * POW2[0] * 0.5;
}

const SQRT1_2 = 0.7071067811865476;
const INV_SQRT_2PI = 0.3989422804014327;
// Abramowitz & Stegun 7.1.26: erf(z) = 1 - poly(t) e^{-z^2}, t = 1/(1 + p z), |error| <= 1.5e-7.
const AS_P = 0.3275911;
const AS_A1 = 0.254829592;
const AS_A2 = -0.284496736;
const AS_A3 = 1.421413741;
const AS_A4 = -1.453152027;
const AS_A5 = 1.061405429;

/**
 * GELU(x) = x Φ(x) and its derivative Φ(x) + x φ(x), sharing one exponential:
 * φ(x) ∝ e^{-x²/2} and the erf approximation needs e^{-z²} with z = x/√2, the
 * same number. |error of Φ| <= 1e-7, below f32 resolution of the outputs.
 * Writes into out[i] (and deriv[i] when given).
 */
export function geluInto(x: number, out: Float32Array, deriv: Float32Array | null, i: number): void {
  const z = Math.abs(x) * SQRT1_2;
  const e = expFast(-z * z); // e^{-x²/2}
  const t = 1 / (1 + AS_P * z);
  const erfAbs = 1 - t * (AS_A1 + t * (AS_A2 + t * (AS_A3 + t * (AS_A4 + t * AS_A5)))) * e;
  const cdf = x >= 0 ? 0.5 * (1 + erfAbs) : 0.5 * (1 - erfAbs);
  out[i] = x * cdf;
  if (deriv) deriv[i] = cdf + x * INV_SQRT_2PI * e;
}
