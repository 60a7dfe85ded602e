// The ops networks are made of: matmul, softmax and log-softmax,
// cross-entropy, layer norm, dropout and top-k. Each is fused (one forward
// pass, one backward pass) because that is both faster and more accurate
// than composing it from elementwise pieces.

import { allocF32, allocOutput } from './arena.js';
import { Tensor, ShapeError, result, shapeStr, accumulateGrad, gradBuffer, isGradEnabled } from './tensor.js';
import { matmulF32 } from './matmul-kernel.js';
import * as dm from './detmath.js';
import { expFast } from './fastmath.js';
import {
  causalSoftmaxBackwardWasm, causalSoftmaxWasm, softmaxBackwardWasm, softmaxWasm, columnSumsWasm, layerNormBackwardWasm, layerNormForwardWasm, useElementwiseWasm,
} from './elementwise-kernel.js';
import type { Rng } from './rng.js';

// ---------------------------------------------------------------- matmul

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
}

/**
 * Batched matrix product op(a) @ op(b), where op transposes the last two axes
 * when asked. `a` is [...batch, m, k] (or [...batch, k, m] with transA) and `b`
 * is [...batch, k, n] with the same batch axes; either side may instead be a
 * plain 2-D matrix shared by every batch entry. Transposed operands go
 * straight to the kernel: no copy, no slow path.
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  return matmulBias(a, b, null, opts);
}

/**
 * op(a) @ op(b) + bias in one node: the bias is added into the product's
 * buffer, and its gradient is the column sum of the output gradient. `bias`
 * is [n] (every row) or one [n] row per batch entry ([...batch, 1, n]).
 * This is a Linear layer without the extra pass and allocation of `add`.
 */
