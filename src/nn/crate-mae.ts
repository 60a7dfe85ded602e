// CRATE-MAE (Pai et al., arXiv 2404.02446): a masked autoencoder whose encoder is a CRATE stack
// (λ = 0.5) and whose decoder mirrors it. A decoder layer undoes an encoder
// layer in reverse order: the ISTA step becomes a plain linear map
// g = D·LN(x), then the compression step is run backwards, x = g − MSSA(LN(g)).
//
// Flow: patches → embedding + positions → keep a random 25% (per image) →
// encoder → LN → widen back to every position with a learned mask token →
// decoder positions → decoder layers → LN → linear map to pixels per patch.
// The loss is the mean squared error on the masked patches only.

import { Tensor } from '../engine/tensor.js';
import { add, sub } from '../engine/ops-elementwise.js';
import { reshape, gather, concat } from '../engine/ops-shape.js';
import { matmul } from '../engine/ops-nn.js';
import { Rng } from '../engine/rng.js';
import { Module } from './module.js';
import { Hooks, checkHookNames, type HookPoint } from './hooks.js';
import { LayerNorm, Linear, ParamGroup, seededNormalInit } from './layers.js';
import { PatchEmbed, patchify, patchCount, patchDim, type ImageShape } from './patches.js';
import { CrateBlock, MSSA, resolveCrateConfig } from './crate.js';

export interface CrateMAEConfig extends ImageShape {
  dModel: number;
  nHeads: number;
  /** Encoder layers; the decoder has as many. */
  nLayers: number;
  /** Share of patches hidden from the encoder (0.75 in MAE). */
  maskRatio?: number;
  /** Encoder ISTA penalty (0.5 for CRATE-MAE). */
  lambda?: number;
  eta?: number;
  seed: number;
}

/** Decoder layer: g = D·LN(x) (ISTA replaced by a linear map), then x = g − MSSA(LN(g)). */
export class CrateDecoderBlock extends Module {
  readonly ln1: LayerNorm;
  readonly D: Tensor;
  readonly ln2: LayerNorm;
  readonly attn: MSSA;
  private readonly hookResidPre: HookPoint;
  private readonly hookLinearOut: HookPoint;
  private readonly hookAttnOut: HookPoint;
  private readonly hookResidPost: HookPoint;
  constructor(d: number, heads: number) {
    super();
    // In forward order: registration order is state-dict and hookNames() order.
    this.hookResidPre = this.hookPoint('hook_resid_pre');
    this.ln1 = this.child('ln1', new LayerNorm(d));
    this.D = this.child('linear', new ParamGroup()).add('D', Tensor.zeros([d, d]), { std: Math.sqrt(2 / d) });
    this.hookLinearOut = this.hookPoint('hook_linear_out');
    this.ln2 = this.child('ln2', new LayerNorm(d));
    this.attn = this.child('attn', new MSSA(heads, d));
    this.hookAttnOut = this.hookPoint('hook_attn_out');
    this.hookResidPost = this.hookPoint('hook_resid_post');
  }
  forward(x: Tensor, hooks: Hooks): Tensor {
    const [B, T, d] = x.shape;
    x = this.hookResidPre.run(hooks, x);
    const g = this.hookLinearOut.run(hooks, reshape(matmul(reshape(this.ln1.forward(x), [B * T, d]), this.D, { transB: true }), [B, T, d]));
    const out = sub(g, this.hookAttnOut.run(hooks, this.attn.forward(this.ln2.forward(g), hooks)));
    return this.hookResidPost.run(hooks, out);
  }
}

/** Which patches each image keeps: `visible[b·nVis + j]` = patch index, ascending within an image. */
export interface PatchMask {
  visible: Int32Array;
  nVisible: number;
}

export function randomPatchMask(B: number, nPatches: number, maskRatio: number, rng: Rng): PatchMask {
  const nVisible = Math.max(1, Math.round(nPatches * (1 - maskRatio)));
  const visible = new Int32Array(B * nVisible);
  for (let b = 0; b < B; b++) {
    const keep = Array.from(rng.permutation(nPatches).subarray(0, nVisible)).sort((a, c) => a - c);
    visible.set(keep, b * nVisible);
  }
  return { visible, nVisible };
}

