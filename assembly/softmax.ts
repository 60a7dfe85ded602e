// Row-wise attention kernels: the causal softmax forward and backward of
// src/engine/ops-nn.ts causalSoftmax, with its bits.
//
// The TypeScript reference computes in f64 and rounds when it stores to a
// Float32Array; these kernels do the same IEEE operations in the same order:
// - forward, per row (query q = row % T, keys 0..q visible): mx = the max of
//   f64(x)*scale over the visible keys (NaNs skipped, first maximum kept);
//   e_j = expFast(f64(x_j)*scale - mx), stored as f32, s = the f64 sum of the
//   unrounded e_j in key order; then each stored value times 1/s, rounded to f32;
// - backward, per row: dot = the f64 sum over visible keys of g*y in key
//   order, then gx = f32((scale*y) * (g - dot)).
// Keys past the query get exactly 0 (output) and 0 (gradient).
// expFast is fastmath.ts's: e^x = p(r)*2^k with k = floor(x/ln2 + 1/2),
// r = x - k*ln2_hi - k*ln2_lo and a degree-9 Taylor polynomial, 2^k exact.
// No Math.exp, no fused multiply-add.
//
// Rows are independent, so threads may split them anywhere (the *Rows
// signatures: shared arguments, then the row range, then the thread's scratch).

import { INV_LN2, LN2_HI, LN2_LO } from './constants';

// 2^k exactly, for an integer k in [-1074, 1023]: a normal number's exponent
// field, or a subnormal's single mantissa bit.
@inline function pow2(k: i32): f64 {
  if (k >= -1022) return reinterpret<f64>(<u64>(k + 1023) << 52);
  return reinterpret<f64>(<u64>1 << <u64>(k + 1074));
}

/** fastmath.ts expFast, operation for operation. */
export function expFast(x: f64): f64 {
  if (!(x > -745.0)) return x != x ? x : 0.0;
  if (x > 709.0) return Infinity;
  const k = Math.floor(x * INV_LN2 + 0.5);
  const r = x - k * LN2_HI - k * LN2_LO;
  const p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 +
    r * (1.0 / 5040.0 + r * (1.0 / 40320.0 + r * (1.0 / 362880.0)))))))));
  const ki = <i32>k;
  // k >= -1075 here since x > -745; for -1075, expFast rounds twice, as here.
  return ki >= -1074 ? p * pow2(ki) : p * pow2(-1074) * 0.5;
}

/** Causal softmax of rows [r0, r1) of x [R, T] into out, scaled by the f64 at scaleAt. */
export function causalSoftmaxRows(x: usize, out: usize, T: i32, scaleAt: usize, r0: i32, r1: i32, ws: usize): void {
  const scale = load<f64>(scaleAt);
  const rowBytes = <usize>T << 2;
  for (let r = r0; r < r1; r++) {
    const xr = x + <usize>r * rowBytes, orow = out + <usize>r * rowBytes;
    const end = <usize>(r % T + 1) << 2; // bytes of visible keys
    let mx: f64 = -Infinity;
    for (let j: usize = 0; j < end; j += 4) {
      const v = <f64>load<f32>(xr + j) * scale;
      if (v > mx) mx = v;
    }
    let s: f64 = 0;
    for (let j: usize = 0; j < end; j += 4) {
      const e = expFast(<f64>load<f32>(xr + j) * scale - mx);
      store<f32>(orow + j, <f32>e);
      s += e;
    }
    const inv = 1.0 / s;
    for (let j: usize = 0; j < end; j += 4) {
      store<f32>(orow + j, <f32>(<f64>load<f32>(orow + j) * inv));
    }
    for (let j = end; j < rowBytes; j += 4) store<f32>(orow + j, 0);
  }
}

/** Gradient of causalSoftmaxRows for rows [r0, r1): gx from g and the output y. */
export function causalSoftmaxBackwardRows(g: usize, y: usize, gx: usize, T: i32, scaleAt: usize, r0: i32, r1: i32, ws: usize): void {
  const scale = load<f64>(scaleAt);
  const rowBytes = <usize>T << 2;
  for (let r = r0; r < r1; r++) {
    const off = <usize>r * rowBytes;
    const gr = g + off, yr = y + off, xr = gx + off;
    const end = <usize>(r % T + 1) << 2;
    let dot: f64 = 0;
    for (let j: usize = 0; j < end; j += 4) dot += <f64>load<f32>(gr + j) * <f64>load<f32>(yr + j);
    for (let j: usize = 0; j < end; j += 4) {
      const yv = <f64>load<f32>(yr + j);
      store<f32>(xr + j, <f32>(scale * yv * (<f64>load<f32>(gr + j) - dot)));
    }
    for (let j = end; j < rowBytes; j += 4) store<f32>(xr + j, 0);
  }
}

// The plain softmax over the last axis (ops-nn.ts softmax), with its bits:
// per row of C, mx = the max (NaNs skipped, first maximum kept; 0 when every
// entry is -Infinity), e_j = expFast(f64(x_j) - mx) stored as f32, s = the
// f64 sum of the unrounded e_j, then each stored value times (s > 0 ? 1/s : 0).
// Backward: dot = the f64 sum of g*y in order, gx = f32(y * (g - dot)).

/** Softmax of rows [r0, r1) of x [R, C] into out. */
export function softmaxRows(x: usize, out: usize, C: i32, r0: i32, r1: i32, ws: usize): void {
  const rowBytes = <usize>C << 2;
  for (let r = r0; r < r1; r++) {
    const xr = x + <usize>r * rowBytes, orow = out + <usize>r * rowBytes;
    let mx: f64 = -Infinity;
    for (let j: usize = 0; j < rowBytes; j += 4) {
      const v = <f64>load<f32>(xr + j);
      if (v > mx) mx = v;
    }
    if (mx == -Infinity) mx = 0;
    let s: f64 = 0;
    for (let j: usize = 0; j < rowBytes; j += 4) {
      const e = expFast(<f64>load<f32>(xr + j) - mx);
      store<f32>(orow + j, <f32>e);
      s += e;
    }
    const inv = s > 0 ? 1.0 / s : 0.0;
    for (let j: usize = 0; j < rowBytes; j += 4) {
      store<f32>(orow + j, <f32>(<f64>load<f32>(orow + j) * inv));
    }
  }
}

/** Gradient of softmaxRows for rows [r0, r1): gx from g and the output y. */
export function softmaxBackwardRows(g: usize, y: usize, gx: usize, C: i32, r0: i32, r1: i32, ws: usize): void {
  const rowBytes = <usize>C << 2;
  for (let r = r0; r < r1; r++) {
    const off = <usize>r * rowBytes;
    const gr = g + off, yr = y + off, xr = gx + off;
    let dot: f64 = 0;
    for (let j: usize = 0; j < rowBytes; j += 4) dot += <f64>load<f32>(gr + j) * <f64>load<f32>(yr + j);
    for (let j: usize = 0; j < rowBytes; j += 4) {
      store<f32>(xr + j, <f32>(<f64>load<f32>(yr + j) * (<f64>load<f32>(gr + j) - dot)));
    }
  }
}
