// Generation time and memory: Based's recurrent form against the GPT with a
// KV cache, at growing context lengths. Per new token the GPT reads every
// cached key and value (time and memory grow with the context), while Based
// updates and reads a state of fixed size. Timings are wall clock on
// whatever else the machine is doing, so the report says so; the weights are
// the untrained initialisation (the cost of a token does not depend on them).

import { GPT } from '../nn/gpt.js';
import { IncrementalGPT } from '../nn/gpt-incremental.js';
import { Based, basedStateBytes } from '../nn/based.js';
import { BasedRecurrent } from '../nn/based-recurrent.js';
import { Rng } from '../engine/rng.js';

export interface GenerationSpec {
  vocabSize: number;
  dModel: number;
  nLayers: number;
  nHeads: number;
  featureDim: number;
  lengths: number[];
  /** Tokens timed after each context, in each of `reps` repetitions (the median repetition counts). */
  tokens: number;
  reps?: number;
  seed: number;
}

export interface GenerationPoint {
  length: number;
  /** Milliseconds per generated token after `length` tokens of context. */
  attentionMs: number;
  recurrentMs: number;
  kvCacheBytes: number;
  stateBytes: number;
}

export interface GenerationResult {
  spec: GenerationSpec;
  points: GenerationPoint[];
  /** The shortest measured length from which on (at it and every longer one) the recurrent form is faster per token; null: none. */
  overtakeTime: number | null;
  /** The context length from which the KV cache is larger than the recurrent state. */
  overtakeMemory: number;
}

/** The shortest length from which on (there and at every longer length) the recurrent form is faster; null if it is not at the longest. */
export function overtakeLength(points: Array<Pick<GenerationPoint, 'length' | 'attentionMs' | 'recurrentMs'>>): number | null {
  const sorted = [...points].sort((a, b) => a.length - b.length);
  let at: number | null = null;
  for (let i = sorted.length - 1; i >= 0 && sorted[i].recurrentMs < sorted[i].attentionMs; i--) at = sorted[i].length;
  return at;
}

/** Median of a few numbers (the middle one, or the mean of the middle two). */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function measureGeneration(spec: GenerationSpec): GenerationResult {
  const reps = spec.reps ?? 3;
  const lengths = [...spec.lengths].sort((a, b) => a - b);
  const maxLen = lengths[lengths.length - 1] + spec.tokens * reps;
  const gpt = new GPT({ vocabSize: spec.vocabSize, contextLength: maxLen, nLayers: spec.nLayers, nHeads: spec.nHeads, dModel: spec.dModel, seed: spec.seed });
  const based = new Based({ vocabSize: spec.vocabSize, dModel: spec.dModel, nLayers: spec.nLayers, featureDim: spec.featureDim, nHeads: 1, seed: spec.seed });
  const rng = Rng.derive(spec.seed, 'generation/tokens');
  const context = Int32Array.from({ length: maxLen }, () => rng.int(spec.vocabSize));
  const stateBytes = basedStateBytes(based.config).total;
  const inc = new IncrementalGPT(gpt, maxLen);
  const rec = new BasedRecurrent(based);
  // Warm both paths up first, so the first length does not pay for compilation.
  for (let i = 0; i < Math.min(64, maxLen); i++) {
    inc.push(context[i]);
    rec.step(context[i]);
  }
  /** Milliseconds per token of `push` over `reps` runs of `tokens` tokens starting at `at`; the median run. */
  const time = (push: (t: number) => unknown, at: number): number => {
    const runs: number[] = [];
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      for (let i = 0; i < spec.tokens; i++) push(context[at + r * spec.tokens + i]);
      runs.push((performance.now() - t0) / spec.tokens);
    }
    return median(runs);
  };
  const points: GenerationPoint[] = [];
  for (const length of lengths) {
    inc.reset();
    inc.pushMany(context.subarray(0, length));
    const attentionMs = time((t) => inc.push(t), length);
    rec.reset();
    for (let i = 0; i < length; i++) rec.step(context[i]);
    const recurrentMs = time((t) => rec.step(t), length);
    points.push({ length, attentionMs, recurrentMs, kvCacheBytes: 2 * spec.nLayers * length * spec.dModel * 4, stateBytes });
  }
  return { spec, points, overtakeTime: overtakeLength(points), overtakeMemory: Math.ceil(stateBytes / (2 * spec.nLayers * spec.dModel * 4)) };
}
