// The coding-rate lens of CRATE (Yu et al., arXiv 2306.01129): how compressed and how sparse
// the token sets are at each layer.
//
// - R(Z): the coding rate of one image's N tokens in d dimensions.
// - R^c(Z; U) = Σ_k R(U_kᵀ Z): the rate of the tokens projected onto each
//   head's subspace. The projections are exactly what MSSA computes (its
//   `attn.hook_w`, w = U_kᵀ LN(Z)), so the lens reads them from that hook and
//   never touches a weight.
// - Sparsity of the ISTA outputs: the fraction of exact zeros, and the mean
//   per-token ratio ‖z‖₁/‖z‖₂ (between 1 for a one-hot token and √d for a flat one).
//
// Both rates follow the reference measurement (vis_utils/coding_rate.py of
// Ma-Lab-Berkeley/CRATE): tokens are l2-normalised first and
//   R = ½ logdet(I + p/(m·ε) X Xᵀ)
// for m tokens of dimension p, ε = 0.01 by default. (The paper's objective writes
// ε²; the measurement convention uses ε, and we follow the measurement so the
// figures compare.) The log-determinant is taken in the smaller of the m×m and
// p×p Gram matrices (they have the same determinant, Sylvester) via the
// engine's Cholesky. Rates are per image, averaged over the batch.

import type { Tensor } from '../engine/tensor.js';
import { choleskyLogdet } from '../engine/linalg.js';

export interface CodingRateOptions {
  /** The distortion ε; 0.01 as in the reference code. */
  eps?: number;
}

/**
 * ½ logdet(I + p/(m ε) X Xᵀ) for m tokens (rows of `x` starting at `offset`,
 * each `p` wide, consecutive tokens `stride` apart), each token scaled to unit
 * l2 norm first (all-zero tokens stay zero).
 */
export function tokenSetRate(x: Float32Array | Float64Array, m: number, p: number, eps = 0.01, offset = 0, stride = p): number {
  if (!(eps > 0)) throw new RangeError(`coding rate: eps must be > 0, got ${eps}`);
  if (m === 0 || p === 0) return 0;
  const rows = new Float64Array(m * p);
  for (let i = 0; i < m; i++) {
    const o = offset + i * stride;
    let n2 = 0;
    for (let j = 0; j < p; j++) n2 += x[o + j] * x[o + j];
    const inv = n2 > 0 ? 1 / Math.sqrt(n2) : 0;
    for (let j = 0; j < p; j++) rows[i * p + j] = x[o + j] * inv;
  }
  const scale = p / (m * eps);
  // I + scale · Gram, in whichever dimension is smaller.
  const n = Math.min(m, p);
  const g = new Float64Array(n * n);
  if (m <= p) {
    for (let a = 0; a < m; a++) {
      for (let b = 0; b <= a; b++) {
        let s = 0;
        for (let j = 0; j < p; j++) s += rows[a * p + j] * rows[b * p + j];
        g[a * n + b] = g[b * n + a] = scale * s;
      }
    }
  } else {
    for (let a = 0; a < p; a++) {
      for (let b = 0; b <= a; b++) {
        let s = 0;
        for (let i = 0; i < m; i++) s += rows[i * p + a] * rows[i * p + b];
        g[a * n + b] = g[b * n + a] = scale * s;
      }
    }
  }
  for (let i = 0; i < n; i++) g[i * n + i] += 1;
  return 0.5 * choleskyLogdet(g, n);
}

/** Mean over images of R(Z) for tokens [B, T, d]. */
export function meanCodingRate(z: Tensor, opts: CodingRateOptions = {}): number {
  if (z.ndim !== 3) throw new Error(`coding rate: expected tokens [B, T, d], got [${z.shape.join(',')}]`);
  const [B, T, d] = z.shape;
  let s = 0;
  for (let b = 0; b < B; b++) s += tokenSetRate(z.data, T, d, opts.eps, b * T * d);
  return B > 0 ? s / B : 0;
}

/** Mean over images of R^c = Σ_k R(w_k) for per-head projections w [B, T, H, d_h] (MSSA's hook_w). */
export function meanCompressionRate(w: Tensor, opts: CodingRateOptions = {}): number {
  if (w.ndim !== 4) throw new Error(`compression rate: expected per-head projections [B, T, H, d_h], got [${w.shape.join(',')}]`);
  const [B, T, H, dh] = w.shape;
  let s = 0;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) s += tokenSetRate(w.data, T, dh, opts.eps, (b * T * H + h) * dh, H * dh);
  }
  return B > 0 ? s / B : 0;
}

export interface Sparsity {
  /** Fraction of entries that are exactly zero. */
  zeroFraction: number;
  /** Mean over non-zero tokens of ‖z‖₁/‖z‖₂ (1 … √d; smaller is sparser). */
  l1OverL2: number;
}

export function sparsity(z: Tensor): Sparsity {
  const d = z.shape[z.ndim - 1];
  const n = z.size / d;
  let zeros = 0;
  let ratio = 0;
  let counted = 0;
  for (let t = 0; t < n; t++) {
    let l1 = 0;
    let l2 = 0;
    for (let j = 0; j < d; j++) {
      const v = z.data[t * d + j];
      if (v === 0) zeros++;
      l1 += Math.abs(v);
      l2 += v * v;
    }
    if (l2 > 0) {
      ratio += l1 / Math.sqrt(l2);
      counted++;
    }
  }
  return { zeroFraction: z.size > 0 ? zeros / z.size : 0, l1OverL2: counted > 0 ? ratio / counted : 0 };
}

export interface LayerRates {
  layer: number;
  /** R of the layer's output tokens Z_{ℓ+1} (the ISTA output). */
  R: number;
  /** R^c of the layer's input against its own subspaces: Σ_k R(U_kᵀ LN(Z_ℓ)). */
  Rc: number;
  /** Sparsity of the ISTA output. */
  zeroFraction: number;
  l1OverL2: number;
}

/** The hooks this lens reads at layer i. */
export function codingRateHooks(layers: number): string[] {
  const names: string[] = [];
  for (let i = 0; i < layers; i++) names.push(`blocks.${i}.attn.hook_w`, `blocks.${i}.ista.hook_post`);
  return names;
}

/**
 * R, R^c and sparsity at every layer, from one cached forward pass.
 * `runWithCache(names)` runs the model on the batch and returns the cache.
 */
export function measureLayers(runWithCache: (names: string[]) => Map<string, Tensor>, layers: number, opts: CodingRateOptions = {}): LayerRates[] {
  const names = codingRateHooks(layers);
  const cache = runWithCache(names);
  const out: LayerRates[] = [];
  for (let i = 0; i < layers; i++) {
    const w = cache.get(`blocks.${i}.attn.hook_w`);
    const z = cache.get(`blocks.${i}.ista.hook_post`);
    if (!w || !z) throw new Error(`coding-rate lens: the model did not produce blocks.${i}.attn.hook_w and blocks.${i}.ista.hook_post`);
    const sp = sparsity(z);
    out.push({ layer: i, R: meanCodingRate(z, opts), Rc: meanCompressionRate(w, opts), zeroFraction: sp.zeroFraction, l1OverL2: sp.l1OverL2 });
  }
  return out;
}
