// Elementwise and row-wise kernels for glassbox's hot non-matmul ops: GELU,
// layer norm (forward and backward), column sums (bias gradients).
//
// Each kernel does exactly the IEEE operations of its TypeScript reference
// (src/engine/fastmath.ts geluInto, src/engine/ops-nn.ts layerNorm and
// matmulBias), in the same order per element, so its results are the same
// bits, not merely close:
// - the references compute in f64 and round once to f32; so do these (f64x2
//   lanes, promoted from f32 and demoted at the end);
// - a reduction along a row (layer norm's mean, variance and dot products) is
//   a scalar f64 sum in index order, like the reference's loop;
// - a reduction down columns (gradients of a weight or bias) keeps one f64
//   lane per column and adds the rows in order, again the reference's order.
// No fused multiply-add, no relaxed SIMD, no Math.exp: e^x is built from +, -,
// *, floor and an exponent written with integer ops.
//
// Buffers may be read past their end to the next multiple of 4 elements
// (16 bytes): the JS side rounds every region up, and lanes past the end are
// computed and thrown away (wasm float ops never trap).

// ---------------------------------------------------------------- GELU

// fastmath.ts constants, as the same f64 values.
import { INV_LN2, LN2_HI, LN2_LO } from './constants';
const SQRT1_2: f64 = 0.7071067811865476;
const INV_SQRT_2PI: f64 = 0.3989422804014327;
const AS_P: f64 = 0.3275911;
const AS_A1: f64 = 0.254829592;
const AS_A2: f64 = -0.284496736;
const AS_A3: f64 = 1.421413741;
const AS_A4: f64 = -1.453152027;
const AS_A5: f64 = 1.061405429;

// GELU works through a block of up to GELU_BLOCK elements in three short
// passes over f64 scratch (x, then a = -z² and t, then e^a), rather than one
// long loop body: each pass's iterations are independent and short enough for
// the CPU to overlap several, where one body with two ~40-deep dependency
// chains (the exp and erf polynomials) ran at the chains' latency.
const GELU_BLOCK: i32 = 64;

/** Bytes of scratch geluForward needs at `tmp` (8-aligned). */
export function geluScratchBytes(): i32 {
  return GELU_BLOCK * 8 * 3;
}

/**
 * out[i] = GELU(x[i]) and (if deriv != 0) deriv[i] = GELU'(x[i]) for i < n,
 * rounded up to a multiple of 4: fastmath.geluInto's operations in f64,
 * rounded once to f32. `tmp`: geluScratchBytes() of scratch.
 */
