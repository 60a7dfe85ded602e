// detmath: the transcendental functions of the numeric path, built from IEEE
// operations only (+ - * / on f64, Math.sqrt, Math.floor/round/abs and bit
// access to the f64 representation). ECMAScript leaves Math.exp, Math.log,
// Math.tanh, Math.pow, Math.sin ... "implementation-approximated", so their
// bits may differ between engines, engine versions and CPUs; these do not.
//
// Every function takes and returns an f64. Callers usually store the result
// into a Float32Array. Error bounds below are in units in the last place (ulp)
// of the f64 result, measured against Math.* and a 200-bit reference while
// writing; test/engine/detmath.test.ts checks them against Math.* on up to
// 100k points per range.
//
// exp, log, log2 and tanh follow the published fdlibm algorithms (Sun
// Microsystems, 1993; e_exp.c, e_log.c, e_log2.c, s_tanh.c): the same range
// reductions and minimax coefficients, written here in plain TypeScript.
// expm1 and cosPi are our own (Taylor kernels with double-double corrections
// where cancellation would cost bits). Only what the numeric path calls lives
// here; fdlibm's other routines (erf, sin, ...) can be added the same way.
//
// Changing any output bit changes every saved run: the golden hashes in the
// test pin them. Measured cost on V8: 1-2x the corresponding Math.* call.

import { LN2, LN2_HI, LN2_LO, LOG2E as INV_LN2 } from './constants.js';

// ---------------------------------------------------------------- bit access

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
/** Index of the high (sign/exponent) word in U32: depends on platform endianness. */
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

function highWord(x: number): number {
  F64[0] = x;
  return U32[HI];
}

function fromWords(hi: number, lo: number): number {
  U32[HI] = hi;
  U32[LO] = lo;
  return F64[0];
}

/** 2^k for an integer k in [-1022, 1023], exactly, by building the exponent field. */
function pow2(k: number): number {
  return fromWords(((k + 1023) << 20) >>> 0, 0);
}

/** POW2[k + 1022] = 2^k for k in [-1022, 1023]: the same bits as pow2(k), one load instead of a bit store. */
const POW2 = (() => {
  const t = new Float64Array(2046);
  for (let k = -1022; k <= 1023; k++) t[k + 1022] = pow2(k);
  return t;
})();

const TWO_P1023 = pow2(1023);
const TWO_M969 = pow2(-969); // 2^-1022 * 2^53: scales into the subnormal range with one final rounding
const TWO_P54 = pow2(54);

/**
 * x * 2^k for any integer k (C's scalbn/ldexp). Exact unless the result
 * overflows or is subnormal, in which case it is rounded once.
 */
export function ldexp(x: number, k: number): number {
  if (k > 1023) {
    x *= TWO_P1023;
    k -= 1023;
    if (k > 1023) {
      x *= TWO_P1023;
      k -= 1023;
      if (k > 1023) k = 1023;
    }
  } else if (k < -1022) {
    x *= TWO_M969;
    k += 969;
    if (k < -1022) {
      x *= TWO_M969;
      k += 969;
      if (k < -1022) k = -1022;
    }
  }
  return x * POW2[k + 1022];
}

// ---------------------------------------------------------------- constants

// ln 2, 1/ln 2 and the two-part ln 2 of the range reductions: src/engine/constants.ts.
/** Largest x with exp(x) finite, and the x below which exp(x) rounds to 0. */
const EXP_OVERFLOW = 7.09782712893383973096e2;
const EXP_UNDERFLOW = -7.45133219101941108420e2;
const TWO_M28 = 3.725290298461914e-9;
const TWO_M54 = 5.551115123125783e-17;
const PI = 3.141592653589793;
const LOG2E_HI = 1.4426950407214463; // 0x3ff71547 65200000 (32 significant bits)
const LOG2E_LO = 1.6751713164886512e-10; // 1/ln2 - LOG2E_HI

// ---------------------------------------------------------------- exp

// fdlibm e_exp.c: minimax coefficients of R(r^2) in
// r*(exp(r)+1)/(exp(r)-1) = 2 + r^2*R(r^2) on |r| <= ln2/2 (error < 2^-59).
const P1 = 1.66666666666666019037e-1;
const P2 = -2.77777777770155933842e-3;
const P3 = 6.61375632143793436117e-5;
const P4 = -1.65339022054652515390e-6;
const P5 = 4.13813679705723846039e-8;

