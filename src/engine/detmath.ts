// detmath: the transcendental functions of the numeric path, built from IEEE
// operations only (+ - * / on f64, Math.sqrt, Math.floor/round/abs and bit
// access to the f64 representation). ECMAScript leaves Math.exp, Math.log,
// Math.tanh, Math.pow, Math.sin ... "implementation-approximated", so their
// bits may differ between engines, engine versions and CPUs; these do not.
//
// Every function takes and returns an f64. Callers usually store the result
// into a Float32Array. Error bounds below are in units in the last place (ulp)
// of the f64 result, measured against Math.* and a 200-bit reference while
// writing; test/engine/detmath.test.ts checks them against Math.* (and erf
// and erfc against an exact BigInt series) on up to 100k points per range.
//
// exp, log, log2, tanh and erf follow the published fdlibm algorithms (Sun
// Microsystems, 1993; e_exp.c, e_log.c, e_log2.c, s_tanh.c, s_erf.c): the same
// range reductions and minimax coefficients, written here in plain
// TypeScript. expm1, log1p, sin/cos and sinPi/cosPi are our own (Taylor
// kernels with double-double corrections where cancellation would cost bits).
//
// Changing any output bit changes every saved run: the golden hashes in the
// test pin them. Measured cost on V8: 1-2x the corresponding Math.* call.

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

/** ln 2 split so that k * LN2_HI is exact for |k| < 2^21 (LN2_HI has 32 significant bits). */
const LN2_HI = 6.93147180369123816490e-1; // 0x3fe62e42 fee00000
const LN2_LO = 1.90821492927058770002e-10; // 0x3dea39ef 35793c76
const INV_LN2 = 1.44269504088896338700e0;
const LN2 = 6.93147180559945286227e-1;
/** Largest x with exp(x) finite, and the x below which exp(x) rounds to 0. */
const EXP_OVERFLOW = 7.09782712893383973096e2;
const EXP_UNDERFLOW = -7.45133219101941108420e2;
const TWO_M28 = 3.725290298461914e-9;
const TWO_M54 = 5.551115123125783e-17;
const TWO_OVER_SQRT_PI = 1.1283791670955126; // correctly rounded 2/sqrt(pi)
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
 * log(1+x), accurate for small |x|. Method: u = 1 + x rounded, c the exact
 * rounding error of that sum (Fast2Sum), log1p(x) = log(u) + c/u.
 * For |x| < 2^-28 the series x - x^2/2 + x^3/3 is used.
 * Error < 1.1 ulp (measured against mpmath).
 */
