// Reading a set of AND-OR interactions (Zhang et al., arXiv 2405.10262): which are salient, how
// their strength spreads over orders, and whether the interactions of
// training samples are the ones test samples use (Jaccard per order).
// Only non-empty S count as interactions; order = |S|.

import { popcounts, variablesOf } from './transforms.js';

/** Default salience threshold: |I| > 0.05·max|I|. */
export const SALIENT_RATIO = 0.05;

export interface OrderStrength {
  /** Index k-1 holds order k, k = 1..n: summed strength of positive / |negative| salient interactions. */
  pos: number[];
  neg: number[];
}

export interface SalientInteraction {
  kind: 'and' | 'or';
  /** Bitmask over the variables. */
  mask: number;
  /** Variable indices in the set (0-based, into the variable list). */
  set: number[];
  order: number;
  value: number;
}

export interface SalientSummary {
  threshold: number;
  maxAbs: number;
  /** Salient interactions (AND and OR) and their share of all 2·(2^n - 1) non-empty ones. */
  count: number;
  share: number;
  strength: OrderStrength;
  /** The same split by kind. */
  and: OrderStrength;
  or: OrderStrength;
}

function checkPair(iAnd: Float64Array, iOr: Float64Array): number {
  const n = variablesOf(iAnd.length, 'I_and');
  if (iOr.length !== iAnd.length) throw new Error(`I_or has ${iOr.length} entries, I_and ${iAnd.length}`);
  return n;
}

/** Largest |I| over the non-empty AND and OR interactions. */
export function maxAbsInteraction(iAnd: Float64Array, iOr: Float64Array): number {
  let m = 0;
  for (let s = 1; s < iAnd.length; s++) m = Math.max(m, Math.abs(iAnd[s]!), Math.abs(iOr[s]!));
  return m;
}

/** Salient interactions (|I| > ratio·max|I|) counted and summed per order and sign. */
export function salientSummary(iAnd: Float64Array, iOr: Float64Array, ratio = SALIENT_RATIO): SalientSummary {
  const n = checkPair(iAnd, iOr);
  if (!(ratio >= 0 && ratio < 1)) throw new Error(`salient ratio must be in [0, 1), got ${ratio}`);
  const pc = popcounts(n);
  const maxAbs = maxAbsInteraction(iAnd, iOr);
  const threshold = ratio * maxAbs;
  const zero = (): OrderStrength => ({ pos: new Array(n).fill(0), neg: new Array(n).fill(0) });
  const both = zero();
  const byKind = { and: zero(), or: zero() };
  let count = 0;
  for (const [kind, arr] of [['and', iAnd], ['or', iOr]] as const) {
    for (let s = 1; s < arr.length; s++) {
      const x = arr[s]!;
      if (!(Math.abs(x) > threshold)) continue;
      count++;
      const k = pc[s]! - 1;
      if (x > 0) {
        both.pos[k]! += x;
        byKind[kind].pos[k]! += x;
      } else {
        both.neg[k]! -= x;
        byKind[kind].neg[k]! -= x;
      }
    }
  }
  return { threshold, maxAbs, count, share: count / (2 * (iAnd.length - 1)), strength: both, and: byKind.and, or: byKind.or };
}

/** The salient interactions themselves, strongest first (ties: AND before OR, then by mask). */
export function salientInteractions(iAnd: Float64Array, iOr: Float64Array, ratio = SALIENT_RATIO): SalientInteraction[] {
  const n = checkPair(iAnd, iOr);
  const pc = popcounts(n);
  const threshold = ratio * maxAbsInteraction(iAnd, iOr);
  const out: SalientInteraction[] = [];
  for (const [kind, arr] of [['and', iAnd], ['or', iOr]] as const) {
    for (let s = 1; s < arr.length; s++) {
      const value = arr[s]!;
      if (!(Math.abs(value) > threshold)) continue;
      const set: number[] = [];
      for (let i = 0; i < n; i++) if (s & (1 << i)) set.push(i);
      out.push({ kind, mask: s, set, order: pc[s]!, value });
    }
  }
  return out.sort((a, b) => Math.abs(b.value) - Math.abs(a.value) || (a.kind === b.kind ? a.mask - b.mask : a.kind === 'and' ? -1 : 1));
}

/** Element-wise mean of equally long interaction vectors. */
export function meanVector(vectors: readonly Float64Array[]): Float64Array {
  if (vectors.length === 0) throw new Error('mean of interaction vectors: no samples');
  const out = new Float64Array(vectors[0]!.length);
  for (const v of vectors) {
    if (v.length !== out.length) throw new Error(`mean of interaction vectors: lengths differ (${v.length} vs ${out.length})`);
    for (let i = 0; i < v.length; i++) out[i]! += v[i]!;
  }
  for (let i = 0; i < out.length; i++) out[i]! /= vectors.length;
  return out;
}

/**
 * Jaccard similarity of two real vectors made non-negative by splitting each
 * entry x into (max(x, 0), max(-x, 0)): Σ min / Σ max over the split entries.
 * 1 for identical vectors; 0 when their supports (with signs) do not overlap;
 * defined as 1 when both are zero.
 */
export function jaccardSigned(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`jaccard: vectors differ in length (${a.length} vs ${b.length})`);
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    const xp = x > 0 ? x : 0;
    const xn = x < 0 ? -x : 0;
    const yp = y > 0 ? y : 0;
    const yn = y < 0 ? -y : 0;
    lo += Math.min(xp, yp) + Math.min(xn, yn);
    hi += Math.max(xp, yp) + Math.max(xn, yn);
  }
  return hi === 0 ? 1 : lo / hi;
}

/**
 * Generalisation per order k = 1..n: the Jaccard similarity between the mean
 * order-k interactions (AND and OR side by side) of training samples and of
 * test samples. The variables must mean the same thing in every sample.
 */
export function jaccardPerOrder(train: ReadonlyArray<{ iAnd: Float64Array; iOr: Float64Array }>, test: ReadonlyArray<{ iAnd: Float64Array; iOr: Float64Array }>): number[] {
  if (train.length === 0 || test.length === 0) throw new Error('jaccard per order: needs at least one training and one test sample');
  const n = checkPair(train[0]!.iAnd, train[0]!.iOr);
  const size = 1 << n;
  const stack = (xs: typeof train) => meanVector(xs.map((x) => {
    checkPair(x.iAnd, x.iOr);
    const v = new Float64Array(2 * size);
    v.set(x.iAnd, 0);
    v.set(x.iOr, size);
    return v;
  }));
  const mTrain = stack(train);
  const mTest = stack(test);
  const pc = popcounts(n);
  const out: number[] = [];
  for (let k = 1; k <= n; k++) {
    const a: number[] = [];
    const b: number[] = [];
    for (let s = 1; s < size; s++) {
      if (pc[s] !== k) continue;
      a.push(mTrain[s]!, mTrain[size + s]!);
      b.push(mTest[s]!, mTest[size + s]!);
    }
    out.push(jaccardSigned(a, b));
  }
  return out;
}
