// A sparse autoencoder over activations of width d with n latents.
//   ReLU:     f = ReLU((x − b_dec) W_enc + b_enc),          x̂ = f W_dec + b_dec
//   TopK:     z = ReLU(TopK((x − b_pre) W_enc + b_enc)),    x̂ = z W_dec + b_pre
//   BatchTopK: the k·B largest pre-activations of the batch in training, a
//              learned threshold θ at inference (Bussmann et al.).
// b_dec and b_pre are the same parameter (`b_dec`, SAELens's name). Losses are
// summed over d and averaged over tokens. Only the forward lives here; the
// training loop (decoder constraints, AuxK bookkeeping) is in train.ts.

import { Tensor, noGrad } from '../../engine/tensor.js';
import { add, sub, mul, relu, square, sqrt, mulScalar } from '../../engine/ops-elementwise.js';
import { sum } from '../../engine/ops-reduce.js';
import { matmulBias, topkIndices } from '../../engine/ops-nn.js';
import { encodeSafetensors, decodeSafetensors } from '../../engine/safetensors.js';
import { Rng } from '../../engine/rng.js';
import { gatherLatents, sparseDecode, batchTopKIndices } from './ops.js';
import type { SaeArch, SaeShape } from './config.js';

/** The latents a batch selected: ragged index lists (K slots per token, −1 = empty) and their values after ReLU. */
export interface Selection {
  idx: Int32Array;
  K: number;
  acts: Tensor;
  /** Dense pre-activations [B, n] (no graph): AuxK picks dead latents from these. */
  pre: Float32Array;
}

export interface SaeForward {
  xHat: Tensor;
  /** Σ_d (x − x̂)², averaged over tokens. */
  mse: Tensor;
  /** The sparsity term already multiplied by its coefficient (ReLU only; 0 otherwise). */
  sparsity: Tensor | null;
  sel: Selection | null;
  /** Dense ReLU codes [B, n] (ReLU SAE only). */
  dense: Tensor | null;
  xc: Tensor;
}

export class Sae {
  readonly shape: SaeShape;
  readonly W_enc: Tensor;
  readonly b_enc: Tensor;
  readonly W_dec: Tensor;
  readonly b_dec: Tensor;
  /** BatchTopK's inference threshold: a running mean of the smallest kept activation. */
  threshold = 0;
  /** Free-form facts saved with the weights (the hook it reads, the model it was trained on). */
  meta: Record<string, string> = {};

  constructor(shape: SaeShape) {
    const { d, n } = shape;
    if (!Number.isInteger(d) || d < 1 || !Number.isInteger(n) || n < 1) throw new Error(`Sae: d and n must be positive integers, got d=${d} n=${n}`);
    this.shape = { ...shape };
    this.W_enc = Tensor.param(new Float32Array(d * n), [d, n], 'W_enc');
    this.b_enc = Tensor.param(new Float32Array(n), [n], 'b_enc');
    this.W_dec = Tensor.param(new Float32Array(n * d), [n, d], 'W_dec');
    this.b_dec = Tensor.param(new Float32Array(d), [d], 'b_dec');
  }

  get arch(): SaeArch {
    return this.shape.arch;
  }

  params(): Tensor[] {
    return [this.W_enc, this.b_enc, this.W_dec, this.b_dec];
  }

