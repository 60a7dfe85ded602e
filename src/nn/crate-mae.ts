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
import { Hooks, checkHookNames } from './hooks.js';
import { LayerNorm, Linear, ParamGroup, seededNormalInit, type Init } from './layers.js';
import { PatchEmbed, patchify, patchCount, patchDim, type ImageShape } from './patches.js';
import { CrateBlock, MSSA, resolveCrateConfig, crateBlockHookNames } from './crate.js';

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
  constructor(d: number, heads: number, init: Init, readonly index: number) {
    super();
    const pre = `decoder.${index}.`;
    this.ln1 = this.child('ln1', new LayerNorm(d));
    this.D = this.child('linear', new ParamGroup()).add('D', new Tensor(init(`${pre}linear.D`, d * d, Math.sqrt(2 / d)), [d, d]));
    this.ln2 = this.child('ln2', new LayerNorm(d));
    this.attn = this.child('attn', new MSSA(heads, d, init, `${pre}attn.`));
  }
  forward(x: Tensor, hooks: Hooks): Tensor {
    const pre = `decoder.${this.index}.`;
    const [B, T, d] = x.shape;
    x = hooks.point(`${pre}hook_resid_pre`, x);
    const g = hooks.point(`${pre}hook_linear_out`, reshape(matmul(reshape(this.ln1.forward(x), [B * T, d]), this.D, { transB: true }), [B, T, d]));
    const out = sub(g, hooks.point(`${pre}hook_attn_out`, this.attn.forward(this.ln2.forward(g), hooks, `${pre}attn.`)));
    return hooks.point(`${pre}hook_resid_post`, out);
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

  constructor(config: CrateMAEConfig) {
    super();
    const cfg: Required<CrateMAEConfig> = { maskRatio: 0.75, lambda: 0.5, eta: 0.1, ...config };
    const crateCfg = resolveCrateConfig({ ...cfg, classes: 1 });
    if (!(cfg.maskRatio >= 0 && cfg.maskRatio < 1)) throw new Error(`CRATE-MAE config: maskRatio must be in [0, 1), got ${cfg.maskRatio}`);
    this.config = cfg;
    const init = seededNormalInit(cfg.seed);
    const N = patchCount(cfg);
    const d = cfg.dModel;
    this.embed = this.child('embed', new PatchEmbed(cfg, d, init));
    this.pos = this.child('pos_embed', new ParamGroup()).add('W_pos', new Tensor(init('pos_embed.W_pos', N * d, 0.02), [1, N, d]));
    for (let i = 0; i < cfg.nLayers; i++) this.blocks.push(this.child(`blocks.${i}`, new CrateBlock(crateCfg, init, i)));
    this.ln_enc = this.child('ln_enc', new LayerNorm(d));
    this.maskToken = this.child('mask_token', new ParamGroup()).add('W_mask', new Tensor(init('mask_token.W_mask', d, 0.02), [1, d]));
    this.decPos = this.child('decoder_pos_embed', new ParamGroup()).add('W_pos', new Tensor(init('decoder_pos_embed.W_pos', N * d, 0.02), [1, N, d]));
    for (let i = 0; i < cfg.nLayers; i++) this.decoder.push(this.child(`decoder.${i}`, new CrateDecoderBlock(d, cfg.nHeads, init, i)));
    this.ln_dec = this.child('ln_dec', new LayerNorm(d));
    this.toPixels = this.child('head', new Linear(d, patchDim(cfg), init, 'head'));
  }

  get patches(): number {
    return patchCount(this.config);
  }

  hookNames(): string[] {
    const names: string[] = ['hook_embed'];
    for (let i = 0; i < this.config.nLayers; i++) names.push(...crateBlockHookNames(i));
    for (let i = 0; i < this.config.nLayers; i++) {
      const p = `decoder.${i}.`;
      names.push(`${p}hook_resid_pre`, `${p}hook_linear_out`, `${p}attn.hook_w`, `${p}attn.hook_pattern`, `${p}attn.hook_z`, `${p}hook_attn_out`, `${p}hook_resid_post`);
    }
    return names;
  }

  /** Predicted patch pixels [B, N, p·p·C] for every patch, seeing only the visible ones. */
  forward(pixels: Float32Array, B: number, mask: PatchMask, opts: { hooks?: Hooks } = {}): Tensor {
    const hooks = opts.hooks ?? new Hooks();
    if (opts.hooks) checkHookNames(opts.hooks.requested(), this.hookNames());
    const N = this.patches;
    const d = this.config.dModel;
    const { visible, nVisible } = mask;
    if (visible.length !== B * nVisible) throw new Error(`CRATE-MAE: mask lists ${visible.length} visible patches, expected ${B}×${nVisible}`);
    const tokens = add(hooks.point('hook_embed', this.embed.forward(patchify(pixels, B, this.config))), this.pos); // [B, N, d]
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
