// Test-only utilities: check an engine op against an independent f64
// reference written in plain loops, forward and backward.
//
// The method, for an op y = f(x1, x2, ...):
//   1. Inputs are random f32 values (rounded with Math.fround), so the engine
//      and the reference see exactly the same numbers.
//   2. Forward: engine y (f32) vs reference y (f64), elementwise
//      |y - ref| <= fwdTol * (1 + |ref|). The default 1e-5 is ~100 f32 ulps
//      of a unit value: an op that rounds a handful of times passes, a wrong
//      formula does not. Ops that sum many terms in f32 (matmul) pass a
//      looser tolerance and say why.
//   3. Backward: the engine's analytic gradient of L = sum_i w_i * y_i for a
//      fixed random w, got by seeding y.backward(w).
//   4. The same gradient by central differences ON THE f64 REFERENCE:
//      dL/dx_j ~ (L(x + eps e_j) - L(x - eps e_j)) / (2 eps), eps = 1e-6. In
//      f64 the truncation error is O(eps^2) ~ 1e-12 and the cancellation
//      error ~ 1e-16 * |L| / eps ~ 1e-10 * |L|, so the FD is a near-exact
//      gradient and any disagreement is the engine's.
//   5. max_j |analytic_j - fd_j| <= gradTol * (1 + max_j |fd_j|). The default
//      is 1e-5. The engine's backward works in f32 and reuses f32-rounded
//      forward values, so its error is a few f32 ulps (6e-8 each) times the
//      op's conditioning: every case here measures below 6e-7, so 1e-5 leaves
//      ~20x headroom. It is deliberately tighter than the usual 1e-3: wrong
//      terms, missing factors and misrouted indices are O(1) errors that any
//      tolerance catches, but a slightly wrong constant (a derivative
//      coefficient off by 1e-4, an eps used differently in the backward) only
//      shows at this level, and the "1 +" in the scale hides relative errors
//      in gradients much smaller than 1.
//
// Non-smooth ops (relu, abs, max, top-k, masks) are only checked at points at
// least 1e-3 away from their kinks and ties, so the FD never straddles one.
//
// GRADCHECK_VERBOSE=1 prints each case's measured forward and gradient errors.

import assert from 'node:assert/strict';
import { Tensor } from '../../src/engine/tensor.js';

// ---------------------------------------------------------------- random numbers

/** A small seeded generator for test data (mulberry32); independent of the engine's rng. */
export class TestRng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Uniform in [lo, hi), rounded to f32. */
  uniform(lo: number, hi: number): number {
    return Math.fround(lo + (hi - lo) * this.next());
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  array(n: number, lo = -1, hi = 1): number[] {
    return Array.from({ length: n }, () => this.uniform(lo, hi));
  }
  /** Values with |v| in [lo, hi) and a random sign: keeps clear of 0 (for abs, relu, div). */
  awayFromZero(n: number, lo = 0.1, hi = 1): number[] {
    return Array.from({ length: n }, () => (this.next() < 0.5 ? -1 : 1) * this.uniform(lo, hi));
  }
  /**
   * n distinct values in [-scale, scale] whose gaps are all >= 2*scale/(n+1) * 0.5:
   * a shuffled grid plus small jitter. For max / top-k, where ties or
   * near-ties would make the function non-differentiable.
   */
  distinct(n: number, scale = 1): number[] {
    const idx = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    const step = (2 * scale) / (n + 1);
    return idx.map((i) => Math.fround(-scale + step * (i + 1) + step * 0.25 * (this.next() - 0.5)));
  }
  ints(n: number, hi: number): Int32Array {
    return Int32Array.from({ length: n }, () => this.int(hi));
  }
}

// ---------------------------------------------------------------- shape helpers (f64 side)

export function size(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** Multi-index of flat index i in `shape`. */
export function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}

export function ravel(idx: readonly number[], shape: readonly number[]): number {
  let f = 0;
  for (let d = 0; d < shape.length; d++) f = f * shape[d] + idx[d];
  return f;
}

/** Numpy broadcasting of two shapes (written independently of the engine's). */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = i - (n - a.length) >= 0 ? a[i - (n - a.length)] : 1;
    const db = i - (n - b.length) >= 0 ? b[i - (n - b.length)] : 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`reference: ${a} and ${b} do not broadcast`);
    out.push(Math.max(da, db));
  }
  return out;
}

/** Value of `x` (shape `shape`) at output multi-index `outIdx` under broadcasting. */
export function bcastAt(x: readonly number[], shape: readonly number[], outIdx: readonly number[]): number {
  const off = outIdx.length - shape.length;
  let f = 0;
  for (let d = 0; d < shape.length; d++) f = f * shape[d] + (shape[d] === 1 ? 0 : outIdx[off + d]);
  return x[f];
}

// ---------------------------------------------------------------- the check

export interface Input {
  shape: number[];
  /** Values (rounded to f32 here); random in [-1, 1) when omitted. */
  data?: number[];
  /** Whether the op is differentiated with respect to this input (default true). */
  grad?: boolean;
}