export class CrateMAE extends Module {
  readonly config: Required<CrateMAEConfig>;
  readonly embed: PatchEmbed;
  readonly pos: Tensor;
  readonly blocks: CrateBlock[] = [];
  readonly ln_enc: LayerNorm;
  readonly maskToken: Tensor;
  readonly decPos: Tensor;
  readonly decoder: CrateDecoderBlock[] = [];
  readonly ln_dec: LayerNorm;
  readonly toPixels: Linear;
  private readonly hookEmbed: HookPoint;

  constructor(config: CrateMAEConfig) {
    super();
    const cfg: Required<CrateMAEConfig> = { maskRatio: 0.75, lambda: 0.5, eta: 0.1, ...config };
    const crateCfg = resolveCrateConfig({ ...cfg, classes: 1 });
    if (!(cfg.maskRatio >= 0 && cfg.maskRatio < 1)) throw new Error(`CRATE-MAE config: maskRatio must be in [0, 1), got ${cfg.maskRatio}`);
    this.config = cfg;
    const N = patchCount(cfg);
    const d = cfg.dModel;
    this.embed = this.child('embed', new PatchEmbed(cfg, d));
    this.hookEmbed = this.hookPoint('hook_embed');
    this.pos = this.child('pos_embed', new ParamGroup()).add('W_pos', Tensor.zeros([1, N, d]), { std: 0.02 });
    for (let i = 0; i < cfg.nLayers; i++) this.blocks.push(this.child(`blocks.${i}`, new CrateBlock(crateCfg)));
    this.ln_enc = this.child('ln_enc', new LayerNorm(d));
    this.maskToken = this.child('mask_token', new ParamGroup()).add('W_mask', Tensor.zeros([1, d]), { std: 0.02 });
    this.decPos = this.child('decoder_pos_embed', new ParamGroup()).add('W_pos', Tensor.zeros([1, N, d]), { std: 0.02 });
    for (let i = 0; i < cfg.nLayers; i++) this.decoder.push(this.child(`decoder.${i}`, new CrateDecoderBlock(d, cfg.nHeads)));
    this.ln_dec = this.child('ln_dec', new LayerNorm(d));
    this.toPixels = this.child('head', new Linear(d, patchDim(cfg)));
    this.initParameters(seededNormalInit(cfg.seed));
  }

  get patches(): number {
    return patchCount(this.config);
  }

  /** Predicted patch pixels [B, N, p·p·C] for every patch, seeing only the visible ones. */
  forward(pixels: Float32Array, B: number, mask: PatchMask, opts: { hooks?: Hooks } = {}): Tensor {
    const hooks = opts.hooks ?? new Hooks();
    if (opts.hooks) checkHookNames(opts.hooks.requested(), this.hookNames());
    const N = this.patches;
    const d = this.config.dModel;
    const { visible, nVisible } = mask;
    if (visible.length !== B * nVisible) throw new Error(`CRATE-MAE: mask lists ${visible.length} visible patches, expected ${B}×${nVisible}`);
    const tokens = add(this.hookEmbed.run(hooks, this.embed.forward(patchify(pixels, B, this.config))), this.pos); // [B, N, d]
    const rows = new Int32Array(B * nVisible);
    for (let b = 0; b < B; b++) for (let j = 0; j < nVisible; j++) rows[b * nVisible + j] = b * N + visible[b * nVisible + j];
    let z = gather(reshape(tokens, [B * N, d]), rows, [B, nVisible]);
    for (const blk of this.blocks) z = blk.forward(z, hooks);
    z = this.ln_enc.forward(z);
    // Back to all N positions: visible rows from the encoder, the mask token elsewhere (the last row of the table).
    const table = concat([reshape(z, [B * nVisible, d]), this.maskToken], 0);
    const ids = new Int32Array(B * N).fill(B * nVisible);
    for (let b = 0; b < B; b++) for (let j = 0; j < nVisible; j++) ids[b * N + visible[b * nVisible + j]] = b * nVisible + j;
    let x = add(gather(table, ids, [B, N]), this.decPos);
    for (const blk of this.decoder) x = blk.forward(x, hooks);
    return this.toPixels.forward(this.ln_dec.forward(x));
  }
}

/** Per image and patch: 1 where the patch was hidden from the encoder. */
export function maskedPatches(mask: PatchMask, B: number, N: number): Uint8Array {
  const hidden = new Uint8Array(B * N).fill(1);
  for (let b = 0; b < B; b++) for (let j = 0; j < mask.nVisible; j++) hidden[b * N + mask.visible[b * mask.nVisible + j]] = 0;
  return hidden;
}