/**
 * e^x. Method (fdlibm): x = k*ln2 + r with |r| <= ln2/2 (ln2 in two parts so
 * r is nearly exact), exp(r) = 1 + r + r*c/(2-c) with c = r - r^2*R(r^2) a
 * degree-5 minimax polynomial, then the result is scaled by 2^k through the
 * exponent bits. Error < 1 ulp (bit-identical to V8's Math.exp, itself fdlibm,
 * on every point tested).
 * Overflow gives Infinity, underflow 0, exp(NaN) = NaN, exp(-Inf) = 0.
 */
export function exp(x: number): number {
  if (x !== x) return x;
  if (x > EXP_OVERFLOW) return Infinity;
  if (x < EXP_UNDERFLOW) return 0;
  const ax = Math.abs(x);
  if (ax < TWO_M28) return 1 + x;
  let k = 0;
  let hi = x;
  let lo = 0;
  if (ax > 0.5 * LN2) {
    k = Math.floor(x * INV_LN2 + 0.5);
    hi = x - k * LN2_HI; // exact
    lo = k * LN2_LO;
  }
  const r = hi - lo;
  const t = r * r;
  const c = r - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
  const y = 1 - (lo - (r * c) / (2 - c) - hi);
  return k >= -1022 && k <= 1023 ? y * POW2[k + 1022] : ldexp(y, k);
}

// ---------------------------------------------------------------- expm1

/** INV_FACT[n] = 1/n! (each correctly rounded from an exact n!), n = 0..21. */
const INV_FACT: number[] = (() => {
  const out: number[] = [];
  let f = 1; // n! is exact in f64 up to 22!
  for (let n = 0; n <= 21; n++) {
    if (n > 0) f *= n;
    out.push(1 / f);
  }
  return out;
})();

const F2 = INV_FACT[2];
const F3 = INV_FACT[3];
const F4 = INV_FACT[4];
const F5 = INV_FACT[5];
const F6 = INV_FACT[6];
const F7 = INV_FACT[7];
const F8 = INV_FACT[8];
const F9 = INV_FACT[9];
const F10 = INV_FACT[10];
const F11 = INV_FACT[11];
const F12 = INV_FACT[12];
const F13 = INV_FACT[13];
const F14 = INV_FACT[14];
const F15 = INV_FACT[15];

/**
 * The correction term of e^r - 1 = r + r^2 (1/2! + r/3! + ... + r^13/15!) for
 * |r| <= 0.36 (Taylor; truncation < 2^-60 relative). Returns r^2 * (...).
 */
function expm1Tail(r: number): number {
  const q =
    F2 + r * (F3 + r * (F4 + r * (F5 + r * (F6 + r * (F7 + r * (F8 + r * (F9 + r * (F10 + r * (F11 + r * (F12 + r * (F13 + r * (F14 + r * F15))))))))))));
  return r * r * q;
}

const EXPM1_DIRECT = 0.36;

/**
 * e^x - 1, accurate for small |x| where exp(x) - 1 would cancel.
 * Method: |x| <= 0.36: Taylor series x + tail(x). Otherwise x = k*ln2 + r as
 * in exp, e^r - 1 = eh + el kept as a two-term (double-double) value that
 * also carries the rounding error of r, and
 * e^x - 1 = (2^k - 1) + 2^k*eh + 2^k*el, summed with an exact TwoSum
 * (2^k - 1 is exact for |k| <= 53). Error < 1 ulp (measured against Math.expm1).
 */
