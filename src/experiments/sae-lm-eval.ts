// What the LM's SAEs are scored on: evenly spaced validation windows, the
// activations at a hook over them, the dead fraction on a window, and the check
// that an SAE belongs to the model whose activations it reads.

import type { GPT } from '../nn/gpt.js';
import { hookActivations } from '../lens/sae/buffer.js';
import type { ScoredBatch } from '../lens/sae/metrics.js';
import { byteLabel } from '../lens/sae/describe.js';
import type { Sae } from '../lens/sae/model.js';

/** Evenly spaced validation windows of T bytes with their next-byte targets, in batches of at most 16 windows. */
export function evalWindows(val: Uint8Array, T: number, count: number): { batches: ScoredBatch[]; bytes: Uint8Array } {
  if (val.length < T + 1) throw new Error(`sae-lm: the validation split (${val.length} bytes) is shorter than one window of ${T + 1} bytes`);
  const span = val.length - T - 1;
  const bytes = new Uint8Array(count * T);
  const batches: ScoredBatch[] = [];
  for (let s = 0; s < count; s += 16) {
    const B = Math.min(16, count - s);
    const tokens = new Int32Array(B * T), targets = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const j = s + b;
      const o = count === 1 ? 0 : Math.floor((j * span) / (count - 1));
      for (let t = 0; t < T; t++) {
        tokens[b * T + t] = val[o + t];
        targets[b * T + t] = val[o + t + 1];
        bytes[j * T + t] = val[o + t];
      }
    }
    batches.push({ tokens, targets, B, T });
  }
  return { batches, bytes };
}

/** Activations of every eval batch at `hook`, concatenated as rows. */
export function evalActivations(model: GPT, hook: string, batches: readonly ScoredBatch[], N: number): { x: Float32Array; d: number } {
  let d = 0, at = 0;
  let x = new Float32Array(0);
  for (const b of batches) {
    const h = hookActivations(model, hook, b);
    if (d === 0) {
      d = h.d;
      x = new Float32Array(N * d);
    }
    x.set(h.rows, at);
    at += h.rows.length;
  }
  return { x, d };
}

export function deadOnWindow(sae: Sae, rows: Float32Array, count: number): number {
  const n = sae.shape.n;
  const fired = new Uint8Array(n);
  for (let s = 0; s < count; s += 1024) {
    const B = Math.min(1024, count - s);
    const z = sae.encode(rows.subarray(s * sae.shape.d, (s + B) * sae.shape.d), B);
    for (let r = 0; r < B; r++) for (let i = 0; i < n; i++) if (z[r * n + i] > 0) fired[i] = 1;
  }
  let dead = 0;
  for (let i = 0; i < n; i++) if (!fired[i]) dead++;
  return dead / n;
}

/** The 256 bytes as dashboard tokens. */
export const BYTE_VOCAB: readonly string[] = Array.from({ length: 256 }, (_, b) => byteLabel(b));

/**
 * Throws unless `sae` was trained on this model: an SAE's dictionary is
 * specific to the activations of the model it read, so it records the model
 * file's SHA-256, and another model (even one of the same shape) is refused.
 */
export function checkSaeModel(sae: Sae, lm: { path: string; sha256: string }, what = 'this SAE'): void {
  const want = sae.meta.model_sha256;
  if (!want) throw new Error(`${what} records no model SHA-256, so it cannot be checked against ${lm.path}; it is not from a sae-lm run`);
  if (want !== lm.sha256) throw new Error(`${what} was trained on the model with sha256 ${want.slice(0, 16)}…, but ${lm.path} has sha256 ${lm.sha256.slice(0, 16)}…: an SAE only reads the activations of the model it was trained on`);
}

/** W_Eᵀ [d, V] for a model with tied embeddings. */
export function transposeEmbedding(W_E: Float32Array, V: number, d: number): Float32Array {
  const out = new Float32Array(d * V);
  for (let v = 0; v < V; v++) for (let c = 0; c < d; c++) out[c * V + v] = W_E[v * d + c];
  return out;
}
