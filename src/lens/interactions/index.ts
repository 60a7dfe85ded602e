// The AND-OR interaction lens (Zhang et al., arXiv 2405.10262; Ren et al.,
// arXiv 2407.19198): evaluate a model's
// scalar output on all 2^n masked inputs, split it into sparse AND and OR
// interactions, and check universal matching on every subset.

import type { HookedModel } from '../../nn/hooks.js';
import { maskedOutputs, type MaskedInput } from './masked-outputs.js';
import { sparsifyAndOr, type SparsifyOptions } from './sparsify.js';
import { reconstruct } from './transforms.js';
import { salientSummary, type SalientSummary } from './analysis.js';

export * from './transforms.js';
export * from './sparsify.js';
export * from './analysis.js';
export * from './masked-outputs.js';

export interface Interactions {
  n: number;
  /** v(S) - v(∅) for every subset (the reference's "-v0" output): v(∅) = 0, v(N) = the full input's gain. */
  v: Float64Array;
  /** The raw output on the empty (all masked) and the full input. */
  vEmpty: number;
  vFull: number;
  iAnd: Float64Array;
  iOr: Float64Array;
  /** The learned noise term: the interactions match v + q exactly; |q| ≤ qBound·|v(N) - v(∅)|. */
  q: Float64Array;
  /** max_S |v̂(S) - (v(S) + q(S))| / |v(N) - v(∅)|: float error only (should be ≤ 1e-4). */
  matchingError: number;
  /** max_S |v̂(S) - v(S)| / |v(N) - v(∅)|: what the noise term costs (≤ qBound by construction). */
  outputError: number;
  l1Start: number;
  l1End: number;
  salient: SalientSummary;
  seconds: { forwards: number; sparsify: number };
}

/** Scale for relative errors: |v(N) - v(∅)|, or 1 when the input has no effect at all. */
function scaleOf(v: Float64Array): number {
  const s = Math.abs(v[v.length - 1]! - v[0]!);
  return s > 0 ? s : 1;
}

/** Interactions of an already evaluated set function (2^n values, bitmask-indexed). */
export function interactionsOfValues(values: Float64Array, sparsify: SparsifyOptions = {}): Omit<Interactions, 'seconds' | 'vEmpty' | 'vFull'> {
  const v0 = values[0]!;
  const v = Float64Array.from(values, (x) => x - v0);
  const split = sparsifyAndOr(v, sparsify);
  const vHat = reconstruct(split.iAnd, split.iOr);
  const scale = scaleOf(v);
  let matching = 0;
  let output = 0;
  for (let s = 0; s < v.length; s++) {
    matching = Math.max(matching, Math.abs(vHat[s]! - (v[s]! + split.q[s]!)));
    output = Math.max(output, Math.abs(vHat[s]! - v[s]!));
  }
  let n = 0;
  while (1 << n < v.length) n++;
  return {
    n, v, iAnd: split.iAnd, iOr: split.iOr, q: split.q,
    matchingError: matching / scale, outputError: output / scale,
    l1Start: split.l1Start, l1End: split.l1End,
    salient: salientSummary(split.iAnd, split.iOr),
  };
}

/** The full lens: masked forwards, then the sparse AND-OR split and its checks. */
export function computeInteractions(model: HookedModel, input: MaskedInput, sparsify: SparsifyOptions = {}): Interactions {
  const t0 = performance.now();
  const values = maskedOutputs(model, input);
  const t1 = performance.now();
  const r = interactionsOfValues(values, sparsify);
  const t2 = performance.now();
  return { ...r, vEmpty: values[0]!, vFull: values[values.length - 1]!, seconds: { forwards: (t1 - t0) / 1000, sparsify: (t2 - t1) / 1000 } };
}