export function expm1(x: number): number {
  if (x !== x) return x;
  if (x > EXP_OVERFLOW) return Infinity;
  if (x < -38) return -1; // e^-38 < 2^-54: -1 + e^x rounds to -1
  const ax = Math.abs(x);
  if (ax < TWO_M54) return x;
  if (ax <= EXPM1_DIRECT) return x + expm1Tail(x);
  const k = Math.floor(x * INV_LN2 + 0.5);
  const hi = x - k * LN2_HI;
  const lo = k * LN2_LO;
  const r = hi - lo;
  const corr = hi - r - lo; // (hi - lo) - r, the part of r lost to rounding
  const tail = expm1Tail(r);
  const eh = r + tail;
  const el = r - eh + tail + (corr + corr * eh); // e^(r+corr) - 1 = eh + el, well beyond 53 bits
  if (k > 53 || k < -53) return ldexp(1 + (eh + el), k) - 1;
  const a = ldexp(1, k) - 1; // exact
  const b = ldexp(eh, k); // exact
  const sum = a + b;
  const bb = sum - a;
  const err = a - (sum - bb) + (b - bb); // TwoSum: sum + err = a + b exactly
  return sum + (err + ldexp(el, k));
}

// ---------------------------------------------------------------- log

// fdlibm e_log.c: minimax coefficients of R(s^2) with
// log(1+f) = 2s + s*R(s^2), s = f/(2+f), on 1+f in [sqrt(2)/2, sqrt(2)] (error < 2^-58.45).
const LG1 = 6.666666666666735130e-1;
const LG2 = 3.999999999940941908e-1;
const LG3 = 2.857142874366239149e-1;
const LG4 = 2.222219843214978396e-1;
const LG5 = 1.818357216161805012e-1;
const LG6 = 1.531383769920937332e-1;
const LG7 = 1.479819860511658591e-1;

const SQRT2 = 1.4142135623730951;

/**
 * Splits a finite x > 0 into k and f with x = 2^k * (1+f), 1+f in
 * [sqrt(2)/2, sqrt(2)) (exactly: the mantissa is scaled by an exact power of
 * two). Writes into SPLIT_K / SPLIT_F.
 */
let SPLIT_K = 0;
let SPLIT_F = 0;
function splitLog(x: number): void {
  let k = 0;
  if (x < 2.2250738585072014e-308) {
    // subnormal: scale into the normal range first
    x *= TWO_P54;
    k = -54;
  }
  const e = (highWord(x) >>> 20) - 1023;
  let m = e < 1023 ? x * POW2[1022 - e] : x * 0.5 * POW2[0]; // x / 2^e, in [1, 2)
  k += e;
  if (m >= SQRT2) {
    m *= 0.5;
    k += 1;
  }
  SPLIT_K = k;
  SPLIT_F = m - 1;
}

/** R(s^2) of the log kernel: log(1+f) = 2s + s*R(s^2) with s = f/(2+f). */
function logPoly(s: number): number {
  const z = s * s;
  const w = z * z;
  const t1 = w * (LG2 + w * (LG4 + w * LG6));
  const t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
  return t2 + t1;
}

/** k*ln2 + log(1+f) for the reduced f of splitLog (fdlibm's final assembly). */
function logReduced(k: number, f: number): number {
  const hfsq = 0.5 * f * f;
  const s = f / (2 + f);
  const R = logPoly(s);
  return k * LN2_HI - (hfsq - (s * (hfsq + R) + k * LN2_LO) - f);
}

/**
 * Natural logarithm. Method (fdlibm): x = 2^k (1+f) with 1+f in
 * [sqrt(2)/2, sqrt(2)), log(1+f) = f - f^2/2 + s(f^2/2 + R(s^2)) with
 * s = f/(2+f) and R a degree-7 minimax polynomial, plus k*ln2 in two parts.
 * Error < 1 ulp (within 1 ulp of Math.log on every point tested).
 * log(±0) = -Infinity, log(x<0) = NaN, log(Infinity) = Infinity, log(NaN) = NaN.
 */
export function log(x: number): number {
  if (!(x > 0)) return x === 0 ? -Infinity : NaN;
  if (x === Infinity) return x;
  splitLog(x);
  return logReduced(SPLIT_K, SPLIT_F);
}

/**
 * log base 2. Method (as fdlibm e_log2.c): x = 2^k (1+f) as in log, and
 * log(1+f) = hi + lo with hi = f - f^2/2 cut to 21 significant bits, so that
 * hi/ln2 is formed almost exactly; then k + (hi + lo)/ln2 is summed with the
 * larger terms last. Exact for powers of two. Error < 1 ulp (measured 0.67).
 */
