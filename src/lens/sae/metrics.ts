// The field's SAE metrics (SAELens's definitions), over a fixed evaluation set.
//   L0            mean number of non-zero latents per token
//   FVU           Σ||x − x̂||² / Σ||x − mean(x)||²  (variance about the mean)
//   MSE           mean over tokens and dimensions of (x − x̂)²
//   cosine        mean over tokens of cos(x, x̂)
//   CE score      (CE_zero − CE_spliced) / (CE_zero − CE_clean), with x̂ (or 0)
//                 spliced in at the hook by a hook replacement
//   KL score      (KL_zero − KL_spliced) / KL_zero, KL(clean ‖ patched) per token
//   dead fraction latents that never fire on the evaluation set
//   density       per latent, the fraction of tokens it fires on

import { Tensor, noGrad } from '../../engine/tensor.js';
import { logSoftmax } from '../../engine/ops-nn.js';
import * as dm from '../../engine/detmath.js';
import { LN10 } from '../../engine/constants.js';
import { Hooks, type HookedModel } from '../../nn/hooks.js';
import type { Sae } from './model.js';
import { checkHook, hookActivations, type TokenBatch } from './buffer.js';

export interface ReconstructionMetrics {
  tokens: number;
  l0: number;
  fvu: number;
  mse: number;
  cosine: number;
  dead_fraction: number;
  /** Fraction of tokens each latent fires on. */
  density: number[];
}

/** Reconstruction metrics of `sae` over rows x [count, d], in chunks of `chunk` rows. */
export function reconstructionMetrics(sae: Sae, x: Float32Array, count: number, chunk = 1024): ReconstructionMetrics {
  const { d, n } = sae.shape;
  if (x.length !== count * d) throw new Error(`SAE reads width ${d}, but the activations have ${x.length / Math.max(count, 1)} values per token`);
  const mean = new Float64Array(d);
  for (let r = 0; r < count; r++) for (let c = 0; c < d; c++) mean[c] += x[r * d + c];
  for (let c = 0; c < d; c++) mean[c] /= count;
  let err = 0, total = 0, cos = 0, active = 0;
  const fires = new Float64Array(n);
  for (let s = 0; s < count; s += chunk) {
    const B = Math.min(chunk, count - s);
    const xs = x.subarray(s * d, (s + B) * d);
    const z = sae.encode(xs, B);
    const xh = sae.decode(z, B);
    for (let b = 0; b < B; b++) {
      let dot = 0, nx = 0, nh = 0;
      for (let c = 0; c < d; c++) {
        const xv = xs[b * d + c], hv = xh[b * d + c];
        const e = xv - hv, m = xv - mean[c];
        err += e * e;
        total += m * m;
        dot += xv * hv;
        nx += xv * xv;
        nh += hv * hv;
      }
      cos += nx > 0 && nh > 0 ? dot / Math.sqrt(nx * nh) : 0;
      for (let i = 0; i < n; i++) if (z[b * n + i] > 0) {
        fires[i]++;
        active++;
      }
    }
  }
  let deadCount = 0;
  for (let i = 0; i < n; i++) if (fires[i] === 0) deadCount++;
  return {
    tokens: count,
    l0: active / count,
    fvu: total > 0 ? err / total : 0,
    mse: err / (count * d),
    cosine: cos / count,
    dead_fraction: deadCount / n,
    density: Array.from(fires, (f) => f / count),
  };
}

/** Histogram of log10(density) for the live latents, in bins of 0.5 from 10^-6 to 1, plus the dead count. */
export function densityHistogram(density: readonly number[]): { edges: number[]; counts: number[]; dead: number } {
  const edges: number[] = [];
  for (let e = -6; e <= 0; e += 0.5) edges.push(e);
  const counts = new Array<number>(edges.length - 1).fill(0);
  let dead = 0;
  for (const p of density) {
    if (p <= 0) {
      dead++;
      continue;
    }
    const l = dm.log(p) / LN10;
    let bin = Math.floor((l - edges[0]) / 0.5);
    if (bin < 0) bin = 0;
    if (bin >= counts.length) bin = counts.length - 1;
    counts[bin]++;
  }
  return { edges, counts, dead };
}

