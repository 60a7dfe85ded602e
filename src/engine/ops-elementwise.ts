// Elementwise ops: broadcasting binary arithmetic, scalar arithmetic, and unary
// functions. Arithmetic happens in f64 (JavaScript numbers) and is rounded once
// when stored to f32, so `a + b` is exactly IEEE f32 addition and every result
// is bit-reproducible. Transcendentals come from detmath, never Math.exp/log.

import { allocOutput, f32From, inWasmMemory } from './arena.js';
import { Tensor, ShapeError, result, shapeStr, shapeSize, stridesOf, stridedIndex, accumulateGrad, isGradEnabled, type Shape } from './tensor.js';
import * as dm from './detmath.js';
import { geluInto } from './fastmath.js';
import { affineWasm, binaryWasm, geluWasm, mulWasm, negWasm, reluWasm, useElementwiseWasm } from './elementwise-kernel.js';

// ---------------------------------------------------------------- broadcasting

export function broadcastShapes(a: Shape, b: Shape, op: string): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(op, `shapes ${shapeStr(a)} and ${shapeStr(b)} do not broadcast (axis ${i}: ${da} vs ${db})`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Strides of `shape` laid over `outShape`, with 0 on broadcast axes. */
function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const n = outShape.length;
  const own = stridesOf(shape);
  const s = new Array<number>(n).fill(0);
  for (let i = 0; i < shape.length; i++) {
    const oi = n - shape.length + i;
    s[oi] = shape[i] === 1 && outShape[oi] !== 1 ? 0 : own[i];
  }
  return s;
}

/**
 * For each flat output index, the flat index into a broadcast input. The same
 * shape pairs recur every training step, so the maps are cached.
 */
const indexCache = new Map<string, Int32Array>();
function broadcastIndex(shape: Shape, outShape: Shape): Int32Array {
  const key = `${shape.join(',')}>${outShape.join(',')}`;
  let idx = indexCache.get(key);
  if (!idx) {
    if (indexCache.size > 256) indexCache.clear();
    idx = buildBroadcastIndex(shape, outShape);
    indexCache.set(key, idx);
  }
  return idx;
}

function buildBroadcastIndex(shape: Shape, outShape: Shape): Int32Array {
  return stridedIndex(outShape, broadcastStrides(shape, outShape));
}

