// Images as token sequences, shared by CRATE, the ViT baseline and CRATE-MAE:
// cut each image into p×p patches, embed them (LayerNorm, linear map,
// LayerNorm, as in the CRATE reference), put a class token in front and add
// learned positions; and the classifier shell around the blocks.

import { allocF32 } from '../engine/arena.js';
import { Tensor, ShapeError, type Shape } from '../engine/tensor.js';
import { add } from '../engine/ops-elementwise.js';
import { concat, reshape, slice } from '../engine/ops-shape.js';
import { crossEntropy } from '../engine/ops-nn.js';
import { Module } from './module.js';
import { LayerNorm, Linear, ParamGroup, seededNormalInit } from './layers.js';
import { Hooks, checkHookNames, type HookPoint } from './hooks.js';

export interface ImageShape {
  channels: number;
  height: number;
  width: number;
  patch: number;
}

/** Throw a clear error unless the patch size tiles the image exactly. */
export function checkPatchGrid(s: ImageShape, where: string): void {
  for (const k of ['channels', 'height', 'width', 'patch'] as const) {
    const v = s[k];
    if (!Number.isInteger(v) || v < 1) throw new Error(`${where}: ${k} must be a positive integer, got ${v}`);
  }
  if (s.height % s.patch !== 0 || s.width % s.patch !== 0) {
    throw new Error(`${where}: image size ${s.height}×${s.width} is not divisible by the patch size ${s.patch}; pick a patch size that divides both (for 28×28: 1, 2, 4, 7, 14 or 28)`);
  }
}

export function patchCount(s: ImageShape): number {
  return (s.height / s.patch) * (s.width / s.patch);
}

export function patchDim(s: ImageShape): number {
  return s.channels * s.patch * s.patch;
}

/**
 * Pixels [B, C, H, W] (row-major) as patch vectors [B, nPatches, p·p·C]:
 * patches in raster order, each flattened as (row in patch, column in patch,
 * channel). Input data, so no gradient.
 */
export function patchify(pixels: Float32Array, B: number, s: ImageShape): Tensor {
  checkPatchGrid(s, 'patchify');
  const { channels: C, height: H, width: W, patch: p } = s;
  if (pixels.length !== B * C * H * W) throw new ShapeError('patchify', `${pixels.length} pixels do not make ${B} images of ${C}×${H}×${W}`);
  const gh = H / p;
  const gw = W / p;
  const pd = C * p * p;
  const out = allocF32(B * gh * gw * pd);
  let o = 0;
  for (let b = 0; b < B; b++) {
    for (let py = 0; py < gh; py++) {
      for (let px = 0; px < gw; px++) {
        for (let r = 0; r < p; r++) {
          for (let q = 0; q < p; q++) {
            for (let c = 0; c < C; c++) out[o++] = pixels[((b * C + c) * H + py * p + r) * W + px * p + q];
          }
        }
      }
    }
  }
  return new Tensor(out, [B, gh * gw, pd], { op: 'patchify' });
}

/** The inverse of patchify for one channel-last patch tensor [B, nPatches, p·p·C] → pixels [B, C, H, W]. */
export function unpatchify(patches: Float32Array, B: number, s: ImageShape): Float32Array {
  const { channels: C, height: H, width: W, patch: p } = s;
  const gw = W / p;
  const n = patchCount(s);
  const pd = patchDim(s);
  if (patches.length !== B * n * pd) throw new ShapeError('unpatchify', `${patches.length} values do not make ${B}×${n} patches of ${pd}`);
  const out = allocF32(B * C * H * W);
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < n; k++) {
      const py = Math.floor(k / gw);
      const px = k % gw;
      for (let r = 0; r < p; r++) {
        for (let q = 0; q < p; q++) {
          for (let c = 0; c < C; c++) out[((b * C + c) * H + py * p + r) * W + px * p + q] = patches[(b * n + k) * pd + (r * p + q) * C + c];
        }
      }
    }
  }
  return out;
}

/** Patch vectors → LN → linear → LN: tokens of width d. */
export class PatchEmbed extends Module {
  readonly lnPatch: LayerNorm;
  readonly proj: Linear;
  readonly lnEmbed: LayerNorm;
  constructor(readonly image: ImageShape, readonly dModel: number) {
    super();
    checkPatchGrid(image, 'patch embedding');
    const pd = patchDim(image);
    this.lnPatch = this.child('ln_patch', new LayerNorm(pd));
    this.proj = this.child('proj', new Linear(pd, dModel, { torch: true }));
    this.lnEmbed = this.child('ln_embed', new LayerNorm(dModel));
  }
  /** patches [B, n, p·p·C] → [B, n, d] */
  forward(patches: Tensor): Tensor {
    return this.lnEmbed.forward(this.proj.forward(this.lnPatch.forward(patches)));
  }
}

