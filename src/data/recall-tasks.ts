// Synthetic recall tasks for recurrent language models.
//
// MQAR, multi-query associative recall, as HazyResearch's zoology generates
// it (Arora, Eyuboglu et al., "Zoology", arXiv 2312.04927): keys from the lower
// half of the vocabulary, values from the upper half, the key-value block
// first (repeated `passes` times: JRT-Prompt, Arora et al., "Just read twice",
// arXiv 2407.05483), then each key queried once at a gap drawn from the power
// law p(g) ∝ a·g^(a−1); every other position holds a random token, and only a
// query position carries a label (its key's value).
//
// Set disjointness (the JRT paper's §3): `[1] A [2] B [3]`, where A and B are
// drawn from two halves of the vocabulary and one element of B is replaced by
// an element t of A; the label at the `[3]` position is t.
//
// Batches are homogeneous (one task shape per batch), so a prefix model gets
// one prefix length per batch. Held-out test sets are fixed and a training
// stream never returns one of their sequences (HeldOut).

import { Rng } from '../engine/rng.js';
import { exp, log } from '../engine/detmath.js';

/** A batch of token sequences with per-position targets (-1: no label). */
export interface RecallBatch {
  inputs: Int32Array;
  targets: Int32Array;
  B: number;
  T: number;
  /** Tokens of the prompt a prefix model reads non-causally: the key-value block, or `[1] A [2] B [3]`. */
  prefixLen: number;
}

export const IGNORE = -1;

// ------------------------------------------------------------------- MQAR

export interface MqarShape {
  vocabSize: number;
  seqLen: number;
  numKvPairs: number;
  /** How many times the key-value block is shown (1: plain MQAR; 2: JRT-Prompt). */
  passes: number;
  /** The power-law exponent a of the query gaps (zoology: 0.01). */
  powerA: number;
}

/** Throws, naming the parameter, when an MQAR shape cannot be generated. */
export function checkMqar(s: MqarShape, where = 'MQAR'): void {
  for (const k of ['vocabSize', 'seqLen', 'numKvPairs', 'passes'] as const) {
    if (!Number.isInteger(s[k]) || s[k] < 1) throw new Error(`${where}: ${k} must be a positive integer, got ${s[k]}`);
  }
  const { vocabSize: V, seqLen: L, numKvPairs: K, passes: p } = s;
  if (L % 2 !== 0) throw new Error(`${where}: the sequence length must be even (key/value slots come in pairs), got ${L}`);
  if (V <= L) throw new Error(`${where}: the vocabulary (${V}) must be larger than the sequence length (${L})`);
  if (2 * K * p + 2 * K > L) throw new Error(`${where}: ${K} key-value pairs shown ${p} time(s) need 2·K·passes + 2·K = ${2 * K * p + 2 * K} tokens, more than the sequence length ${L}`);
  if (K > Math.floor(V / 2) - 1) throw new Error(`${where}: ${K} distinct keys do not fit in the ${Math.floor(V / 2) - 1} key tokens of a vocabulary of ${V}`);
  if (!(s.powerA > 0 && s.powerA <= 1)) throw new Error(`${where}: powerA must be in (0, 1], got ${s.powerA}`);
}

/** K distinct integers from [lo, hi), uniform (a partial Fisher-Yates shuffle). */
function distinct(rng: Rng, lo: number, hi: number, k: number): number[] {
  const pool = Array.from({ length: hi - lo }, (_, i) => lo + i);
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(pool.length - i);
    const t = pool[i];
    pool[i] = pool[j];
    pool[j] = t;
  }
  return pool.slice(0, k);
}

/** The query-gap weights a·g^(a−1) for g = 1..space (unnormalised; detmath, so identical everywhere). */
export function gapWeights(space: number, a: number): number[] {
  return Array.from({ length: space }, (_, i) => a * exp((a - 1) * log(i + 1)));
}

/** k distinct indices of `w` drawn without replacement with probability ∝ w (numpy's choice(replace=False, p=w)). */
function weightedDistinct(rng: Rng, w: number[], k: number): number[] {
  const left = w.slice();
  const out: number[] = [];
  for (let n = 0; n < k; n++) {
    let total = 0;
    for (const x of left) total += x;
    let u = rng.next() * total;
    let pick = -1;
    for (let i = 0; i < left.length; i++) {
      if (left[i] <= 0) continue;
      pick = i;
      u -= left[i];
      if (u < 0) break;
    }
    out.push(pick);
    left[pick] = 0;
  }
  return out;
}

/** One MQAR example written into inputs/targets at `at` (length seqLen each). */
export function mqarExample(s: MqarShape, rng: Rng, inputs: Int32Array, targets: Int32Array, at = 0, weights?: number[]): void {
  const { vocabSize: V, seqLen: L, numKvPairs: K, passes } = s;
  const half = Math.floor(V / 2);
  const keys = distinct(rng, 1, half, K);
  const values = distinct(rng, half, V, K);
  const context = 2 * K * passes;
  const space = (L - context) / 2;
  const gaps = weightedDistinct(rng, weights ?? gapWeights(space, s.powerA), K);
  // Everything not a key, value or query is a random token from the whole vocabulary, as zoology's random_non_queries.
  for (let t = 0; t < L; t++) {
    inputs[at + t] = rng.int(V);
    targets[at + t] = IGNORE;
  }
  for (let p = 0; p < passes; p++) {
    for (let i = 0; i < K; i++) {
      inputs[at + p * 2 * K + 2 * i] = keys[i];
      inputs[at + p * 2 * K + 2 * i + 1] = values[i];
    }
  }
  for (let i = 0; i < K; i++) {
    const pos = context + 2 * gaps[i];
    inputs[at + pos] = keys[i];
    targets[at + pos] = values[i];
  }
}

