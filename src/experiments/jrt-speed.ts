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
  /** Tokens timed after each context. */
  tokens: number;
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
  /** The first measured length where the recurrent form is faster per token (null: at none). */
  overtakeTime: number | null;
  /** The context length from which the KV cache is larger than the recurrent state. */
  overtakeMemory: number;
}

export function measureGeneration(spec: GenerationSpec): GenerationResult {
  const maxLen = Math.max(...spec.lengths) + spec.tokens;
  const gpt = new GPT({ vocabSize: spec.vocabSize, contextLength: maxLen, nLayers: spec.nLayers, nHeads: spec.nHeads, dModel: spec.dModel, seed: spec.seed });
  const based = new Based({ vocabSize: spec.vocabSize, dModel: spec.dModel, nLayers: spec.nLayers, featureDim: spec.featureDim, nHeads: 1, seed: spec.seed });
  const rng = Rng.derive(spec.seed, 'generation/tokens');
  const context = Int32Array.from({ length: maxLen }, () => rng.int(spec.vocabSize));
  const stateBytes = basedStateBytes(based.config).total;
  const points: GenerationPoint[] = [];
  const inc = new IncrementalGPT(gpt, maxLen);
  const rec = new BasedRecurrent(based);
  for (const length of [...spec.lengths].sort((a, b) => a - b)) {
    inc.reset();
    inc.pushMany(context.subarray(0, length));
    let t = performance.now();
    for (let i = 0; i < spec.tokens; i++) inc.push(context[length + i]);
    const attentionMs = (performance.now() - t) / spec.tokens;
    rec.reset();
    for (let i = 0; i < length; i++) rec.step(context[i]);
    t = performance.now();
    for (let i = 0; i < spec.tokens; i++) rec.step(context[length + i]);
    const recurrentMs = (performance.now() - t) / spec.tokens;
    points.push({ length, attentionMs, recurrentMs, kvCacheBytes: 2 * spec.nLayers * length * spec.dModel * 4, stateBytes });
  }
  const faster = points.find((p) => p.recurrentMs < p.attentionMs);
  return { spec, points, overtakeTime: faster ? faster.length : null, overtakeMemory: Math.ceil(stateBytes / (2 * spec.nLayers * spec.dModel * 4)) };
}