export interface SpliceMetrics {
  ce_clean: number;
  ce_spliced: number;
  ce_zero_ablation: number;
  ce_score: number;
  kl_spliced: number;
  kl_zero_ablation: number;
  kl_score: number;
  /** Targets the cross-entropy was averaged over. */
  tokens: number;
}

/** A batch with next-token targets; positions whose target is `ignore` are left out. */
export interface ScoredBatch extends TokenBatch {
  targets: Int32Array;
}

/**
 * CE loss score and its KL version: the model run clean, with x̂ spliced in at
 * `hook` (every position), and with the hook zero-ablated.
 */
export function spliceMetrics(model: HookedModel, hook: string, sae: Sae, batches: readonly ScoredBatch[], ignore = -1): SpliceMetrics {
  return spliceMetricsMany(model, hook, [sae], batches, ignore)[0];
}

/**
 * spliceMetrics for several SAEs at one hook: the clean and zero-ablated runs
 * are shared, so each further SAE costs one forward pass, not three. The
 * numbers are the same as one spliceMetrics call per SAE.
 */
export function spliceMetricsMany(model: HookedModel, hook: string, saes: readonly Sae[], batches: readonly ScoredBatch[], ignore = -1): SpliceMetrics[] {
  checkHook(model, hook);
  const accs = saes.map(() => ({ clean: 0, spliced: 0, zero: 0, klS: 0, klZ: 0, count: 0 }));
  noGrad(() => {
    for (const batch of batches) {
      const { d } = hookActivations(model, hook, batch);
      for (const sae of saes) if (d !== sae.shape.d) throw new Error(`the SAE reads width ${sae.shape.d}, but hook "${hook}" has width ${d}`);
      const clean = logSoftmax(model.forward(batch.tokens, batch.B, batch.T)).data;
      const zero = logSoftmax(model.forward(batch.tokens, batch.B, batch.T, { hooks: new Hooks({ replace: { [hook]: (v) => Tensor.zeros(v.shape) } }) })).data;
      const V = clean.length / (batch.B * batch.T);
      // Shared by every SAE: the clean probabilities and each position's KL to the zero-ablated run.
      const pc = new Float64Array(clean.length);
      for (let i = 0; i < clean.length; i++) pc[i] = dm.exp(clean[i]);
      const klZero = new Float64Array(batch.B * batch.T);
      for (let p = 0; p < batch.B * batch.T; p++) {
        const o = p * V;
        let kZ = 0;
        for (let v = 0; v < V; v++) kZ += pc[o + v] * (clean[o + v] - zero[o + v]);
        klZero[p] = kZ;
      }
      saes.forEach((sae, j) => {
        const acc = accs[j];
        const splice = (v: Tensor) => {
          const rows = v.size / d;
          return new Tensor(sae.decode(sae.encode(v.data, rows), rows), v.shape);
        };
        const spliced = logSoftmax(model.forward(batch.tokens, batch.B, batch.T, { hooks: new Hooks({ replace: { [hook]: splice } }) })).data;
        for (let p = 0; p < batch.B * batch.T; p++) {
          const t = batch.targets[p];
          if (t === ignore) continue;
          const o = p * V;
          acc.clean -= clean[o + t];
          acc.spliced -= spliced[o + t];
          acc.zero -= zero[o + t];
          let kS = 0;
          for (let v = 0; v < V; v++) kS += pc[o + v] * (clean[o + v] - spliced[o + v]);
          acc.klS += kS;
          acc.klZ += klZero[p];
          acc.count++;
        }
      });
    }
  });
  return accs.map((acc) => {
    const c = Math.max(acc.count, 1);
    const ce_clean = acc.clean / c, ce_spliced = acc.spliced / c, ce_zero_ablation = acc.zero / c;
    const kl_spliced = acc.klS / c, kl_zero_ablation = acc.klZ / c;
    return {
      ce_clean, ce_spliced, ce_zero_ablation,
      ce_score: (ce_zero_ablation - ce_spliced) / (ce_zero_ablation - ce_clean),
      kl_spliced, kl_zero_ablation,
      kl_score: (kl_zero_ablation - kl_spliced) / kl_zero_ablation,
      tokens: acc.count,
    };
  });
}