// ---------------------------------------------------------- set disjointness

export interface DisjointShape {
  vocabSize: number;
  /** |A| and |B|. */
  sizeA: number;
  sizeB: number;
}

/** Separator tokens `[1]`, `[2]`, `[3]`; set elements come from the rest of the vocabulary. */
export const SEP = [0, 1, 2] as const;
const FIRST_ELEMENT = 3;

export function disjointLength(s: DisjointShape): number {
  return s.sizeA + s.sizeB + 3;
}

export function checkDisjoint(s: DisjointShape, where = 'set disjointness'): void {
  for (const k of ['vocabSize', 'sizeA', 'sizeB'] as const) {
    if (!Number.isInteger(s[k]) || s[k] < 1) throw new Error(`${where}: ${k} must be a positive integer, got ${s[k]}`);
  }
  const half = Math.floor((s.vocabSize - FIRST_ELEMENT) / 2);
  if (s.sizeA > half || s.sizeB > half) throw new Error(`${where}: sets of ${s.sizeA} and ${s.sizeB} do not fit in halves of ${half} element tokens (vocabulary ${s.vocabSize}, 3 separators)`);
}

/** One example `[1] A [2] B [3]` with its label t at the last position. */
export function disjointExample(s: DisjointShape, rng: Rng, inputs: Int32Array, targets: Int32Array, at = 0): void {
  const half = Math.floor((s.vocabSize - FIRST_ELEMENT) / 2);
  const lo = FIRST_ELEMENT;
  // Which half A comes from is random per example, so the order of the sets, not their token range, says which is which.
  const aFirstHalf = rng.int(2) === 0;
  const A = distinct(rng, aFirstHalf ? lo : lo + half, aFirstHalf ? lo + half : lo + 2 * half, s.sizeA);
  const B = distinct(rng, aFirstHalf ? lo + half : lo, aFirstHalf ? lo + 2 * half : lo + half, s.sizeB);
  const t = A[rng.int(s.sizeA)];
  B[rng.int(s.sizeB)] = t;
  const T = disjointLength(s);
  let p = at;
  inputs[p++] = SEP[0];
  for (const x of A) inputs[p++] = x;
  inputs[p++] = SEP[1];
  for (const x of B) inputs[p++] = x;
  inputs[p++] = SEP[2];
  targets.fill(IGNORE, at, at + T);
  targets[at + T - 1] = t;
}

// ------------------------------------------------------------------ batches

export type TaskShape = ({ task: 'mqar' } & MqarShape) | ({ task: 'disjoint' } & DisjointShape);

export function taskLength(s: TaskShape): number {
  return s.task === 'mqar' ? s.seqLen : disjointLength(s);
}

export function taskPrefix(s: TaskShape): number {
  return s.task === 'mqar' ? 2 * s.numKvPairs * s.passes : disjointLength(s);
}

export function checkTask(s: TaskShape, where?: string): void {
  if (s.task === 'mqar') checkMqar(s, where);
  else checkDisjoint(s, where);
}

/**
 * Sequences already used by a held-out set. A training stream skips any
 * sequence found here, so no test example is ever trained on.
 */
export class HeldOut {
  private readonly seen = new Set<string>();
  add(tokens: ArrayLike<number>): void {
    this.seen.add(Array.prototype.join.call(tokens, ','));
  }
  has(tokens: ArrayLike<number>): boolean {
    return this.seen.has(Array.prototype.join.call(tokens, ','));
  }
  get size(): number {
    return this.seen.size;
  }
}

/** B examples of one shape from `rng`, skipping (and redrawing) any sequence in `exclude`; `include` collects them. */
export function taskBatch(s: TaskShape, B: number, rng: Rng, opts: { exclude?: HeldOut; include?: HeldOut } = {}): RecallBatch {
  checkTask(s);
  const T = taskLength(s);
  const inputs = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  const weights = s.task === 'mqar' ? gapWeights((s.seqLen - 2 * s.numKvPairs * s.passes) / 2, s.powerA) : undefined;
  for (let b = 0; b < B; b++) {
    for (let tries = 0; ; tries++) {
      if (tries > 1000) throw new Error(`${s.task}: could not draw a sequence outside the held-out set in 1000 tries; the task space is too small`);
      if (s.task === 'mqar') mqarExample(s, rng, inputs, targets, b * T, weights);
      else disjointExample(s, rng, inputs, targets, b * T);
      const seq = inputs.subarray(b * T, (b + 1) * T);
      if (opts.exclude?.has(seq)) continue;
      opts.include?.add(seq);
      break;
    }
  }
  return { inputs, targets, B, T, prefixLen: taskPrefix(s) };
}