export function log1p(x: number): number {
  if (x !== x) return x;
  if (Math.abs(x) < TWO_M28) return x - x * x * (0.5 - x / 3);
  if (!(x > -1)) return x === -1 ? -Infinity : NaN;
  if (x === Infinity) return x;
  const u = 1 + x;
  const c = x <= 1 ? x - (u - 1) : 1 - (u - x);
  return log(u) + c / u;
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

// ---------------------------------------------------------------- tanh, sigmoid, softplus

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

/** log(1 + e^x) without overflow: max(x,0) + log1p(exp(-|x|)). Error < 3 ulp. */
export function softplus(x: number): number {
  if (x !== x) return x;
  return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

// ---------------------------------------------------------------- erf, erfc

// fdlibm s_erf.c: rational minimax approximations on four intervals.
// [0, 0.84375]: erf(x) = x + x*PP(x^2)/QQ(x^2), |error| < 2^-57.90.
const PP0 = 1.28379167095512558561e-1;
const PP1 = -3.25042107247001499370e-1;
const PP2 = -2.84817495755985104766e-2;
const PP3 = -5.77027029648944159157e-3;
const PP4 = -2.37630166566501626084e-5;
const QQ1 = 3.97917223959155352819e-1;
const QQ2 = 6.50222499887672944485e-2;
const QQ3 = 5.08130628187576562776e-3;
const QQ4 = 1.32494738004321644526e-4;
const QQ5 = -3.96022827877536812320e-6;
// [0.84375, 1.25]: erf(1+s) = ERX + PA(s)/QA(s), |error| < 2^-59.06; ERX = erf(1) rounded to 24 bits.
const ERX = 8.45062911510467529297e-1;
const PA0 = -2.36211856075265944077e-3;
const PA1 = 4.14856118683748331666e-1;
const PA2 = -3.72207876035701323847e-1;
const PA3 = 3.18346619901161753674e-1;
const PA4 = -1.10894694282396677476e-1;
const PA5 = 3.54783043256182359371e-2;
const PA6 = -2.16637559486879084300e-3;
const QA1 = 1.06420880400844228286e-1;
const QA2 = 5.40397917702171048937e-1;
const QA3 = 7.18286544141962662868e-2;
const QA4 = 1.26171219808761642112e-1;
const QA5 = 1.36370839120290507362e-2;
const QA6 = 1.19844998467991074170e-2;
// [1.25, 1/0.35]: erfc(x) = exp(-x^2 - 0.5625 + RA(z)/SA(z))/x with z = 1/x^2, |error| < 2^-62.57.
const RA0 = -9.86494403484714822705e-3;
const RA1 = -6.93858572707181764372e-1;
const RA2 = -1.05586262253232909814e1;
const RA3 = -6.23753324503260060396e1;
const RA4 = -1.62396669462573470355e2;
const RA5 = -1.84605092906711035994e2;
const RA6 = -8.12874355063065934246e1;
const RA7 = -9.81432934416914548592e0;
const SA1 = 1.96512716674392571292e1;
const SA2 = 1.37657754143519042600e2;
const SA3 = 4.34565877475229228821e2;
const SA4 = 6.45387271733267880336e2;
const SA5 = 4.29008140027567833386e2;
const SA6 = 1.08635005541779435134e2;
const SA7 = 6.57024977031928170135e0;
const SA8 = -6.04244152148580987438e-2;
// [1/0.35, 28]: as above with RB/SB, |error| < 2^-61.52.
const RB0 = -9.86494292470009928597e-3;
const RB1 = -7.99283237680523006574e-1;
const RB2 = -1.77579549177547519889e1;
const RB3 = -1.60636384855821916062e2;
const RB4 = -6.37566443368389627722e2;
const RB5 = -1.02509513161107724954e3;
const RB6 = -4.83519191608651397019e2;
const SB1 = 3.03380607434824582924e1;
const SB2 = 3.25792512996573918826e2;
const SB3 = 1.53672958608443695994e3;
const SB4 = 3.19985821950859553908e3;
const SB5 = 2.55305040643316442583e3;
const SB6 = 4.74528541206955367215e2;
const SB7 = -2.24409524465858183362e1;

/** erf(a)/a - 1 for 0 <= a < 0.84375 (add a*this to a). */
function erfSmallRatio(a: number): number {
  const z = a * a;
  const p = PP0 + z * (PP1 + z * (PP2 + z * (PP3 + z * PP4)));
  const q = 1 + z * (QQ1 + z * (QQ2 + z * (QQ3 + z * (QQ4 + z * QQ5))));
  return p / q;
}

/** erf(a) - ERX for 0.84375 <= a < 1.25. */
function erfNearOne(a: number): number {
  const s = a - 1;
  const p = PA0 + s * (PA1 + s * (PA2 + s * (PA3 + s * (PA4 + s * (PA5 + s * PA6)))));
  const q = 1 + s * (QA1 + s * (QA2 + s * (QA3 + s * (QA4 + s * (QA5 + s * QA6)))));
  return p / q;
}

/**
 * erfc(a) for 1.25 <= a < 28. exp(-a^2) is formed as
 * exp(-h^2 - 0.5625) * exp((h-a)(h+a) + R/S), where h is a with its low 32
 * bits cleared, so h*h is exact and no accuracy is lost to rounding a^2.
 */
function erfcTail(a: number): number {
  const z = 1 / (a * a);
  let r: number;
  let s: number;
  if (a < 1 / 0.35) {
    r = RA0 + z * (RA1 + z * (RA2 + z * (RA3 + z * (RA4 + z * (RA5 + z * (RA6 + z * RA7))))));
    s = 1 + z * (SA1 + z * (SA2 + z * (SA3 + z * (SA4 + z * (SA5 + z * (SA6 + z * (SA7 + z * SA8)))))));
  } else {
    r = RB0 + z * (RB1 + z * (RB2 + z * (RB3 + z * (RB4 + z * (RB5 + z * RB6)))));
    s = 1 + z * (SB1 + z * (SB2 + z * (SB3 + z * (SB4 + z * (SB5 + z * (SB6 + z * SB7))))));
  }
  const h = fromWords(highWord(a), 0);
  return (exp(-h * h - 0.5625) * exp((h - a) * (h + a) + r / s)) / a;
}

/**
 * The error function. Method (fdlibm s_erf.c): odd; |x| < 0.84375: x + x*P/Q
 * in x^2; |x| < 1.25: erf(1) + P/Q in |x|-1; |x| < 6: 1 - erfc(|x|) with erfc
 * as exp(-x^2 - 0.5625 + R/S)/x in 1/x^2; 1 beyond. Error < 1 ulp (measured
 * against an exact BigInt series in the tests).
 */
export function erf(x: number): number {
  if (x !== x) return x;
  const a = Math.abs(x);
  let r: number;
  if (a < TWO_M28) return x * TWO_OVER_SQRT_PI; // erf x = (2/sqrt(pi))(x - x^3/3 ...)
  if (a < 0.84375) return x + x * erfSmallRatio(a);
  if (a < 1.25) r = ERX + erfNearOne(a);
  else if (a < 6) r = 1 - erfcTail(a);
  else r = 1; // erfc(6) < 2^-55
  return x < 0 ? -r : r;
}

/**
 * The complementary error function 1 - erf(x), with relative accuracy kept
 * for large x (erfc(x) underflows to 0 beyond x = 27.3). Method as erf
 * (fdlibm s_erf.c). Error < 3 ulp (measured against mpmath while writing).
 */
export function erfc(x: number): number {
  if (x !== x) return x;
  const a = Math.abs(x);
  if (a < 0.84375) {
    if (a < TWO_M54) return 1 - x;
    const y = erfSmallRatio(a);
    if (x < 0.25) return 1 - (x + x * y); // includes all x < 0 here
    return 0.5 - (x * y + (x - 0.5)); // keeps the bits of 1 - erf(x) for x in [1/4, 0.84375)
  }
  if (a < 1.25) {
    const p = erfNearOne(a);
    return x > 0 ? 1 - ERX - p : 1 + (ERX + p);
  }
  if (x < 0) return a < 6 ? 2 - erfcTail(a) : 2;
  return a < 28 ? erfcTail(a) : 0;
}

// ---------------------------------------------------------------- sin, cos

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

// pi/2 in three 33-bit pieces (fdlibm k_rem_pio2 style, Cody-Waite): k*PIO2_1 and k*PIO2_2 exact for |k| < 2^20.
const PIO2_1 = 1.57079632673412561417e0;
const PIO2_2 = 6.07710050630396597660e-11;
const PIO2_3 = 2.02226624871116645580e-21;
const TWO_OVER_PI = 6.36619772367581382433e-1;

let RED_N = 0;
/** Reduces x to r in [-pi/4, pi/4] with x = n*pi/2 + r; n mod 4 in RED_N. Accurate for |x| < 2^20 * pi/2. */
function reduceHalfPi(x: number): number {
  const k = Math.round(x * TWO_OVER_PI);
  RED_N = k - 4 * Math.floor(k / 4);
  return x - k * PIO2_1 - k * PIO2_2 - k * PIO2_3;
}

/**
 * Sine. Method: Cody-Waite reduction by pi/2 with a three-part constant, then
 * Taylor kernels on [-pi/4, pi/4]. Error < 2 ulp for |x| < 1e5 (measured
 * against Math.sin); deterministic but less accurate beyond ~1.6e6.
 * sin(±Infinity) = NaN.
 */
export function sin(x: number): number {
  if (!(Math.abs(x) < Infinity)) return NaN;
  if (Math.abs(x) < TWO_M28) return x;
  const r = reduceHalfPi(x);
  switch (RED_N) {
    case 0:
      return sinKernel(r);
    case 1:
      return cosKernel(r);
    case 2:
      return -sinKernel(r);
    default:
      return -cosKernel(r);
  }
}

/** Cosine; method and accuracy as sin. cos(±Infinity) = NaN. */
export function cos(x: number): number {
  if (!(Math.abs(x) < Infinity)) return NaN;
  const r = reduceHalfPi(x);
  switch (RED_N) {
    case 0:
      return cosKernel(r);
    case 1:
      return -sinKernel(r);
    case 2:
      return -cosKernel(r);
    default:
      return sinKernel(r);
  }
}

/** x - 2*round(x/2), exactly, in [-1, 1]: the reduction of sinPi/cosPi. */
function reduceTwo(x: number): number {
  return x - 2 * Math.round(x / 2);
}

/**
 * sin(pi*x), with an exact reduction for every finite x (so sinPi(n) = ±0
 * exactly for integers n, with the sign of n). Error < 2 ulp. sinPi(±Infinity) = NaN.
 */
export function sinPi(x: number): number {
  if (!(Math.abs(x) < Infinity)) return NaN;
  const t = reduceTwo(x);
  const u = Math.abs(t);
  const v = u > 0.5 ? 1 - u : u; // sin(pi u) = sin(pi (1-u)); exact
  const r = v <= 0.25 ? sinKernel(PI * v) : cosKernel(PI * (0.5 - v));
  if (r === 0) return x * 0; // sinPi(n) = +0 for n >= 0 (and -0 for -0), -0 for n < 0
  return t < 0 ? -r : r;
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
