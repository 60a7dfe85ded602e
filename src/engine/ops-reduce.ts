// Reductions over axes: sum, mean, max, argmax. Each output element is
// accumulated in f64 in flat input order, which fixes the reduction order.

import { allocF32, f32From } from './arena.js';
import { Tensor, ShapeError, result, shapeSize, stridesOf, stridedIndex, accumulateGrad, normAxis, type Shape } from './tensor.js';

interface Plan {
  outShape: number[]; // keepdim form (reduced axes are 1)
  finalShape: number[]; // what the caller asked for
  /** For each flat input index, the flat output index it reduces into. */
  target: Int32Array;
  count: number; // elements per output
}

function plan(shape: Shape, axes: number[] | number | undefined, keepdim: boolean, op: string): Plan {
  const nd = shape.length;
  const list = axes === undefined ? shape.map((_, i) => i) : (Array.isArray(axes) ? axes : [axes]).map((a) => normAxis(a, nd, op));
  const reduced = new Array<boolean>(nd).fill(false);
  for (const a of list) {
    if (reduced[a]) throw new ShapeError(op, `axis ${a} named twice`);
    reduced[a] = true;
  }
  const outShape = shape.map((d, i) => (reduced[i] ? 1 : d));
  const finalShape = keepdim ? outShape.slice() : shape.filter((_, i) => !reduced[i]);
  const outStrides = stridesOf(outShape).map((s, i) => (reduced[i] ? 0 : s));
  const target = stridedIndex(shape, outStrides);
  let count = 1;
  for (let i = 0; i < nd; i++) if (reduced[i]) count *= shape[i];
  return { outShape, finalShape, target, count };
}

/** Whether the reduction is over the trailing axes only (then output o gathers a contiguous block). */
function trailingBlock(shape: Shape, axes: number[] | number | undefined): number {
  const nd = shape.length;
  if (axes === undefined) return shapeSize(shape);
  const list = (Array.isArray(axes) ? axes : [axes]).map((a) => (a < 0 ? a + nd : a)).sort((a, b) => a - b);
  for (let i = 0; i < list.length; i++) if (list[i] !== nd - list.length + i) return 0;
  let block = 1;
  for (const a of list) block *= shape[a];
  return block;
}

export function sum(x: Tensor, axes?: number[] | number, keepdim = false): Tensor {
  const block = trailingBlock(x.shape, axes);
  const p = block > 0 && x.size > 0 ? null : plan(x.shape, axes, keepdim, 'sum');
  const xd = x.data;
  let outShape: number[];
  let out: Float32Array;
  let expand: (g: Float32Array) => Float32Array;
  if (p === null) {
    // Contiguous blocks: the common case (sum over the last axis, or everything).
    const nd = x.ndim;
    const nAxes = axes === undefined ? nd : Array.isArray(axes) ? axes.length : 1;
    outShape = keepdim ? x.shape.map((d, i) => (i >= nd - nAxes ? 1 : d)) : x.shape.slice(0, nd - nAxes);
    const nOut = x.size / block;
    out = allocF32(nOut);
    for (let o = 0; o < nOut; o++) {
      let acc = 0;
      const base = o * block;
      for (let j = 0; j < block; j++) acc += xd[base + j];
      out[o] = acc;
    }
    expand = (g) => {
      const gx = allocF32(x.size);
      for (let o = 0; o < nOut; o++) gx.fill(g[o], o * block, (o + 1) * block);
      return gx;
    };
  } else {
    outShape = p.finalShape;
    const acc = new Float64Array(shapeSize(p.outShape));
    for (let i = 0; i < xd.length; i++) acc[p.target[i]] += xd[i];
    out = f32From(acc);
    expand = (g) => {
      const gx = allocF32(x.size);
      for (let i = 0; i < gx.length; i++) gx[i] = g[p.target[i]];
      return gx;
    };
  }
  return result(out, outShape, 'sum', [x], (g) => accumulateGrad(x, expand(g), true));
}

export function mean(x: Tensor, axes?: number[] | number, keepdim = false): Tensor {
  const s = sum(x, axes, keepdim);
  const count = x.size / Math.max(1, s.size);
  const n = s.size;
  const out = allocF32(n);
  for (let i = 0; i < n; i++) out[i] = s.data[i] / count;
  return result(out, s.shape, 'mean', [s], (g) => {
    const gs = allocF32(n);
    for (let i = 0; i < n; i++) gs[i] = g[i] / count;
    accumulateGrad(s, gs, true);
  });
}

/** Max over axes; the gradient goes to the first maximal element (lowest flat index). */
export function max(x: Tensor, axes?: number[] | number, keepdim = false): Tensor {
  if (x.size === 0) throw new ShapeError('max', 'cannot take the max of an empty tensor');
  const p = plan(x.shape, axes, keepdim, 'max');
  const nOut = shapeSize(p.outShape);
  const out = allocF32(nOut).fill(-Infinity);
  const arg = new Int32Array(nOut).fill(-1);
  const xd = x.data;
  for (let i = 0; i < xd.length; i++) {
    const o = p.target[i];
    const v = xd[i];
    // NaN wins, so a NaN is never hidden by a max.
    if (arg[o] < 0 || v > out[o] || (v !== v && out[o] === out[o])) {
      out[o] = v;
      arg[o] = i;
    }
  }
  return result(out, p.finalShape, 'max', [x], (g) => {
    const gx = allocF32(x.size);
    for (let o = 0; o < nOut; o++) gx[arg[o]] += g[o];
    accumulateGrad(x, gx, true);
  });
}

/** Index of the max along one axis (first on ties). Returns int32 indices and their shape. */
export function argmax(x: Tensor, axis = -1): { data: Int32Array; shape: number[] } {
  const a = normAxis(axis, x.ndim, 'argmax');
  const shape = x.shape;
  const len = shape[a];
  if (len === 0) throw new ShapeError('argmax', 'axis has length 0');
  let inner = 1;
  for (let i = a + 1; i < shape.length; i++) inner *= shape[i];
  const outer = x.size / (len * inner);
  const out = new Int32Array(outer * inner);
  const xd = x.data;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      let best = 0;
      let bv = xd[o * len * inner + j];
      for (let k = 1; k < len; k++) {
        const v = xd[(o * len + k) * inner + j];
        if (v > bv) {
          bv = v;
          best = k;
        }
      }
      out[o * inner + j] = best;
    }
  }
  return { data: out, shape: shape.filter((_, i) => i !== a) };
}
