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

// ---------------------------------------------------------------- the matvec kernel
//
// One WebAssembly SIMD function, assembled here byte by byte (it is 200 bytes;
// a build step for it would be more machinery than code):
//
//   matvec(x, w, out, K, N, stride): out[j] = sum_{p<K} x[p] * w[p*stride + j], j < N, N % 4 == 0
//
// (pointers and stride in bytes). It runs over column blocks of 16, then of 4,
// keeping each column's sum in one f32x4 lane: acc = f32x4.add(acc,
// f32x4.mul(splat(x[p]), w[p, j..j+3])), p in order. Single-precision mul and
// add with round-to-nearest and no fusion are exactly the engine's
// acc = f32(acc + f32(a*b)), so the bits equal matmulF32's. The weights stay
// in the module's own memory between calls, which is what makes a one-row
// product fast (~10 GFLOP/s here, against ~1.3 for the same loop in JS).

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

function matvecModuleBytes(): Uint8Array {
  const I32 = 0x7f, V128 = 0x7b;
  const get = (i: number) => [0x20, i], set = (i: number) => [0x21, i];
  const i32 = (v: number) => {
    if (v < 0 || v > 63) throw new Error('matvec assembler: i32 constants here are in [0, 63]'); // one signed-LEB byte
    return [0x41, v];
  };
  const ADD = 0x6a, SUB = 0x6b, SHL = 0x74, GT_U = 0x4b, EQZ = 0x45;
  const simd = (op: number) => [0xfd, ...uleb(op)];
  const vload = (off: number) => [...simd(0), 4, ...uleb(off)];
  const vstore = (off: number) => [...simd(11), 4, ...uleb(off)];
  const SPLAT = simd(19), FADD = simd(228), FMUL = simd(230);
  const VZERO = [...simd(12), ...new Array<number>(16).fill(0)];
  const F32LOAD = [0x2a, 2, 0];
  const BLOCK = [0x02, 0x40], LOOP = [0x03, 0x40], END = 0x0b;
  const br = (d: number) => [0x0c, d], brIf = (d: number) => [0x0d, d];
  // Params x=0 w=1 out=2 K=3 N=4 stride=5; locals j=6 p=7 wp=8 xp=9 (i32), acc=10..13 a=14 (v128).
  const X = 0, W = 1, OUT = 2, K = 3, N = 4, S = 5, J = 6, P = 7, WP = 8, XP = 9, ACC = 10, A = 14;
  const columns = (nv: number): number[] => [
    ...BLOCK, ...LOOP,
    ...get(J), ...i32(4 * nv), ADD, ...get(N), GT_U, ...brIf(1), // while j + 4nv <= N
    ...Array.from({ length: nv }, (_, v) => [...VZERO, ...set(ACC + v)]).flat(),
    ...get(W), ...get(J), ...i32(2), SHL, ADD, ...set(WP),
    ...get(X), ...set(XP), ...get(K), ...set(P),
    ...BLOCK, ...LOOP,
    ...get(P), EQZ, ...brIf(1), // for p = K down to 1
    ...get(XP), ...F32LOAD, ...SPLAT, ...set(A),
    ...Array.from({ length: nv }, (_, v) => [...get(ACC + v), ...get(A), ...get(WP), ...vload(16 * v), ...FMUL, ...FADD, ...set(ACC + v)]).flat(),
    ...get(WP), ...get(S), ADD, ...set(WP),
    ...get(XP), ...i32(4), ADD, ...set(XP),
    ...get(P), ...i32(1), SUB, ...set(P),
    ...br(0), END, END,
    ...Array.from({ length: nv }, (_, v) => [...get(OUT), ...get(J), ...i32(2), SHL, ADD, ...get(ACC + v), ...vstore(16 * v)]).flat(),
    ...get(J), ...i32(4 * nv), ADD, ...set(J),
    ...br(0), END, END,
  ];
  const body = [2, 4, I32, 5, V128, ...columns(4), ...columns(1), END];
  const section = (id: number, b: number[]) => [id, ...uleb(b.length), ...b];
  const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
  const name = (s: string) => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [I32]]), 0]])), // type (i32 x6) -> ()
    ...section(3, vec([[0]])), // one function of type 0
    ...section(5, vec([[0x00, 0x01]])), // one memory, 1 page, growable
    ...section(7, vec([[...name('memory'), 0x02, 0], [...name('matvec'), 0x00, 0]])),
    ...section(10, vec([[...uleb(body.length), ...body]])),
  ]);
}

