// The attention lens: how concentrated each head's attention is, read through
// `blocks.{i}.attn.hook_pattern` alone, so it works on any model that names its
// attention pattern the TransformerLens way (GPT, CRATE, ViT, the byte LM).
//
// Over a series of checkpoints it gives the entropy curve and a "snap" step:
// Tian et al., "Scan and Snap" (arXiv 2305.16380), find that one attention
// layer first scans (its entropy falls as attention leaves common tokens) and
// then snaps: a phase transition after which the attention barely moves. We
// detect the snap as the step after which the entropy's smoothed, relative
// rate of change stays below a threshold (see `detectSnap`).

import { Hooks, type HasHookPoints } from '../../nn/hooks.js';
import type { Tensor } from '../../engine/tensor.js';
import { log } from '../../engine/detmath.js';

const PATTERN = /^blocks\.(\d+)\.attn\.hook_pattern$/;

/** The model's `blocks.{i}.attn.hook_pattern` names in layer order; a clear error when it has none. */
export function patternHookNames(model: HasHookPoints): string[] {
  const names = model.hookNames().filter((n) => PATTERN.test(n));
  if (names.length === 0) {
    const some = model.hookNames().slice(0, 8).join(', ');
    throw new Error(`attention lens: the model has no blocks.{i}.attn.hook_pattern hook point (its hooks: ${some || 'none'}${model.hookNames().length > 8 ? ', …' : ''})`);
  }
  return names.sort((a, b) => Number(PATTERN.exec(a)![1]) - Number(PATTERN.exec(b)![1]));
}

/** Runs `forward` once with every pattern hook cached; returns the patterns [B, H, T, S] by layer. */
export function capturePatterns(model: HasHookPoints, forward: (hooks: Hooks) => unknown): Tensor[] {
  const names = patternHookNames(model);
  const hooks = new Hooks({ cache: names });
  forward(hooks);
  return names.map((n) => {
    const t = hooks.cache.get(n);
    if (!t) throw new Error(`attention lens: the forward pass did not reach ${n}`);
    if (t.ndim !== 4) throw new Error(`attention lens: ${n} has shape [${t.shape.join(', ')}], expected [batch, heads, queries, keys]`);
    return t;
  });
}

/** Named groups of key positions: group g holds key k of example b when groups[g].has(b, k). */
export interface TokenGroup {
  name: string;
  has: (b: number, key: number) => boolean;
}

export interface AttentionStats {
  layer: number;
  heads: number;
  queries: number;
  keys: number;
  /** entropy[h][q]: nats, averaged over the batch. */
  entropy: number[][];
  /** topkMass[h][q]: the mass on the k largest keys, averaged over the batch. */
  topkMass: number[][];
  /** groupMass[g][h][q]: mass on group g, averaged over the batch. */
  groupMass: Record<string, number[][]>;
  /** Per head: the entropy averaged over queries (and batch). */
  headEntropy: number[];
}

/** Entropy (nats) of a probability row; zeros contribute nothing (0·log 0 = 0). Fixed left-to-right order. */
export function rowEntropy(p: ArrayLike<number>, from = 0, to = p.length): number {
  let h = 0;
  for (let i = from; i < to; i++) {
    const v = p[i];
    if (v > 0) h -= v * log(v);
  }
  return h;
}

/** Sum of the k largest entries of p[from, to). */
function topMass(p: ArrayLike<number>, from: number, to: number, k: number): number {
  const vals = Array.from({ length: to - from }, (_, i) => p[from + i]).sort((a, b) => b - a);
  let s = 0;
  for (let i = 0; i < Math.min(k, vals.length); i++) s += vals[i];
  return s;
}