  /**
   * Random decoder directions with row norm `norm` (unit for TopK), the encoder
   * tied to the decoder's transpose, b_enc = 0, and b_dec = `center`.
   */
  initTied(seed: number, center: ArrayLike<number>, norm: number): void {
    const { d, n } = this.shape;
    const rng = Rng.derive(seed, 'sae/init/W_dec');
    const w = this.W_dec.data;
    rng.fillNormal(w);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += w[i * d + c] * w[i * d + c];
      const scale = norm / Math.sqrt(s);
      for (let c = 0; c < d; c++) w[i * d + c] *= scale;
    }
    for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) this.W_enc.data[c * n + i] = w[i * d + c];
    this.b_enc.data.fill(0);
    for (let c = 0; c < d; c++) this.b_dec.data[c] = center[c];
  }

  /**
   * One training forward on x [B, d]. `l1` weighs Σ_i f_i ||W_dec[i]|| for the
   * ReLU SAE. TopK and BatchTopK go through the sparse ops.
   */
  forward(x: Tensor, l1 = 0): SaeForward {
    const B = x.dim(0);
    const { n, k } = this.shape;
    const xc = sub(x, this.b_dec);
    if (this.arch === 'relu') {
      const f = relu(matmulBias(xc, this.W_enc, this.b_enc));
      const xHat = matmulBias(f, this.W_dec, this.b_dec);
      const mse = mulScalar(sum(square(sub(x, xHat))), 1 / B);
      const norms = sqrt(sum(square(this.W_dec), 1)); // [n]
      const sparsity = mulScalar(sum(mul(f, norms)), l1 / B);
      return { xHat, mse, sparsity, sel: null, dense: f, xc };
    }
    const pre = noGrad(() => matmulBias(xc, this.W_enc, this.b_enc)).data;
    let idx: Int32Array;
    let K: number;
    if (this.arch === 'topk') {
      idx = topkIndices(new Tensor(pre, [B, n]), k);
      K = k;
    } else {
      const bt = batchTopKIndices(pre, B, n, k);
      idx = bt.idx;
      K = bt.K;
      if (bt.minKept < Infinity) this.lastMinKept = bt.minKept;
    }
    const acts = relu(gatherLatents(xc, this.W_enc, this.b_enc, pre, idx, K));
    const xHat = add(sparseDecode(acts, idx, this.W_dec), this.b_dec);
    const mse = mulScalar(sum(square(sub(x, xHat))), 1 / B);
    return { xHat, mse, sparsity: null, sel: { idx, K, acts, pre }, dense: null, xc };
  }

  /** The smallest activation BatchTopK kept in the last training batch (train.ts averages it into `threshold`). */
  lastMinKept = 0;

  /** Inference codes [B, n] for rows x (no graph): what metrics, dashboards and splicing use. */
  encode(x: Float32Array, B: number): Float32Array {
    const { d, n, k } = this.shape;
    if (x.length !== B * d) throw new Error(`Sae.encode: ${x.length} values are not ${B} rows of width ${d}`);
    return noGrad(() => {
      const xc = sub(new Tensor(x, [B, d]), this.b_dec);
      const pre = matmulBias(xc, this.W_enc, this.b_enc).data;
      const z = new Float32Array(B * n);
      if (this.arch === 'relu') {
        for (let i = 0; i < z.length; i++) z[i] = pre[i] > 0 ? pre[i] : 0;
      } else if (this.arch === 'topk') {
        const idx = topkIndices(new Tensor(pre, [B, n]), k);
        for (let b = 0; b < B; b++) {
          for (let j = 0; j < k; j++) {
            const f = b * n + idx[b * k + j];
            if (pre[f] > 0) z[f] = pre[f];
          }
        }
      } else {
        const th = this.threshold;
        for (let i = 0; i < z.length; i++) z[i] = pre[i] > th && pre[i] > 0 ? pre[i] : 0;
      }
      return z;
    });
  }

  /** x̂ [B, d] from codes [B, n] (no graph). */
  decode(z: Float32Array, B: number): Float32Array {
    const { n } = this.shape;
    return noGrad(() => matmulBias(new Tensor(z, [B, n]), this.W_dec, this.b_dec).data);
  }

  /** The weights as safetensors, SAELens's tensor names; shape and meta in the metadata. */
  toSafetensors(): Uint8Array {
    const t = (name: string, x: Tensor) => ({ name, dtype: 'F32' as const, shape: x.shape, data: x.data });
    return encodeSafetensors([t('W_enc', this.W_enc), t('b_enc', this.b_enc), t('W_dec', this.W_dec), t('b_dec', this.b_dec)], {
      format: 'glassbox-sae', arch: this.arch, d: String(this.shape.d), n: String(this.shape.n), k: String(this.shape.k), threshold: String(this.threshold), ...this.meta,
    });
  }

  static fromSafetensors(bytes: Uint8Array, where = 'SAE file'): Sae {
    let dec: ReturnType<typeof decodeSafetensors>;
    try {
      dec = decodeSafetensors(bytes);
    } catch (e) {
      throw new Error(`${where} is not a valid safetensors file: ${(e as Error).message}`);
    }
    const md = dec.metadata ?? {};
    if (md.format !== 'glassbox-sae') throw new Error(`${where} is not a glassbox SAE (no format=glassbox-sae in its metadata)`);
    const arch = md.arch as SaeArch;
    const sae = new Sae({ arch, d: Number(md.d), n: Number(md.n), k: Number(md.k) });
    for (const p of sae.params()) {
      const t = dec.tensors.get(p.name!);
      if (!t || t.data.length !== p.size || !(t.data instanceof Float32Array)) throw new Error(`${where}: tensor ${p.name} is missing or has the wrong size`);
      p.data.set(t.data);
    }
    sae.threshold = Number(md.threshold ?? 0);
    for (const [key, v] of Object.entries(md)) if (!['format', 'arch', 'd', 'n', 'k', 'threshold'].includes(key)) sae.meta[key] = v;
    return sae;
  }
}
