// The recurrent form of Based (based.ts): the same function as the parallel
// form, computed one token at a time from a fixed-size state, as a recurrent
// model generates. Per layer the state is the convolution's last k−1 inputs
// and, per head, S = Σ φ(k)vᵀ [E, d_head] and z = Σ φ(k) [E], with φ the
// second-order Taylor map keeping each xᵢxⱼ (i ≤ j) once:
//   φ(x) = [1, xᵢ/d′^¼, xᵢ²/√(2d′), xᵢxⱼ/√d′ (i < j)],
// so φ(q)·φ(k) = 1 + q·k/√d′ + (q·k)²/(2d′), the kernel the parallel form uses.
// The output of a head is φ(q)ᵀS / φ(q)·z.
//
// A prefix model (JRT-RNN) reads its prompt with `prefill`: the prefix's keys
// and values (from their own projections) are summed into the state first,
// then every prefix position reads the whole prefix; after that `step`
// decodes causally, as the parallel form's mask says.
//
// Arithmetic is in f64 (plain loops over the parameters' values): this is the
// reference the parallel f32 form is tested against, and the form the
// generation benchmark times.

import type { Based } from './based.js';
import { taylorFeatures, basedStateBytes, TaylorLinearAttention } from './based.js';

/** The linear attention of a block (the constructor refused any other mixer). */
const attn = (blk: Based['blocks'][number]): TaylorLinearAttention => blk.attn as TaylorLinearAttention;

interface LayerState {
  /** The last k−1 normalised inputs of the convolution, newest first. */
  hist: Float64Array[];
  /** Per head: S [E, dh] row-major, then z [E]. */
  S: Float64Array[];
  z: Float64Array[];
}

export class BasedRecurrent {
  private readonly cfg: Based['config'];
  private readonly E: number;
  private readonly dh: number;
  private layers: LayerState[] = [];
  private readonly phiQ: Float64Array;
  private readonly phiK: Float64Array;
  private readonly qf: Float64Array;
  private readonly kf: Float64Array;
  private readonly vf: Float64Array;
  private position = 0;

  constructor(private readonly model: Based) {
    this.cfg = model.config;
    if (this.cfg.mixer !== 'linear') throw new Error('BasedRecurrent: a softmax-attention model has no fixed-size recurrent state (it needs a KV cache)');
    this.E = taylorFeatures(this.cfg.featureDim);
    this.dh = this.cfg.dModel / this.cfg.nHeads;
    this.phiQ = new Float64Array(this.E);
    this.phiK = new Float64Array(this.E);
    this.qf = new Float64Array(this.cfg.featureDim);
    this.kf = new Float64Array(this.cfg.featureDim);
    this.vf = new Float64Array(this.dh);
    this.reset();
  }

  /** Bytes the state would take at f32 (it holds f64 here, for the reference arithmetic). */
  get stateBytes(): number {
    return basedStateBytes(this.cfg).total;
  }

  /** Tokens read so far. */
  get length(): number {
    return this.position;
  }

  reset(): void {
    const { nLayers, nHeads, dModel, convKernel } = this.cfg;
    this.layers = Array.from({ length: nLayers }, () => ({
      hist: Array.from({ length: convKernel - 1 }, () => new Float64Array(dModel)),
      S: Array.from({ length: nHeads }, () => new Float64Array(this.E * this.dh)),
      z: Array.from({ length: nHeads }, () => new Float64Array(this.E)),
    }));
    this.position = 0;
  }

  /** Read one token causally; returns the next-token logits. */
  step(token: number): Float64Array {
    const x = this.embed(token);
    this.model.blocks.forEach((blk, l) => {
      const st = this.layers[l];
      this.convStep(blk, st, x);
      const a = layerNorm(x, blk.ln_attn.w.data, blk.ln_attn.b.data, this.cfg.lnEps);
      const out = new Float64Array(this.cfg.dModel);
      for (let h = 0; h < this.cfg.nHeads; h++) {
        this.project(a, attn(blk).W_K.data, h, this.kf);
        this.project(a, attn(blk).W_V.data, h, this.vf);
        this.accumulate(st, h);
        this.project(a, attn(blk).W_Q.data, h, this.qf);
        this.readOut(st, h, attn(blk).W_O.data, out);
      }
      for (let i = 0; i < x.length; i++) x[i] += out[i];
    });
    this.position++;
    return this.logits(x);
  }

  /**
   * Read a prompt. A prefix model reads it non-causally (every position sees
   * every prompt token); a causal model steps through it. Returns the logits
   * at each prompt position, [n][V].
   */
  prefill(tokens: ArrayLike<number>): Float64Array[] {
    if (!this.cfg.prefix) return Array.from(tokens, (t) => this.step(t));
    if (this.position !== 0) throw new Error('BasedRecurrent.prefill: a prefix model reads its prompt first, from an empty state (call reset())');
    const n = tokens.length;
    const xs = Array.from(tokens, (t) => this.embed(t));
    this.model.blocks.forEach((blk, l) => {
      const st = this.layers[l];
      for (const x of xs) this.convStep(blk, st, x);
      const as = xs.map((x) => layerNorm(x, blk.ln_attn.w.data, blk.ln_attn.b.data, this.cfg.lnEps));
      const outs = xs.map(() => new Float64Array(this.cfg.dModel));
      for (let h = 0; h < this.cfg.nHeads; h++) {
        // First the whole prompt goes into the state, through the prefix projections...
        for (const a of as) {
          this.project(a, attn(blk).W_K_prefix!.data, h, this.kf);
          this.project(a, attn(blk).W_V_prefix!.data, h, this.vf);
          this.accumulate(st, h);
        }
        // ...then every prompt position reads all of it.
        as.forEach((a, t) => {
          this.project(a, attn(blk).W_Q.data, h, this.qf);
          this.readOut(st, h, attn(blk).W_O.data, outs[t]);
        });
      }
      xs.forEach((x, t) => {
        for (let i = 0; i < x.length; i++) x[i] += outs[t][i];
      });
    });
    this.position += n;
    return xs.map((x) => this.logits(x));
  }

