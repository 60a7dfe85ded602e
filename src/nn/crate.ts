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
import { Hooks, HEADS_TO_BTHD, HEADS_TO_BHTT } from './hooks.js';
import { LayerNorm, torchLinearStd, type Init } from './layers.js';
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
  constructor(readonly nHeads: number, readonly dModel: number, init: Init, prefix: string) {
    super();
    const dh = dModel / nHeads;
    this.dHead = dh;
    // PyTorch's default nn.Linear init, as in the reference runs (fan-in d for U, H·d_h for W_O).
    this.U = this.param('U', new Tensor(init(`${prefix}U`, nHeads * dModel * dh, torchLinearStd(dModel), 'uniform'), [nHeads, dModel, dh]));
    this.W_O = this.param('W_O', new Tensor(init(`${prefix}W_O`, nHeads * dh * dModel, torchLinearStd(nHeads * dh), 'uniform'), [nHeads, dh, dModel]));
    this.b_O = this.param('b_O', Tensor.zeros([dModel]));
  }

  /** x [B, T, d] (already normalised) → [B, T, d]. */
  forward(x: Tensor, hooks: Hooks, prefix: string): Tensor {
    const [B, T, d] = x.shape;
    const H = this.nHeads;
    const dh = this.dHead;
    // w = x U_k for every head at once: [H, B·T, d_h], viewed as [H, B, T, d_h].
    const w = hooks.point(`${prefix}hook_w`, reshape(matmul(reshape(x, [B * T, d]), this.U), [H, B, T, dh]), HEADS_TO_BTHD);
    const scores = mulScalar(matmul(w, w, { transB: true }), 1 / Math.sqrt(dh));
    const pattern = hooks.point(`${prefix}hook_pattern`, softmax(scores), HEADS_TO_BHTT);
    const z = hooks.point(`${prefix}hook_z`, permute(matmul(pattern, w), [1, 2, 0, 3])); // [B, T, H, d_h]
    return reshape(matmulBias(reshape(z, [B * T, H * dh]), reshape(this.W_O, [H * dh, d]), this.b_O), [B, T, d]);
  }
}

/**
 * One ISTA step on the sparse code of x against the dictionary D:
 * ReLU(x + η(Dᵀx − DᵀDx) − ηλ). With row tokens, Dᵀx is x D and DᵀDx is
 * (x Dᵀ) D, so the bracket is (x − x Dᵀ) D: two products instead of three.
 */
export class ISTA extends Module {
  readonly D: Tensor;
  constructor(readonly dModel: number, readonly eta: number, readonly lambda: number, init: Init, prefix: string) {
    super();
    // He-scaled like the reference's kaiming_uniform_: entries of variance 2/d.
    this.D = this.param('D', new Tensor(init(`${prefix}D`, dModel * dModel, Math.sqrt(2 / dModel)), [dModel, dModel]));
  }

  forward(x: Tensor): Tensor {
    const [B, T, d] = x.shape;
    const rows = reshape(x, [B * T, d]);
    const residual = sub(rows, matmul(rows, this.D, { transB: true })); // x − D x
    const grad = matmul(residual, this.D); // Dᵀ(x − D x) = Dᵀx − DᵀDx
    const step = addScalar(add(rows, mulScalar(grad, this.eta)), -this.eta * this.lambda);
    return reshape(relu(step), [B, T, d]);
  }
}

/** One CRATE layer: Z_half = Z + MSSA(LN(Z)); Z_next = ISTA(LN(Z_half)). */
export class CrateBlock extends Module {
  readonly ln1: LayerNorm;
  readonly attn: MSSA;
  readonly ln2: LayerNorm;
  readonly ista: ISTA;
  constructor(cfg: Required<CrateConfig>, init: Init, readonly index: number) {
    super();
    const pre = `blocks.${index}.`;
    this.ln1 = this.child('ln1', new LayerNorm(cfg.dModel));
    this.attn = this.child('attn', new MSSA(cfg.nHeads, cfg.dModel, init, `${pre}attn.`));
    this.ln2 = this.child('ln2', new LayerNorm(cfg.dModel));
    this.ista = this.child('ista', new ISTA(cfg.dModel, cfg.eta, cfg.lambda, init, `${pre}ista.`));
  }

  forward(z: Tensor, hooks: Hooks): Tensor {
    const pre = `blocks.${this.index}.`;
    z = hooks.point(`${pre}hook_resid_pre`, z);
    const attnOut = hooks.point(`${pre}hook_attn_out`, this.attn.forward(this.ln1.forward(z), hooks, `${pre}attn.`));
    const half = hooks.point(`${pre}hook_resid_mid`, add(z, attnOut));
    const istaIn = hooks.point(`${pre}ista.hook_pre`, this.ln2.forward(half));
    const out = hooks.point(`${pre}ista.hook_post`, this.ista.forward(istaIn));
    return hooks.point(`${pre}hook_resid_post`, out);
  }
}

/** Per-layer hook names of a CRATE stack, in forward order. */
export function crateBlockHookNames(i: number): string[] {
  const b = `blocks.${i}.`;
  return [`${b}hook_resid_pre`, `${b}attn.hook_w`, `${b}attn.hook_pattern`, `${b}attn.hook_z`, `${b}hook_attn_out`, `${b}hook_resid_mid`, `${b}ista.hook_pre`, `${b}ista.hook_post`, `${b}hook_resid_post`];
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
    super(cfg, (init, i) => new CrateBlock(cfg, init, i));
  }

  protected blockHookNames(i: number): string[] {
    return crateBlockHookNames(i);
  }
}
