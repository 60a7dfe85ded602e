// The over-squashing lens (Barbero et al., "Transformers need glasses!
// Information over-squashing in language tasks", arXiv 2406.04267).
//
// - Representational collapse: for a family of sequence pairs (v_n, v*_n),
//   v* being v with its last token repeated, the distance between the last
//   token's residual stream after each block for v and for v*, ‖·‖_∞ and
//   ‖·‖₁, as n grows, with every op's output rounded to fp32, bf16 or fp16
//   (the engine's precision mode). The paper's Theorem 4.2: with a position
//   encoding that decays with distance the two converge; at low precision
//   they become the same number.
// - The collapse length: the smallest n of the grid from which the two are
//   bit-identical at every larger n measured (or none up to the largest n).
// - Influence by position: ‖∂h_L(last)/∂e_i‖_F, the Frobenius norm of the
//   Jacobian of the last token's final representation with respect to the
//   embedding at position i (exact: one backward pass per output coordinate).
//   The paper's §5 argues early tokens have more paths to the last one.
//
// The lens reads a model only through its hook points: `hook_embed` and
// `blocks.{i}.hook_resid_post`.

import { Tensor, noGrad } from '../engine/tensor.js';
import { withPrecision, parsePrecision, type Precision } from '../engine/precision.js';
import { Hooks, type HookedModel } from '../nn/hooks.js';

export interface SequencePair {
  v: Int32Array;
  vStar: Int32Array;
}

/** A family of pairs indexed by n (what n counts is the family's: digits, ones, tokens). */
export interface PairFamily {
  name: string;
  pair(n: number): SequencePair;
  /** Tokens v* may add beyond v besides the one repeated token (a comma that a new digit brings). */
  separators?: readonly number[];
}

/**
 * Checks that v* is v followed by exactly one repetition of v's last
 * non-separator token (plus separators): the only difference the collapse
 * theorem is about. Throws naming the family, n and the first difference.
 */
export function checkPair(family: string, n: number, p: SequencePair, separators: readonly number[] = []): void {
  const { v, vStar } = p;
  const where = `family ${family} at n = ${n}`;
  if (v.length < 1) throw new Error(`${where}: v is empty`);
  for (let i = 0; i < v.length; i++) {
    if (i >= vStar.length || vStar[i] !== v[i]) {
      throw new Error(`${where}: the pair differs in more than the repeated last token: v* is not v followed by more tokens (first difference at position ${i}: ${v[i]} in v, ${i < vStar.length ? vStar[i] : 'nothing'} in v*)`);
    }
  }
  const sep = new Set(separators);
  const added = Array.from(vStar.subarray(v.length));
  const content = added.filter((t) => !sep.has(t));
  let last = -1;
  for (let i = v.length - 1; i >= 0; i--) if (!sep.has(v[i])) { last = v[i]; break; }
  if (content.length !== 1 || content[0] !== last) {
    throw new Error(`${where}: the pair differs in more than the repeated last token: v* adds [${added.join(', ')}] to v, expected one more ${last}${sep.size ? ` (and separators ${[...sep].join(', ')})` : ''}`);
  }
}

export interface PrecisionCurve {
  precision: Precision;
  /** [layer][k]: ‖h(v_n) − h(v*_n)‖_∞ of the last token after block `layer`, at ns[k]. */
  linf: number[][];
  l1: number[][];
  /** [layer][k]: whether the two vectors are the same bits. */
  identical: boolean[][];
  /** Per layer: the collapse length, or null for none up to the largest n. */
  collapse: Array<number | null>;
}

export interface FamilyDistances {
  family: string;
  ns: number[];
  /** Hook names read, one per layer. */
  layers: string[];
  curves: PrecisionCurve[];
}

/** The smallest ns[k] from which every later entry is identical; null when the last one is not. */
export function collapseLength(ns: readonly number[], identical: readonly boolean[]): number | null {
  let k = ns.length;
  while (k > 0 && identical[k - 1]) k--;
  return k === ns.length ? null : ns[k];
}

/** The residual-stream hooks after each block, in layer order; the error lists what the model offers. */
export function residPostHooks(model: HookedModel): string[] {
  const names = model.hookNames().filter((n) => /^blocks\.\d+\.hook_resid_post$/.test(n));
  if (names.length === 0) throw new Error(`oversquash lens: the model has no blocks.{i}.hook_resid_post; it offers ${model.hookNames().join(', ')}`);
  return names;
}

function lastRow(t: Tensor): Float32Array {
  const d = t.dim(-1);
  return t.data.slice(t.size - d);
}