export function geluForward(x: usize, out: usize, deriv: usize, n: i32, tmp: usize): void {
  const want = deriv != 0;
  const n4 = (n + 3) & ~3;
  const xs = tmp, ts = tmp + <usize>GELU_BLOCK * 8, es = ts + <usize>GELU_BLOCK * 8;
  // Constants live in locals: V8 would otherwise rebuild each splat in the loop.
  const cInvLn2 = f64x2.splat(INV_LN2), cHalf = f64x2.splat(0.5), cOne = f64x2.splat(1.0);
  const cLn2Hi = f64x2.splat(LN2_HI), cLn2Lo = f64x2.splat(LN2_LO);
  const c9 = f64x2.splat(1.0 / 362880.0), c8 = f64x2.splat(1.0 / 40320.0), c7 = f64x2.splat(1.0 / 5040.0);
  const c6 = f64x2.splat(1.0 / 720.0), c5 = f64x2.splat(1.0 / 120.0), c4 = f64x2.splat(1.0 / 24.0);
  const c3 = f64x2.splat(1.0 / 6.0);
  const cKMin = f64x2.splat(-1022.0), cMagic = f64x2.splat(4503599627370496.0 + 1023.0);
  const cAMin = f64x2.splat(-745.0), cKZero = f64x2.splat(-1074.0);
  const cSqrt12 = f64x2.splat(SQRT1_2), cP = f64x2.splat(AS_P);
  const cA1 = f64x2.splat(AS_A1), cA2 = f64x2.splat(AS_A2), cA3 = f64x2.splat(AS_A3);
  const cA4 = f64x2.splat(AS_A4), cA5 = f64x2.splat(AS_A5), cPhi = f64x2.splat(INV_SQRT_2PI), cZero = f64x2.splat(0.0);
  for (let b0 = 0; b0 < n4; b0 += GELU_BLOCK) {
    const bytes = <usize>min(GELU_BLOCK, n4 - b0) * 8; // of f64 scratch
    const xb = x + (<usize>b0 << 2);
    // Pass 1: x as f64, a = -z*z (z = |x|/sqrt2) and t = 1/(1 + p z).
    for (let q: usize = 0; q < bytes; q += 16) {
      const v = f64x2.promote_low_f32x4(v128.load64_zero(xb + (q >> 1)));
      v128.store(xs + q, v);
      const z = f64x2.mul(f64x2.abs(v), cSqrt12);
      v128.store(es + q, f64x2.neg(f64x2.mul(z, z)));
      v128.store(ts + q, f64x2.div(cOne, f64x2.add(cOne, f64x2.mul(cP, z))));
    }
    // Pass 2: e = e^a (= e^{-x²/2}), fastmath.expFast's arithmetic:
    // k = floor(a/ln2 + 1/2), r = a - k ln2_hi - k ln2_lo, degree-9 Taylor in
    // r, times 2^k. 2^k: k + 2^52 + 1023 holds 1023 + k in its low mantissa
    // bits (exact for integer k in [-1022, 0]); shifting left by 52 moves them
    // into the exponent. expFast gives exactly 0 for a <= -745 (and NaN) and
    // for k = -1075, where its (p * 2^-1074) * 0.5 rounds to even, i.e. to 0;
    // the sign of zero GELU's derivative gets depends on that, so it is
    // matched. Where expFast's result is a nonzero subnormal (-1074 <= k <
    // -1022) this gives another tiny positive value below 2^-1021, which no
    // f32 output can see (1 - t·poly·e rounds to 1 either way, and x·e to a
    // zero of the same sign); the tests check the f32 bits agree.
    for (let q: usize = 0; q < bytes; q += 16) {
      const a = v128.load(es + q);
      const k = f64x2.floor(f64x2.add(f64x2.mul(a, cInvLn2), cHalf));
      const r = f64x2.sub(f64x2.sub(a, f64x2.mul(k, cLn2Hi)), f64x2.mul(k, cLn2Lo));
      let p = f64x2.add(c8, f64x2.mul(r, c9));
      p = f64x2.add(c7, f64x2.mul(r, p));
      p = f64x2.add(c6, f64x2.mul(r, p));
      p = f64x2.add(c5, f64x2.mul(r, p));
      p = f64x2.add(c4, f64x2.mul(r, p));
      p = f64x2.add(c3, f64x2.mul(r, p));
      p = f64x2.add(cHalf, f64x2.mul(r, p));
      p = f64x2.add(cOne, f64x2.mul(r, p));
      p = f64x2.add(cOne, f64x2.mul(r, p));
      const pow2 = i64x2.shl(f64x2.add(f64x2.max(k, cKMin), cMagic), 52);
      const live = v128.and(f64x2.gt(a, cAMin), f64x2.ge(k, cKZero));
      v128.store(es + q, v128.and(f64x2.mul(p, pow2), live));
    }
    // Pass 3: erf, Φ, out and derivative.
    const ob = out + (<usize>b0 << 2), db = deriv + (<usize>b0 << 2);
    for (let q: usize = 0; q < bytes; q += 16) {
      const v = v128.load(xs + q), t = v128.load(ts + q), e = v128.load(es + q);
      let p = f64x2.add(cA4, f64x2.mul(t, cA5));
      p = f64x2.add(cA3, f64x2.mul(t, p));
      p = f64x2.add(cA2, f64x2.mul(t, p));
      p = f64x2.add(cA1, f64x2.mul(t, p));
      const erfAbs = f64x2.sub(cOne, f64x2.mul(f64x2.mul(t, p), e));
      const pos = f64x2.mul(cHalf, f64x2.add(cOne, erfAbs));
      const neg = f64x2.mul(cHalf, f64x2.sub(cOne, erfAbs));
      const cdf = v128.bitselect(pos, neg, f64x2.ge(v, cZero));
      v128.store64_lane(ob + (q >> 1), f32x4.demote_f64x2_zero(f64x2.mul(v, cdf)), 0);
      if (want) {
        const d = f64x2.add(cdf, f64x2.mul(f64x2.mul(v, cPhi), e));
        v128.store64_lane(db + (q >> 1), f32x4.demote_f64x2_zero(d), 0);
      }
    }
  }
}

/** out[i] = f32(a[i] * b[i]) for i < n (rounded up to a multiple of 4). */
export function mulF32(a: usize, b: usize, out: usize, n: i32): void {
  const len = <usize>((n + 3) & ~3) << 2;
  for (let q: usize = 0; q < len; q += 16) {
    v128.store(out + q, f32x4.mul(v128.load(a + q), v128.load(b + q)));
  }
}

// ---------------------------------------------------------------- layer norm

/**
 * Layer norm of R rows of C (ops-nn.ts layerNorm): per row, the f64 mean and
 * biased variance summed in index order, rs = 1/sqrt(var + eps) (stored to
 * rstd as f32), h = (x - mean) * rs in f64, xhat = f32(h), out = f32(h*w + b)
 * (w, b: 0 = absent).
 */