  private embed(token: number): Float64Array {
    const { vocabSize: V, dModel: d } = this.cfg;
    if (!Number.isInteger(token) || token < 0 || token >= V) throw new Error(`BasedRecurrent: token ${token} is outside the vocabulary of ${V}`);
    return Float64Array.from(this.model.W_E.data.subarray(token * d, (token + 1) * d));
  }

  /** x += conv(u) ⊙ (u W_proj + b_proj) with u = ln_conv(x); then u joins the history. */
  private convStep(blk: Based['blocks'][number], st: LayerState, x: Float64Array): void {
    const d = this.cfg.dModel;
    const k = this.cfg.convKernel;
    const u = layerNorm(x, blk.ln_conv.w.data, blk.ln_conv.b.data, this.cfg.lnEps);
    const Wc = blk.conv.W_conv.data;
    const bc = blk.conv.b_conv.data;
    const Wp = blk.conv.W_proj.data;
    const bp = blk.conv.b_proj.data;
    for (let j = 0; j < d; j++) {
      let c = 0;
      // Tap order as the parallel form sums them: s = 0, 1, ..., then the bias.
      c += Wc[j] * u[j];
      for (let s = 1; s < k; s++) c += Wc[s * d + j] * st.hist[s - 1][j];
      c += bc[j];
      let p = 0;
      for (let i = 0; i < d; i++) p += u[i] * Wp[i * d + j];
      p += bp[j];
      x[j] += c * p;
    }
    if (k > 1) {
      st.hist.pop();
      st.hist.unshift(u);
    }
  }

  /** out = a · W[h] for W [H, d, w]. */
  private project(a: Float64Array, W: Float32Array, h: number, out: Float64Array): void {
    const d = this.cfg.dModel;
    const w = out.length;
    const base = h * d * w;
    out.fill(0);
    for (let i = 0; i < d; i++) {
      const ai = a[i];
      const row = base + i * w;
      for (let j = 0; j < w; j++) out[j] += ai * W[row + j];
    }
  }

  /** S[h] += φ(k) vᵀ, z[h] += φ(k), with k and v in kf and vf. */
  private accumulate(st: LayerState, h: number): void {
    features(this.kf, this.phiK);
    const S = st.S[h];
    const z = st.z[h];
    const dh = this.dh;
    for (let e = 0; e < this.E; e++) {
      const pe = this.phiK[e];
      z[e] += pe;
      const row = e * dh;
      for (let j = 0; j < dh; j++) S[row + j] += pe * this.vf[j];
    }
  }

  /** out += (φ(q)ᵀS / φ(q)·z) W_O[h], with q in qf. */
  private readOut(st: LayerState, h: number, W_O: Float32Array, out: Float64Array): void {
    features(this.qf, this.phiQ);
    const S = st.S[h];
    const z = st.z[h];
    const dh = this.dh;
    const d = this.cfg.dModel;
    const num = new Float64Array(dh);
    let den = 0;
    for (let e = 0; e < this.E; e++) {
      const pe = this.phiQ[e];
      den += pe * z[e];
      const row = e * dh;
      for (let j = 0; j < dh; j++) num[j] += pe * S[row + j];
    }
    for (let j = 0; j < dh; j++) {
      const y = num[j] / den;
      const row = (h * dh + j) * d;
      for (let i = 0; i < d; i++) out[i] += y * W_O[row + i];
    }
  }

  private logits(x: Float64Array): Float64Array {
    const { vocabSize: V, dModel: d } = this.cfg;
    const m = this.model;
    const xf = layerNorm(x, m.ln_final.w.data, m.ln_final.b.data, this.cfg.lnEps);
    const out = Float64Array.from(m.b_U.data);
    const W = m.W_U.data;
    for (let i = 0; i < d; i++) {
      const xi = xf[i];
      for (let v = 0; v < V; v++) out[v] += xi * W[i * V + v];
    }
    return out;
  }
}

/** φ(x) into out (length 1 + d′ + d′(d′+1)/2). */
export function features(x: Float64Array, out: Float64Array): void {
  const f = x.length;
  const r4 = Math.sqrt(Math.sqrt(f));
  const rd = Math.sqrt(f);
  const r2d = Math.sqrt(2 * f);
  let p = 0;
  out[p++] = 1;
  for (let i = 0; i < f; i++) out[p++] = x[i] / r4;
  for (let i = 0; i < f; i++) out[p++] = (x[i] * x[i]) / r2d;
  for (let i = 0; i < f; i++) for (let j = i + 1; j < f; j++) out[p++] = (x[i] * x[j]) / rd;
}

function layerNorm(x: Float64Array, w: Float32Array, b: Float32Array, eps: number): Float64Array {
  const n = x.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i];
  mean /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (x[i] - mean) * (x[i] - mean);
  const inv = 1 / Math.sqrt(v / n + eps);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (x[i] - mean) * inv * w[i] + b[i];
  return out;
}
