// v(S) for every subset S of the chosen variables: one forward pass per
// masked input, in batches, without gradients. The lens sees the model only
// through forward() and its hook points.
//
// Masking. A masked variable's token is replaced either by a baseline token,
// or (the default for models with no mask token, like the addition GPT) its
// token embedding is replaced at `hook_embed` by a baseline vector, e.g. the
// mean embedding of the tokens that could stand there. The position embedding
// is untouched, so the model still knows where the hidden variable was.

import { noGrad, Tensor } from '../../engine/tensor.js';
import { exp, log } from '../../engine/detmath.js';
import { Hooks, type HookedModel } from '../../nn/hooks.js';

/**
 * 2^n forwards: 2^16 = 65,536 already takes tens of seconds for a small GPT on
 * 2 cores, and each extra variable doubles the time (and the 2^n-entry transforms).
 */
export const MAX_VARIABLES = 16;

export type Baseline =
  | { kind: 'token'; token: number }
  | { kind: 'hook'; hook: string; vector: Float32Array };

/** The scalar output: log-odds log p/(1-p) of `target` at `position` (default), or its raw logit. */
export interface OutputSpec {
  position: number;
  target: number;
  kind?: 'log-odds' | 'logit';
}

export interface MaskedInput {
  /** One sequence (length T). */
  tokens: Int32Array;
  /** Sequence positions of the n variables; variable i is bit i of a subset mask. */
  variables: readonly number[];
  baseline: Baseline;
  output: OutputSpec;
  /** Masked inputs per forward pass. Default 512. */
  batchSize?: number;
  /**
   * The model is causal (the default): tokens after the output position cannot
   * change the output, so they are not fed at all (shorter, faster forwards).
   */
  causal?: boolean;
}

/** Checks the request against the sequence and the model; throws one clear line on anything wrong. */
export function validateMaskedInput(model: HookedModel, x: MaskedInput): void {
  const T = x.tokens.length;
  const n = x.variables.length;
  if (T < 1) throw new Error('interactions: the input sequence is empty');
  if (n < 1) throw new Error('interactions: no variables chosen (need 1 to 16 token positions)');
  if (n > MAX_VARIABLES) {
    throw new Error(`interactions: ${n} variables is too many; at most ${MAX_VARIABLES}, because every one of the 2^n subsets needs its own forward pass (2^${n} = ${2 ** n})`); // detmath-allow: an exact power of two in an error message
  }
  const seen = new Set<number>();
  x.variables.forEach((p, i) => {
    if (!Number.isInteger(p) || p < 0 || p >= T) throw new Error(`interactions: variable ${i} is at position ${p}, outside the sequence (positions 0..${T - 1})`);
    if (seen.has(p)) throw new Error(`interactions: position ${p} is chosen twice as a variable`);
    seen.add(p);
  });
  const { position, target } = x.output;
  if (!Number.isInteger(position) || position < 0 || position >= T) throw new Error(`interactions: output position ${position} does not exist (the sequence has positions 0..${T - 1})`);
  if (!Number.isInteger(target) || target < 0) throw new Error(`interactions: output target token ${target} is not a token id`);
  if (x.causal !== false) {
    const late = x.variables.find((p) => p > position);
    if (late !== undefined) throw new Error(`interactions: variable at position ${late} comes after the output position ${position}; a causal model's output cannot depend on it`);
  }
  if (x.output.kind !== undefined && x.output.kind !== 'log-odds' && x.output.kind !== 'logit') throw new Error(`interactions: output kind must be 'log-odds' or 'logit', got ${String(x.output.kind)}`);
  if (x.baseline.kind === 'hook' && !model.hookNames().includes(x.baseline.hook)) throw new Error(`interactions: the model has no hook point ${x.baseline.hook}`);
  if (x.batchSize !== undefined && (!Number.isInteger(x.batchSize) || x.batchSize < 1)) throw new Error(`interactions: batch size must be a positive integer, got ${x.batchSize}`);
}

