// The synthetic experiments of Barbero et al. (arXiv 2406.04267, appendix
// C.3 and C.4), with no training:
//
// - C.3: one causal attention layer, d = 64, one head, weights W_Q, W_K, W_V
//   drawn from N(0, σ²) with σ² = 1/d or 1, inputs x_i ~ N(0, I_d), under
//   each position encoding. v = (x_1, …, x_n), v* = (x_1, …, x_n, x_n); the
//   L1 distance between the layer's outputs at the last token of v and v*,
//   against n, over seeds. The paper names both variances; we run both. ALiBi
//   with one head uses the paper's slope formula, 2^-8; RoPE and the
//   sinusoidal table use base 10000.
//   (The layer is attention alone: no residual, no norm, no MLP.)
// - C.4: the total variation between softmax(x) and softmax(x*) for
//   x ~ U[0, 1]^n and x* = x plus U[0, 0.1] noise on its first 200 entries:
//   a fixed perturbation's effect on the attention weights fades as 1/n.

import { Tensor, noGrad } from '../engine/tensor.js';
import { reshape } from '../engine/ops-shape.js';
import { matmul } from '../engine/ops-nn.js';
import { add } from '../engine/ops-elementwise.js';
import { sinusoidalTable } from '../engine/ops-position.js';
import { Rng } from '../engine/rng.js';
import * as dm from '../engine/detmath.js';
import { positionalAttention, type PositionEncoding } from '../nn/pos-gpt.js';

export interface SyntheticConfig {
  d: number;
  /** Sequence lengths n. */
  ns: number[];
  seeds: number[];
  encodings: PositionEncoding[];
  /** Weight variances as multiples: 'inv-d' is 1/d, 'unit' is 1. */
  scales: Array<'inv-d' | 'unit'>;
  /** C.4: lengths n (each at least `tvPerturbed`) and the perturbed prefix. */
  tvNs: number[];
  tvPerturbed: number;
}

export interface SyntheticCurve {
  encoding: PositionEncoding;
  scale: 'inv-d' | 'unit';
  /** [seed][k]: L1 distance at ns[k]. */
  l1: number[][];
  /** Mean over seeds at each n. */
  mean: number[];
}

export interface TvCurve {
  /** [seed][k] at tvNs[k]. */
  tv: number[][];
  mean: number[];
}

export interface SyntheticResult {
  ns: number[];
  curves: SyntheticCurve[];
  tvNs: number[];
  tv: TvCurve;
  seconds: number;
}

/** The one-layer attention's output at the last token of x [T, d] under `pe` (weights [d, d]). */
export function attentionLastToken(x: Tensor, W: { q: Tensor; k: Tensor; v: Tensor }, pe: PositionEncoding): Float32Array {
  const [T, d] = x.shape;
  const input = pe === 'sinusoidal' ? add(x, sinusoidalTable(T, d)) : x;
  const heads = (w: Tensor) => reshape(matmul(input, w), [1, 1, T, d]);
  const { z } = positionalAttention(heads(W.q), heads(W.k), heads(W.v), pe);
  return z.data.slice((T - 1) * d);
}

function l1(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s;
}

