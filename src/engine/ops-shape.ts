// Ops that move values without computing new ones: reshape, permute, slice,
// concat, gather (embedding lookup), one-hot, and masking.

import { allocF32, allocOutput } from './arena.js';
import { Tensor, ShapeError, result, shapeSize, shapeStr, stridesOf, stridedIndex, accumulateGrad, gradBuffer, normAxis, type Shape } from './tensor.js';

/** Same data, new shape (free: shares the buffer). One axis may be -1. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const s = shape.slice();
  const free = s.indexOf(-1);
  if (free >= 0) {
    if (s.indexOf(-1, free + 1) >= 0) throw new ShapeError('reshape', `only one -1 allowed in ${shapeStr(shape)}`);
    const rest = s.reduce((a, d, i) => (i === free ? a : a * d), 1);
    if (rest === 0 || x.size % rest !== 0) throw new ShapeError('reshape', `cannot reshape ${shapeStr(x.shape)} to ${shapeStr(shape)}`);
    s[free] = x.size / rest;
  }
  if (shapeSize(s) !== x.size) throw new ShapeError('reshape', `cannot reshape ${shapeStr(x.shape)} (${x.size} elements) to ${shapeStr(shape)}`);
  return result(x.data, s, 'reshape', [x], (g) => accumulateGrad(x, g, true));
}

/** Reorder axes: out axis i is input axis perm[i]. Copies. */
export function permute(x: Tensor, perm: number[]): Tensor {
  const nd = x.ndim;
  if (perm.length !== nd) throw new ShapeError('permute', `permutation ${shapeStr(perm)} does not match ${nd} dimensions of ${shapeStr(x.shape)}`);
  const seen = new Array<boolean>(nd).fill(false);
  for (const p of perm) {
    if (!Number.isInteger(p) || p < 0 || p >= nd || seen[p]) throw new ShapeError('permute', `${shapeStr(perm)} is not a permutation of ${nd} axes`);
    seen[p] = true;
  }
  const outShape = perm.map((p) => x.shape[p]);
  const inStrides = stridesOf(x.shape);
  const src = perm.map((p) => inStrides[p]);
  // Trailing axes that stay in place are contiguous runs in both layouts
  // (attention's [H,B,T,dh] -> [B,T,H,dh] moves rows of dh): index the runs,
  // not every element.
  let lead = nd;
  while (lead > 0 && perm[lead - 1] === lead - 1) lead--;
  const run = shapeSize(x.shape.slice(lead));
  const starts = stridedIndex(outShape.slice(0, lead), src.slice(0, lead));
  const runs = starts.length;
  const out = allocOutput(x.size);
  const xd = x.data;
  for (let r = 0, o = 0; r < runs; r++, o += run) {
    const i0 = starts[r];
    for (let j = 0; j < run; j++) out[o + j] = xd[i0 + j];
  }
  return result(out, outShape, 'permute', [x], (g) => {
    const gx = gradBuffer(x);
    for (let r = 0, o = 0; r < runs; r++, o += run) {
      const i0 = starts[r];
      for (let j = 0; j < run; j++) gx[i0 + j] += g[o + j];
    }
  });
}

/** Swap two axes. */
export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const nd = x.ndim;
  const perm = Array.from({ length: nd }, (_, i) => i);
  const i = normAxis(a, nd, 'transpose');
  const j = normAxis(b, nd, 'transpose');
  perm[i] = j;
  perm[j] = i;
  return permute(x, perm);
}

/** x[..., start:end, ...] along one axis. */
export function slice(x: Tensor, axis: number, start: number, end: number): Tensor {
  const a = normAxis(axis, x.ndim, 'slice');
  const len = x.shape[a];
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > len || start > end) {
    throw new ShapeError('slice', `range [${start}, ${end}) is outside axis ${a} of length ${len} (shape ${shapeStr(x.shape)})`);
  }
  const outer = shapeSize(x.shape.slice(0, a));
  const inner = shapeSize(x.shape.slice(a + 1));
  const w = end - start;
  const outShape = x.shape.slice();
  outShape[a] = w;
  const out = allocF32(outer * w * inner);
  for (let o = 0; o < outer; o++) {
    out.set(x.data.subarray((o * len + start) * inner, (o * len + end) * inner), o * w * inner);
  }
  return result(out, outShape, 'slice', [x], (g) => {
    const gx = gradBuffer(x);
    for (let o = 0; o < outer; o++) {
      const dst = (o * len + start) * inner;
      const src = o * w * inner;
      for (let j = 0; j < w * inner; j++) gx[dst + j] += g[src + j];
    }
  });
}