/** log p/(1-p) of row[t] under softmax, as logit_t - logsumexp_{j≠t} logit_j (stable, f64). */
export function logOdds(row: ArrayLike<number>, t: number): number {
  let m = -Infinity;
  for (let j = 0; j < row.length; j++) if (j !== t && row[j]! > m) m = row[j]!;
  let s = 0;
  for (let j = 0; j < row.length; j++) if (j !== t) s += exp(row[j]! - m);
  return row[t]! - (m + log(s));
}

/** v(S) for all 2^n subsets (bitmask-indexed), widened to f64. */
export function maskedOutputs(model: HookedModel, x: MaskedInput): Float64Array {
  validateMaskedInput(model, x);
  const n = x.variables.length;
  const size = 1 << n;
  const T = x.causal === false ? x.tokens.length : x.output.position + 1;
  const B = Math.min(x.batchSize ?? 512, size);
  const out = new Float64Array(size);
  const tokens = new Int32Array(B * T);
  let batchStart = 0;
  let rows = 0;
  const hooks = new Hooks();
  if (x.baseline.kind === 'hook') {
    const vec = x.baseline.vector;
    hooks.add(x.baseline.hook, (value) => {
      if (value.ndim !== 3 || value.shape[0] !== rows || value.shape[1] !== T) throw new Error(`interactions: hook ${x.baseline.kind === 'hook' ? x.baseline.hook : ''} has shape [${value.shape.join(', ')}], expected [${rows}, ${T}, d]`);
      const d = value.shape[2]!;
      if (vec.length !== d) throw new Error(`interactions: baseline vector has ${vec.length} entries, the hook's width is ${d}`);
      const data = Float32Array.from(value.data);
      for (let r = 0; r < rows; r++) {
        const mask = batchStart + r;
        for (let i = 0; i < n; i++) if (!(mask & (1 << i))) data.set(vec, (r * T + x.variables[i]!) * d);
      }
      return new Tensor(data, value.shape);
    });
  }
  const kind = x.output.kind ?? 'log-odds';
  noGrad(() => {
    for (batchStart = 0; batchStart < size; batchStart += B) {
      rows = Math.min(B, size - batchStart);
      const toks = rows === B ? tokens : tokens.subarray(0, rows * T);
      for (let r = 0; r < rows; r++) {
        toks.set(x.tokens.subarray(0, T), r * T);
        if (x.baseline.kind === 'token') {
          const mask = batchStart + r;
          for (let i = 0; i < n; i++) if (!(mask & (1 << i))) toks[r * T + x.variables[i]!] = x.baseline.token;
        }
      }
      const logits = model.forward(toks, rows, T, x.baseline.kind === 'hook' ? { hooks } : {});
      const V = logits.shape[logits.ndim - 1]!;
      if (x.output.target >= V) throw new Error(`interactions: output target token ${x.output.target} is outside the model's vocabulary (0..${V - 1})`);
      for (let r = 0; r < rows; r++) {
        const base = (r * T + x.output.position) * V;
        const row = logits.data.subarray(base, base + V);
        out[batchStart + r] = kind === 'logit' ? row[x.output.target]! : logOdds(row, x.output.target);
      }
    }
  });
  return out;
}

/**
 * The mean of the token embeddings (read at `hook_embed`) of the given tokens:
 * a neutral stand-in for a masked variable when the vocabulary has no mask
 * token, e.g. the mean of the ten digit embeddings for an addition operand.
 */
export function meanEmbedding(model: HookedModel, tokenIds: readonly number[], hook = 'hook_embed'): Float32Array {
  if (tokenIds.length === 0) throw new Error('mean embedding: no tokens given');
  const hooks = new Hooks({ cache: [hook] });
  const toks = Int32Array.from(tokenIds);
  noGrad(() => model.forward(toks, toks.length, 1, { hooks }));
  const e = hooks.cache.get(hook);
  if (!e) throw new Error(`mean embedding: the model has no hook point ${hook}`);
  const d = e.shape[e.ndim - 1]!;
  const out = new Float64Array(d);
  for (let r = 0; r < toks.length; r++) for (let j = 0; j < d; j++) out[j]! += e.data[r * d + j]!;
  return Float32Array.from(out, (s) => s / toks.length);
}
