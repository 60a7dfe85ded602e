// A KV-cached forward pass for GPT: feed tokens one at a time (or a few at
// once) and get the logits of the next token, without recomputing the prefix.
//
// It reads the parameters of a GPT and reproduces GPT.forward's arithmetic
// exactly, so the logits are bit-identical to forward() on the same prefix
// (test/nn/gpt-incremental.test.ts checks this). That is what lets a
// compressor's decoder, which must go byte by byte, match an encoder.
//
// Where the bits come from, op by op (see src/engine/ops-*.ts):
// - matmul: each output element is a sequential f32 sum over k,
//   acc = f32(acc + f32(a*b)), then f32(acc + bias). `acc[j] += fround(a*w)`
//   on a Float32Array does exactly that, whatever order the elements are
//   visited in, and so does matmulF32 for a batch of rows;
// - add: f32(a + b); layer norm: f64 statistics, f64 affine, rounded once;
// - causal softmax: f64 max and sum of expFast(score*scale - max), each
//   weight rounded to f32, then f32(weight * (1/sum));
// - pattern @ v sums over every key; masked keys add exact zeros, so summing
//   over the visible keys only gives the same bits;
// - GELU: fastmath.geluInto.
//
// The cache holds positions 0..length-1 (absolute, as the learned position
// table requires); when it is full the caller resets it and re-feeds the
// tokens it wants to keep (see pushMany, which uses the batched kernel).

import type { GPT } from './gpt.js';
import { matmulF32 } from '../engine/matmul-kernel.js';
import { expFast, geluInto } from '../engine/fastmath.js';

const fr = Math.fround;

/** out[j] = sum_p x[p] * W[p, j] (f32, sequential over p) for W row-major [K, N] at offset wOff. */
function matvec(x: Float32Array, xOff: number, W: Float32Array, wOff: number, out: Float32Array, K: number, N: number): void {
  out.fill(0, 0, N);
  let p = 0;
  // Four rows of W per pass: fewer loads and stores of `out`, the same rounding sequence per element.
  for (; p + 4 <= K; p += 4) {
    const a0 = x[xOff + p], a1 = x[xOff + p + 1], a2 = x[xOff + p + 2], a3 = x[xOff + p + 3];
    const o0 = wOff + p * N, o1 = o0 + N, o2 = o1 + N, o3 = o2 + N;
    for (let j = 0; j < N; j++) {
      out[j] = fr(fr(fr(fr(out[j] + fr(a0 * W[o0 + j])) + fr(a1 * W[o1 + j])) + fr(a2 * W[o2 + j])) + fr(a3 * W[o3 + j]));
    }
  }
  for (; p < K; p++) {
    const a = x[xOff + p];
    const o = wOff + p * N;
    for (let j = 0; j < N; j++) out[j] += fr(a * W[o + j]);
  }
}

/** Layer norm of row x[xOff .. xOff+C) into out[oOff ..), exactly as ops-nn layerNorm. */
function layerNormRow(x: Float32Array, xOff: number, w: Float32Array, b: Float32Array, eps: number, out: Float32Array, oOff: number, C: number): void {
  let mu = 0;
  for (let j = 0; j < C; j++) mu += x[xOff + j];
  mu /= C;
  let v = 0;
  for (let j = 0; j < C; j++) {
    const d = x[xOff + j] - mu;
    v += d * d;
  }
  const rs = 1 / Math.sqrt(v / C + eps);
  for (let j = 0; j < C; j++) out[oOff + j] = (x[xOff + j] - mu) * rs * w[j] + b[j];
}

interface LayerPack {
  /** [d, 3d]: the Q, K and V projections of every head side by side (column h*dh + i of each third). */
  wqkv: Float32Array;
  /** [3d]: their biases in the same order. */
  bqkv: Float32Array;
  /** Keys and values of the cached positions, per head: [H, capacity, dh]. */
  k: Float32Array;
  v: Float32Array;
}

