// The two sparse ops behind the TopK SAE. With k of n latents active, the
// decoder product and the encoder's backward touch k columns per token, not n:
// only the encoder's forward product stays dense. Index lists may be ragged
// (BatchTopK): -1 marks an empty slot, whose value is 0 and gets no gradient.
// Sums run in a fixed order (tokens, then slots), so results are deterministic.

import { Tensor, ShapeError, result, gradBuffer, shapeStr } from '../../engine/tensor.js';

/**
 * Pre-activations at chosen latents, [B, K]: values[b, j] = pre[b, idx[b, j]],
 * where pre = xc · W_enc + b_enc was already computed (without a graph) as
 * `pre` [B, n]. The backward pass is the sparse one of that same product:
 * dW_enc[:, i] += xc[b] · g, db_enc[i] += g, dxc[b] += g · W_enc[:, i].
 */
export function gatherLatents(xc: Tensor, W_enc: Tensor, b_enc: Tensor, pre: Float32Array, idx: Int32Array, K: number): Tensor {
  const [B, d] = xc.shape;
  const n = W_enc.dim(1);
  if (xc.ndim !== 2 || W_enc.ndim !== 2 || W_enc.dim(0) !== d) throw new ShapeError('gatherLatents', `x ${shapeStr(xc.shape)} does not fit W_enc ${shapeStr(W_enc.shape)}`);
  if (pre.length !== B * n || idx.length !== B * K) throw new ShapeError('gatherLatents', `pre has ${pre.length} values and idx ${idx.length}, expected ${B * n} and ${B * K}`);
  const out = new Float32Array(B * K);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < K; j++) {
      const i = idx[b * K + j];
      if (i >= 0) out[b * K + j] = pre[b * n + i];
    }
  }
  return result(out, [B, K], 'gatherLatents', [xc, W_enc, b_enc], (g) => {
    const xd = xc.data;
    // Work on latent-major copies ([n, d]) so the inner loops are contiguous, then fold back.
    const gwT = W_enc.requiresGrad ? new Float32Array(n * d) : null;
    const gb = b_enc.requiresGrad ? gradBuffer(b_enc) : null;
    const gx = xc.requiresGrad ? gradBuffer(xc) : null;
    const wT = gx ? transposeRows(W_enc.data, d, n) : null;
    for (let b = 0; b < B; b++) {
      const xo = b * d;
      for (let j = 0; j < K; j++) {
        const i = idx[b * K + j];
        const gv = g[b * K + j];
        if (i < 0 || gv === 0) continue;
        if (gb) gb[i] += gv;
        const wo = i * d;
        if (gwT) for (let c = 0; c < d; c++) gwT[wo + c] += xd[xo + c] * gv;
        if (gx) for (let c = 0; c < d; c++) gx[xo + c] += gv * wT![wo + c];
      }
    }
    if (gwT) {
      const gw = gradBuffer(W_enc);
      for (let c = 0; c < d; c++) for (let i = 0; i < n; i++) gw[c * n + i] += gwT[i * d + c];
    }
  });
}

/** [rows, cols] → [cols, rows]. */
function transposeRows(a: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
  return t;
}

/** out[b] = Σ_j values[b, j] · W_dec[idx[b, j]]: the decoder product over the active latents only, [B, d]. */
export function sparseDecode(values: Tensor, idx: Int32Array, W_dec: Tensor): Tensor {
  const [B, K] = values.shape;
  const [n, d] = W_dec.shape;
  if (values.ndim !== 2 || W_dec.ndim !== 2 || idx.length !== B * K) throw new ShapeError('sparseDecode', `values ${shapeStr(values.shape)}, ${idx.length} indices and W_dec ${shapeStr(W_dec.shape)} do not fit`);
  const vd = values.data, wd = W_dec.data;
  const out = new Float32Array(B * d);
  for (let b = 0; b < B; b++) {
    const o = b * d;
    for (let j = 0; j < K; j++) {
      const i = idx[b * K + j];
      const v = vd[b * K + j];
      if (i < 0 || v === 0) continue;
      if (i >= n) throw new ShapeError('sparseDecode', `latent index ${i} is out of range for ${n} latents`);
      const w = i * d;
      for (let c = 0; c < d; c++) out[o + c] += v * wd[w + c];
    }
  }
  return result(out, [B, d], 'sparseDecode', [values, W_dec], (g) => {
    const gv = values.requiresGrad ? gradBuffer(values) : null;
    const gw = W_dec.requiresGrad ? gradBuffer(W_dec) : null;
    for (let b = 0; b < B; b++) {
      const o = b * d;
      for (let j = 0; j < K; j++) {
        const i = idx[b * K + j];
        if (i < 0) continue;
        const w = i * d;
        if (gv) {
          let s = 0;
          for (let c = 0; c < d; c++) s += g[o + c] * wd[w + c];
          gv[b * K + j] += s;
        }
        const v = vd[b * K + j];
        if (gw && v !== 0) for (let c = 0; c < d; c++) gw[w + c] += v * g[o + c];
      }
    }
  });
}

/**
 * BatchTopK's selection: the k·B largest positive entries of the whole batch
 * (ties: lower flat index first), as ragged per-row index lists padded with -1
 * to the longest row. Returns the lists, their width K, and the smallest value
 * kept (the threshold BatchTopK uses at inference).
 */
export function batchTopKIndices(pre: Float32Array, B: number, n: number, k: number): { idx: Int32Array; K: number; minKept: number } {
  const budget = Math.min(k * B, B * n);
  // Candidates: positive entries only (ReLU follows the selection anyway).
  let nPos = 0;
  for (let f = 0; f < B * n; f++) if (pre[f] > 0) nPos++;
  const chosen: number[] = [];
  if (nPos <= budget) {
    for (let f = 0; f < B * n; f++) if (pre[f] > 0) chosen.push(f);
  } else {
    // The budget-th largest value by a native numeric sort of the values alone
    // (a comparator sort over indices was most of a BatchTopK step); then every
    // entry above it, and entries equal to it in index order until the budget is
    // spent: the same set as sorting by (value desc, index asc).
    const vals = new Float32Array(nPos);
    for (let f = 0, j = 0; f < B * n; f++) if (pre[f] > 0) vals[j++] = pre[f];
    vals.sort();
    const cut = vals[nPos - budget];
    let above = 0;
    for (let j = nPos - budget + 1; j < nPos; j++) if (vals[j] > cut) above++;
    let ties = budget - above;
    for (let f = 0; f < B * n; f++) {
      const v = pre[f];
      if (v > cut) chosen.push(f);
      else if (v === cut && ties > 0) {
        chosen.push(f);
        ties--;
      }
    }
  }
  const counts = new Int32Array(B);
  for (const f of chosen) counts[(f / n) | 0]++;
  let K = 0;
  for (let b = 0; b < B; b++) if (counts[b] > K) K = counts[b];
  const idx = new Int32Array(B * K).fill(-1);
  const fill = new Int32Array(B);
  let minKept = Infinity;
  for (const f of chosen) {
    const b = (f / n) | 0;
    idx[b * K + fill[b]++] = f - b * n;
    if (pre[f] < minKept) minKept = pre[f];
  }
  return { idx, K, minKept };
}
