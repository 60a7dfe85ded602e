// Bits per byte of a byte string under a byte-level GPT: the code length an
// arithmetic coder driven by the model would reach, byte by byte.
//
// The sequence is the bytes after one virtual newline (so the first byte is
// predicted too). Windows of the model's context slide by `stride`; every
// byte is scored once, in the first window where it has at least
// context - stride bytes before it (or as many as exist), as the usual
// sliding-window evaluation of a fixed-context LM does. Windows run in
// batches: the products are matrix-matrix, and the results are the same for
// any batch size and thread count.

import type { GPT } from '../nn/gpt.js';
import { crossEntropy } from '../engine/ops-nn.js';
import { withStepArena } from '../engine/arena.js';
import { noGrad } from '../engine/tensor.js';

import { LOG2E } from '../engine/constants.js';

export interface ScoreOptions {
  /** Window slide in bytes; the context length's half by default. */
  stride?: number;
  /** Windows per forward pass. */
  batch?: number;
  onProgress?: (scoredBytes: number, totalBytes: number) => void;
  signal?: AbortSignal;
}

export interface ByteScores {
  /** Code length of each byte in bits. */
  bits: Float64Array;
  totalBits: number;
  bitsPerByte: number;
}

export function scoreBytes(model: GPT, bytes: Uint8Array, o: ScoreOptions = {}): ByteScores {
  const n = bytes.length;
  const bits = new Float64Array(n);
  if (n === 0) return { bits, totalBits: 0, bitsPerByte: 0 };
  const C = model.config.contextLength;
  const W = Math.min(C, n);
  const stride = o.stride ?? Math.max(1, C >> 1);
  if (!Number.isInteger(stride) || stride < 1 || stride > C) throw new RangeError(`stride must be an integer in [1, ${C}], got ${stride}`);
  const batch = o.batch ?? 16;
  const seq = new Int32Array(n + 1);
  seq[0] = 10;
  for (let i = 0; i < n; i++) seq[i + 1] = bytes[i];
  // Window starts: 0, stride, ..., and a last one ending at the end. Each
  // window scores the targets from `from` (the first not yet scored) on.
  const windows: Array<{ start: number; from: number }> = [];
  let scored = 0;
  for (let s = 0; scored < n; s += stride) {
    const start = Math.min(s, n - W);
    windows.push({ start, from: scored });
    scored = start + W;
  }
  let done = 0;
  noGrad(() => {
    for (let w0 = 0; w0 < windows.length; w0 += batch) {
      if (o.signal?.aborted) throw new Error('scoring aborted');
      const group = windows.slice(w0, w0 + batch);
      const B = group.length;
      const inputs = new Int32Array(B * W);
      const targets = new Int32Array(B * W);
      group.forEach((g, b) => {
        inputs.set(seq.subarray(g.start, g.start + W), b * W);
        targets.set(seq.subarray(g.start + 1, g.start + W + 1), b * W);
      });
      withStepArena(() => {
        const nats = crossEntropy(model.forward(inputs, B, W), targets, { reduction: 'none' }).data;
        group.forEach((g, b) => {
          for (let t = g.from - g.start; t < W; t++) bits[g.start + t] = nats[b * W + t] * LOG2E;
        });
      });
      done = group[B - 1].start + W;
      o.onProgress?.(done, n);
    }
  });
  let total = 0;
  for (let i = 0; i < n; i++) total += bits[i];
  return { bits, totalBits: total, bitsPerByte: total / n };
}

/** Bits per byte of consecutive regions of `size` bytes (the last may be shorter). */
export function regionBitsPerByte(bits: Float64Array, size: number): Array<{ start: number; end: number; bpb: number }> {
  const out: Array<{ start: number; end: number; bpb: number }> = [];
  for (let s = 0; s < bits.length; s += size) {
    const e = Math.min(bits.length, s + size);
    let t = 0;
    for (let i = s; i < e; i++) t += bits[i];
    out.push({ start: s, end: e, bpb: t / (e - s) });
  }
  return out;
}