export function layerNormForward(x: usize, w: usize, b: usize, xhat: usize, out: usize, rstd: usize,
  R: i32, C: i32, eps: f64): void {
  const cf = <f64>C;
  const rowBytes = <usize>C << 2;
  const c2 = <usize>(C & ~1) << 2; // bytes covered two at a time
  for (let r = 0; r < R; r++) {
    const xr = x + <usize>r * rowBytes;
    let mu: f64 = 0;
    for (let j: usize = 0; j < rowBytes; j += 4) mu += <f64>load<f32>(xr + j);
    mu /= cf;
    let v: f64 = 0;
    for (let j: usize = 0; j < rowBytes; j += 4) {
      const dd = <f64>load<f32>(xr + j) - mu;
      v += dd * dd;
    }
    const rs = 1.0 / Math.sqrt(v / cf + eps);
    store<f32>(rstd + (<usize>r << 2), <f32>rs);
    const hr = xhat + <usize>r * rowBytes, or = out + <usize>r * rowBytes;
    const muv = f64x2.splat(mu), rsv = f64x2.splat(rs);
    let j: usize = 0;
    for (; j < c2; j += 8) {
      const xv = f64x2.promote_low_f32x4(v128.load64_zero(xr + j));
      const h = f64x2.mul(f64x2.sub(xv, muv), rsv);
      v128.store64_lane(hr + j, f32x4.demote_f64x2_zero(h), 0);
      let o = h;
      if (w != 0) o = f64x2.mul(o, f64x2.promote_low_f32x4(v128.load64_zero(w + j)));
      if (b != 0) o = f64x2.add(o, f64x2.promote_low_f32x4(v128.load64_zero(b + j)));
      v128.store64_lane(or + j, f32x4.demote_f64x2_zero(o), 0);
    }
    for (; j < rowBytes; j += 4) {
      const h = (<f64>load<f32>(xr + j) - mu) * rs;
      store<f32>(hr + j, <f32>h);
      let o = h;
      if (w != 0) o = o * <f64>load<f32>(w + j);
      if (b != 0) o = o + <f64>load<f32>(b + j);
      store<f32>(or + j, <f32>o);
    }
  }
}

/**
 * dx of layer norm (ops-nn.ts): per row, gh = g*w (or g) in f64, s1 and s2 =
 * the index-order f64 sums of gh and gh*xhat, each divided by C, then
 * gx = f32(rs * (gh - s1 - xhat*s2)).
 */
export function layerNormBackward(g: usize, w: usize, xhat: usize, rstd: usize, gx: usize, R: i32, C: i32): void {
  const cf = <f64>C;
  const rowBytes = <usize>C << 2;
  const c2 = <usize>(C & ~1) << 2;
  for (let r = 0; r < R; r++) {
    const off = <usize>r * rowBytes;
    const gr = g + off, hr = xhat + off, outr = gx + off;
    let s1: f64 = 0, s2: f64 = 0;
    for (let j: usize = 0; j < rowBytes; j += 4) {
      let v = <f64>load<f32>(gr + j);
      if (w != 0) v = v * <f64>load<f32>(w + j);
      s1 += v;
      s2 += v * <f64>load<f32>(hr + j);
    }
    s1 /= cf;
    s2 /= cf;
    const rs = <f64>load<f32>(rstd + (<usize>r << 2));
    const s1v = f64x2.splat(s1), s2v = f64x2.splat(s2), rsv = f64x2.splat(rs);
    let j: usize = 0;
    for (; j < c2; j += 8) {
      let v = f64x2.promote_low_f32x4(v128.load64_zero(gr + j));
      if (w != 0) v = f64x2.mul(v, f64x2.promote_low_f32x4(v128.load64_zero(w + j)));
      const h = f64x2.promote_low_f32x4(v128.load64_zero(hr + j));
      const o = f64x2.mul(rsv, f64x2.sub(f64x2.sub(v, s1v), f64x2.mul(h, s2v)));
      v128.store64_lane(outr + j, f32x4.demote_f64x2_zero(o), 0);
    }
    for (; j < rowBytes; j += 4) {
      let v = <f64>load<f32>(gr + j);
      if (w != 0) v = v * <f64>load<f32>(w + j);
      store<f32>(outr + j, <f32>(rs * (v - s1 - <f64>load<f32>(hr + j) * s2)));
    }
  }
}

// ---------------------------------------------------------------- column sums

/**
 * Column sums over R rows of C, rows in order, one f64 accumulator per
 * column: sumG[j] = f32(sum_r g[r][j]) and, if x != 0 and sumGX != 0,
 * sumGX[j] = f32(sum_r g[r][j] * x[r][j]). acc: 16*C bytes of f64 scratch
 * (8-aligned). Either output may be 0 (not wanted).
 */
export function columnSums(g: usize, x: usize, sumG: usize, sumGX: usize, R: i32, C: i32, acc: usize): void {
  columnSumsStrided(g, x, sumG, sumGX, R, C, C, acc);
}

