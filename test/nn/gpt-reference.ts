// An independent GPT, in plain f64 loops: nothing here calls the engine (no
// Tensor, no kernels, no ops), so a wrong attention scale, head order, mask,
// LayerNorm or GELU in src/ cannot also be wrong here by sharing the code.
// It loads the engine GPT's parameters by their TransformerLens names and
// computes the same function:
//   x = W_E[tok] + W_pos[pos]
//   per block: x += attn(LN1(x)) ; x += mlp(LN2(x))     (pre-LN)
//   attn: per head h, q = x W_Q[h] + b_Q[h] (same for k, v),
//         pattern = softmax over s <= t of (q_t · k_s) / sqrt(d_head),
//         z[t, h] = Σ_s pattern[t, s] v_s;  out = concat_h z[t, h] · W_O + b_O
//         with W_O [H, d_head, d] read as [H·d_head, d] (head h's rows h·d_head..)
//   mlp: GELU(x W_in + b_in) W_out + b_out, GELU(x) = x Φ(x) with the exact
//        erf (the engine's definition; it approximates erf to 1.5e-7)
//   logits = LN_final(x) W_U + b_U   (W_E transposed when weights are tied)
// LayerNorm: (x - mean) / sqrt(biased variance + eps) · w + b.

export interface RefConfig {
  vocabSize: number;
  contextLength: number;
  nLayers: number;
  nHeads: number;
  dModel: number;
  dMlp: number;
  tieWeights: boolean;
  lnEps: number;
}

export type RefParams = Map<string, Float64Array>;

/** Variants of the reference (to show the comparison can fail) and interventions. */
export interface RefOptions {
  /** Attention scale; 1/sqrt(d_head) unless given (a mutant passes 1/d_head). */
  attnScale?: number;
  /** Concatenate heads in reverse order (a mutant). */
  reverseHeads?: boolean;
  /** Zero z[b, t, head] of one layer for the listed positions t (all when omitted). */
  ablate?: { layer: number; head: number; positions?: number[] };
}

export interface RefOutput {
  /** [B, T, V] */
  logits: Float64Array;
  /** Per layer, [B, T, d]: the residual stream entering the block, and the attention output. */
  residPre: Float64Array[];
  attnOut: Float64Array[];
}

/** erf by its Maclaurin series (|z| < 4; the terms' cancellation costs < 1e-9 there) and ±1 beyond (error < 2e-8). */
export function erf(z: number): number {
  if (z >= 4) return 1;
  if (z <= -4) return -1;
  let term = z; // (-1)^n z^(2n+1) / n!
  let sum = z;
  for (let n = 1; n < 200; n++) {
    term *= (-z * z) / n;
    const t = term / (2 * n + 1);
    sum += t;
    if (Math.abs(t) < 1e-18) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

export const gelu = (x: number): number => 0.5 * x * (1 + erf(x / Math.SQRT2));

function layerNorm(x: Float64Array, rows: number, d: number, w: Float64Array, b: Float64Array, eps: number): Float64Array {
  const out = new Float64Array(rows * d);
  for (let r = 0; r < rows; r++) {
    let mu = 0;
    for (let j = 0; j < d; j++) mu += x[r * d + j];
    mu /= d;
    let v = 0;
    for (let j = 0; j < d; j++) v += (x[r * d + j] - mu) ** 2;
    v /= d;
    const rs = 1 / Math.sqrt(v + eps);
    for (let j = 0; j < d; j++) out[r * d + j] = (x[r * d + j] - mu) * rs * w[j] + b[j];
  }
  return out;
}

/** y[rows, n] = x[rows, k] W[k, n] + bias[n]. */
function linear(x: Float64Array, rows: number, k: number, W: Float64Array, n: number, bias: Float64Array | null): Float64Array {
  const y = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < n; j++) {
      let s = bias ? bias[j] : 0;
      for (let i = 0; i < k; i++) s += x[r * k + i] * W[i * n + j];
      y[r * n + j] = s;
    }
  }
  return y;
}

/** Parameters copied (exactly: f32 -> f64) from anything with namedParameters(). */
export function refParams(model: { namedParameters(): Array<[string, { data: Float32Array }]> }): RefParams {
  return new Map(model.namedParameters().map(([n, t]) => [n, Float64Array.from(t.data)]));
}