/** Per-head, per-query statistics of one layer's pattern [B, H, T, S]. */
export function patternStats(pattern: Tensor, layer: number, opts: { k?: number; groups?: TokenGroup[]; queries?: number[] } = {}): AttentionStats {
  const [B, H, T, S] = pattern.shape;
  const k = opts.k ?? 1;
  const groups = opts.groups ?? [];
  const d = pattern.data;
  const entropy: number[][] = [];
  const topkMass: number[][] = [];
  const groupMass: Record<string, number[][]> = {};
  for (const g of groups) groupMass[g.name] = [];
  const headEntropy: number[] = [];
  for (let h = 0; h < H; h++) {
    const eh: number[] = [];
    const th: number[] = [];
    const gh = groups.map(() => [] as number[]);
    for (let q = 0; q < T; q++) {
      let e = 0;
      let t = 0;
      const gm = groups.map(() => 0);
      for (let b = 0; b < B; b++) {
        const off = ((b * H + h) * T + q) * S;
        e += rowEntropy(d, off, off + S);
        t += topMass(d, off, off + S, k);
        for (let g = 0; g < groups.length; g++) {
          let m = 0;
          for (let s = 0; s < S; s++) if (groups[g].has(b, s)) m += d[off + s];
          gm[g] += m;
        }
      }
      eh.push(e / B);
      th.push(t / B);
      for (let g = 0; g < groups.length; g++) gh[g].push(gm[g] / B);
    }
    entropy.push(eh);
    topkMass.push(th);
    groups.forEach((g, i) => groupMass[g.name].push(gh[i]));
    const qs = opts.queries ?? eh.map((_, i) => i);
    headEntropy.push(qs.reduce((a, q) => a + eh[q], 0) / qs.length);
  }
  return { layer, heads: H, queries: T, keys: S, entropy, topkMass, groupMass, headEntropy };
}

/** The lens on one model state: statistics of every layer's pattern for one forward pass. */
export function attentionLens(model: HasHookPoints, forward: (hooks: Hooks) => unknown, opts: { k?: number; groups?: TokenGroup[]; queries?: number[] } = {}): AttentionStats[] {
  return capturePatterns(model, forward).map((p, i) => patternStats(p, i, opts));
}

// ------------------------------------------------------------ checkpoint series

/** One checkpoint of a series: its training step and the configuration it was trained under. */
export interface SeriesPoint {
  step: number;
  config: unknown;
}

/** Canonical JSON (sorted keys), so two equal configs compare equal whatever their key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v as object).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

/**
 * Checks that a series is one training run sampled evenly: strictly increasing
 * steps, one spacing (the last checkpoint may come early, as a run's final one
 * does), and one configuration. A snap step read off a series with holes or
 * from two different runs would be meaningless, so these are errors.
 */
export function checkSeries(points: SeriesPoint[]): { every: number } {
  if (points.length < 2) throw new Error(`attention lens: a checkpoint series needs at least 2 checkpoints, got ${points.length}`);
  const c0 = canonical(points[0].config);
  for (let i = 1; i < points.length; i++) {
    if (canonical(points[i].config) !== c0) throw new Error(`attention lens: checkpoint at step ${points[i].step} was trained under a different config than the one at step ${points[0].step}: a series must be one run`);
  }
  for (let i = 0; i < points.length; i++) {
    if (!Number.isInteger(points[i].step) || points[i].step < 0) throw new Error(`attention lens: checkpoint ${i} has step ${points[i].step}; steps must be integers ≥ 0`);
    if (i > 0 && points[i].step <= points[i - 1].step) throw new Error(`attention lens: checkpoint steps must increase; step ${points[i].step} follows ${points[i - 1].step}`);
  }
  const every = points[1].step - points[0].step;
  for (let i = 2; i < points.length; i++) {
    const gap = points[i].step - points[i - 1].step;
    const last = i === points.length - 1;
    if (gap > every) throw new Error(`attention lens: checkpoint series has a gap: steps ${points[i - 1].step} → ${points[i].step}, but checkpoints are every ${every} steps`);
    if (gap < every && !last) throw new Error(`attention lens: checkpoint series is unevenly spaced: steps ${points[i - 1].step} → ${points[i].step}, but checkpoints are every ${every} steps`);
  }
  return { every };
}

// ----------------------------------------------------------------- snap rule

export interface SnapOptions {
  /** The snap threshold τ on the relative rate (see detectSnap). */
  threshold?: number;
  /** Half-width, in points, of the local least-squares slope window; 0 = automatic, max(2, round((n−1)/12)). */
  halfWindow?: number;
  /** A curve whose entropy never falls by this share of its start has no snap (nothing to freeze). */
  minDrop?: number;
}

/**
 * The defaults: τ = 0.2, an automatic window (17 points on a 101-point
 * curve), a 2% minimum drop. Chosen on synthetic curves (test/lens/attention):
 * narrower windows or τ = 0.1 let noise of 1.4% of the fall keep a plateau
 * "moving" forever; with these a sigmoid drop of width w snaps about 6w after
 * its centre, noisy or not. The 2% minimum drop keeps the Figure 6 runs whose
 * entropy falls only 0.08 nats from 2.13 (K = 1, η_Y/η_Z = 10).
 */
export const SNAP_DEFAULTS: Required<SnapOptions> = { threshold: 0.2, halfWindow: 0, minDrop: 0.02 };