export function log2(x: number): number {
  if (!(x > 0)) return x === 0 ? -Infinity : NaN;
  if (x === Infinity) return x;
  splitLog(x);
  const k = SPLIT_K;
  const f = SPLIT_F;
  const hfsq = 0.5 * f * f;
  const s = f / (2 + f);
  const R = logPoly(s);
  const hi = fromWords(highWord(f - hfsq), 0); // drop the low 32 bits
  const lo = f - hi - hfsq + s * (hfsq + R);
  const valHi = hi * LOG2E_HI;
  let valLo = (lo + hi) * LOG2E_LO + lo * LOG2E_HI;
  const w = k + valHi;
  valLo += k - w + valHi;
  return valLo + w;
}

// ---------------------------------------------------------------- tanh, sigmoid

/**
 * Hyperbolic tangent. Method (as fdlibm s_tanh.c): tiny |x| -> x;
 * |x| < 1: t = expm1(-2|x|), tanh = -t/(t+2) with t+2 carried exactly;
 * 1 <= |x| < 22: tanh = 1 - 2/(expm1(2|x|)+2); |x| >= 22: ±1. Error < 2 ulp (measured 1.85 ulp against mpmath; Math.tanh
 * itself is off by up to 1.97 ulp, so the two may differ by 3 ulp).
 */
export function tanh(x: number): number {
  if (x !== x) return x;
  const a = Math.abs(x);
  if (a < TWO_M28) return x; // tanh x = x - x^3/3 ...: x^2/3 < 2^-56
  let r: number;
  if (a >= 22) r = 1;
  else if (a >= 1) r = 1 - 2 / (expm1(2 * a) + 2);
  else {
    const t = expm1(-2 * a); // in (-0.87, 0]
    const d = t + 2;
    const dErr = 2 - d + t; // Fast2Sum: d + dErr = t + 2 exactly
    const q = -t / d;
    r = q - (q * dErr) / d; // -t/(d + dErr) to first order
  }
  return x < 0 ? -r : r;
}

/**
 * Logistic sigmoid 1/(1+e^-x), evaluated without overflow:
 * x >= 0: 1/(1+exp(-x)); x < 0: e/(1+e) with e = exp(x). Error < 2 ulp.
 */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + exp(-x));
  const e = exp(x);
  return e / (1 + e); // NaN falls through here and stays NaN
}

// ---------------------------------------------------------------- cosPi

/** sin(r) for |r| <= pi/4 + tiny: Taylor series to r^19 (truncation < 2^-60 relative). */
function sinKernel(r: number): number {
  const z = r * r;
  let q = -INV_FACT[19];
  for (let n = 17; n >= 3; n -= 2) q = q * z + (n % 4 === 1 ? INV_FACT[n] : -INV_FACT[n]);
  return r + r * z * q;
}

/** cos(r) for |r| <= pi/4 + tiny: 1 - (r^2/2 - r^4/4! + ... - r^20/20!) (truncation < 2^-60). */
function cosKernel(r: number): number {
  const z = r * r;
  let q = INV_FACT[20];
  for (let n = 18; n >= 2; n -= 2) q = q * z + (n % 4 === 2 ? -INV_FACT[n] : INV_FACT[n]);
  // q = -(1/2! - z/4! + ...)
  return 1 + z * q;
}

/** x - 2*round(x/2), exactly, in [-1, 1]: the reduction of cosPi. */
function reduceTwo(x: number): number {
  return x - 2 * Math.round(x / 2);
}

/**
 * cos(pi*x), with an exact reduction for every finite x (cosPi(0) = 1,
 * cosPi(1) = -1, cosPi(1/2) = 0 exactly). Error < 2 ulp. cosPi(±Infinity) = NaN.
 */
export function cosPi(x: number): number {
  if (!(Math.abs(x) < Infinity)) return NaN;
  const u = Math.abs(reduceTwo(x));
  const neg = u > 0.5;
  const w = neg ? 1 - u : u; // cos(pi u) = -cos(pi (1-u)); exact
  const r = w <= 0.25 ? cosKernel(PI * w) : sinKernel(PI * (0.5 - w));
  return neg ? -r : r;
}
