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
import { Hooks, HEADS_TO_BTHD, HEADS_TO_BHTT } from './hooks.js';
import { LayerNorm, MLP, torchLinearStd, type Init } from './layers.js';
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
  constructor(readonly nHeads: number, readonly dModel: number, init: Init, prefix: string) {
    super();
    const H = nHeads;
    const d = dModel;
    const dh = d / H;
    this.dHead = dh;
    // PyTorch's default nn.Linear init (fan-in d for Q, K, V; H·d_h for the output map).
    this.W_Q = this.param('W_Q', new Tensor(init(`${prefix}W_Q`, H * d * dh, torchLinearStd(d), 'uniform'), [H, d, dh]));
    this.W_K = this.param('W_K', new Tensor(init(`${prefix}W_K`, H * d * dh, torchLinearStd(d), 'uniform'), [H, d, dh]));
    this.W_V = this.param('W_V', new Tensor(init(`${prefix}W_V`, H * d * dh, torchLinearStd(d), 'uniform'), [H, d, dh]));
    this.W_O = this.param('W_O', new Tensor(init(`${prefix}W_O`, H * dh * d, torchLinearStd(H * dh), 'uniform'), [H, dh, d]));
    this.b_O = this.param('b_O', Tensor.zeros([d]));
  }
  forward(x: Tensor, hooks: Hooks, prefix: string): Tensor {
    const [B, T, d] = x.shape;
    const H = this.nHeads;
    const dh = this.dHead;
    const xn = reshape(x, [B * T, d]);
    const heads = (W: Tensor) => reshape(matmul(xn, W), [H, B, T, dh]);
    const q = hooks.point(`${prefix}hook_q`, heads(this.W_Q), HEADS_TO_BTHD);
    const k = hooks.point(`${prefix}hook_k`, heads(this.W_K), HEADS_TO_BTHD);
    const v = hooks.point(`${prefix}hook_v`, heads(this.W_V), HEADS_TO_BTHD);
    const pattern = hooks.point(`${prefix}hook_pattern`, softmax(mulScalar(matmul(q, k, { transB: true }), 1 / Math.sqrt(dh))), HEADS_TO_BHTT);
    const z = hooks.point(`${prefix}hook_z`, permute(matmul(pattern, v), [1, 2, 0, 3]));
    return reshape(matmulBias(reshape(z, [B * T, H * dh]), reshape(this.W_O, [H * dh, d]), this.b_O), [B, T, d]);
  }
}

class ViTBlock extends Module {
  readonly ln1: LayerNorm;
  readonly attn: SelfAttention;
  readonly ln2: LayerNorm;
  readonly mlp: MLP;
  constructor(cfg: Required<ViTConfig>, init: Init, readonly index: number) {
    super();
    const pre = `blocks.${index}.`;
    this.ln1 = this.child('ln1', new LayerNorm(cfg.dModel));
    this.attn = this.child('attn', new SelfAttention(cfg.nHeads, cfg.dModel, init, `${pre}attn.`));
    this.ln2 = this.child('ln2', new LayerNorm(cfg.dModel));
    this.mlp = this.child('mlp', new MLP(cfg.dModel, cfg.dMlp, init, `${pre}mlp.`, 'torch'));
  }
  forward(x: Tensor, hooks: Hooks): Tensor {
    const pre = `blocks.${this.index}.`;
    const [B, T, d] = x.shape;
    x = hooks.point(`${pre}hook_resid_pre`, x);
    const attnOut = hooks.point(`${pre}hook_attn_out`, this.attn.forward(this.ln1.forward(x), hooks, `${pre}attn.`));
    x = hooks.point(`${pre}hook_resid_mid`, add(x, attnOut));
    const mlpOut = hooks.point(`${pre}hook_mlp_out`, reshape(this.mlp.forward(reshape(this.ln2.forward(x), [B * T, d]), hooks, `${pre}mlp.`), [B, T, d]));
    return hooks.point(`${pre}hook_resid_post`, add(x, mlpOut));
  }
}

export class ViT extends ImageClassifier<Required<ViTConfig>, ViTBlock> {
  constructor(config: ViTConfig) {
    const cfg: Required<ViTConfig> = { dMlp: 4 * config.dModel, ...config };
    checkPatchGrid(cfg, 'ViT config');
    if (cfg.dModel % cfg.nHeads !== 0) throw new Error(`ViT config: dModel ${cfg.dModel} is not divisible by nHeads ${cfg.nHeads}`);
    super(cfg, (init, i) => new ViTBlock(cfg, init, i));
  }

  protected blockHookNames(i: number): string[] {
    const b = `blocks.${i}.`;
    return [`${b}hook_resid_pre`, `${b}attn.hook_q`, `${b}attn.hook_k`, `${b}attn.hook_v`, `${b}attn.hook_pattern`, `${b}attn.hook_z`, `${b}hook_attn_out`, `${b}hook_resid_mid`, `${b}mlp.hook_pre`, `${b}mlp.hook_post`, `${b}hook_mlp_out`, `${b}hook_resid_post`];
  }
}