// columnSums over `width` columns of rows `stride` elements apart (a column
// range of a wider matrix, for threads that split the columns).
function columnSumsStrided(g: usize, x: usize, sumG: usize, sumGX: usize, R: i32, width: i32, stride: i32, acc: usize): void {
  const C = width;
  const accG = acc, accX = acc + (<usize>C << 3);
  const c2 = <usize>(C & ~1);
  const withX = x != 0 && sumGX != 0;
  memory.fill(acc, 0, <usize>C << 4);
  const rowBytes = <usize>stride << 2;
  for (let r = 0; r < R; r++) {
    const gr = g + <usize>r * rowBytes, xr = x + <usize>r * rowBytes;
    let j: usize = 0;
    if (withX) {
      for (; j < c2; j += 2) {
        const gv = f64x2.promote_low_f32x4(v128.load64_zero(gr + (j << 2)));
        const xv = f64x2.promote_low_f32x4(v128.load64_zero(xr + (j << 2)));
        v128.store(accG + (j << 3), f64x2.add(v128.load(accG + (j << 3)), gv));
        v128.store(accX + (j << 3), f64x2.add(v128.load(accX + (j << 3)), f64x2.mul(gv, xv)));
      }
      for (; j < <usize>C; j++) {
        const gs = <f64>load<f32>(gr + (j << 2));
        store<f64>(accG + (j << 3), load<f64>(accG + (j << 3)) + gs);
        store<f64>(accX + (j << 3), load<f64>(accX + (j << 3)) + gs * <f64>load<f32>(xr + (j << 2)));
      }
    } else {
      for (; j < c2; j += 2) {
        const gv = f64x2.promote_low_f32x4(v128.load64_zero(gr + (j << 2)));
        v128.store(accG + (j << 3), f64x2.add(v128.load(accG + (j << 3)), gv));
      }
      for (; j < <usize>C; j++) {
        store<f64>(accG + (j << 3), load<f64>(accG + (j << 3)) + <f64>load<f32>(gr + (j << 2)));
      }
    }
  }
  for (let j: usize = 0; j < <usize>C; j++) {
    if (sumG != 0) store<f32>(sumG + (j << 2), <f32>load<f64>(accG + (j << 3)));
    if (withX) store<f32>(sumGX + (j << 2), <f32>load<f64>(accX + (j << 3)));
  }
}

// ---------------------------------------------------------------- ranges for threads
//
// The kernels above over one piece of their output, with the signature the
// thread pool calls (shared arguments, then the chunk, then this thread's
// scratch `ws`). Elements and rows are independent, and each column's sum
// runs down all rows, so any split gives the bits of one call over everything.
// Element ranges start on multiples of 4, so no piece writes into another's.

/** geluForward over elements [i0, i1); tmp is the thread's scratch. */
export function geluRange(x: usize, out: usize, deriv: usize, i0: i32, i1: i32, ws: usize): void {
  const o = <usize>i0 << 2;
  geluForward(x + o, out + o, deriv != 0 ? deriv + o : 0, i1 - i0, ws);
}

/** mulF32 over elements [i0, i1). */
export function mulRange(a: usize, b: usize, out: usize, i0: i32, i1: i32, ws: usize): void {
  const o = <usize>i0 << 2;
  mulF32(a + o, b + o, out + o, i1 - i0);
}

/** layerNormForward over rows [r0, r1); eps is read as an f64 at epsAt. */
export function layerNormForwardRows(x: usize, w: usize, b: usize, xhat: usize, out: usize, rstd: usize,
  C: i32, epsAt: usize, r0: i32, r1: i32, ws: usize): void {
  const o = <usize>r0 * <usize>C * 4;
  layerNormForward(x + o, w, b, xhat + o, out + o, rstd + (<usize>r0 << 2), r1 - r0, C, load<f64>(epsAt));
}

/** layerNormBackward over rows [r0, r1). */
export function layerNormBackwardRows(g: usize, w: usize, xhat: usize, rstd: usize, gx: usize,
  C: i32, r0: i32, r1: i32, ws: usize): void {
  const o = <usize>r0 * <usize>C * 4;
  layerNormBackward(g + o, w, xhat + o, rstd + (<usize>r0 << 2), gx + o, r1 - r0, C);
}

/** columnSums over columns [c0, c1) of [R, C]; the f64 accumulators live in ws. */
export function columnSumsCols(g: usize, x: usize, sumG: usize, sumGX: usize, R: i32, C: i32,
  c0: i32, c1: i32, ws: usize): void {
  const o = <usize>c0 << 2;
  columnSumsStrided(g + o, x != 0 ? x + o : 0, sumG != 0 ? sumG + o : 0, sumGX != 0 ? sumGX + o : 0, R, c1 - c0, C, ws);
}