/** The last token's representation after each block, at a precision. */
export function lastTokenStates(model: HookedModel, tokens: Int32Array, precision: Precision, layers: string[]): Float32Array[] {
  return noGrad(() => withPrecision(precision, () => {
    const hooks = new Hooks({ cache: layers });
    model.forward(tokens, 1, tokens.length, { hooks });
    return layers.map((n) => lastRow(hooks.cache.get(n)!));
  }));
}

export interface DistanceOptions {
  precisions: readonly string[];
  /** The model's context in tokens: every v* must fit. */
  contextLength: number;
}

/** Distances between the last-token states of v_n and v*_n for each n, layer and precision. */
export function lastTokenDistances(model: HookedModel, family: PairFamily, ns: readonly number[], opts: DistanceOptions): FamilyDistances {
  const precisions = opts.precisions.map(parsePrecision);
  if (ns.length === 0) throw new Error(`family ${family.name}: no lengths to measure`);
  const pairs = ns.map((n) => {
    const p = family.pair(n);
    checkPair(family.name, n, p, family.separators);
    if (p.vStar.length > opts.contextLength) {
      throw new Error(`family ${family.name}: n = ${n} needs ${p.vStar.length} tokens for v*, beyond the model's context of ${opts.contextLength}`);
    }
    return p;
  });
  const layers = residPostHooks(model);
  const curves = precisions.map((precision): PrecisionCurve => {
    const L = layers.length;
    const linf = layers.map(() => [] as number[]);
    const l1 = layers.map(() => [] as number[]);
    const identical = layers.map(() => [] as boolean[]);
    for (const p of pairs) {
      const a = lastTokenStates(model, p.v, precision, layers);
      const b = lastTokenStates(model, p.vStar, precision, layers);
      for (let l = 0; l < L; l++) {
        const d = vectorDistance(a[l], b[l]);
        linf[l].push(d.linf);
        l1[l].push(d.l1);
        identical[l].push(d.identical);
      }
    }
    return { precision, linf, l1, identical, collapse: identical.map((id) => collapseLength(ns, id)) };
  });
  return { family: family.name, ns: [...ns], layers, curves };
}

/** ‖a − b‖_∞ and ‖a − b‖₁ in f64, and whether a and b are the same bits. */
export function vectorDistance(a: Float32Array, b: Float32Array): { linf: number; l1: number; identical: boolean } {
  if (a.length !== b.length) throw new Error(`vectorDistance: lengths ${a.length} and ${b.length} differ`);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let linf = 0;
  let l1 = 0;
  let identical = true;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d > linf || d !== d) linf = d !== d ? Infinity : d;
    l1 += d;
    if (ua[i] !== ub[i]) identical = false;
  }
  return { linf, l1, identical };
}

/**
 * ‖∂h_L(last)/∂e_i‖_F for every position i of `tokens`, at fp32: h_L is the
 * residual stream after the last block, e_i the token embedding at i. One
 * forward and backward per coordinate of h_L; the model's parameters are
 * kept out of the graph (and their gradients untouched).
 */
export function influenceByPosition(model: HookedModel & { parameters(): Tensor[] }, tokens: Int32Array): number[] {
  if (!model.hookNames().includes('hook_embed')) throw new Error(`oversquash influence: the model has no hook_embed; it offers ${model.hookNames().join(', ')}`);
  const target = residPostHooks(model).at(-1)!;
  const T = tokens.length;
  const params = model.parameters();
  const saved = params.map((p) => p.requiresGrad);
  for (const p of params) p.requiresGrad = false;
  try {
    const sq = new Float64Array(T);
    let d = -1;
    for (let j = 0; d < 0 || j < d; j++) {
      let leaf: Tensor | null = null;
      const hooks = new Hooks({
        cache: [target],
        replace: { hook_embed: (e) => (leaf = Tensor.param(new Float32Array(e.data), e.shape)) },
      });
      model.forward(tokens, 1, T, { hooks });
      const h = hooks.cache.get(target)!;
      d = h.dim(-1);
      const seed = new Float32Array(h.size);
      seed[h.size - d + j] = 1;
      h.backward(seed);
      const g = (leaf as Tensor | null)?.grad;
      if (!g) throw new Error('oversquash influence: no gradient reached hook_embed');
      for (let i = 0; i < T; i++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += g[i * d + c] * g[i * d + c];
        sq[i] += s;
      }
    }
    return Array.from(sq, Math.sqrt);
  } finally {
    params.forEach((p, i) => (p.requiresGrad = saved[i]));
  }
}