/** The class token and the position table, as one module ('cls_token', 'pos_embed'), with hook_pos_embed. */
export class ClsAndPositions extends Module {
  readonly cls: Tensor;
  readonly pos: Tensor;
  private readonly hookPosEmbed: HookPoint;
  constructor(readonly tokens: number, readonly dModel: number) {
    super();
    // Standard normal, as the CRATE and vit-pytorch code's torch.randn: on the
    // same scale as the layer-normed patch tokens they join.
    this.cls = this.child('cls_token', new ParamGroup()).add('W_cls', Tensor.zeros([1, 1, dModel]), { std: 1 });
    this.pos = this.child('pos_embed', new ParamGroup()).add('W_pos', Tensor.zeros([1, tokens, dModel]), { std: 1 });
    this.hookPosEmbed = this.hookPoint('hook_pos_embed');
  }
  /** [B, n, d] patch tokens → [B, n+1, d] with the class token first and positions added. */
  forward(x: Tensor, hooks: Hooks): Tensor {
    const [B, n, d] = x.shape;
    if (n + 1 !== this.tokens) throw new ShapeError('ClsAndPositions', `${n} patch tokens, but the position table holds ${this.tokens - 1}`);
    const cls = add(Tensor.zeros([B, 1, d]), this.cls);
    const seq = concat([cls, x], 1);
    return add(seq, this.hookPosEmbed.run(hooks, this.pos));
  }
}

export type { Shape };

/** One transformer block over [B, T, d] image tokens. */
export interface ImageBlock extends Module {
  forward(z: Tensor, hooks: Hooks): Tensor;
}

export interface ImageClassifierConfig extends ImageShape {
  classes: number;
  dModel: number;
  nLayers: number;
  seed: number;
}

/**
 * What CRATE and the ViT share around their blocks: patch embedding, class
 * token and positions, L blocks, a final LayerNorm and a linear head on the
 * class token. A model supplies only its block (which registers its own hook
 * points), so the two differ exactly where the architectures do.
 */
export abstract class ImageClassifier<C extends ImageClassifierConfig, B extends ImageBlock> extends Module {
  readonly config: C;
  readonly embed: PatchEmbed;
  readonly clsPos: ClsAndPositions;
  readonly blocks: B[] = [];
  readonly ln_final: LayerNorm;
  readonly head: Linear;
  private readonly hookEmbed: HookPoint;

  protected constructor(cfg: C, makeBlock: () => B) {
    super();
    this.config = cfg;
    this.embed = this.child('embed', new PatchEmbed(cfg, cfg.dModel));
    this.hookEmbed = this.hookPoint('hook_embed');
    // The class token and positions were named at the top level before they
    // were grouped under 'tokens' in the state dict; their hook name and init
    // keys stay there, so existing hooks and seeds keep their meaning.
    this.clsPos = this.child('tokens', new ClsAndPositions(patchCount(cfg) + 1, cfg.dModel), { namesAtParent: true });
    for (let i = 0; i < cfg.nLayers; i++) this.blocks.push(this.child(`blocks.${i}`, makeBlock()));
    this.ln_final = this.child('ln_final', new LayerNorm(cfg.dModel, 1e-5, { hookNormalized: true }));
    this.head = this.child('head', new Linear(cfg.dModel, cfg.classes, { torch: true }));
    this.initParameters(seededNormalInit(cfg.seed));
  }

  /** Tokens per image: the class token and one per patch. */
  get tokens(): number {
    return patchCount(this.config) + 1;
  }

  /** Logits [B, classes] for pixels [B, C, H, W]. */
  forward(pixels: Float32Array, B: number, opts: { hooks?: Hooks } = {}): Tensor {
    const hooks = opts.hooks ?? new Hooks();
    if (opts.hooks) checkHookNames(opts.hooks.requested(), this.hookNames());
    let z = this.clsPos.forward(this.hookEmbed.run(hooks, this.embed.forward(patchify(pixels, B, this.config))), hooks);
    for (const blk of this.blocks) z = blk.forward(z, hooks);
    const cls = reshape(slice(z, 1, 0, 1), [B, this.config.dModel]);
    return this.head.forward(this.ln_final.forward(cls, hooks));
  }

  loss(pixels: Float32Array, labels: Int32Array, B: number): Tensor {
    return crossEntropy(this.forward(pixels, B), labels);
  }

  /** TransformerLens's run_with_cache. */
  runWithCache(pixels: Float32Array, B: number, names: Iterable<string> | 'all'): { logits: Tensor; cache: Map<string, Tensor> } {
    const hooks = new Hooks({ cache: names });
    const logits = this.forward(pixels, B, { hooks });
    return { logits, cache: hooks.cache };
  }
}
