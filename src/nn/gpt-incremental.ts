// A KV-cached forward pass for GPT: feed tokens one at a time (or a few at
// once) and get the logits of the next token, without recomputing the prefix.
//
// It reads the parameters of a GPT and reproduces GPT.forward's arithmetic
// exactly, so the logits are bit-identical to forward() on the same prefix
// (test/nn/gpt-incremental.test.ts checks this). That is what lets a
// compressor's decoder, which must go byte by byte, match an encoder.
//
// There is one path: push(token) is pushMany of one token. A block is the
// pre-LN block of gpt.ts on the new rows, with its own parameters; only two
// things differ, and both for speed:
// - attention reads the keys and values of earlier positions from the cache,
//   which holds positions 0..length-1 (absolute, as the learned position
//   table requires); when it is full the caller resets it and re-feeds the
//   tokens it wants to keep;
// - the products run against copies of the weights kept in the memory of the
//   one-row kernel (src/engine/matvec-wasm.ts) for one new row, and through
//   the engine's matmul (which copies its operands per call) for several.
//
// Where the bits come from, op by op (see src/engine/ops-*.ts):
// - matmul: each output element is a sequential f32 sum over k, then
//   f32(acc + bias); the matvec kernel and matmulF32 both compute exactly that;
// - add: f32(a + b); layer norm: layerNormRows, the op's own arithmetic;
// - causal softmax: f64 max and sum of expFast(score*scale - max), each
//   weight rounded to f32, then f32(weight * (1/sum));
// - pattern @ v sums over every key; masked keys add exact zeros, so summing
//   over the visible keys only gives the same bits;
// - GELU: fastmath.geluInto, as the gelu op.

import type { GPT } from './gpt.js';
import { matmulF32 } from '../engine/matmul-kernel.js';
import { layerNormRows } from '../engine/ops-nn.js';
import { expFast, geluInto } from '../engine/fastmath.js';
import { MatvecMemory } from '../engine/matvec-wasm.js';

/** A bump allocator of 16-byte-aligned f32 regions, in floats. */
class Layout {
  size = 0;
  take(n: number): number {
    const at = this.size;
    this.size += (n + 3) & ~3;
    return at;
  }
}

/** Offsets (in floats) of one block's packed weights and cache in the kernel's memory. */
interface LayerSlots {
  /** [d, 3d]: the Q, K and V projections of every head side by side (column s*d + h*dh + i). */
  wqkv: number;
  wo: number; // [H*dh, d]
  win: number; // [d, dMlp]
  wout: number; // [dMlp, d]
  /** Keys, transposed per head: [H, dh, capPad], so a query's scores are one matvec. */
  kt: number;
  /** Values per head: [H, capacity, dh]. */
  v: number;
  /** [3d]: the Q, K, V biases in the order of wqkv's columns. */
  bqkv: Float32Array;
}

/** The activations of the rows being pushed, [n, width] each; grown to the largest n seen. */
class Rows {
  rows = 0;
  x = new Float32Array(0);
  xn = new Float32Array(0);
  qkv = new Float32Array(0);
  z = new Float32Array(0);
  proj = new Float32Array(0);
  hidden = new Float32Array(0);
  act = new Float32Array(0);
  constructor(private readonly d: number, private readonly dMlp: number) {}
  ensure(n: number): void {
    if (n <= this.rows) return;
    const { d, dMlp } = this;
    this.rows = n;
    this.x = new Float32Array(n * d);
    this.xn = new Float32Array(n * d);
    this.qkv = new Float32Array(n * 3 * d);
    this.z = new Float32Array(n * d);
    this.proj = new Float32Array(n * d);
    this.hidden = new Float32Array(n * dMlp);
    this.act = new Float32Array(n * dMlp);
  }
}

export class IncrementalGPT {
  readonly model: GPT;
  /** Most positions the cache can hold (at most the model's context length). */
  readonly capacity: number;
  private len = 0;
  private readonly capPad: number;
  /** The kernel and its memory: resident weights, the caches, and one row's input, output and attention scratch. */
  private readonly mem: MatvecMemory;
  private readonly layers: LayerSlots[] = [];
  private readonly wu: number; // [d, V]: W_U, or W_Eᵀ when weights are tied
  private readonly rowIn: number;
  private readonly rowOut: number;
  private readonly q: number;
  private readonly z: number;
  private readonly probs: number;
  private readonly rows: Rows;