export function refForward(P: RefParams, c: RefConfig, tokens: ArrayLike<number>, B: number, T: number, opts: RefOptions = {}): RefOutput {
  const get = (n: string): Float64Array => {
    const v = P.get(n);
    if (!v) throw new Error(`reference: no parameter ${n}`);
    return v;
  };
  const { dModel: d, nHeads: H, vocabSize: V, dMlp: M } = c;
  const dh = d / H;
  const N = B * T;
  const scale = opts.attnScale ?? 1 / Math.sqrt(dh);
  const WE = get('embed.W_E');
  const Wpos = get('pos_embed.W_pos');
  let x = new Float64Array(N * d);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const tok = tokens[b * T + t];
      for (let j = 0; j < d; j++) x[(b * T + t) * d + j] = WE[tok * d + j] + Wpos[t * d + j];
    }
  }
  const residPre: Float64Array[] = [];
  const attnOut: Float64Array[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    const p = `blocks.${l}.`;
    residPre.push(x.slice());
    const xn = layerNorm(x, N, d, get(`${p}ln1.w`), get(`${p}ln1.b`), c.lnEps);
    const WQ = get(`${p}attn.W_Q`), WK = get(`${p}attn.W_K`), WV = get(`${p}attn.W_V`), WO = get(`${p}attn.W_O`);
    const bQ = get(`${p}attn.b_Q`), bK = get(`${p}attn.b_K`), bV = get(`${p}attn.b_V`), bO = get(`${p}attn.b_O`);
    // concat[N, H·dh]: z of every head, head h at columns h·dh..
    const concat = new Float64Array(N * d);
    for (let h = 0; h < H; h++) {
      const proj = (W: Float64Array, bias: Float64Array) => linear(xn, N, d, W.subarray(h * d * dh, (h + 1) * d * dh), dh, bias.subarray(h * dh, (h + 1) * dh));
      const q = proj(WQ, bQ), k = proj(WK, bK), v = proj(WV, bV);
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < T; t++) {
          const row = b * T + t;
          const scores = new Float64Array(t + 1);
          let mx = -Infinity;
          for (let s = 0; s <= t; s++) {
            let dot = 0;
            for (let i = 0; i < dh; i++) dot += q[row * dh + i] * k[(b * T + s) * dh + i];
            scores[s] = dot * scale;
            mx = Math.max(mx, scores[s]);
          }
          let sum = 0;
          for (let s = 0; s <= t; s++) sum += (scores[s] = Math.exp(scores[s] - mx));
          const ab = opts.ablate;
          const zeroed = ab && ab.layer === l && ab.head === h && (!ab.positions || ab.positions.includes(t));
          const slot = opts.reverseHeads ? H - 1 - h : h;
          for (let i = 0; i < dh; i++) {
            let z = 0;
            for (let s = 0; s <= t; s++) z += (scores[s] / sum) * v[(b * T + s) * dh + i];
            concat[row * d + slot * dh + i] = zeroed ? 0 : z;
          }
        }
      }
    }
    const ao = linear(concat, N, d, WO, d, bO); // W_O [H, dh, d] is [H·dh, d] row-major
    attnOut.push(ao);
    x = x.map((v, i) => v + ao[i]);
    const xn2 = layerNorm(x, N, d, get(`${p}ln2.w`), get(`${p}ln2.b`), c.lnEps);
    const hidden = linear(xn2, N, d, get(`${p}mlp.W_in`), M, get(`${p}mlp.b_in`)).map(gelu);
    const mo = linear(hidden, N, M, get(`${p}mlp.W_out`), d, get(`${p}mlp.b_out`));
    x = x.map((v, i) => v + mo[i]);
  }
  const xf = layerNorm(x, N, d, get('ln_final.w'), get('ln_final.b'), c.lnEps);
  let WU: Float64Array;
  if (c.tieWeights) {
    WU = new Float64Array(d * V);
    for (let tok = 0; tok < V; tok++) for (let j = 0; j < d; j++) WU[j * V + tok] = WE[tok * d + j];
  } else WU = get('unembed.W_U');
  return { logits: linear(xf, N, d, WU, V, get('unembed.b_U')), residPre, attnOut };
}

/** Mean next-token cross-entropy (nats) of the reference's logits. */
export function refLoss(P: RefParams, c: RefConfig, tokens: ArrayLike<number>, targets: ArrayLike<number>, B: number, T: number): number {
  const { logits } = refForward(P, c, tokens, B, T);
  const V = c.vocabSize;
  let total = 0;
  for (let r = 0; r < B * T; r++) {
    let mx = -Infinity;
    for (let j = 0; j < V; j++) mx = Math.max(mx, logits[r * V + j]);
    let s = 0;
    for (let j = 0; j < V; j++) s += Math.exp(logits[r * V + j] - mx);
    total += mx + Math.log(s) - logits[r * V + targets[r]];
  }
  return total / (B * T);
}
