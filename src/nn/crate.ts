// CRATE, the white-box transformer (Yu et al., "White-Box Transformers via
// Sparse Rate Reduction", arXiv 2306.01129), in one file.
//
// Every layer is one step of optimising the sparse rate reduction objective:
//   Z_half = Z + MSSA(LN(Z))      compression: a gradient step on R^c(Z; U)
//   Z_next = ISTA(LN(Z_half))     sparsification: one proximal step against D
// MSSA is attention whose query, key and value are the SAME projection
// w_k = U_kᵀ x of each head k: softmax(w wᵀ/√d_h) w, heads concatenated, then
// an output map. ISTA is ReLU(x + η(Dᵀx − DᵀDx) − ηλ) with a square
// dictionary D. Images come in as patches with a class token and learned
// positions (patches.ts); the class token's final state is classified.
//
// Layouts: tokens are rows, x [B, T, d]. Inside MSSA heads lead ([H, B, T, d_h])
// so each head of each image is one contiguous matrix; hooks show
// TransformerLens's layouts ([B, T, H, d_h], patterns [B, H, T, T]).
// Parameters: U is [H, d, d_h] (like W_Q), so w = x U_k; D is [d, d] and acts on
// a column vector as D x, i.e. on row tokens as x Dᵀ.

import { Tensor } from '../engine/tensor.js';
import { add, sub, mulScalar, addScalar, relu } from '../engine/ops-elementwise.js';
import { reshape, permute } from '../engine/ops-shape.js';
import { matmul, matmulBias, softmax } from '../engine/ops-nn.js';
import { Module } from './module.js';
import { HEADS_TO_BTHD, HEADS_TO_BHTT, type HookPoint, type Hooks } from './hooks.js';
import { LayerNorm, torchLinearInit } from './layers.js';
import { ImageClassifier, checkPatchGrid, type ImageShape } from './patches.js';

export interface CrateConfig extends ImageShape {
  classes: number;
  dModel: number;
  nHeads: number;
  nLayers: number;
  /** ISTA step size η (0.1 in the paper's classifier). */
  eta?: number;
  /** ISTA sparsity penalty λ (0.1 for the classifier, 0.5 for the CRATE-MAE encoder). */
  lambda?: number;
  seed: number;
}

/** Multi-head subspace self-attention: one projection U_k per head serves as query, key and value. */
export class MSSA extends Module {
  readonly U: Tensor;
  readonly W_O: Tensor;
  readonly b_O: Tensor;
  readonly dHead: number;
  private readonly hookW: HookPoint;
  private readonly hookPattern: HookPoint;
  private readonly hookZ: HookPoint;
  constructor(readonly nHeads: number, readonly dModel: number) {
    super();
    const dh = dModel / nHeads;
    this.dHead = dh;
    // PyTorch's default nn.Linear init, as in the reference runs (fan-in d for U, H·d_h for W_O).
    this.U = this.param('U', Tensor.zeros([nHeads, dModel, dh]), torchLinearInit(dModel));
    this.W_O = this.param('W_O', Tensor.zeros([nHeads, dh, dModel]), torchLinearInit(nHeads * dh));
    this.b_O = this.param('b_O', Tensor.zeros([dModel]));
    this.hookW = this.hookPoint('hook_w', HEADS_TO_BTHD);
    this.hookPattern = this.hookPoint('hook_pattern', HEADS_TO_BHTT);
    this.hookZ = this.hookPoint('hook_z');
  }

  /** x [B, T, d] (already normalised) → [B, T, d]. */
  forward(x: Tensor, hooks: Hooks): Tensor {
    const [B, T, d] = x.shape;
    const H = this.nHeads;
    const dh = this.dHead;
    // w = x U_k for every head at once: [H, B·T, d_h], viewed as [H, B, T, d_h].
    const w = this.hookW.run(hooks, reshape(matmul(reshape(x, [B * T, d]), this.U), [H, B, T, dh]));
    const scores = mulScalar(matmul(w, w, { transB: true }), 1 / Math.sqrt(dh));
    const pattern = this.hookPattern.run(hooks, softmax(scores));
    const z = this.hookZ.run(hooks, permute(matmul(pattern, w), [1, 2, 0, 3])); // [B, T, H, d_h]
    return reshape(matmulBias(reshape(z, [B * T, H * dh]), reshape(this.W_O, [H * dh, d]), this.b_O), [B, T, d]);
  }
}