export class IncrementalGPT {
  readonly model: GPT;
  /** Most positions the cache can hold (at most the model's context length). */
  readonly capacity: number;
  private len = 0;
  private readonly layers: LayerPack[] = [];
  private unembedT: Float32Array | null = null; // W_Eᵀ [d, V] when weights are tied
  // Scratch for one row.
  private readonly x: Float32Array;
  private readonly xn: Float32Array;
  private readonly qkv: Float32Array;
  private readonly z: Float32Array;
  private readonly proj: Float32Array;
  private readonly hidden: Float32Array;
  private readonly act: Float32Array;
  private readonly probs: Float32Array;
  private readonly logitsBuf: Float32Array;

  constructor(model: GPT, capacity = model.config.contextLength) {
    const c = model.config;
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > c.contextLength) {
      throw new RangeError(`IncrementalGPT: capacity must be in [1, ${c.contextLength}], got ${capacity}`);
    }
    this.model = model;
    this.capacity = capacity;
    const d = c.dModel;
    for (let l = 0; l < c.nLayers; l++) {
      this.layers.push({ wqkv: new Float32Array(d * 3 * d), bqkv: new Float32Array(3 * d), k: new Float32Array(capacity * d), v: new Float32Array(capacity * d) });
    }
    this.x = new Float32Array(d);
    this.xn = new Float32Array(d);
    this.qkv = new Float32Array(3 * d);
    this.z = new Float32Array(d);
    this.proj = new Float32Array(Math.max(d, c.vocabSize));
    this.hidden = new Float32Array(c.dMlp);
    this.act = new Float32Array(c.dMlp);
    this.probs = new Float32Array(capacity);
    this.logitsBuf = new Float32Array(c.vocabSize);
    this.refresh();
  }

  /** Tokens in the cache (the position the next token will take). */
  get length(): number {
    return this.len;
  }

  /** Empty the cache. */
  reset(): void {
    this.len = 0;
  }

  /**
   * Re-read the model's weights into the packed layouts this class uses.
   * Call after every change to the parameters (an optimiser step); cached
   * keys and values computed with the old weights stay until reset().
   */
  refresh(): void {
    const m = this.model;
    const { dModel: d, nHeads: H } = m.config;
    const dh = d / H;
    m.blocks.forEach((blk, l) => {
      const { wqkv, bqkv } = this.layers[l];
      const mats = [blk.attn.W_Q.data, blk.attn.W_K.data, blk.attn.W_V.data];
      const biases = [blk.attn.b_Q.data, blk.attn.b_K.data, blk.attn.b_V.data];
      for (let s = 0; s < 3; s++) {
        const W = mats[s];
        for (let h = 0; h < H; h++) {
          for (let p = 0; p < d; p++) {
            const src = (h * d + p) * dh;
            const dst = p * 3 * d + s * d + h * dh;
            for (let i = 0; i < dh; i++) wqkv[dst + i] = W[src + i];
          }
        }
        bqkv.set(biases[s], s * d);
      }
    });
    if (!m.W_U) {
      const V = m.config.vocabSize;
      const E = m.W_E.data;
      const t = this.unembedT ?? new Float32Array(d * V);
      for (let j = 0; j < V; j++) for (let p = 0; p < d; p++) t[p * V + j] = E[j * d + p];
      this.unembedT = t;
    }
  }

  private checkToken(token: number): void {
    const V = this.model.config.vocabSize;
    if (!Number.isInteger(token) || token < 0 || token >= V) throw new RangeError(`IncrementalGPT: token ${token} is outside [0, ${V})`);
  }

  /**
   * Append one token and return the logits [V] for the token after it. The
   * returned array is reused by the next call.
   */
  push(token: number): Float32Array {
    this.checkToken(token);
    if (this.len >= this.capacity) throw new RangeError(`IncrementalGPT: the cache is full (${this.capacity} positions); reset() first`);
    const m = this.model;
    const { dModel: d, nHeads: H, dMlp, lnEps } = m.config;
    const dh = d / H;
    const t = this.len;
    const x = this.x, xn = this.xn, qkv = this.qkv, z = this.z, proj = this.proj;
    const E = m.W_E.data, P = m.W_pos.data;
    for (let j = 0; j < d; j++) x[j] = E[token * d + j] + P[t * d + j];
    for (let l = 0; l < m.blocks.length; l++) {
      const blk = m.blocks[l];
      const L = this.layers[l];
      layerNormRow(x, 0, blk.ln1.w.data, blk.ln1.b.data, lnEps, xn, 0, d);
      matvec(xn, 0, L.wqkv, 0, qkv, d, 3 * d);
      for (let j = 0; j < 3 * d; j++) qkv[j] += L.bqkv[j];
      this.storeKV(L, qkv, 0, t);
      this.attendRow(L, qkv, 0, t, z, 0);
      matvec(z, 0, blk.attn.W_O.data, 0, proj, d, d);
      const bO = blk.attn.b_O.data;
      for (let j = 0; j < d; j++) x[j] += fr(proj[j] + bO[j]);
      layerNormRow(x, 0, blk.ln2.w.data, blk.ln2.b.data, lnEps, xn, 0, d);
      const hidden = this.hidden, act = this.act;
      matvec(xn, 0, blk.mlp.W_in.data, 0, hidden, d, dMlp);
      const bIn = blk.mlp.b_in.data;
      for (let j = 0; j < dMlp; j++) geluInto(fr(hidden[j] + bIn[j]), act, null, j);
      matvec(act, 0, blk.mlp.W_out.data, 0, proj, dMlp, d);
      const bOut = blk.mlp.b_out.data;
      for (let j = 0; j < d; j++) x[j] += fr(proj[j] + bOut[j]);
    }
    this.len = t + 1;
    return this.unembed(x, 0);
  }

  /**
   * Append several tokens with batched matrix products (the same bits as
   * pushing them one by one) and return the logits after the last one.
   */
  pushMany(tokens: ArrayLike<number>): Float32Array {
    const n = tokens.length;
    if (n === 0) throw new RangeError('IncrementalGPT: pushMany needs at least one token');
    if (n === 1) return this.push(tokens[0]);
    if (this.len + n > this.capacity) throw new RangeError(`IncrementalGPT: ${n} more tokens overflow the cache (${this.len} of ${this.capacity} used)`);
    for (let i = 0; i < n; i++) this.checkToken(tokens[i]);
    const m = this.model;
    const { dModel: d, nHeads: H, dMlp, lnEps } = m.config;
    const t0 = this.len;
    const E = m.W_E.data, P = m.W_pos.data;
    const X = new Float32Array(n * d);
    for (let r = 0; r < n; r++) {
      const tok = tokens[r], t = t0 + r;
      for (let j = 0; j < d; j++) X[r * d + j] = E[tok * d + j] + P[t * d + j];
    }
    const XN = new Float32Array(n * d);
    const QKV = new Float32Array(n * 3 * d);
    const Z = new Float32Array(n * d);
    const PROJ = new Float32Array(n * d);
    const HID = new Float32Array(n * dMlp);
    const ACT = new Float32Array(n * dMlp);
    const mm = (a: Float32Array, b: Float32Array, out: Float32Array, k: number, cols: number): void =>
      matmulF32(a, b, out, { batch: 1, m: n, n: cols, k, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 });
    for (let l = 0; l < m.blocks.length; l++) {
      const blk = m.blocks[l];
      const L = this.layers[l];
      for (let r = 0; r < n; r++) layerNormRow(X, r * d, blk.ln1.w.data, blk.ln1.b.data, lnEps, XN, r * d, d);
      mm(XN, L.wqkv, QKV, d, 3 * d);
      for (let r = 0; r < n; r++) {
        const o = r * 3 * d;
        for (let j = 0; j < 3 * d; j++) QKV[o + j] += L.bqkv[j];
        this.storeKV(L, QKV, o, t0 + r);
      }
      for (let r = 0; r < n; r++) this.attendRow(L, QKV, r * 3 * d, t0 + r, Z, r * d);
      mm(Z, blk.attn.W_O.data, PROJ, d, d);
      const bO = blk.attn.b_O.data;
      for (let r = 0; r < n; r++) for (let j = 0; j < d; j++) X[r * d + j] += fr(PROJ[r * d + j] + bO[j]);
      for (let r = 0; r < n; r++) layerNormRow(X, r * d, blk.ln2.w.data, blk.ln2.b.data, lnEps, XN, r * d, d);
      mm(XN, blk.mlp.W_in.data, HID, d, dMlp);
      const bIn = blk.mlp.b_in.data;
      for (let r = 0; r < n; r++) for (let j = 0; j < dMlp; j++) geluInto(fr(HID[r * dMlp + j] + bIn[j]), ACT, null, r * dMlp + j);
      mm(ACT, blk.mlp.W_out.data, PROJ, dMlp, d);
      const bOut = blk.mlp.b_out.data;
      for (let r = 0; r < n; r++) for (let j = 0; j < d; j++) X[r * d + j] += fr(PROJ[r * d + j] + bOut[j]);
    }
    this.len = t0 + n;
    return this.unembed(X, (n - 1) * d);
  }

  /** Copy the k and v parts of a qkv row into the cache at position t. */
  private storeKV(L: LayerPack, qkv: Float32Array, o: number, t: number): void {
    const { dModel: d, nHeads: H } = this.model.config;
    const dh = d / H;
    const cap = this.capacity;
    for (let h = 0; h < H; h++) {
      const dst = (h * cap + t) * dh;
      for (let i = 0; i < dh; i++) {
        L.k[dst + i] = qkv[o + d + h * dh + i];
        L.v[dst + i] = qkv[o + 2 * d + h * dh + i];
      }
    }
  }

  /** Causal attention of the query in qkv[o ..] (position t) over cached keys 0..t; z[zOff ..] gets [H*dh]. */
  private attendRow(L: LayerPack, qkv: Float32Array, o: number, t: number, z: Float32Array, zOff: number): void {
    const { dModel: d, nHeads: H } = this.model.config;
    const dh = d / H;
    const cap = this.capacity;
    const scale = 1 / Math.sqrt(dh);
    const p = this.probs;
    const K = L.k, V = L.v;
    for (let h = 0; h < H; h++) {
      const q = o + h * dh;
      const base = h * cap * dh;
      // Scores, as in matmul(q, k, {transB}): a sequential f32 dot product per key.
      let mx = -Infinity;
      for (let j = 0; j <= t; j++) {
        let s = 0;
        const kj = base + j * dh;
        for (let i = 0; i < dh; i++) s = fr(s + fr(qkv[q + i] * K[kj + i]));
        p[j] = s;
        const v = s * scale;
        if (v > mx) mx = v;
      }
      // causalSoftmax: f64 sum of the unrounded exponentials, weights rounded then scaled.
      let sum = 0;
      for (let j = 0; j <= t; j++) {
        const e = expFast(p[j] * scale - mx);
        p[j] = e;
        sum += e;
      }
      const inv = 1 / sum;
      for (let j = 0; j <= t; j++) p[j] *= inv;
      // z = pattern @ v for this head.
      const zo = zOff + h * dh;
      for (let i = 0; i < dh; i++) z[zo + i] = 0;
      for (let j = 0; j <= t; j++) {
        const pj = p[j];
        const vj = base + j * dh;
        for (let i = 0; i < dh; i++) z[zo + i] += fr(pj * V[vj + i]);
      }
    }
  }

  /** Final layer norm and unembedding of row x[xOff ..]. */
  private unembed(x: Float32Array, xOff: number): Float32Array {
    const m = this.model;
    const { dModel: d, vocabSize: V, lnEps } = m.config;
    const xn = this.xn;
    layerNormRow(x, xOff, m.ln_final.w.data, m.ln_final.b.data, lnEps, xn, 0, d);
    const out = this.logitsBuf;
    matvec(xn, 0, m.W_U ? m.W_U.data : this.unembedT!, 0, out, d, V);
    const bU = m.b_U.data;
    for (let j = 0; j < V; j++) out[j] += bU[j];
    return out;
  }
}