/** C.3 for one encoding, weight scale and seed: the L1 distance at each n. */
export function collapseCurve(cfg: Pick<SyntheticConfig, 'd' | 'ns'>, pe: PositionEncoding, scale: 'inv-d' | 'unit', seed: number): number[] {
  const d = cfg.d;
  const nMax = Math.max(...cfg.ns);
  const std = scale === 'inv-d' ? 1 / Math.sqrt(d) : 1;
  const draw = (purpose: string, n: number, s: number) => {
    const rng = Rng.derive(seed, `oversquash/synthetic/${purpose}`);
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = rng.normal() * s;
    return a;
  };
  // Weights depend on the seed and the scale only, the inputs on the seed only: every encoding sees the same draws.
  const W = { q: new Tensor(draw(`W_Q/${scale}`, d * d, std), [d, d]), k: new Tensor(draw(`W_K/${scale}`, d * d, std), [d, d]), v: new Tensor(draw(`W_V/${scale}`, d * d, std), [d, d]) };
  const xs = draw('x', nMax * d, 1);
  return noGrad(() => cfg.ns.map((n) => {
    const v = new Tensor(xs.slice(0, n * d), [n, d]);
    const star = new Float32Array((n + 1) * d);
    star.set(xs.subarray(0, n * d));
    star.set(xs.subarray((n - 1) * d, n * d), n * d);
    return l1(attentionLastToken(v, W, pe), attentionLastToken(new Tensor(star, [n + 1, d]), W, pe));
  }));
}

/** Total variation ½ Σ |p − q| between two softmaxes, in f64. */
export function softmaxTv(x: Float64Array, y: Float64Array): number {
  const sm = (a: Float64Array) => {
    let mx = -Infinity;
    for (const v of a) if (v > mx) mx = v;
    const e = a.map((v) => dm.exp(v - mx));
    let s = 0;
    for (const v of e) s += v;
    return e.map((v) => v / s);
  };
  const p = sm(x);
  const q = sm(y);
  let tv = 0;
  for (let i = 0; i < p.length; i++) tv += Math.abs(p[i] - q[i]);
  return tv / 2;
}

/** C.4 for one seed: TV at each n, the same draws growing with n. */
export function tvCurve(ns: readonly number[], perturbed: number, seed: number): number[] {
  const nMax = Math.max(...ns);
  const rng = Rng.derive(seed, 'oversquash/synthetic/tv');
  const x = new Float64Array(nMax);
  for (let i = 0; i < nMax; i++) x[i] = rng.next();
  const noise = new Float64Array(perturbed);
  for (let i = 0; i < perturbed; i++) noise[i] = rng.next() * 0.1;
  return ns.map((n) => {
    const a = x.slice(0, n);
    const b = a.slice();
    for (let i = 0; i < perturbed; i++) b[i] += noise[i];
    return softmaxTv(a, b);
  });
}

const meanOver = (rows: number[][]): number[] => rows[0].map((_, k) => rows.reduce((s, r) => s + r[k], 0) / rows.length);

export function checkSyntheticConfig(cfg: SyntheticConfig): void {
  if (cfg.d % 2 !== 0 || cfg.d < 2) throw new Error(`oversquash synthetic: d must be even and at least 2 (RoPE rotates pairs), got ${cfg.d}`);
  if (cfg.ns.length === 0 || cfg.ns.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`oversquash synthetic: lengths must be positive integers, got ${cfg.ns.join(', ')}`);
  if (cfg.tvNs.some((n) => n < cfg.tvPerturbed)) throw new Error(`oversquash synthetic: every TV length must be at least the ${cfg.tvPerturbed} perturbed entries, got ${cfg.tvNs.join(', ')}`);
  if (cfg.seeds.length === 0) throw new Error('oversquash synthetic: at least one seed is needed');
}

export function runSynthetic(cfg: SyntheticConfig): SyntheticResult {
  checkSyntheticConfig(cfg);
  const t0 = performance.now();
  const curves: SyntheticCurve[] = [];
  for (const scale of cfg.scales) {
    for (const encoding of cfg.encodings) {
      const l1s = cfg.seeds.map((s) => collapseCurve(cfg, encoding, scale, s));
      curves.push({ encoding, scale, l1: l1s, mean: meanOver(l1s) });
    }
  }
  const tvs = cfg.seeds.map((s) => tvCurve(cfg.tvNs, cfg.tvPerturbed, s));
  return { ns: [...cfg.ns], curves, tvNs: [...cfg.tvNs], tv: { tv: tvs, mean: meanOver(tvs) }, seconds: (performance.now() - t0) / 1000 };
}