  constructor(model: GPT, capacity = model.config.contextLength) {
    const c = model.config;
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > c.contextLength) {
      throw new RangeError(`IncrementalGPT: capacity must be in [1, ${c.contextLength}], got ${capacity}`);
    }
    this.model = model;
    this.capacity = capacity;
    this.capPad = (capacity + 3) & ~3;
    const { dModel: d, dMlp: m, vocabSize: V } = c;
    const mem = new Layout();
    for (let l = 0; l < c.nLayers; l++) {
      this.layers.push({
        wqkv: mem.take(d * 3 * d), wo: mem.take(d * d), win: mem.take(d * m), wout: mem.take(m * d),
        kt: mem.take(d * this.capPad), v: mem.take(capacity * d), bqkv: new Float32Array(3 * d),
      });
    }
    this.wu = mem.take(d * V);
    this.rowIn = mem.take(Math.max(d, m));
    this.rowOut = mem.take(Math.max(3 * d, m, V));
    this.q = mem.take(d);
    this.z = mem.take(d);
    this.probs = mem.take(this.capPad);
    this.mem = new MatvecMemory(mem.size);
    this.rows = new Rows(d, m);
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
   * Re-read the model's weights into the kernel's memory. Call after every
   * change to the parameters (an optimiser step); cached keys and values
   * computed with the old weights stay until reset().
   */
  refresh(): void {
    const m = this.model;
    const { dModel: d, nHeads: H, vocabSize: V } = m.config;
    const dh = d / H;
    const f = this.mem.f;
    m.blocks.forEach((blk, l) => {
      const L = this.layers[l];
      const mats = [blk.attn.W_Q.data, blk.attn.W_K.data, blk.attn.W_V.data];
      const biases = [blk.attn.b_Q.data, blk.attn.b_K.data, blk.attn.b_V.data];
      for (let s = 0; s < 3; s++) {
        const W = mats[s];
        for (let h = 0; h < H; h++) {
          for (let p = 0; p < d; p++) {
            const src = (h * d + p) * dh;
            const dst = L.wqkv + p * 3 * d + s * d + h * dh;
            for (let i = 0; i < dh; i++) f[dst + i] = W[src + i];
          }
        }
        L.bqkv.set(biases[s], s * d);
      }
      f.set(blk.attn.W_O.data, L.wo);
      f.set(blk.mlp.W_in.data, L.win);
      f.set(blk.mlp.W_out.data, L.wout);
    });
    if (m.W_U) f.set(m.W_U.data, this.wu);
    else {
      const E = m.W_E.data;
      for (let j = 0; j < V; j++) for (let p = 0; p < d; p++) f[this.wu + p * V + j] = E[j * d + p];
    }
  }

  /**
   * Append one token and return the logits [V] for the token after it. The
   * returned array is a view that the next call overwrites.
   */
  push(token: number): Float32Array {
    return this.pushMany([token]);
  }

  /**
   * Append tokens and return the logits [V] after the last one (a view that
   * the next call overwrites). Pushing them together or one by one gives the
   * same bits.
   */
  pushMany(tokens: ArrayLike<number>): Float32Array {
    const n = tokens.length;
    if (n === 0) throw new RangeError('IncrementalGPT: pushMany needs at least one token');
    if (this.len >= this.capacity) throw new RangeError(`IncrementalGPT: the cache is full (${this.capacity} positions); reset() first`);
    if (this.len + n > this.capacity) throw new RangeError(`IncrementalGPT: ${n} more tokens overflow the cache (${this.len} of ${this.capacity} used)`);
    const V = this.model.config.vocabSize;
    for (let i = 0; i < n; i++) {
      const t = tokens[i];
      if (!Number.isInteger(t) || t < 0 || t >= V) throw new RangeError(`IncrementalGPT: token ${t} is outside [0, ${V})`);
    }
    const m = this.model;
    const { dModel: d, dMlp, lnEps } = m.config;
    const t0 = this.len;
    this.rows.ensure(n);
    const { x, xn, qkv, z, proj, hidden, act } = this.rows;
    // Token plus position embedding, as GPT.forward's add(gather, gather).
    const E = m.W_E.data, P = m.W_pos.data;
    for (let r = 0; r < n; r++) {
      const e = tokens[r] * d, p = (t0 + r) * d;
      for (let j = 0; j < d; j++) x[r * d + j] = E[e + j] + P[p + j];
    }
    for (let l = 0; l < m.blocks.length; l++) {
      const blk = m.blocks[l];
      const L = this.layers[l];
      // x + attn(ln1(x))
      layerNormRows(x, blk.ln1.w.data, blk.ln1.b.data, lnEps, xn, n, d);
      this.linear(xn, n, d, L.wqkv, 3 * d, L.bqkv, qkv);
      for (let r = 0; r < n; r++) this.storeKV(L, qkv, r * 3 * d, t0 + r);
      this.attend(L, qkv, z, n, t0);
      this.linear(z, n, d, L.wo, d, blk.attn.b_O.data, proj);
      for (let i = 0; i < n * d; i++) x[i] += proj[i];
      // x + mlp(ln2(x))
      layerNormRows(x, blk.ln2.w.data, blk.ln2.b.data, lnEps, xn, n, d);
      this.linear(xn, n, d, L.win, dMlp, blk.mlp.b_in.data, hidden);
      for (let i = 0; i < n * dMlp; i++) geluInto(hidden[i], act, null, i);
      this.linear(act, n, dMlp, L.wout, d, blk.mlp.b_out.data, proj);
      for (let i = 0; i < n * d; i++) x[i] += proj[i];
    }
    this.len = t0 + n;
    return this.unembed(x.subarray((n - 1) * d, n * d));
  }