function sameShape(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when `small` equals the trailing axes of `big` (a bias over rows): index is i % small.size. */
function isSuffix(small: Shape, big: Shape): boolean {
  if (small.length > big.length) return false;
  for (let i = 0; i < small.length; i++) if (small[small.length - 1 - i] !== big[big.length - 1 - i]) return false;
  return true;
}

/**
 * Sum a gradient over the axes that broadcasting expanded, in flat output
 * order with an f64 accumulator per target element (a fixed order).
 */
export function reduceToShape(g: Float32Array, outShape: Shape, shape: Shape): Float32Array {
  const size = shapeSize(shape);
  if (size === g.length) return g;
  const acc = new Float64Array(size);
  if (isSuffix(shape, outShape)) {
    for (let i = 0; i < g.length; i++) acc[i % size] += g[i];
  } else {
    const idx = broadcastIndex(shape, outShape);
    for (let i = 0; i < g.length; i++) acc[idx[i]] += g[i];
  }
  return f32From(acc);
}

type Kind = 'add' | 'sub' | 'mul' | 'div';

const identityCache = new Map<number, Int32Array>();
function identity(n: number): Int32Array {
  let idx = identityCache.get(n);
  if (!idx) {
    if (identityCache.size > 64) identityCache.clear();
    idx = new Int32Array(n);
    for (let i = 0; i < n; i++) idx[i] = i;
    identityCache.set(n, idx);
  }
  return idx;
}

function modIndex(n: number, m: number): Int32Array {
  return broadcastIndex([m], [n / m, m]);
}

/**
 * True when an op over n elements should run as a wasm kernel in place: large
 * enough, and every buffer already in the wasm memory (the step arena), so
 * the kernel adds no copies.
 */
function inPlace(n: number, ...buffers: Float32Array[]): boolean {
  if (!useElementwiseWasm(n)) return false;
  for (const b of buffers) if (!inWasmMemory(b)) return false;
  return true;
}

function binary(a: Tensor, b: Tensor, kind: Kind): Tensor {
  const outShape = sameShape(a.shape, b.shape) ? a.shape.slice() : broadcastShapes(a.shape, b.shape, kind);
  const n = shapeSize(outShape);
  const out = allocOutput(n);
  const ad = a.data;
  const bd = b.data;
  // Expanded views of each side (identity when the side already has the output's size).
  let ai: Int32Array | null = null;
  let bi: Int32Array | null = null;
  let bMod = 0;
  if (a.size !== n) ai = broadcastIndex(a.shape, outShape);
  if (b.size !== n) {
    if (ai === null && isSuffix(b.shape, outShape)) bMod = b.size;
    else bi = broadcastIndex(b.shape, outShape);
  }
  const aIdx = ai ?? identity(n);
  const bIdx = bi ?? (bMod ? modIndex(n, bMod) : identity(n));
  if (ai === null && bi === null && bMod === 0) {
    // The hot path: same shapes, a SIMD kernel when the buffers are in the
    // step arena, otherwise a plain loop V8 compiles tightly.
    if (inPlace(n, ad, bd, out)) binaryWasm(ad, bd, out, kind);
    else if (kind === 'add') for (let i = 0; i < n; i++) out[i] = ad[i] + bd[i];
    else if (kind === 'sub') for (let i = 0; i < n; i++) out[i] = ad[i] - bd[i];
    else if (kind === 'mul') for (let i = 0; i < n; i++) out[i] = ad[i] * bd[i];
    else for (let i = 0; i < n; i++) out[i] = ad[i] / bd[i];
  } else if (kind === 'add') for (let i = 0; i < n; i++) out[i] = ad[aIdx[i]] + bd[bIdx[i]];
  else if (kind === 'sub') for (let i = 0; i < n; i++) out[i] = ad[aIdx[i]] - bd[bIdx[i]];
  else if (kind === 'mul') for (let i = 0; i < n; i++) out[i] = ad[aIdx[i]] * bd[bIdx[i]];
  else for (let i = 0; i < n; i++) out[i] = ad[aIdx[i]] / bd[bIdx[i]];
  return result(out, outShape, kind, [a, b], (g) => {
    if (a.requiresGrad) {
      let ga: Float32Array;
      if (kind === 'add' || kind === 'sub') ga = g;
      else {
        ga = allocOutput(n);
        if (bi === null && bMod === 0 && inPlace(n, g, bd, ga)) binaryWasm(g, bd, ga, kind);
        else if (kind === 'mul') for (let i = 0; i < n; i++) ga[i] = g[i] * bd[bIdx[i]];
        else for (let i = 0; i < n; i++) ga[i] = g[i] / bd[bIdx[i]];
      }
      // ga is g itself for add/sub (this node's own gradient, dropped after this closure) or fresh: a may adopt it.
      accumulateGrad(a, reduceToShape(ga, outShape, a.shape), true);
    }
    if (b.requiresGrad) {
      const gb = allocOutput(n);
      if (kind === 'add') gb.set(g);
      else if (kind !== 'div' && ai === null && inPlace(n, g, ad, gb)) {
        if (kind === 'sub') negWasm(g, gb);
        else binaryWasm(g, ad, gb, 'mul');
      } else if (kind === 'sub') for (let i = 0; i < n; i++) gb[i] = -g[i];
      else if (kind === 'mul') for (let i = 0; i < n; i++) gb[i] = g[i] * ad[aIdx[i]];
      else {
        // d(x/y)/dy = -x/y^2 = -out/y
        for (let i = 0; i < n; i++) gb[i] = (-g[i] * out[i]) / bd[bIdx[i]];
      }
      accumulateGrad(b, reduceToShape(gb, outShape, b.shape), true);
    }
  });
}

export const add = (a: Tensor, b: Tensor): Tensor => binary(a, b, 'add');
export const sub = (a: Tensor, b: Tensor): Tensor => binary(a, b, 'sub');
export const mul = (a: Tensor, b: Tensor): Tensor => binary(a, b, 'mul');
export const div = (a: Tensor, b: Tensor): Tensor => binary(a, b, 'div');

// ---------------------------------------------------------------- scalar ops

/** y = x * scale + shift, the one affine map every scalar op is made of. */
export function affine(x: Tensor, scale: number, shift: number): Tensor {
  const n = x.size;
  const out = allocOutput(n);
  const xd = x.data;
  if (inPlace(n, xd, out)) affineWasm(xd, out, scale, shift);
  else for (let i = 0; i < n; i++) out[i] = xd[i] * scale + shift;
  return result(out, x.shape, 'affine', [x], (g) => {
    const gx = allocOutput(n);
    // Adding -0 changes no product (not even -0): the kernel's g * scale.
    if (inPlace(n, g, gx)) affineWasm(g, gx, scale, -0);
    else for (let i = 0; i < n; i++) gx[i] = g[i] * scale;
    accumulateGrad(x, gx, true);
  });
}

export const addScalar = (x: Tensor, s: number): Tensor => affine(x, 1, s);
export const mulScalar = (x: Tensor, s: number): Tensor => affine(x, s, 0);
export const neg = (x: Tensor): Tensor => affine(x, -1, 0);

// ---------------------------------------------------------------- unary functions

/**
 * A unary op given its forward f(x) and its derivative written in terms of
 * x and y = f(x) (whichever is cheaper: exp' = y, tanh' = 1 - y^2).
 */
function unary(x: Tensor, op: string, f: (v: number) => number, df: (v: number, y: number) => number,
  kernel?: (x: Float32Array, g: Float32Array | null, out: Float32Array) => void): Tensor {
  const n = x.size;
  const out = allocOutput(n);
  const xd = x.data;
  // An op with a kernel (its loops' bits) runs it when the buffers are in the step arena.
  if (kernel && inPlace(n, xd, out)) kernel(xd, null, out);
  else for (let i = 0; i < n; i++) out[i] = f(xd[i]);
  return result(out, x.shape, op, [x], (g) => {
    const gx = allocOutput(n);
    if (kernel && inPlace(n, xd, g, gx)) kernel(xd, g, gx);
    else for (let i = 0; i < n; i++) gx[i] = g[i] * df(xd[i], out[i]);
    accumulateGrad(x, gx, true);
  });
}

export const exp = (x: Tensor): Tensor => unary(x, 'exp', dm.exp, (_v, y) => y);
export const log = (x: Tensor): Tensor => unary(x, 'log', dm.log, (v) => 1 / v);
export const sqrt = (x: Tensor): Tensor => unary(x, 'sqrt', Math.sqrt, (_v, y) => 0.5 / y);
export const rsqrt = (x: Tensor): Tensor => unary(x, 'rsqrt', (v) => 1 / Math.sqrt(v), (v, y) => (-0.5 * y) / v);
export const square = (x: Tensor): Tensor => unary(x, 'square', (v) => v * v, (v) => 2 * v);
export const abs = (x: Tensor): Tensor => unary(x, 'abs', Math.abs, (v) => (v > 0 ? 1 : v < 0 ? -1 : 0));
export const relu = (x: Tensor): Tensor => unary(x, 'relu', (v) => (v > 0 ? v : 0), (v) => (v > 0 ? 1 : 0), reluWasm);
export const tanh = (x: Tensor): Tensor => unary(x, 'tanh', dm.tanh, (_v, y) => 1 - y * y);
export const sigmoid = (x: Tensor): Tensor => unary(x, 'sigmoid', dm.sigmoid, (_v, y) => y * (1 - y));

/**
 * GELU, the exact form x·Φ(x) (PyTorch's default), with Φ accurate to 1e-7
 * (see fastmath.geluInto). The derivative Φ(x) + x·φ(x) comes out of the same
 * exponential in the forward pass and is kept, so backward is one multiply.
 */
export function gelu(x: Tensor): Tensor {
  const n = x.size;
  const out = allocOutput(n);
  const xd = x.data;
  const deriv = isGradEnabled() && x.requiresGrad ? allocOutput(n) : null;
  const wasm = useElementwiseWasm(n); // the same bits, faster for large tensors
  if (wasm) geluWasm(xd, out, deriv);
  else for (let i = 0; i < n; i++) geluInto(xd[i], out, deriv, i);
  return result(out, x.shape, 'gelu', [x], (g) => {
    const gx = allocOutput(n);
    if (wasm) mulWasm(g, deriv!, gx);
    else for (let i = 0; i < n; i++) gx[i] = g[i] * deriv![i];
    accumulateGrad(x, gx, true);
  });
}
