// Reusable modules: LayerNorm, Linear, MLP and causal multi-head
// attention. Parameter names and layouts follow TransformerLens (`W_Q` is
// [n_heads, d_model, d_head], `W_in` is [d_model, d_mlp]), so a researcher
// can guess them and a checkpoint maps onto TransformerLens weights directly.

import { Tensor } from '../engine/tensor.js';
import { mulScalar, gelu } from '../engine/ops-elementwise.js';
import { reshape, permute, causalMask } from '../engine/ops-shape.js';
import { matmul, matmulBias, softmax, causalSoftmax, layerNorm } from '../engine/ops-nn.js';
import { Rng } from '../engine/rng.js';
import { Module, type Init, type InitSpec } from './module.js';
import { HEADS_TO_BTHD, HEADS_TO_BHTT, type HookPoint, type Hooks } from './hooks.js';

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

/** PyTorch's default nn.Linear init for a weight with fan-in `fanIn`. */
export const torchLinearInit = (fanIn: number): InitSpec => ({ std: torchLinearStd(fanIn), dist: 'uniform' });

/** A module that only holds parameters. */
export class ParamGroup extends Module {
  add(name: string, t: Tensor, init?: InitSpec): Tensor {
    return this.param(name, t, init);
  }
}

export class LayerNorm extends Module {
  readonly w: Tensor;
  readonly b: Tensor;
  /** hook_normalized on the output, where a model offers it (TransformerLens's ln_final); null elsewhere. */
  readonly hookNormalized: HookPoint | null;
  constructor(d: number, readonly eps = 1e-5, opts: { hookNormalized?: boolean } = {}) {
    super();
    this.w = this.param('w', new Tensor(new Float32Array(d).fill(1), [d]));
    this.b = this.param('b', new Tensor(new Float32Array(d), [d]));
    this.hookNormalized = opts.hookNormalized ? this.hookPoint('hook_normalized') : null;
  }
  forward(x: Tensor, hooks?: Hooks): Tensor {
    const y = layerNorm(x, this.w, this.b, this.eps);
    return this.hookNormalized && hooks ? this.hookNormalized.run(hooks, y) : y;
  }
}

/** y = x W + b with W [in, out] (TransformerLens's layout; PyTorch's nn.Linear stores Wᵀ). */
export class Linear extends Module {
  readonly W: Tensor;
  readonly b: Tensor | null;
  /** W is normal with std opts.std (0.02 by default); opts.torch: PyTorch's default scale and distribution instead. */
  constructor(dIn: number, dOut: number, opts: { bias?: boolean; std?: number; torch?: boolean } = {}) {
    super();
    this.W = this.param('W', Tensor.zeros([dIn, dOut]), opts.torch ? torchLinearInit(dIn) : { std: opts.std ?? 0.02 });
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
  private readonly hookPre: HookPoint;
  private readonly hookPost: HookPoint;
  /** outStd: W_out's std (GPT-2 scales it by depth); 'torch' gives both weights PyTorch's default init instead. */
  constructor(d: number, dMlp: number, outStd: number | 'torch') {
    super();
    const torch = outStd === 'torch';
    this.W_in = this.param('W_in', Tensor.zeros([d, dMlp]), torch ? torchLinearInit(d) : { std: 0.02 });
    this.b_in = this.param('b_in', Tensor.zeros([dMlp]));
    this.W_out = this.param('W_out', Tensor.zeros([dMlp, d]), torch ? torchLinearInit(dMlp) : { std: outStd });
    this.b_out = this.param('b_out', Tensor.zeros([d]));
    this.hookPre = this.hookPoint('hook_pre');
    this.hookPost = this.hookPoint('hook_post');
  }
  forward(x: Tensor, hooks: Hooks): Tensor {
    const hidden = this.hookPre.run(hooks, matmulBias(x, this.W_in, this.b_in));
    const act = this.hookPost.run(hooks, gelu(hidden));
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
  private readonly hookQ: HookPoint;
  private readonly hookK: HookPoint;
  private readonly hookV: HookPoint;
  private readonly hookScores: HookPoint;
  private readonly hookPattern: HookPoint;
  private readonly hookZ: HookPoint;

  constructor(readonly nHeads: number, readonly dModel: number, outStd: number) {
    super();
    const H = nHeads;
    const d = dModel;
    const dh = d / H;
    this.dHead = dh;
    this.W_Q = this.param('W_Q', Tensor.zeros([H, d, dh]), { std: 0.02 });
    this.W_K = this.param('W_K', Tensor.zeros([H, d, dh]), { std: 0.02 });
    this.W_V = this.param('W_V', Tensor.zeros([H, d, dh]), { std: 0.02 });
    this.W_O = this.param('W_O', Tensor.zeros([H, dh, d]), { std: outStd });
    this.b_Q = this.param('b_Q', Tensor.zeros([H, 1, dh]));
    this.b_K = this.param('b_K', Tensor.zeros([H, 1, dh]));
    this.b_V = this.param('b_V', Tensor.zeros([H, 1, dh]));
    this.b_O = this.param('b_O', Tensor.zeros([d]));
    this.hookQ = this.hookPoint('hook_q', HEADS_TO_BTHD);
    this.hookK = this.hookPoint('hook_k', HEADS_TO_BTHD);
    this.hookV = this.hookPoint('hook_v', HEADS_TO_BTHD);
    this.hookScores = this.hookPoint('hook_attn_scores', HEADS_TO_BHTT);
    this.hookPattern = this.hookPoint('hook_pattern', HEADS_TO_BHTT);
    this.hookZ = this.hookPoint('hook_z');
  }

  /** x is [B, T, d] (already layer-normed); returns [B·T, d]. `drop` applies dropout to the pattern. */
  forward(x: Tensor, B: number, T: number, hooks: Hooks, drop: (t: Tensor) => Tensor): Tensor {
    const H = this.nHeads;
    const d = this.dModel;
    const dh = this.dHead;
    const xn = reshape(x, [B * T, d]);
    // q, k, v come out of the shared-input matmul as [H, B·T, dh]: no transposes needed.
    const heads = (W: Tensor, b: Tensor) => reshape(matmulBias(xn, W, b), [H, B, T, dh]);
    const q = this.hookQ.run(hooks, heads(this.W_Q, this.b_Q));
    const k = this.hookK.run(hooks, heads(this.W_K, this.b_K));
    const v = this.hookV.run(hooks, heads(this.W_V, this.b_V));
    const rawScores = matmul(q, k, { transB: true });
    const scale = 1 / Math.sqrt(dh);
    let probs: Tensor;
    if (this.hookScores.wantedBy(hooks)) {
      // Someone reads or rewrites the scores: materialise them, scaled and masked as in TransformerLens.
      probs = softmax(this.hookScores.run(hooks, causalMask(mulScalar(rawScores, scale))));
    } else probs = causalSoftmax(rawScores, scale);
    const pattern = this.hookPattern.run(hooks, drop(probs));
    const z = this.hookZ.run(hooks, permute(matmul(pattern, v), [1, 2, 0, 3])); // [B, T, H, dh]
    return matmulBias(reshape(z, [B * T, H * dh]), reshape(this.W_O, [H * dh, d]), this.b_O);
  }
}
