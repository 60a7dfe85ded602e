// The synthetic task of Tian et al., "Scan and Snap: Understanding Training
// Dynamics and Token Composition in 1-layer Transformer" (arXiv 2305.16380),
// §5/§6, as the reference generator (facebookresearch/luckmatters, Dataset2)
// builds it: classes (next tokens) grouped under query tokens, each with a
// distribution over common and distinct context tokens, and seeded batches
// drawn from it. Integer draws and f64 weights only.

import { Rng } from '../engine/rng.js';

// ------------------------------------------------------------------ generator

export interface GeneratorConfig {
  /** K: query ("last") tokens. */
  numLast: number;
  /** Next tokens (classes) per query token. */
  numNextPerLast: number;
  /** Tokens shared by every class. */
  numCommon: number;
  /** Tokens shared by the classes of one query token. */
  numCommonPerLast: number;
  /** Tokens distinct to each class. */
  numUniquePerNext: number;
  /** Unnormalised weight of each common (and common-per-query) token. */
  commonWeight: number;
  /** Distinct tokens' unnormalised weights: linspace(uniqueMin, uniqueMax). */
  uniqueMin: number;
  uniqueMax: number;
  /** Sequence length L: L−1 context tokens then the query token. */
  seqLen: number;
}

/** The reference generator's defaults (luckmatters decoder_only.yaml, Dataset2), L = 128 as in the paper's runs. */
export const GENERATOR_DEFAULTS: GeneratorConfig = {
  numLast: 2,
  numNextPerLast: 2,
  numCommon: 10,
  numCommonPerLast: 5,
  numUniquePerNext: 10,
  commonWeight: 1,
  uniqueMin: 0.1,
  uniqueMax: 1,
  seqLen: 128,
};

/** Largest vocabulary we allow: the model holds two M×M f32 matrices plus momenta (16·M² bytes). */
export const MAX_VOCAB = 4096;

export interface ClassInfo {
  /** The class's token id (the label). */
  next: number;
  /** Its query token. */
  last: number;
  /** Support tokens in order: common, common-per-query, distinct. */
  tokens: Int32Array;
  /** P(l | n) over `tokens`. */
  probs: Float64Array;
  /** Cumulative probs, for inverse-CDF sampling. */
  cdf: Float64Array;
  /** How many of `tokens` are common (all classes + this query's group); the rest are distinct. */
  numShared: number;
}

export interface Vocabulary {
  M: number;
  classes: ClassInfo[];
  commonRange: [number, number];
  lastOffset: number;
  nextOffset: number;
}

function checkInt(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new Error(`scan-snap: ${name} must be an integer ≥ ${min}, got ${v}`);
}

/**
 * The token layout, as in the paper: common tokens first, then each query
 * group's common tokens, each class's distinct tokens, the query tokens and
 * the next tokens. Throws a one-line error for parameters that cannot work.
 */
export function buildVocabulary(g: GeneratorConfig): Vocabulary {
  checkInt('num-last', g.numLast, 1);
  checkInt('num-next-per-last', g.numNextPerLast, 1);
  checkInt('num-common', g.numCommon, 0);
  checkInt('num-common-per-last', g.numCommonPerLast, 0);
  checkInt('num-unique-per-next', g.numUniquePerNext, 1);
  checkInt('seq-len', g.seqLen, 2);
  if (!(g.commonWeight > 0) && g.numCommon + g.numCommonPerLast > 0) throw new Error(`scan-snap: common-weight must be > 0, got ${g.commonWeight}`);
  if (!(g.uniqueMin > 0) || !(g.uniqueMax >= g.uniqueMin) || !Number.isFinite(g.uniqueMax)) throw new Error(`scan-snap: distinct-token weights need 0 < unique-min ≤ unique-max, got ${g.uniqueMin}..${g.uniqueMax}`);
  const K = g.numLast;
  const next = K * g.numNextPerLast;
  const perLastOff = g.numCommon;
  const uniqueOff = perLastOff + g.numCommonPerLast * K;
  const lastOffset = uniqueOff + g.numUniquePerNext * next;
  const nextOffset = lastOffset + K;
  const M = nextOffset + next;
  if (M > MAX_VOCAB) throw new Error(`scan-snap: the vocabulary does not fit: ${M} tokens (common ${g.numCommon} + ${K}×${g.numCommonPerLast} per query + ${next}×${g.numUniquePerNext} distinct + ${K} query + ${next} next) > ${MAX_VOCAB}`);
  const support = g.numCommon + g.numCommonPerLast + g.numUniquePerNext;
  if (g.seqLen - 1 < support) throw new Error(`scan-snap: seq-len ${g.seqLen} is below the support: ${g.seqLen - 1} context tokens cannot hold a class's ${support} support tokens`);
  const classes: ClassInfo[] = [];
  let c = 0;
  for (let m = 0; m < K; m++) {
    for (let j = 0; j < g.numNextPerLast; j++, c++) {
      const tokens: number[] = [];
      const w: number[] = [];
      for (let t = 0; t < g.numCommon; t++) {
        tokens.push(t);
        w.push(g.commonWeight);
      }
      for (let t = 0; t < g.numCommonPerLast; t++) {
        tokens.push(perLastOff + m * g.numCommonPerLast + t);
        w.push(g.commonWeight);
      }
      const U = g.numUniquePerNext;
      for (let t = 0; t < U; t++) {
        tokens.push(uniqueOff + c * U + t);
        // linspace(min, max, U) as torch computes it: min + t·(max−min)/(U−1).
        w.push(U === 1 ? g.uniqueMin : g.uniqueMin + (t * (g.uniqueMax - g.uniqueMin)) / (U - 1));
      }
      let total = 0;
      for (const x of w) total += x;
      const probs = Float64Array.from(w, (x) => x / total);
      const cdf = new Float64Array(probs.length);
      let acc = 0;
      for (let i = 0; i < probs.length; i++) cdf[i] = acc += probs[i];
      cdf[cdf.length - 1] = 1;
      classes.push({ next: nextOffset + c, last: lastOffset + m, tokens: Int32Array.from(tokens), probs, cdf, numShared: g.numCommon + g.numCommonPerLast });
    }
  }
  return { M, classes, commonRange: [0, g.numCommon], lastOffset, nextOffset };
}

/** A batch: for each sample its class index and its context tokens ([B, L−1]); the query is the class's last token. */
export interface Batch {
  B: number;
  ctx: number;
  cls: Int32Array;
  context: Int32Array;
}

/** Draws B samples: class uniform, context iid from P(l|n) by inverse CDF. */
export function sampleBatch(v: Vocabulary, g: GeneratorConfig, B: number, rng: Rng): Batch {
  const ctx = g.seqLen - 1;
  const cls = new Int32Array(B);
  const context = new Int32Array(B * ctx);
  const C = v.classes.length;
  for (let b = 0; b < B; b++) {
    const c = Math.min(C - 1, Math.floor(rng.next() * C));
    cls[b] = c;
    const info = v.classes[c];
    for (let t = 0; t < ctx; t++) {
      const u = rng.next();
      // Binary search of the first cdf entry above u.
      let lo = 0;
      let hi = info.cdf.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (info.cdf[mid] > u) hi = mid;
        else lo = mid + 1;
      }
      context[b * ctx + t] = info.tokens[lo];
    }
  }
  return { B, ctx, cls, context };
}
