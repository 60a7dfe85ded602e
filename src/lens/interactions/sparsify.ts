// Learning the AND/OR split of v (Zhang et al., arXiv 2405.10262): v_and = ½(v + q) + p and
// v_or = ½(v + q) - p, with p and q chosen to make the interactions sparse,
//   minimise Σ_S |I_and(S)| + Σ_S |I_or(S)|,   |q(S)| ≤ qBound·|v(N) - v(∅)|.
// As in the reference (sjtu-xai-lab/interaction-concept, its "pq" trick with
// the "vN-v0" bound): plain SGD with momentum 0.9 from p = q = 0, the learning
// rate decaying log-linearly from lr to lr/10 over the iterations, q clipped
// into its box before every iteration. Defaults follow its published example
// (lr 1e-5, 10,000 iterations, q bound 0.04). The gradient of the L1 loss is
// pushed back through the transposed transforms, so an iteration costs four
// O(n·2^n) butterflies and no 2^n × 2^n matrix is ever formed.

import { logLinearDecay } from '../../engine/schedule.js';
import { mobiusSubsets, mobiusSupersets, variablesOf } from './transforms.js';
import { sparsifyLoopWasm } from './sparsify-wasm.js';

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

/** Validated options and the q box |q| ≤ bound for v; throws on bad input. */
function prepare(v: Float64Array, opts: SparsifyOptions): { o: Required<SparsifyOptions>; bound: number } {
  const o: Required<SparsifyOptions> = { ...SPARSIFY_DEFAULTS, ...opts };
  validateSparsifyOptions(o);
  const size = v.length;
  variablesOf(size, 'v');
  for (let i = 0; i < size; i++) if (!Number.isFinite(v[i]!)) throw new Error(`sparsify: v(S) is not finite at subset mask ${i} (${v[i]})`);
  return { o, bound: o.qBound * Math.abs(v[size - 1]! - v[0]!) };
}

/** Learning rate of iteration it: log-linear decay from lr to lr/10 (engine/schedule.ts). */
function lrAt(o: Required<SparsifyOptions>, it: number): number {
  return logLinearDecay(o.lr, o.iterations)(it);
}

/** The result from the loop's final state (a = I_and, r = un-negated OR transform). */
function finish(a: Float64Array, r: Float64Array, orEmpty: number, p: Float64Array, q: Float64Array, l1Start: number, o: Required<SparsifyOptions>): SparsifyResult {
  const l1End = l1(a) + (l1(r) - Math.abs(r[0]!)) + Math.abs(orEmpty);
  const iOr = Float64Array.from(r, (x) => -x);
  iOr[0] = orEmpty;
  return { iAnd: Float64Array.from(a), iOr, p, q, l1Start, l1End, options: o };
}

/**
 * The sparse AND-OR split of the set function v (2^n values, bitmask-indexed,
 * f64): the loop of sparsifyAndOrJs run in the wasm kernel, with the same
 * bits (test/lens/interactions-wasm.test.ts checks p, q, I_and, I_or).
 */
export function sparsifyAndOr(v: Float64Array, opts: SparsifyOptions = {}): SparsifyResult {
  const { o, bound } = prepare(v, opts);
  if (v.length < 2) return sparsifyAndOrJs(v, opts);
  const lrs = new Float64Array(Math.max(0, o.iterations - 1));
  for (let it = 0; it < lrs.length; it++) lrs[it] = lrAt(o, it);
  const s = sparsifyLoopWasm(v, lrs, o.iterations, o.momentum, bound);
  return finish(s.a, s.r, s.orEmpty, s.p, s.q, s.l1Start, o);
}

/**
 * The reference implementation in TypeScript (the same split as sparsifyAndOr).
 *
 * One iteration, fused to touch each array as few times as possible:
 *   a = ½(v+q) + p                       → a = Möb(a) = I_and
 *   r[N\S] = ½(v+q)(S) - p(S)           → r = Möb(r), so I_or(S) = -r(S) for S ≠ ∅
 *   a = Möbᵀ(sign a), r = Möbᵀ(-sign r with r(∅) = 0)
 *   ∂L/∂v_and = a,  ∂L/∂v_or(S) = -r(N\S) (+ sign I_or(∅) at S = ∅)
 * which is the gradient orInteractionsTranspose computes, without its copies.
 */
export function sparsifyAndOrJs(v: Float64Array, opts: SparsifyOptions = {}): SparsifyResult {
  const { o, bound } = prepare(v, opts);
  const size = v.length;
  const full = size - 1;
  const p = new Float64Array(size);
  const q = new Float64Array(size);
  const bufP = new Float64Array(size);
  const bufQ = new Float64Array(size);
  const a = new Float64Array(size);
  const r = new Float64Array(size);
  let orEmpty = 0;

  const l1Now = () => l1(a) + (l1(r) - Math.abs(r[0]!)) + Math.abs(orEmpty);
  let l1Start = 0;
  const iters = o.iterations;
  const mu = o.momentum;
  for (let it = 0; it < iters; it++) {
    for (let i = 0; i < size; i++) {
      const qi = q[i]! > bound ? bound : q[i]! < -bound ? -bound : q[i]!;
      q[i] = qi;
      const half = 0.5 * (v[i]! + qi);
      a[i] = half + p[i]!;
      r[full ^ i] = half - p[i]!;
    }
    orEmpty = r[full]!; // v_or(∅)
    mobiusSubsets(a);
    mobiusSubsets(r);
    if (it === 0) l1Start = l1Now();
    if (it + 1 === iters) break;
    for (let i = 0; i < size; i++) {
      const x = a[i]!;
      a[i] = x > 0 ? 1 : x < 0 ? -1 : 0;
      const y = r[i]!;
      r[i] = y > 0 ? -1 : y < 0 ? 1 : 0; // sign of I_or = -r
    }
    r[0] = 0;
    const g0 = orEmpty > 0 ? 1 : orEmpty < 0 ? -1 : 0;
    mobiusSupersets(a);
    mobiusSupersets(r);
    const lr = lrAt(o, it);
    for (let i = 0; i < size; i++) {
      const ga = a[i]!;
      const go = -r[full ^ i]! + (i === 0 ? g0 : 0);
      const bp = mu * bufP[i]! + (ga - go);
      const bq = mu * bufQ[i]! + 0.5 * (ga + go);
      bufP[i] = bp;
      bufQ[i] = bq;
      p[i] = p[i]! - lr * bp;
      q[i] = q[i]! - lr * bq;
    }
  }
  return finish(a, r, orEmpty, p, q, l1Start, o);
}
