// Sampling from a byte-level GPT, byte by byte through the KV cache.
//
// Deterministic by construction: the logits are the engine's (identical on
// every machine and thread count), the sampling weights are detmath.exp in
// f64 summed in a fixed order, and the uniform draws come from the seeded
// generator. So a (model, prompt, settings, seed) gives the same text anywhere.

import { IncrementalGPT } from '../nn/gpt-incremental.js';
import type { GPT } from '../nn/gpt.js';
import { Rng } from '../engine/rng.js';
import { exp } from '../engine/detmath.js';
import { noGrad } from '../engine/tensor.js';

export interface GenerateOptions {
  /** Bytes to write after the prompt. */
  maxBytes: number;
  /** 0 is greedy; otherwise logits are divided by it before the softmax. */
  temperature?: number;
  /** Sample among the k most likely bytes; 0 keeps all 256. */
  topK?: number;
  seed?: number;
  /** Called with each byte as it is produced (for streaming to a terminal). */
  onByte?: (byte: number) => void;
  signal?: AbortSignal;
}

export const MAX_TEMPERATURE = 10;

export function checkSampling(temperature: number, topK: number, vocab = 256): void {
  if (!(temperature >= 0 && temperature <= MAX_TEMPERATURE)) throw new RangeError(`temperature must be in [0, ${MAX_TEMPERATURE}], got ${temperature}`);
  if (!Number.isInteger(topK) || topK < 0 || topK > vocab) throw new RangeError(`top-k must be an integer in [0, ${vocab}] (0 keeps every byte), got ${topK}`);
}

/**
 * One draw from the distribution the logits define at this temperature and
 * top-k. Candidates are ordered by logit, ties by index, so the order (and
 * the f64 sum over it) never depends on anything but the logits.
 */
export function sampleFromLogits(logits: ArrayLike<number>, temperature: number, topK: number, rng: Rng): number {
  const V = logits.length;
  if (temperature === 0) {
    let best = 0;
    for (let j = 1; j < V; j++) if (logits[j] > logits[best]) best = j;
    return best;
  }
  const order = Array.from({ length: V }, (_, j) => j).sort((a, b) => logits[b] - logits[a] || a - b);
  const k = topK === 0 ? V : Math.min(topK, V);
  const max = logits[order[0]];
  const w = new Float64Array(k);
  let sum = 0;
  for (let i = 0; i < k; i++) {
    w[i] = exp((logits[order[i]] - max) / temperature);
    sum += w[i];
  }
  let u = rng.next() * sum;
  for (let i = 0; i < k; i++) {
    u -= w[i];
    if (u < 0) return order[i];
  }
  return order[k - 1];
}

export function toBytes(prompt: string | Uint8Array): Uint8Array {
  return typeof prompt === 'string' ? new TextEncoder().encode(prompt) : prompt;
}

/**
 * Continue `prompt` by up to maxBytes bytes. An empty prompt starts after a
 * newline, the byte that opens most documents of the corpus. When the context
 * fills, the cache is refilled with its most recent half.
 */
export function generate(model: GPT, prompt: string | Uint8Array, o: GenerateOptions): Uint8Array {
  const temperature = o.temperature ?? 0.8;
  const topK = o.topK ?? 40;
  checkSampling(temperature, topK, model.config.vocabSize);
  if (!Number.isInteger(o.maxBytes) || o.maxBytes < 0) throw new RangeError(`max bytes must be a non-negative integer, got ${o.maxBytes}`);
  const C = model.config.contextLength;
  const rng = Rng.derive(o.seed ?? 1, 'lm/generate');
  let context = Array.from(toBytes(prompt));
  if (context.length === 0) context = [10];
  const out = new Uint8Array(o.maxBytes);
  noGrad(() => {
    const inc = new IncrementalGPT(model);
    let logits = inc.pushMany(context.slice(-C));
    for (let i = 0; i < o.maxBytes; i++) {
      if (o.signal?.aborted) {
        out.fill(0, i);
        return;
      }
      const b = sampleFromLogits(logits, temperature, topK, rng);
      out[i] = b;
      context.push(b);
      o.onByte?.(b);
      if (i === o.maxBytes - 1) break;
      if (inc.length >= C) {
        inc.reset();
        logits = inc.pushMany(context.slice(-(C >> 1)));
      } else logits = inc.push(b);
    }
  });
  return out;
}