  /**
   * out[r] = a[r] @ W + bias for rows r < n, W [K, N] resident at offset w:
   * one row through the matvec kernel, several through the engine's matmul
   * (the same bits).
   */
  private linear(a: Float32Array, n: number, K: number, w: number, N: number, bias: Float32Array, out: Float32Array): void {
    const f = this.mem.f;
    if (n === 1) {
      const i = this.rowIn, o = this.rowOut;
      for (let p = 0; p < K; p++) f[i + p] = a[p];
      this.mem.matvec(i, w, o, K, N, N);
      for (let j = 0; j < N; j++) out[j] = f[o + j] + bias[j];
      return;
    }
    matmulF32(a.subarray(0, n * K), f.subarray(w, w + K * N), out.subarray(0, n * N), {
      batch: 1, m: n, n: N, k: K, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0, bias,
    });
  }

  /** Store the k and v parts of the qkv row src[o ..] in the cache at position t. */
  private storeKV(L: LayerSlots, src: Float32Array, o: number, t: number): void {
    const { dModel: d, nHeads: H } = this.model.config;
    const dh = d / H;
    const f = this.mem.f;
    const cp = this.capPad;
    for (let h = 0; h < H; h++) {
      const kt = L.kt + h * dh * cp + t;
      const v = L.v + (h * this.capacity + t) * dh;
      for (let i = 0; i < dh; i++) {
        f[kt + i * cp] = src[o + d + h * dh + i];
        f[v + i] = src[o + 2 * d + h * dh + i];
      }
    }
  }

  /** Causal attention of each new row's query (position t0 + r) over the cached positions up to its own, into z [n, d]. */
  private attend(L: LayerSlots, qkv: Float32Array, z: Float32Array, n: number, t0: number): void {
    const { dModel: d, nHeads: H } = this.model.config;
    const dh = d / H;
    const scale = 1 / Math.sqrt(dh);
    const mem = this.mem;
    const f = mem.f;
    const p = this.probs;
    for (let r = 0; r < n; r++) {
      const keys = t0 + r + 1;
      for (let j = 0; j < d; j++) f[this.q + j] = qkv[r * 3 * d + j];
      for (let h = 0; h < H; h++) {
        // Scores, as matmul(q, k, {transB}): q · k_j, a sequential f32 dot product per key (columns past the row's own are ignored).
        mem.matvec(this.q + h * dh, L.kt + h * dh * this.capPad, p, dh, (keys + 3) & ~3, this.capPad);
        // causalSoftmax: f64 max and sum of the unrounded exponentials; weights rounded, then scaled.
        let mx = -Infinity;
        for (let j = 0; j < keys; j++) {
          const v = f[p + j] * scale;
          if (v > mx) mx = v;
        }
        let sum = 0;
        for (let j = 0; j < keys; j++) {
          const e = expFast(f[p + j] * scale - mx);
          f[p + j] = e;
          sum += e;
        }
        const inv = 1 / sum;
        for (let j = 0; j < keys; j++) f[p + j] *= inv;
        // z = pattern @ v for this head.
        mem.matvec(p, L.v + h * this.capacity * dh, this.z + h * dh, keys, dh, dh);
      }
      for (let j = 0; j < d; j++) z[r * d + j] = f[this.z + j];
    }
  }

  /** Final layer norm and unembedding of one row; the logits stay in the kernel's memory. */
  private unembed(row: Float32Array): Float32Array {
    const m = this.model;
    const { dModel: d, vocabSize: V, lnEps } = m.config;
    const f = this.mem.f;
    const xn = f.subarray(this.rowIn, this.rowIn + d);
    layerNormRows(row, m.ln_final.w.data, m.ln_final.b.data, lnEps, xn, 1, d);
    this.mem.matvec(this.rowIn, this.wu, this.rowOut, d, V, V);
    const bU = m.b_U.data;
    for (let j = 0; j < V; j++) f[this.rowOut + j] += bU[j];
    return f.subarray(this.rowOut, this.rowOut + V);
  }
}