/**
 * One ISTA step on the sparse code of x against the dictionary D:
 * ReLU(x + η(Dᵀx − DᵀDx) − ηλ). With row tokens, Dᵀx is x D and DᵀDx is
 * (x Dᵀ) D, so the bracket is (x − x Dᵀ) D: two products instead of three.
 * Its input and output are hook_pre and hook_post.
 */
export class ISTA extends Module {
  readonly D: Tensor;
  private readonly hookPre: HookPoint;
  private readonly hookPost: HookPoint;
  constructor(readonly dModel: number, readonly eta: number, readonly lambda: number) {
    super();
    // He-scaled like the reference's kaiming_uniform_: entries of variance 2/d.
    this.D = this.param('D', Tensor.zeros([dModel, dModel]), { std: Math.sqrt(2 / dModel) });
    this.hookPre = this.hookPoint('hook_pre');
    this.hookPost = this.hookPoint('hook_post');
  }

  forward(x: Tensor, hooks: Hooks): Tensor {
    x = this.hookPre.run(hooks, x);
    const [B, T, d] = x.shape;
    const rows = reshape(x, [B * T, d]);
    const residual = sub(rows, matmul(rows, this.D, { transB: true })); // x − D x
    const grad = matmul(residual, this.D); // Dᵀ(x − D x) = Dᵀx − DᵀDx
    const step = addScalar(add(rows, mulScalar(grad, this.eta)), -this.eta * this.lambda);
    return this.hookPost.run(hooks, reshape(relu(step), [B, T, d]));
  }
}

/** One CRATE layer: Z_half = Z + MSSA(LN(Z)); Z_next = ISTA(LN(Z_half)). */
export class CrateBlock extends Module {
  readonly ln1: LayerNorm;
  readonly attn: MSSA;
  readonly ln2: LayerNorm;
  readonly ista: ISTA;
  private readonly hookResidPre: HookPoint;
  private readonly hookAttnOut: HookPoint;
  private readonly hookResidMid: HookPoint;
  private readonly hookResidPost: HookPoint;
  constructor(cfg: Required<CrateConfig>) {
    super();
    // In forward order: registration order is state-dict and hookNames() order.
    this.hookResidPre = this.hookPoint('hook_resid_pre');
    this.ln1 = this.child('ln1', new LayerNorm(cfg.dModel));
    this.attn = this.child('attn', new MSSA(cfg.nHeads, cfg.dModel));
    this.hookAttnOut = this.hookPoint('hook_attn_out');
    this.hookResidMid = this.hookPoint('hook_resid_mid');
    this.ln2 = this.child('ln2', new LayerNorm(cfg.dModel));
    this.ista = this.child('ista', new ISTA(cfg.dModel, cfg.eta, cfg.lambda));
    this.hookResidPost = this.hookPoint('hook_resid_post');
  }

  forward(z: Tensor, hooks: Hooks): Tensor {
    z = this.hookResidPre.run(hooks, z);
    const attnOut = this.hookAttnOut.run(hooks, this.attn.forward(this.ln1.forward(z), hooks));
    const half = this.hookResidMid.run(hooks, add(z, attnOut));
    return this.hookResidPost.run(hooks, this.ista.forward(this.ln2.forward(half), hooks));
  }
}

export function resolveCrateConfig(config: CrateConfig): Required<CrateConfig> {
  const cfg: Required<CrateConfig> = { eta: 0.1, lambda: 0.1, ...config };
  checkPatchGrid(cfg, 'CRATE config');
  for (const k of ['classes', 'dModel', 'nHeads', 'nLayers'] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] < 1) throw new Error(`CRATE config: ${k} must be a positive integer, got ${cfg[k]}`);
  }
  if (cfg.dModel % cfg.nHeads !== 0) throw new Error(`CRATE config: dModel ${cfg.dModel} is not divisible by nHeads ${cfg.nHeads}`);
  if (!(cfg.eta > 0) || !(cfg.lambda >= 0)) throw new Error(`CRATE config: eta must be > 0 and lambda >= 0, got eta ${cfg.eta}, lambda ${cfg.lambda}`);
  return cfg;
}

/** The CRATE image classifier. */
export class Crate extends ImageClassifier<Required<CrateConfig>, CrateBlock> {
  constructor(config: CrateConfig) {
    const cfg = resolveCrateConfig(config);
    super(cfg, () => new CrateBlock(cfg));
  }
}
