// Learning the AND/OR split of v (THEORY.md §3): v_and = ½(v + q) + p and
// v_or = ½(v + q) - p, with p and q chosen to make the interactions sparse,
//   minimise Σ_S |I_and(S)| + Σ_S |I_or(S)|,   |q(S)| ≤ qBound·|v(N) - v(∅)|.
// As in the reference (sjtu-xai-lab/interaction-concept, its "pq" trick with
// the "vN-v0" bound): plain SGD with momentum 0.9 from p = q = 0, the learning
// rate decaying log-linearly from lr to lr/10 over the iterations, q clipped
// into its box before every iteration. Defaults follow its published example
// (lr 1e-5, 10,000 iterations, q bound 0.04). The gradient of the L1 loss is
// pushed back through the transposed transforms, so an iteration costs four
// O(n·2^n) butterflies and no 2^n × 2^n matrix is ever formed.

import { exp } from '../../engine/detmath.js';
import { mobiusSubsets, mobiusSupersets, orInteractions, orInteractionsTranspose, variablesOf } from './transforms.js';

export interface SparsifyOptions {
  /** Initial learning rate (decays to lr/10). Default 1e-5. */
  lr?: number;
  /** SGD iterations. Default 10,000. */
  iterations?: number;
  /** Momentum. Default 0.9. */
  momentum?: number;
  /** |q| ≤ qBound·|v(N) - v(∅)|. Default 0.04; 0 disables q. */
  qBound?: number;
}

export const SPARSIFY_DEFAULTS: Required<SparsifyOptions> = { lr: 1e-5, iterations: 10_000, momentum: 0.9, qBound: 0.04 };

export interface SparsifyResult {
  iAnd: Float64Array;
  iOr: Float64Array;
  p: Float64Array;
  q: Float64Array;
  /** Σ|I_and| + Σ|I_or| before the first step (p = q = 0) and at the end. */
  l1Start: number;
  l1End: number;
  options: Required<SparsifyOptions>;
}

const LN10 = 2.302585092994046;

export function validateSparsifyOptions(o: Required<SparsifyOptions>): void {
  if (!(o.lr > 0 && Number.isFinite(o.lr))) throw new Error(`sparsify: lr must be a positive number, got ${o.lr}`);
  if (!Number.isInteger(o.iterations) || o.iterations < 1) throw new Error(`sparsify: iterations must be a positive integer, got ${o.iterations}`);
  if (!(o.momentum >= 0 && o.momentum < 1)) throw new Error(`sparsify: momentum must be in [0, 1), got ${o.momentum}`);
  if (!(o.qBound >= 0 && Number.isFinite(o.qBound))) throw new Error(`sparsify: qBound must be a non-negative number, got ${o.qBound}`);
}

/** Σ|x|, in index order. */
function l1(x: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.abs(x[i]!);
  return s;
}

/** sign(x) into out (0 at 0, like the L1 subgradient PyTorch uses). */
function signInto(x: Float64Array, out: Float64Array): Float64Array {
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    out[i] = v > 0 ? 1 : v < 0 ? -1 : 0;
  }
  return out;
}

/** The sparse AND-OR split of the set function v (2^n values, bitmask-indexed, f64). */
export function sparsifyAndOr(v: Float64Array, opts: SparsifyOptions = {}): SparsifyResult {
  const o: Required<SparsifyOptions> = { ...SPARSIFY_DEFAULTS, ...opts };
  validateSparsifyOptions(o);
  const size = v.length;
  variablesOf(size, 'v');
  for (let i = 0; i < size; i++) if (!Number.isFinite(v[i]!)) throw new Error(`sparsify: v(S) is not finite at subset mask ${i} (${v[i]})`);
  const bound = o.qBound * Math.abs(v[size - 1]! - v[0]!);
  const p = new Float64Array(size);
  const q = new Float64Array(size);
  const bufP = new Float64Array(size);
  const bufQ = new Float64Array(size);
  const iAnd = new Float64Array(size);
  const vOr = new Float64Array(size);
  const iOr = new Float64Array(size);
  const sAnd = new Float64Array(size);
  const sOr = new Float64Array(size);
  const gOr = new Float64Array(size);
  const scratch = new Float64Array(size);

  const interactions = () => {
    for (let i = 0; i < size; i++) {
      const half = 0.5 * (v[i]! + q[i]!);
      iAnd[i] = half + p[i]!;
      vOr[i] = half - p[i]!;
    }
    mobiusSubsets(iAnd);
    orInteractions(vOr, iOr);
  };

  let l1Start = 0;
  const iters = o.iterations;
  for (let it = 0; it < iters; it++) {
    for (let i = 0; i < size; i++) q[i] = q[i]! > bound ? bound : q[i]! < -bound ? -bound : q[i]!;
    interactions();
    if (it === 0) l1Start = l1(iAnd) + l1(iOr);
    if (it + 1 === iters) break;
    // d/dv_and = Aᵀ sign(I_and); d/dv_or = Oᵀ sign(I_or); p enters as +/-, q as ½ in both.
    mobiusSupersets(signInto(iAnd, sAnd));
    orInteractionsTranspose(signInto(iOr, sOr), scratch, gOr);
    const lr = iters > 1 ? o.lr * exp((-it / (iters - 1)) * LN10) : o.lr;
    const mu = o.momentum;
    for (let i = 0; i < size; i++) {
      const ga = sAnd[i]!;
      const go = gOr[i]!;
      bufP[i] = mu * bufP[i]! + (ga - go);
      bufQ[i] = mu * bufQ[i]! + 0.5 * (ga + go);
      p[i]! -= lr * bufP[i]!;
      q[i]! -= lr * bufQ[i]!;
    }
  }
  return { iAnd: Float64Array.from(iAnd), iOr: Float64Array.from(iOr), p, q, l1Start, l1End: l1(iAnd) + l1(iOr), options: o };
}
