// Reusable modules: LayerNorm, Linear, MLP and causal multi-head
// attention. Parameter names and layouts follow TransformerLens (`W_Q` is
// [n_heads, d_model, d_head], `W_in` is [d_model, d_mlp]), so a researcher
// can guess them and a checkpoint maps onto TransformerLens weights directly.

import { Tensor } from '../engine/tensor.js';
import { mulScalar, gelu } from '../engine/ops-elementwise.js';
import { reshape, permute, causalMask } from '../engine/ops-shape.js';
import { matmul, matmulBias, softmax, causalSoftmax, layerNorm } from '../engine/ops-nn.js';
import { Rng } from '../engine/rng.js';
import { Module } from './module.js';
import { HEADS_TO_BTHD, HEADS_TO_BHTT, type Hooks } from './hooks.js';

/** Makes the initial values of a named parameter: n numbers with standard deviation std, normal or uniform. */
export type Init = (name: string, n: number, std: number, dist?: 'normal' | 'uniform') => Float32Array;

/**
 * Seeded init where each parameter draws from its own stream, derived from the
 * seed and its name: adding a parameter never shifts another's values.
 * Normal by default; 'uniform' draws from [-√3·std, √3·std), the same std.
 */
export function seededNormalInit(seed: number): Init {
  return (name, n, std, dist = 'normal') => {
    const rng = Rng.derive(seed, `init/${name}`);
    const a = new Float32Array(n);
    if (dist === 'uniform') {
      const bound = Math.sqrt(3) * std;
      for (let i = 0; i < n; i++) a[i] = (rng.next() * 2 - 1) * bound;
    } else for (let i = 0; i < n; i++) a[i] = rng.normal() * std;
    return a;
  };
}

/**
 * The std of PyTorch's default nn.Linear weights, U(±1/√fan_in). The image
 * models (CRATE, ViT, CRATE-MAE) use it, as the PyTorch reference code of
 * CRATE (Yu et al., arXiv 2306.01129) does: with GPT-2's 0.02, CRATE's attention starts nearly
 * uniform and measured 0.75 points lower after 15 epochs.
 */
export const torchLinearStd = (fanIn: number): number => 1 / Math.sqrt(3 * fanIn);

/** A module that only holds parameters. */
export class ParamGroup extends Module {
  add(name: string, t: Tensor): Tensor {
    return this.param(name, t);
  }
}

export class LayerNorm extends Module {
  readonly w: Tensor;
  readonly b: Tensor;
  constructor(d: number, readonly eps = 1e-5) {
    super();
    this.w = this.param('w', new Tensor(new Float32Array(d).fill(1), [d]));
    this.b = this.param('b', new Tensor(new Float32Array(d), [d]));
  }
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.w, this.b, this.eps);
  }
}

/** y = x W + b with W [in, out] (TransformerLens's layout; PyTorch's nn.Linear stores Wᵀ). */
export class Linear extends Module {
  readonly W: Tensor;
  readonly b: Tensor | null;
  /** opts.torch: PyTorch's default scale and distribution (overrides std). */
  constructor(dIn: number, dOut: number, init: Init, name: string, opts: { bias?: boolean; std?: number; torch?: boolean } = {}) {
    super();
    const w = opts.torch ? init(`${name}.W`, dIn * dOut, torchLinearStd(dIn), 'uniform') : init(`${name}.W`, dIn * dOut, opts.std ?? 0.02);
    this.W = this.param('W', new Tensor(w, [dIn, dOut]));
    this.b = opts.bias === false ? null : this.param('b', Tensor.zeros([dOut]));
  }
  forward(x: Tensor): Tensor {
    return matmulBias(x, this.W, this.b);
  }
}