export interface SnapResult {
  /** The snap step, or null when the curve never fell (minDrop) or never settled. */
  step: number | null;
  /** Index into the curve of the snap step (null with step). */
  index: number | null;
  /** The relative rate at every point. */
  rate: number[];
  /** Why there is no snap, when there is none. */
  reason?: 'no-drop' | 'never-settles';
}

/**
 * The snap rule. For an entropy curve e at steps s:
 * - the local slope at point i is the least-squares slope of e over the
 *   points i−w..i+w (clipped at the ends), which smooths step-to-step noise
 *   (w defaults to a twelfth of the curve, at least 2);
 * - the relative rate is r_i = |slope_i| · (s_last − s_first) / D, where D is
 *   the curve's total fall, max(e) − e_last: r = 1 is a rate that would cover
 *   the whole fall once over the whole run;
 * - the snap is the first step s_i such that r_j < τ for every j ≥ i, provided
 *   the curve fell at all (D ≥ minDrop · e_0) and at least the last 3 points
 *   are settled; otherwise there is no snap.
 * Normalising by the fall rather than by the entropy makes the rule the same
 * for a drop of 0.3 nats and one of 2 nats.
 */
export function detectSnap(steps: number[], entropy: number[], opts: SnapOptions = {}): SnapResult {
  const { threshold, minDrop } = { ...SNAP_DEFAULTS, ...opts };
  const n = entropy.length;
  const halfWindow = opts.halfWindow || Math.max(2, Math.round((n - 1) / 12));
  if (steps.length !== n) throw new Error(`detectSnap: ${steps.length} steps but ${n} entropies`);
  if (n < 3) throw new Error(`detectSnap: need at least 3 points, got ${n}`);
  for (let i = 1; i < n; i++) if (!(steps[i] > steps[i - 1])) throw new Error('detectSnap: steps must increase');
  let hi = -Infinity;
  for (const e of entropy) hi = Math.max(hi, e);
  const fall = hi - entropy[n - 1];
  const span = steps[n - 1] - steps[0];
  const rate: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = Math.max(0, i - halfWindow);
    const b = Math.min(n - 1, i + halfWindow);
    let sx = 0;
    let sy = 0;
    for (let j = a; j <= b; j++) {
      sx += steps[j];
      sy += entropy[j];
    }
    const m = b - a + 1;
    const mx = sx / m;
    const my = sy / m;
    let sxy = 0;
    let sxx = 0;
    for (let j = a; j <= b; j++) {
      sxy += (steps[j] - mx) * (entropy[j] - my);
      sxx += (steps[j] - mx) * (steps[j] - mx);
    }
    const slope = sxy / sxx;
    rate.push(fall > 0 ? (Math.abs(slope) * span) / fall : Infinity);
  }
  if (!(fall >= minDrop * Math.abs(entropy[0])) || fall <= 0) return { step: null, index: null, rate, reason: 'no-drop' };
  let idx = n;
  while (idx > 0 && rate[idx - 1] < threshold) idx--;
  // A "snap" on the last point or two is no evidence of freezing: demand a settled stretch of at least 3 points.
  if (idx > n - 3) return { step: null, index: null, rate, reason: 'never-settles' };
  return { step: steps[idx], index: idx, rate };
}

/** One head's entropy over a checkpoint series, with its snap. */
export interface HeadCurve {
  layer: number;
  head: number;
  entropy: number[];
  snap: SnapResult;
}

/**
 * The lens over a checkpoint series: checks the series, runs `statsAt` on
 * each checkpoint (the caller loads the weights and runs the lens), and
 * returns every head's entropy curve with its snap step.
 */
export function seriesCurves(points: SeriesPoint[], statsAt: (i: number) => AttentionStats[], opts: SnapOptions = {}): { steps: number[]; heads: HeadCurve[] } {
  checkSeries(points);
  const steps = points.map((p) => p.step);
  const per = points.map((_, i) => statsAt(i));
  const heads: HeadCurve[] = [];
  const shape = per[0].map((l) => l.heads);
  per.forEach((stats, i) => {
    if (stats.length !== shape.length || stats.some((l, j) => l.heads !== shape[j])) throw new Error(`attention lens: checkpoint at step ${steps[i]} has a different layer/head layout than the first`);
  });
  for (let l = 0; l < shape.length; l++) {
    for (let h = 0; h < shape[l]; h++) {
      const e = per.map((s) => s[l].headEntropy[h]);
      heads.push({ layer: l, head: h, entropy: e, snap: detectSnap(steps, e, opts) });
    }
  }
  return { steps, heads };
}