export interface GradCase {
  inputs: Input[];
  /** The engine op on f32 tensors (one per input, same order). */
  engine: (xs: Tensor[]) => Tensor;
  /** The same function in f64 on flat arrays, written without the engine. */
  reference: (xs: number[][]) => number[];
  /** Expected output shape (checked when given). */
  outShape?: number[];
  /** Forward tolerance, relative to 1 + |ref| (default 1e-5). */
  fwdTol?: number;
  /** Gradient tolerance, relative to 1 + max |fd| (default 1e-5). */
  gradTol?: number;
  /** FD step (default 1e-6). */
  eps?: number;
  /** Check only this many randomly chosen coordinates per input by FD (large inputs). */
  sample?: number;
  /** Output positions whose w is forced to 0 (e.g. -Infinity outputs that a linear functional can't weigh). */
  skipOutputs?: (i: number) => boolean;
}

export interface GradReport {
  fwdErr: number;
  gradErr: number[];
}

function weighted(y: readonly number[], w: Float32Array): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) if (w[i] !== 0) s += w[i] * y[i];
  return s;
}

/** Forward-compare engine vs reference (infinities must match exactly). Returns the max scaled error. */
export function checkForward(actual: ArrayLike<number>, expected: readonly number[], tol: number, label = ''): number {
  assert.equal(actual.length, expected.length, `${label}: output has ${actual.length} elements, reference ${expected.length}`);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (!Number.isFinite(e)) {
      assert.ok(Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e)), `${label}: output[${i}] = ${a}, reference ${e}`);
      continue;
    }
    assert.ok(Number.isFinite(a), `${label}: output[${i}] = ${a} is not finite, reference ${e}`);
    const err = Math.abs(a - e) / (1 + Math.abs(e));
    if (err > worst) worst = err;
    assert.ok(err <= tol, `${label}: output[${i}] = ${a}, reference ${e} (scaled error ${err.toExponential(2)} > ${tol})`);
  }
  return worst;
}

/** Run the forward and gradient checks of one case; throws an assertion error naming `label` on failure. */
export function gradcheck(label: string, c: GradCase, rng: TestRng = new TestRng(1234)): GradReport {
  const fwdTol = c.fwdTol ?? 1e-5;
  const gradTol = c.gradTol ?? 1e-5;
  const eps = c.eps ?? 1e-6;
  const values = c.inputs.map((inp) => {
    const n = size(inp.shape);
    const v = inp.data ? inp.data.map(Math.fround) : rng.array(n);
    assert.equal(v.length, n, `${label}: input data has ${v.length} values for shape [${inp.shape}]`);
    return v;
  });
  const tensors = c.inputs.map((inp, i) => {
    const data = Float32Array.from(values[i]);
    return inp.grad === false ? new Tensor(data, inp.shape) : Tensor.param(data, inp.shape);
  });

  // Forward.
  const y = c.engine(tensors);
  const ref = c.reference(values.map((v) => v.slice()));
  if (c.outShape) assert.deepEqual(y.shape, c.outShape, `${label}: output shape`);
  assert.equal(y.size, ref.length, `${label}: output size ${y.size} vs reference ${ref.length}`);
  const fwdErr = checkForward(y.data, ref, fwdTol, `${label} forward`);

  // Analytic gradient of L = sum w*y.
  const w = Float32Array.from({ length: y.size }, (_, i) => (c.skipOutputs?.(i) || !Number.isFinite(ref[i]) ? 0 : rng.uniform(-1, 1)));
  y.backward(w);

  // FD on the f64 reference, compared per input.
  const gradErr: number[] = [];
  c.inputs.forEach((inp, k) => {
    if (inp.grad === false) {
      assert.equal(tensors[k].grad, null, `${label}: input ${k} has no grad requested but got one`);
      gradErr.push(0);
      return;
    }
    const g = tensors[k].grad ?? new Float32Array(tensors[k].size);
    const n = values[k].length;
    let coords: number[];
    if (c.sample !== undefined && c.sample < n) coords = Array.from({ length: c.sample }, () => rng.int(n));
    else coords = Array.from({ length: n }, (_, j) => j);
    const fd = new Map<number, number>();
    let fdMax = 0;
    for (const j of coords) {
      const xs = values.map((v) => v.slice());
      xs[k][j] = values[k][j] + eps;
      const lp = weighted(c.reference(xs), w);
      xs[k][j] = values[k][j] - eps;
      const lm = weighted(c.reference(xs), w);
      const d = (lp - lm) / (2 * eps);
      fd.set(j, d);
      fdMax = Math.max(fdMax, Math.abs(d));
    }
    let worst = 0;
    let worstJ = -1;
    for (const [j, d] of fd) {
      const e = Math.abs(g[j] - d);
      if (!(e <= worst)) {
        worst = e;
        worstJ = j;
      }
    }
    const scaled = worst / (1 + fdMax);
    gradErr.push(scaled);
    assert.ok(
      scaled <= gradTol,
      `${label}: gradient of input ${k} [${inp.shape}] off at flat index ${worstJ}: analytic ${g[worstJ]}, finite difference ${fd.get(worstJ)} ` +
        `(scaled error ${scaled.toExponential(2)} > ${gradTol})`,
    );
  });
  if (process.env['GRADCHECK_VERBOSE']) console.log(`${label}: forward ${fwdErr.toExponential(1)}, gradient ${gradErr.map((e) => e.toExponential(1)).join(' ')}`);
  return { fwdErr, gradErr };
}