/** The transformer MLP: W_in, GELU, W_out, with hook_pre and hook_post. */
export class MLP extends Module {
  readonly W_in: Tensor;
  readonly b_in: Tensor;
  readonly W_out: Tensor;
  readonly b_out: Tensor;
  /** outStd: W_out's std (GPT-2 scales it by depth); 'torch' gives both weights PyTorch's default init instead. */
  constructor(d: number, dMlp: number, init: Init, prefix: string, outStd: number | 'torch') {
    super();
    const torch = outStd === 'torch';
    this.W_in = this.param('W_in', new Tensor(torch ? init(`${prefix}W_in`, d * dMlp, torchLinearStd(d), 'uniform') : init(`${prefix}W_in`, d * dMlp, 0.02), [d, dMlp]));
    this.b_in = this.param('b_in', Tensor.zeros([dMlp]));
    this.W_out = this.param('W_out', new Tensor(torch ? init(`${prefix}W_out`, dMlp * d, torchLinearStd(dMlp), 'uniform') : init(`${prefix}W_out`, dMlp * d, outStd), [dMlp, d]));
    this.b_out = this.param('b_out', Tensor.zeros([d]));
  }
  forward(x: Tensor, hooks: Hooks, prefix: string): Tensor {
    const hidden = hooks.point(`${prefix}hook_pre`, matmulBias(x, this.W_in, this.b_in));
    const act = hooks.point(`${prefix}hook_post`, gelu(hidden));
    return matmulBias(act, this.W_out, this.b_out);
  }
}

/** Causal multi-head self-attention with hook_q/k/v, hook_attn_scores, hook_pattern and hook_z. */
export class CausalSelfAttention extends Module {
  readonly W_Q: Tensor;
  readonly W_K: Tensor;
  readonly W_V: Tensor;
  readonly W_O: Tensor;
  readonly b_Q: Tensor;
  readonly b_K: Tensor;
  readonly b_V: Tensor;
  readonly b_O: Tensor;
  readonly dHead: number;

  constructor(readonly nHeads: number, readonly dModel: number, init: Init, prefix: string, outStd: number) {
    super();
    const H = nHeads;
    const d = dModel;
    const dh = d / H;
    this.dHead = dh;
    this.W_Q = this.param('W_Q', new Tensor(init(`${prefix}W_Q`, H * d * dh, 0.02), [H, d, dh]));
    this.W_K = this.param('W_K', new Tensor(init(`${prefix}W_K`, H * d * dh, 0.02), [H, d, dh]));
    this.W_V = this.param('W_V', new Tensor(init(`${prefix}W_V`, H * d * dh, 0.02), [H, d, dh]));
    this.W_O = this.param('W_O', new Tensor(init(`${prefix}W_O`, H * dh * d, outStd), [H, dh, d]));
    this.b_Q = this.param('b_Q', Tensor.zeros([H, 1, dh]));
    this.b_K = this.param('b_K', Tensor.zeros([H, 1, dh]));
    this.b_V = this.param('b_V', Tensor.zeros([H, 1, dh]));
    this.b_O = this.param('b_O', Tensor.zeros([d]));
  }

  /** x is [B, T, d] (already layer-normed); returns [B·T, d]. `drop` applies dropout to the pattern. */
  forward(x: Tensor, B: number, T: number, hooks: Hooks, prefix: string, drop: (t: Tensor) => Tensor): Tensor {
    const H = this.nHeads;
    const d = this.dModel;
    const dh = this.dHead;
    const xn = reshape(x, [B * T, d]);
    // q, k, v come out of the shared-input matmul as [H, B·T, dh]: no transposes needed.
    const heads = (W: Tensor, b: Tensor) => reshape(matmulBias(xn, W, b), [H, B, T, dh]);
    const q = hooks.point(`${prefix}hook_q`, heads(this.W_Q, this.b_Q), HEADS_TO_BTHD);
    const k = hooks.point(`${prefix}hook_k`, heads(this.W_K, this.b_K), HEADS_TO_BTHD);
    const v = hooks.point(`${prefix}hook_v`, heads(this.W_V, this.b_V), HEADS_TO_BTHD);
    const rawScores = matmul(q, k, { transB: true });
    const scale = 1 / Math.sqrt(dh);
    let probs: Tensor;
    if (hooks.wants(`${prefix}hook_attn_scores`)) {
      // Someone reads or rewrites the scores: materialise them, scaled and masked as in TransformerLens.
      probs = softmax(hooks.point(`${prefix}hook_attn_scores`, causalMask(mulScalar(rawScores, scale)), HEADS_TO_BHTT));
    } else probs = causalSoftmax(rawScores, scale);
    const pattern = hooks.point(`${prefix}hook_pattern`, drop(probs), HEADS_TO_BHTT);
    const z = hooks.point(`${prefix}hook_z`, permute(matmul(pattern, v), [1, 2, 0, 3])); // [B, T, H, dh]
    return matmulBias(reshape(z, [B * T, H * dh]), reshape(this.W_O, [H * dh, d]), this.b_O);
  }
}