export function matmulBias(a: Tensor, b: Tensor, bias: Tensor | null, opts: MatmulOptions = {}): Tensor {
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  if (a.ndim < 2 || b.ndim < 2) throw new ShapeError('matmul', `operands need 2+ dimensions, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  const m = transA ? a.dim(-1) : a.dim(-2);
  const ka = transA ? a.dim(-2) : a.dim(-1);
  const kb = transB ? b.dim(-1) : b.dim(-2);
  const n = transB ? b.dim(-2) : b.dim(-1);
  // Built only for an error message: matmul runs dozens of times a training step.
  const desc = (): string => `${shapeStr(a.shape)}${transA ? 'ᵀ' : ''} @ ${shapeStr(b.shape)}${transB ? 'ᵀ' : ''}`;
  if (ka !== kb) throw new ShapeError('matmul', `inner sizes differ (${ka} vs ${kb}) in ${desc()}`);
  const k = ka;
  const sharedB = b.ndim === 2 && a.ndim > 2;
  const sharedA = a.ndim === 2 && b.ndim > 2;
  const batchShape = sharedA ? b.shape.slice(0, -2) : a.shape.slice(0, -2);
  if (!sharedA && !sharedB) {
    const bb = b.shape.slice(0, -2);
    if (bb.length !== batchShape.length || bb.some((d, i) => d !== batchShape[i])) throw new ShapeError('matmul', `batch axes differ in ${desc()}`);
  }
  const nBatch = batchShape.reduce((s, d) => s * d, 1);
  let biasStride = 0;
  if (bias) {
    if (bias.size === n) biasStride = 0;
    else if (bias.size === nBatch * n) biasStride = n;
    else throw new ShapeError('matmul', `bias ${shapeStr(bias.shape)} fits neither [${n}] nor one row per batch entry of ${desc()}`);
  }
  // A shared right matrix and an untransposed left one fold into one tall 2-D product.
  const fold = sharedB && !transA;
  const batch = fold ? 1 : nBatch;
  const rowsA = fold ? nBatch * m : m;
  const aStride = sharedA || fold ? 0 : m * k;
  const bStride = sharedB ? 0 : k * n;
  const gStride = fold ? 0 : m * n;
  const out = allocOutput(nBatch * m * n);
  // The kernel adds the bias rows to the finished product, f32(prod + bias),
  // the bits of the loop below, which remains only for one bias row per batch
  // entry of a folded product (the kernel's bias rows follow its batch).
  const kernelBias = bias !== null && !(fold && biasStride !== 0);
  matmulF32(a.data, b.data, out, {
    batch, m: rowsA, n, k, transA, transB, aBatchStride: aStride, bBatchStride: bStride,
    ...(kernelBias ? { bias: bias.data, biasBatchStride: biasStride } : {}),
  });
  if (bias && !kernelBias) {
    const bd = bias.data;
    for (let i = 0; i < nBatch; i++) {
      const bo = i * biasStride;
      for (let r = 0; r < m; r++) {
        const o = (i * m + r) * n;
        for (let j = 0; j < n; j++) out[o + j] += bd[bo + j];
      }
    }
  }
  return result(out, [...batchShape, m, n], bias ? 'linear' : 'matmul', bias ? [a, b, bias] : [a, b], (g) => {
    if (bias?.requiresGrad && useElementwiseWasm(g.length)) {
      // The same column sums (f64, rows in order) in wasm.
      const gb = allocF32(bias.size);
      if (biasStride === 0) columnSumsWasm(g, null, gb, null, nBatch * m, n);
      else for (let i = 0; i < nBatch; i++) columnSumsWasm(g.subarray(i * m * n, (i + 1) * m * n), null, gb.subarray(i * n, (i + 1) * n), null, m, n);
      accumulateGrad(bias, gb, true);
    } else if (bias?.requiresGrad) {
      // Column sums in f64, rows in order: a fixed reduction order.
      const gb = new Float64Array(bias.size);
      for (let i = 0; i < nBatch; i++) {
        const bo = i * biasStride;
        for (let r = 0; r < m; r++) {
          const o = (i * m + r) * n;
          for (let j = 0; j < n; j++) gb[bo + j] += g[o + j];
        }
      }
      accumulateGrad(bias, Float32Array.from(gb), true);
    }
    // A parameter without a gradient buffer yet gets the product written
    // straight into a fresh one: the kernel's sums are never -0, so that is
    // the same bits as adding it to zeros, without copying the zeros in.
    // One operand shared by every batch entry: the per-entry gradients are
    // added in batch order (sumBatch), the bits of one accumulation per entry.
    if (a.requiresGrad) {
      const acc = a.grad !== null;
      gradOfA(g, b.data, gradBuffer(a), batch, rowsA, n, k, transA, transB, gStride, bStride, acc, sharedA);
    }
    if (b.requiresGrad) {
      const acc = b.grad !== null;
      gradOfB(a.data, g, gradBuffer(b), batch, rowsA, n, k, transA, transB, aStride, gStride, acc, sharedB && !fold);
    }
  });
}

/** dA for C = A'B' (A' = op(A)), accumulated into `ga` in A's stored layout. */
function gradOfA(g: Float32Array, b: Float32Array, ga: Float32Array, batch: number, m: number, n: number, k: number, transA: boolean, transB: boolean, gStride: number, bStride: number,
  accumulate: boolean, sumBatch: boolean): void {
  if (!transA) {
    // A stored [m, k]: dA = dC B'ᵀ.
    matmulF32(g, b, ga, { batch, m, n: k, k: n, transA: false, transB: !transB, aBatchStride: gStride, bBatchStride: bStride, accumulate, sumBatch });
  } else {
    // A stored [k, m]: dA = B' dCᵀ.
    matmulF32(b, g, ga, { batch, m: k, n: m, k: n, transA: transB, transB: true, aBatchStride: bStride, bBatchStride: gStride, accumulate, sumBatch });
  }
}

/** dB for C = A'B', accumulated into `gb` in B's stored layout. */
function gradOfB(a: Float32Array, g: Float32Array, gb: Float32Array, batch: number, m: number, n: number, k: number, transA: boolean, transB: boolean, aStride: number, gStride: number,
  accumulate: boolean, sumBatch: boolean): void {
  if (!transB) {
    // B stored [k, n]: dB = A'ᵀ dC.
    matmulF32(a, g, gb, { batch, m: k, n, k: m, transA: !transA, transB: false, aBatchStride: aStride, bBatchStride: gStride, accumulate, sumBatch });
  } else {
    // B stored [n, k]: dB = dCᵀ A'.
    matmulF32(g, a, gb, { batch, m: n, n: k, k: m, transA: true, transB: transA, aBatchStride: gStride, bBatchStride: aStride, accumulate, sumBatch });
  }
}

// ---------------------------------------------------------------- softmax family

function rows(x: Tensor, op: string): { R: number; C: number } {
  if (x.ndim < 1) throw new ShapeError(op, 'needs at least one dimension');
  const C = x.dim(-1);
  return { R: C === 0 ? 0 : x.size / C, C };
}

/** Softmax over the last axis, shifted by the row max so it never overflows. */
export function softmax(x: Tensor): Tensor {
  const { R, C } = rows(x, 'softmax');
  const xd = x.data;
  const out = allocOutput(x.size);
  const wasm = C > 0 && useElementwiseWasm(x.size); // the same bits, faster (and split across threads) for large tensors
  if (wasm) softmaxWasm(xd, out, C);
  else for (let r = 0; r < R; r++) {
    const o = r * C;
    let mx = -Infinity;
    for (let j = 0; j < C; j++) if (xd[o + j] > mx) mx = xd[o + j];
    if (mx === -Infinity) mx = 0; // a fully masked row: all exps are 0, left as zeros below
    let s = 0;
    for (let j = 0; j < C; j++) {
      const e = expFast(xd[o + j] - mx);
      out[o + j] = e;
      s += e;
    }
    const inv = s > 0 ? 1 / s : 0;
    for (let j = 0; j < C; j++) out[o + j] *= inv;
  }
  return result(out, x.shape, 'softmax', [x], (g) => {
    // dx = y * (g - sum(g * y))
    const gx = allocOutput(x.size);
    if (wasm) softmaxBackwardWasm(g, out, gx, C);
    else for (let r = 0; r < R; r++) {
      const o = r * C;
      let dot = 0;
      for (let j = 0; j < C; j++) dot += g[o + j] * out[o + j];
      for (let j = 0; j < C; j++) gx[o + j] = out[o + j] * (g[o + j] - dot);
    }
    accumulateGrad(x, gx, true);
  });
}

/**
 * softmax(scale · scores) over the last axis with future keys masked: the
 * attention pattern in one pass. scores is [..., T, T]; entries with key >
 * query come out exactly 0 and get no gradient. Equal in value to
 * softmax(causalMask(mulScalar(scores, scale))), without three buffers.
 */
export function causalSoftmax(scores: Tensor, scale: number): Tensor {
  const T = scores.dim(-1);
  if (scores.ndim < 2 || scores.dim(-2) !== T) throw new ShapeError('causalSoftmax', `needs square trailing axes, got ${shapeStr(scores.shape)}`);
  const R = scores.size / T;
  const xd = scores.data;
  const out = allocF32(scores.size);
  const wasm = useElementwiseWasm(scores.size); // the same bits, faster (and split across threads) for large tensors
  if (wasm) causalSoftmaxWasm(xd, out, T, scale);
  else for (let r = 0; r < R; r++) {
    const o = r * T;
    const q = r % T; // keys 0..q are visible
    let mx = -Infinity;
    for (let j = 0; j <= q; j++) {
      const v = xd[o + j] * scale;
      if (v > mx) mx = v;
    }
    let s = 0;
    for (let j = 0; j <= q; j++) {
      const e = expFast(xd[o + j] * scale - mx);
      out[o + j] = e;
      s += e;
    }
    const inv = 1 / s;
    for (let j = 0; j <= q; j++) out[o + j] *= inv;
  }
  return result(out, scores.shape, 'causalSoftmax', [scores], (g) => {
    const gx = allocF32(scores.size);
    if (wasm) causalSoftmaxBackwardWasm(g, out, gx, T, scale);
    else for (let r = 0; r < R; r++) {
      const o = r * T;
      const q = r % T;
      let dot = 0;
      for (let j = 0; j <= q; j++) dot += g[o + j] * out[o + j];
      for (let j = 0; j <= q; j++) gx[o + j] = scale * out[o + j] * (g[o + j] - dot);
    }
    accumulateGrad(scores, gx, true);
  });
}

/** log(softmax(x)) over the last axis, computed as x - max - log(sum exp(x - max)). */
export function logSoftmax(x: Tensor): Tensor {
  const { R, C } = rows(x, 'logSoftmax');
  const xd = x.data;
  const out = allocOutput(x.size);
  for (let r = 0; r < R; r++) {
    const o = r * C;
    const lse = logSumExp(xd, o, C);
    for (let j = 0; j < C; j++) out[o + j] = xd[o + j] - lse;
  }
  return result(out, x.shape, 'logSoftmax', [x], (g) => {
    // dx = g - softmax * sum(g)
    const gx = allocOutput(x.size);
    for (let r = 0; r < R; r++) {
      const o = r * C;
      let s = 0;
      for (let j = 0; j < C; j++) s += g[o + j];
      for (let j = 0; j < C; j++) gx[o + j] = g[o + j] - expFast(out[o + j]) * s;
    }
    accumulateGrad(x, gx, true);
  });
}

function logSumExp(xd: Float32Array, o: number, C: number): number {
  let mx = -Infinity;
  for (let j = 0; j < C; j++) if (xd[o + j] > mx) mx = xd[o + j];
  if (mx === -Infinity || mx === Infinity) return mx;
  let s = 0;
  for (let j = 0; j < C; j++) s += expFast(xd[o + j] - mx);
  return mx + dm.log(s);
}

export interface CrossEntropyOptions {
  /** Targets equal to this are skipped and don't count toward the mean. */
  ignoreIndex?: number;
  /** 'mean' over counted tokens (default), 'sum', or 'none' for one loss per row. */
  reduction?: 'mean' | 'sum' | 'none';
}

/**
 * Cross-entropy in nats between logits [..., V] and integer targets (one per
 * row), fused with log-softmax. The backward pass is softmax - onehot.
 */
export function crossEntropy(logits: Tensor, targets: Int32Array, opts: CrossEntropyOptions = {}): Tensor {
  const { R, C } = rows(logits, 'crossEntropy');
  if (targets.length !== R) throw new ShapeError('crossEntropy', `${targets.length} targets for ${R} rows of logits ${shapeStr(logits.shape)}`);
  const ignore = opts.ignoreIndex;
  const reduction = opts.reduction ?? 'mean';
  const xd = logits.data;
  const losses = allocF32(R);
  const lses = new Float64Array(R);
  let count = 0;
  let total = 0;
  for (let r = 0; r < R; r++) {
    const t = targets[r];
    if (ignore !== undefined && t === ignore) continue;
    if (t < 0 || t >= C) throw new ShapeError('crossEntropy', `target ${t} at row ${r} is outside [0, ${C})`);
    const lse = logSumExp(xd, r * C, C);
    lses[r] = lse;
    const l = lse - xd[r * C + t];
    losses[r] = l;
    total += l;
    count++;
  }
  const outShape = reduction === 'none' ? logits.shape.slice(0, -1) : [];
  const out = reduction === 'none' ? losses : Float32Array.of(reduction === 'sum' ? total : count > 0 ? total / count : 0);
  return result(out, outShape, 'crossEntropy', [logits], (g) => {
    const gx = allocF32(logits.size);
    for (let r = 0; r < R; r++) {
      const t = targets[r];
      if (ignore !== undefined && t === ignore) continue;
      const scale = reduction === 'none' ? g[r] : reduction === 'sum' ? g[0] : g[0] / count;
      const o = r * C;
      const lse = lses[r];
      for (let j = 0; j < C; j++) gx[o + j] = expFast(xd[o + j] - lse) * scale;
      gx[o + t] -= scale;
    }
    accumulateGrad(logits, gx, true);
  });
}

// ---------------------------------------------------------------- layer norm

/** LayerNorm over the last axis: (x - mean) / sqrt(var + eps) * weight + bias (biased variance, as PyTorch). */
export function layerNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps = 1e-5): Tensor {
  const { R, C } = rows(x, 'layerNorm');
  if (weight && weight.size !== C) throw new ShapeError('layerNorm', `weight ${shapeStr(weight.shape)} does not match last axis ${C} of ${shapeStr(x.shape)}`);
  if (bias && bias.size !== C) throw new ShapeError('layerNorm', `bias ${shapeStr(bias.shape)} does not match last axis ${C} of ${shapeStr(x.shape)}`);
  const xd = x.data;
  const xhat = allocOutput(x.size);
  const rstd = allocF32(R);
  const out = allocOutput(x.size);
  const w = weight?.data;
  const b = bias?.data;
  const wasm = useElementwiseWasm(x.size); // the same bits, faster for large tensors
  if (wasm) layerNormForwardWasm(xd, w ?? null, b ?? null, xhat, out, rstd, R, C, eps);
  else layerNormRows(xd, w ?? null, b ?? null, eps, out, R, C, xhat, rstd);
  const parents = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  return result(out, x.shape, 'layerNorm', parents, (g) => {
    if ((weight?.requiresGrad || bias?.requiresGrad) && wasm) {
      const gw = allocF32(C);
      const gb = allocF32(C);
      columnSumsWasm(g, xhat, gb, gw, R, C);
      if (weight) accumulateGrad(weight, gw, true);
      if (bias) accumulateGrad(bias, gb, true);
    } else if (weight?.requiresGrad || bias?.requiresGrad) {
      const gw = new Float64Array(C);
      const gb = new Float64Array(C);
      for (let r = 0; r < R; r++) {
        const o = r * C;
        for (let j = 0; j < C; j++) {
          gw[j] += g[o + j] * xhat[o + j];
          gb[j] += g[o + j];
        }
      }
      if (weight) accumulateGrad(weight, Float32Array.from(gw), true);
      if (bias) accumulateGrad(bias, Float32Array.from(gb), true);
    }
    if (x.requiresGrad) {
      // dx = rstd * (gh - mean(gh) - xhat * mean(gh * xhat)), with gh = g * weight.
      const gx = allocOutput(x.size);
      const gh = new Float64Array(C);
      if (wasm) layerNormBackwardWasm(g, w ?? null, xhat, rstd, gx, R, C);
      else for (let r = 0; r < R; r++) {
        const o = r * C;
        let s1 = 0;
        let s2 = 0;
        for (let j = 0; j < C; j++) {
          const v = w ? g[o + j] * w[j] : g[o + j];
          gh[j] = v;
          s1 += v;
          s2 += v * xhat[o + j];
        }
        s1 /= C;
        s2 /= C;
        const rs = rstd[r];
        for (let j = 0; j < C; j++) gx[o + j] = rs * (gh[j] - s1 - xhat[o + j] * s2);
      }
      accumulateGrad(x, gx, true);
    }
  });
}

/**
 * layerNorm's forward arithmetic on plain rows x [R, C] into out: f64 mean and
 * biased variance in index order, the affine in f64, rounded once on store.
 * Also the path of callers outside the autograd (the KV-cached GPT), so they
 * get the op's bits without re-deriving them. xhat and rstd, when given,
 * receive what the backward pass needs.
 */
export function layerNormRows(x: Float32Array, w: Float32Array | null, b: Float32Array | null, eps: number, out: Float32Array, R: number, C: number,
  xhat: Float32Array | null = null, rstd: Float32Array | null = null): void {
  for (let r = 0; r < R; r++) {
    const o = r * C;
    let mu = 0;
    for (let j = 0; j < C; j++) mu += x[o + j];
    mu /= C;
    let v = 0;
    for (let j = 0; j < C; j++) {
      const d = x[o + j] - mu;
      v += d * d;
    }
    const rs = 1 / Math.sqrt(v / C + eps);
    if (rstd) rstd[r] = rs;
    for (let j = 0; j < C; j++) {
      const h = (x[o + j] - mu) * rs;
      if (xhat) xhat[o + j] = h;
      out[o + j] = w ? (b ? h * w[j] + b[j] : h * w[j]) : b ? h + b[j] : h;
    }
  }
}

// ---------------------------------------------------------------- dropout

/**
 * Inverted dropout: zero each element with probability p and scale the rest
 * by 1/(1-p). The mask comes from the given seeded generator, so a run with
 * the same seed drops the same units. Identity when p = 0 or grad is off
 * (evaluation).
 */
export function dropout(x: Tensor, p: number, rng: Rng, training = isGradEnabled()): Tensor {
  if (!(p >= 0 && p < 1)) throw new RangeError(`dropout: p must be in [0, 1), got ${p}`);
  if (p === 0 || !training) return x;
  const n = x.size;
  const keep = new Uint8Array(n);
  const scale = 1 / (1 - p);
  const out = allocF32(n);
  for (let i = 0; i < n; i++) {
    if (rng.next() >= p) {
      keep[i] = 1;
      out[i] = x.data[i] * scale;
    }
  }
  return result(out, x.shape, 'dropout', [x], (g) => {
    const gx = allocF32(n);
    for (let i = 0; i < n; i++) if (keep[i]) gx[i] = g[i] * scale;
    accumulateGrad(x, gx, true);
  });
}

// ---------------------------------------------------------------- top-k

/** Indices of the k largest entries of each row (ties: lower index first), in descending order of value. */
export function topkIndices(x: Tensor, k: number): Int32Array {
  const { R, C } = rows(x, 'topk');
  if (!Number.isInteger(k) || k < 0 || k > C) throw new ShapeError('topk', `k = ${k} is outside [0, ${C}] for ${shapeStr(x.shape)}`);
  const xd = x.data;
  const idx = new Int32Array(R * k);
  for (let r = 0; r < R; r++) {
    const o = r * C;
    // A bounded insertion sort keeps this O(C·k) worst case and deterministic.
    const best = idx.subarray(r * k, (r + 1) * k);
    let filled = 0;
    for (let j = 0; j < C; j++) {
      const v = xd[o + j];
      if (filled === k && !(v > xd[o + best[k - 1]])) continue;
      let pos = filled < k ? filled++ : k - 1;
      while (pos > 0 && v > xd[o + best[pos - 1]]) {
        best[pos] = best[pos - 1];
        pos--;
      }
      best[pos] = j;
    }
  }
  return idx;
}

/** The k largest values of each row, [..., k], with their indices; gradient flows to the selected entries. */
export function topk(x: Tensor, k: number): { values: Tensor; indices: Int32Array } {
  const { R, C } = rows(x, 'topk');
  const indices = topkIndices(x, k);
  const out = allocF32(R * k);
  for (let r = 0; r < R; r++) for (let j = 0; j < k; j++) out[r * k + j] = x.data[r * C + indices[r * k + j]];
  const values = result(out, [...x.shape.slice(0, -1), k], 'topk', [x], (g) => {
    const gx = gradBuffer(x);
    for (let r = 0; r < R; r++) for (let j = 0; j < k; j++) gx[r * C + indices[r * k + j]] += g[r * k + j];
  });
  return { values, indices };
}

/** x with all but the k largest entries of each row set to zero (the TopK activation); gradient flows to the kept entries. */
export function keepTopK(x: Tensor, k: number): Tensor {
  const { R, C } = rows(x, 'keepTopK');
  const indices = topkIndices(x, k);
  const out = allocF32(x.size);
  for (let r = 0; r < R; r++) {
    for (let j = 0; j < k; j++) {
      const c = r * C + indices[r * k + j];
      out[c] = x.data[c];
    }
  }
  return result(out, x.shape, 'keepTopK', [x], (g) => {
    const gx = gradBuffer(x);
    for (let r = 0; r < R; r++) {
      for (let j = 0; j < k; j++) {
        const c = r * C + indices[r * k + j];
        gx[c] += g[c];
      }
    }
  });
}