/** Join tensors along an axis; all other axes must agree. */
export function concat(xs: Tensor[], axis: number): Tensor {
  if (xs.length === 0) throw new ShapeError('concat', 'needs at least one tensor');
  const first = xs[0];
  const a = normAxis(axis, first.ndim, 'concat');
  for (const t of xs) {
    const ok = t.ndim === first.ndim && t.shape.every((d, i) => i === a || d === first.shape[i]);
    if (!ok) throw new ShapeError('concat', `shapes ${shapeStr(first.shape)} and ${shapeStr(t.shape)} differ off axis ${a}`);
  }
  const outer = shapeSize(first.shape.slice(0, a));
  const inner = shapeSize(first.shape.slice(a + 1));
  const total = xs.reduce((s, t) => s + t.shape[a], 0);
  const outShape = first.shape.slice();
  outShape[a] = total;
  const out = allocF32(outer * total * inner);
  let offset = 0;
  const offsets: number[] = [];
  for (const t of xs) {
    const w = t.shape[a];
    offsets.push(offset);
    for (let o = 0; o < outer; o++) out.set(t.data.subarray(o * w * inner, (o + 1) * w * inner), (o * total + offset) * inner);
    offset += w;
  }
  return result(out, outShape, 'concat', xs, (g) => {
    xs.forEach((t, k) => {
      if (!t.requiresGrad) return;
      const w = t.shape[a];
      const gt = allocF32(t.size);
      for (let o = 0; o < outer; o++) gt.set(g.subarray((o * total + offsets[k]) * inner, (o * total + offsets[k] + w) * inner), o * w * inner);
      accumulateGrad(t, gt, true);
    });
  });
}

/**
 * Rows of `table` [V, D] picked by integer ids: the embedding lookup. The
 * output has shape [...idsShape, D]. Gradients scatter-add back in id order.
 */
export function gather(table: Tensor, ids: Int32Array, idsShape: Shape = [ids.length]): Tensor {
  if (table.ndim !== 2) throw new ShapeError('gather', `table must be 2-D [V, D], got ${shapeStr(table.shape)}`);
  if (shapeSize(idsShape) !== ids.length) throw new ShapeError('gather', `ids has ${ids.length} entries but shape ${shapeStr(idsShape)}`);
  const [V, D] = table.shape;
  const out = allocF32(ids.length * D);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id < 0 || id >= V) throw new ShapeError('gather', `id ${id} at position ${i} is outside the table of ${V} rows`);
    out.set(table.data.subarray(id * D, (id + 1) * D), i * D);
  }
  return result(out, [...idsShape, D], 'gather', [table], (g) => {
    const gt = gradBuffer(table);
    for (let i = 0; i < ids.length; i++) {
      const base = ids[i] * D;
      for (let j = 0; j < D; j++) gt[base + j] += g[i * D + j];
    }
  });
}

export function oneHot(ids: Int32Array, classes: number, idsShape: Shape = [ids.length]): Tensor {
  const out = allocF32(ids.length * classes);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id < 0 || id >= classes) throw new ShapeError('oneHot', `id ${id} at position ${i} is outside [0, ${classes})`);
    out[i * classes + id] = 1;
  }
  return new Tensor(out, [...idsShape, classes], { op: 'oneHot' });
}

/**
 * Elementwise choice: cond ? a : b. `cond` is a 0/1 mask with x's shape, or
 * with the shape of x's trailing axes (repeated over the leading ones).
 */
export function where(cond: Uint8Array, a: Tensor, b: Tensor): Tensor {
  if (a.size !== b.size) throw new ShapeError('where', `branches differ: ${shapeStr(a.shape)} vs ${shapeStr(b.shape)}`);
  const n = a.size;
  const m = cond.length;
  if (m === 0 || n % m !== 0) throw new ShapeError('where', `mask of ${m} elements does not tile ${shapeStr(a.shape)}`);
  const out = allocF32(n);
  for (let i = 0; i < n; i++) out[i] = cond[i % m] ? a.data[i] : b.data[i];
  return result(out, a.shape, 'where', [a, b], (g) => {
    if (a.requiresGrad) {
      const ga = allocF32(n);
      for (let i = 0; i < n; i++) if (cond[i % m]) ga[i] = g[i];
      accumulateGrad(a, ga, true);
    }
    if (b.requiresGrad) {
      const gb = allocF32(n);
      for (let i = 0; i < n; i++) if (!cond[i % m]) gb[i] = g[i];
      accumulateGrad(b, gb, true);
    }
  });
}

/** Put `value` where mask is 1 (mask tiled over leading axes as in `where`); no gradient flows there. */
export function maskedFill(x: Tensor, mask: Uint8Array, value: number): Tensor {
  const n = x.size;
  const m = mask.length;
  if (m === 0 || n % m !== 0) throw new ShapeError('maskedFill', `mask of ${m} elements does not tile ${shapeStr(x.shape)}`);
  const out = allocF32(n);
  for (let i = 0; i < n; i++) out[i] = mask[i % m] ? value : x.data[i];
  return result(out, x.shape, 'maskedFill', [x], (g) => {
    const gx = allocF32(n);
    for (let i = 0; i < n; i++) if (!mask[i % m]) gx[i] = g[i];
    accumulateGrad(x, gx, true);
  });
}

/** The T×T mask of future positions (1 where key > query). */
export function causalMaskBits(T: number): Uint8Array {
  const m = new Uint8Array(T * T);
  for (let q = 0; q < T; q++) for (let k = q + 1; k < T; k++) m[q * T + k] = 1;
  return m;
}

/** Scores [..., T, T] with future keys set to -Infinity. */
export function causalMask(scores: Tensor): Tensor {
  const T = scores.dim(-1);
  if (scores.dim(-2) !== T) throw new ShapeError('causalMask', `needs square trailing axes, got ${shapeStr(scores.shape)}`);
  return maskedFill(scores, causalMaskBits(T), -Infinity);
}
