// A plain ViT, the baseline CRATE is measured against: the same patch
// embedding, class token and positions, then pre-LN blocks of full
// (non-causal) multi-head attention with separate Q, K, V and a GELU MLP of
// width 4d, and a LayerNorm + linear head on the class token. Hook names as in
// TransformerLens and crate.ts.

import { Tensor } from '../engine/tensor.js';
import { add, mulScalar } from '../engine/ops-elementwise.js';
import { reshape, permute } from '../engine/ops-shape.js';
import { matmul, matmulBias, softmax } from '../engine/ops-nn.js';
import { Module } from './module.js';
import { HEADS_TO_BTHD, HEADS_TO_BHTT, type HookPoint, type Hooks } from './hooks.js';
import { LayerNorm, MLP, torchLinearInit } from './layers.js';
import { ImageClassifier, checkPatchGrid, type ImageShape } from './patches.js';

export interface ViTConfig extends ImageShape {
  classes: number;
  dModel: number;
  nHeads: number;
  nLayers: number;
  /** MLP width; 4·dModel when omitted. */
  dMlp?: number;
  seed: number;
}

/** Multi-head self-attention over all tokens (no mask); Q, K, V without bias as in vit-pytorch. */
export class SelfAttention extends Module {
  readonly W_Q: Tensor;
  readonly W_K: Tensor;
  readonly W_V: Tensor;
  readonly W_O: Tensor;
  readonly b_O: Tensor;
  readonly dHead: number;
  private readonly hookQ: HookPoint;
  private readonly hookK: HookPoint;
  private readonly hookV: HookPoint;
  private readonly hookPattern: HookPoint;
  private readonly hookZ: HookPoint;
  constructor(readonly nHeads: number, readonly dModel: number) {
    super();
    const H = nHeads;
    const d = dModel;
    const dh = d / H;
    this.dHead = dh;
    // PyTorch's default nn.Linear init (fan-in d for Q, K, V; H·d_h for the output map).
    this.W_Q = this.param('W_Q', Tensor.zeros([H, d, dh]), torchLinearInit(d));
    this.W_K = this.param('W_K', Tensor.zeros([H, d, dh]), torchLinearInit(d));
    this.W_V = this.param('W_V', Tensor.zeros([H, d, dh]), torchLinearInit(d));
    this.W_O = this.param('W_O', Tensor.zeros([H, dh, d]), torchLinearInit(H * dh));
    this.b_O = this.param('b_O', Tensor.zeros([d]));
    this.hookQ = this.hookPoint('hook_q', HEADS_TO_BTHD);
    this.hookK = this.hookPoint('hook_k', HEADS_TO_BTHD);
    this.hookV = this.hookPoint('hook_v', HEADS_TO_BTHD);
    this.hookPattern = this.hookPoint('hook_pattern', HEADS_TO_BHTT);
    this.hookZ = this.hookPoint('hook_z');
  }
  forward(x: Tensor, hooks: Hooks): Tensor {
    const [B, T, d] = x.shape;
    const H = this.nHeads;
    const dh = this.dHead;
    const xn = reshape(x, [B * T, d]);
    const heads = (W: Tensor) => reshape(matmul(xn, W), [H, B, T, dh]);
    const q = this.hookQ.run(hooks, heads(this.W_Q));
    const k = this.hookK.run(hooks, heads(this.W_K));
    const v = this.hookV.run(hooks, heads(this.W_V));
    const pattern = this.hookPattern.run(hooks, softmax(mulScalar(matmul(q, k, { transB: true }), 1 / Math.sqrt(dh))));
    const z = this.hookZ.run(hooks, permute(matmul(pattern, v), [1, 2, 0, 3]));
    return reshape(matmulBias(reshape(z, [B * T, H * dh]), reshape(this.W_O, [H * dh, d]), this.b_O), [B, T, d]);
  }
}

class ViTBlock extends Module {
  readonly ln1: LayerNorm;
  readonly attn: SelfAttention;
  readonly ln2: LayerNorm;
  readonly mlp: MLP;
  private readonly hookResidPre: HookPoint;
  private readonly hookAttnOut: HookPoint;
  private readonly hookResidMid: HookPoint;
  private readonly hookMlpOut: HookPoint;
  private readonly hookResidPost: HookPoint;
  constructor(cfg: Required<ViTConfig>) {
    super();
    // In forward order: registration order is state-dict and hookNames() order.
    this.hookResidPre = this.hookPoint('hook_resid_pre');
    this.ln1 = this.child('ln1', new LayerNorm(cfg.dModel));
    this.attn = this.child('attn', new SelfAttention(cfg.nHeads, cfg.dModel));
    this.hookAttnOut = this.hookPoint('hook_attn_out');
    this.hookResidMid = this.hookPoint('hook_resid_mid');
    this.ln2 = this.child('ln2', new LayerNorm(cfg.dModel));
    this.mlp = this.child('mlp', new MLP(cfg.dModel, cfg.dMlp, 'torch'));
    this.hookMlpOut = this.hookPoint('hook_mlp_out');
    this.hookResidPost = this.hookPoint('hook_resid_post');
  }
  forward(x: Tensor, hooks: Hooks): Tensor {
    const [B, T, d] = x.shape;
    x = this.hookResidPre.run(hooks, x);
    const attnOut = this.hookAttnOut.run(hooks, this.attn.forward(this.ln1.forward(x), hooks));
    x = this.hookResidMid.run(hooks, add(x, attnOut));
    const mlpOut = this.hookMlpOut.run(hooks, reshape(this.mlp.forward(reshape(this.ln2.forward(x), [B * T, d]), hooks), [B, T, d]));
    return this.hookResidPost.run(hooks, add(x, mlpOut));
  }
}

export class ViT extends ImageClassifier<Required<ViTConfig>, ViTBlock> {
  constructor(config: ViTConfig) {
    const cfg: Required<ViTConfig> = { dMlp: 4 * config.dModel, ...config };
    checkPatchGrid(cfg, 'ViT config');
    if (cfg.dModel % cfg.nHeads !== 0) throw new Error(`ViT config: dModel ${cfg.dModel} is not divisible by nHeads ${cfg.nHeads}`);
    super(cfg, () => new ViTBlock(cfg));
  }
}