interface MatvecInstance {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  matvec(x: number, w: number, out: number, K: number, N: number, stride: number): void;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
let matvecModule: object | undefined;

/** A fresh instance of the matvec module with at least `bytes` of memory. */
function matvecInstance(bytes: number): MatvecInstance {
  const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
  matvecModule ??= new WA.Module(matvecModuleBytes());
  const inst = new WA.Instance(matvecModule, {}).exports as MatvecInstance;
  const pages = Math.ceil(bytes / 65536);
  if (pages > 1) inst.memory.grow(pages - 1);
  return inst;
}

/** A bump allocator of 16-byte-aligned f32 regions, in floats. */
class Layout {
  size = 0;
  take(n: number): number {
    const at = this.size;
    this.size += (n + 3) & ~3;
    return at;
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

export class IncrementalGPT {
  readonly model: GPT;
  /** Most positions the cache can hold (at most the model's context length). */
  readonly capacity: number;
  private len = 0;
  private readonly capPad: number;
  private readonly kernel: MatvecInstance;
  /** The kernel's memory as floats: weights, caches and one row's scratch live here. */
  private readonly f: Float32Array;
  private readonly layers: LayerSlots[] = [];
  private readonly wu: number; // [d, V]: W_U, or W_Eᵀ when weights are tied
  // Scratch slots for one row.
  private readonly x: number;
  private readonly xn: number;
  private readonly qkv: number;
  private readonly z: number;
  private readonly proj: number;
  private readonly hidden: number;
  private readonly act: number;
  private readonly probs: number;
  private readonly logits: number;

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
    this.x = mem.take(d);
    this.xn = mem.take(d);
    this.qkv = mem.take(3 * d);
    this.z = mem.take(d);
    this.proj = mem.take(d);
    this.hidden = mem.take(m);
    this.act = mem.take(m);
    this.probs = mem.take(this.capPad);
    this.logits = mem.take(V);
    this.kernel = matvecInstance(mem.size * 4);
    this.f = new Float32Array(this.kernel.memory.buffer);
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
    const f = this.f;
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

  /** f[out + j] = sum_p f[x + p] * f[w + p*stride + j] for j < N (offsets and stride in floats). */
  private mv(x: number, w: number, out: number, K: number, N: number, stride: number): void {
    const N4 = N & ~3;
    if (N4 > 0) this.kernel.matvec(x * 4, w * 4, out * 4, K, N4, stride * 4);
    const f = this.f;
    for (let j = N4; j < N; j++) {
      let s = 0;
      for (let p = 0; p < K; p++) s = fr(s + fr(f[x + p] * f[w + p * stride + j]));
      f[out + j] = s;
    }
  }

  private checkToken(token: number): void {
    const V = this.model.config.vocabSize;
    if (!Number.isInteger(token) || token < 0 || token >= V) throw new RangeError(`IncrementalGPT: token ${token} is outside [0, ${V})`);
  }

  /**
   * Append one token and return the logits [V] for the token after it. The
   * returned array is a view that the next call overwrites.
   */
  push(token: number): Float32Array {
    this.checkToken(token);
    if (this.len >= this.capacity) throw new RangeError(`IncrementalGPT: the cache is full (${this.capacity} positions); reset() first`);
    const m = this.model;
    const { dModel: d, dMlp, lnEps } = m.config;
    const t = this.len;
    const f = this.f;
    const { x, xn, qkv, z, proj, hidden, act } = this;
    const E = m.W_E.data, P = m.W_pos.data;
    for (let j = 0; j < d; j++) f[x + j] = E[token * d + j] + P[t * d + j];
    for (let l = 0; l < m.blocks.length; l++) {
      const blk = m.blocks[l];
      const L = this.layers[l];
      layerNormRow(f, x, blk.ln1.w.data, blk.ln1.b.data, lnEps, f, xn, d);
      this.mv(xn, L.wqkv, qkv, d, 3 * d, 3 * d);
      for (let j = 0; j < 3 * d; j++) f[qkv + j] += L.bqkv[j];
      this.storeKV(L, f, qkv, t);
      this.attendRow(L, t);
      this.mv(z, L.wo, proj, d, d, d);
      const bO = blk.attn.b_O.data;
      for (let j = 0; j < d; j++) f[x + j] += fr(f[proj + j] + bO[j]);
      layerNormRow(f, x, blk.ln2.w.data, blk.ln2.b.data, lnEps, f, xn, d);
      this.mv(xn, L.win, hidden, d, dMlp, dMlp);
      const bIn = blk.mlp.b_in.data;
      for (let j = 0; j < dMlp; j++) geluInto(fr(f[hidden + j] + bIn[j]), f, null, act + j);
      this.mv(act, L.wout, proj, dMlp, d, d);
      const bOut = blk.mlp.b_out.data;
      for (let j = 0; j < d; j++) f[x + j] += fr(f[proj + j] + bOut[j]);
    }
    this.len = t + 1;
    return this.unembed(f, x);
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
    const { dModel: d, dMlp, lnEps } = m.config;
    const t0 = this.len;
    const f = this.f;
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
      mm(XN, f.subarray(L.wqkv, L.wqkv + 3 * d * d), QKV, d, 3 * d);
      for (let r = 0; r < n; r++) {
        const o = r * 3 * d;
        for (let j = 0; j < 3 * d; j++) QKV[o + j] += L.bqkv[j];
        this.storeKV(L, QKV, o, t0 + r);
      }
      for (let r = 0; r < n; r++) {
        f.set(QKV.subarray(r * 3 * d, r * 3 * d + d), this.qkv);
        this.attendRow(L, t0 + r);
        Z.set(f.subarray(this.z, this.z + d), r * d);
      }
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

  /** Store the k and v parts of the qkv row src[o ..] in the cache at position t. */
  private storeKV(L: LayerSlots, src: Float32Array, o: number, t: number): void {
    const { dModel: d, nHeads: H } = this.model.config;
    const dh = d / H;
    const f = this.f;
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

  /** Causal attention of the query in the qkv slot (position t) over cached positions 0..t, into the z slot. */
  private attendRow(L: LayerSlots, t: number): void {
    const { dModel: d, nHeads: H } = this.model.config;
    const dh = d / H;
    const scale = 1 / Math.sqrt(dh);
    const f = this.f;
    const p = this.probs;
    const n = t + 1;
    for (let h = 0; h < H; h++) {
      // Scores, as matmul(q, k, {transB}): q · k_j, a sequential f32 dot product per key (columns past t are ignored).
      this.mv(this.qkv + h * dh, L.kt + h * dh * this.capPad, p, dh, (n + 3) & ~3, this.capPad);
      // causalSoftmax: f64 max and sum of the unrounded exponentials; weights rounded, then scaled.
      let mx = -Infinity;
      for (let j = 0; j < n; j++) {
        const v = f[p + j] * scale;
        if (v > mx) mx = v;
      }
      let sum = 0;
      for (let j = 0; j < n; j++) {
        const e = expFast(f[p + j] * scale - mx);
        f[p + j] = e;
        sum += e;
      }
      const inv = 1 / sum;
      for (let j = 0; j < n; j++) f[p + j] *= inv;
      // z = pattern @ v for this head.
      this.mv(p, L.v + h * this.capacity * dh, this.z + h * dh, n, dh, dh);
    }
  }

  /** Final layer norm and unembedding of row x[xOff ..]. */
  private unembed(x: Float32Array, xOff: number): Float32Array {
    const m = this.model;
    const { dModel: d, vocabSize: V, lnEps } = m.config;
    const f = this.f;
    layerNormRow(x, xOff, m.ln_final.w.data, m.ln_final.b.data, lnEps, f, this.xn, d);
    this.mv(this.xn, this.wu, this.logits, d, V, V);
    const bU = m.b_U.data;
    for (let j = 0; j < V; j++) f[this.logits + j] += bU[j];
    return f.subarray(this.logits, this.logits + V);
  }
}
