// Based in one file: a recurrent language model that alternates a short
// causal convolution (BaseConv) with linear attention under the second-order
// Taylor feature map (Arora et al., "Simple linear attention language models
// balance the recall-throughput tradeoff", arXiv 2402.18668; the layout of
// HazyResearch's zoology: two layers, each a BaseConv then a linear attention,
// no position embeddings, no MLP). With `prefix: true` the linear attention is
// JRT-RNN's prefix linear attention (Arora et al., "Just read twice",
// arXiv 2407.05483): the prompt is read non-causally with its own key and
// value projections, the rest causally.
//
// Two forms of the same function:
// - parallel (training; `forward`): the kernel trick. With the Taylor map
//   φ(x) = [1, x/d′^¼, vec(xxᵀ)/(√2·√d′)], φ(q)·φ(k) = 1 + s/√d′ + s²/(2d′)
//   for s = q·k, so the T×T weights come from one q·kᵀ product and need no
//   feature vectors; they are always positive (≥ ½), so no ε is needed;
// - recurrent (generation; based-recurrent.ts): the feature vectors
//   themselves, summed into a state S = Σ φ(k) vᵀ, z = Σ φ(k), updated token by
//   token. The two agree within 1e-5 (test/nn/based.test.ts), which checks
//   the kernel identity as well as the code.

import { Tensor } from '../engine/tensor.js';
import { add, mul, div, affine, square, mulScalar } from '../engine/ops-elementwise.js';
import { sum } from '../engine/ops-reduce.js';
import { reshape, permute, gather, slice, concat, where, maskedFill } from '../engine/ops-shape.js';
import { matmul, matmulBias, crossEntropy, causalSoftmax } from '../engine/ops-nn.js';
import { Module } from './module.js';
import { Hooks, checkHookNames, HEADS_TO_BTHD, HEADS_TO_BHTT, type HookPoint } from './hooks.js';
import { LayerNorm, ParamGroup, seededNormalInit, torchLinearInit } from './layers.js';

export interface BasedConfig {
  vocabSize: number;
  dModel: number;
  nLayers: number;
  /** d′: the width of each head's queries and keys before the feature map. */
  featureDim: number;
  nHeads: number;
  /** Taps of the causal depthwise convolution (3 in Based). */
  convKernel?: number;
  /** JRT-RNN: read the first `prefixLen` tokens non-causally (prefix linear attention). */
  prefix?: boolean;
  /**
   * The sequence mixer after each BaseConv: 'linear' (Taylor linear attention,
   * Based) or 'softmax' (causal softmax attention: zoology's attention
   * baseline, the same hybrid with the mixer swapped).
   */
  mixer?: 'linear' | 'softmax';
  seed: number;
  lnEps?: number;
}

export interface BasedForwardOptions {
  hooks?: Hooks;
  /** Tokens of the prompt read non-causally (prefix models only; default 0: all causal). */
  prefixLen?: number;
}

/** Features of the second-order Taylor map of a d′-vector, keeping each xᵢxⱼ (i ≤ j) once: 1 + d′ + d′(d′+1)/2. */
export function taylorFeatures(featureDim: number): number {
  return 1 + featureDim + (featureDim * (featureDim + 1)) / 2;
}

/** Bytes of the recurrent state at f32: per layer, the convolution's last k−1 inputs and the linear attention's S and z. */
export function basedStateBytes(cfg: Pick<BasedConfig, 'dModel' | 'nLayers' | 'featureDim' | 'nHeads' | 'convKernel'>): { total: number; attention: number; conv: number } {
  const E = taylorFeatures(cfg.featureDim);
  const dh = cfg.dModel / cfg.nHeads;
  const attention = cfg.nLayers * cfg.nHeads * (E * dh + E) * 4;
  const conv = cfg.nLayers * ((cfg.convKernel ?? 3) - 1) * cfg.dModel * 4;
  return { total: attention + conv, attention, conv };
}

/**
 * BaseConv: y = conv(x) ⊙ (x W_proj + b_proj), where conv is a causal
 * depthwise convolution of `kernel` taps (tap s reads x_{t−s}).
 */
export class BaseConv extends Module {
  readonly W_conv: Tensor;
  readonly b_conv: Tensor;
  readonly W_proj: Tensor;
  readonly b_proj: Tensor;
  private readonly hookConv: HookPoint;
  private readonly hookProj: HookPoint;
  constructor(readonly dModel: number, readonly kernel: number) {
    super();
    // PyTorch's Conv1d init (fan-in = the taps of one channel) for the filter, as zoology's ShortConvolution.
    this.W_conv = this.param('W_conv', Tensor.zeros([kernel, dModel]), torchLinearInit(kernel));
    this.b_conv = this.param('b_conv', Tensor.zeros([dModel]), torchLinearInit(kernel));
    this.W_proj = this.param('W_proj', Tensor.zeros([dModel, dModel]), torchLinearInit(dModel));
    this.b_proj = this.param('b_proj', Tensor.zeros([dModel]));
    this.hookConv = this.hookPoint('hook_conv');
    this.hookProj = this.hookPoint('hook_proj');
  }

  /** x [B, T, d] → [B, T, d]. */
  forward(x: Tensor, B: number, T: number, hooks: Hooks): Tensor {
    const d = this.dModel;
    let conv: Tensor | null = null;
    for (let s = 0; s < this.kernel && s < T; s++) {
      const shifted = s === 0 ? x : concat([Tensor.zeros([B, s, d]), slice(x, 1, 0, T - s)], 1);
      const term = mul(shifted, slice(this.W_conv, 0, s, s + 1));
      conv = conv ? add(conv, term) : term;
    }
    const c = this.hookConv.run(hooks, add(conv!, this.b_conv));
    const p = this.hookProj.run(hooks, matmulBias(x, this.W_proj, this.b_proj));
    return mul(c, p);
  }
}

/** The T×T mask of key positions a query may not read: the future, except inside the prefix. */
export function prefixMaskBits(T: number, prefixLen: number): Uint8Array {
  const m = new Uint8Array(T * T);
  for (let q = 0; q < T; q++) for (let k = q + 1; k < T; k++) if (k >= prefixLen) m[q * T + k] = 1;
  return m;
}

/**
 * Linear attention with the Taylor feature map, causal; with `prefix`, the
 * first prefixLen keys and values come from their own projections
 * (W_K_prefix, W_V_prefix) and every query reads all of them.
 */
export class TaylorLinearAttention extends Module {
  readonly W_Q: Tensor;
  readonly W_K: Tensor;
  readonly W_V: Tensor;
  readonly W_K_prefix: Tensor | null;
  readonly W_V_prefix: Tensor | null;
  readonly W_O: Tensor;
  readonly dHead: number;
  private readonly hookQ: HookPoint;
  private readonly hookK: HookPoint;
  private readonly hookV: HookPoint;
  private readonly hookPattern: HookPoint;
  private readonly hookZ: HookPoint;

  constructor(readonly nHeads: number, readonly dModel: number, readonly featureDim: number, readonly prefix: boolean) {
    super();
    const H = nHeads;
    const d = dModel;
    const dh = d / H;
    this.dHead = dh;
    const init = torchLinearInit(d);
    this.W_Q = this.param('W_Q', Tensor.zeros([H, d, featureDim]), init);
    this.W_K = this.param('W_K', Tensor.zeros([H, d, featureDim]), init);
    this.W_V = this.param('W_V', Tensor.zeros([H, d, dh]), init);
    this.W_K_prefix = prefix ? this.param('W_K_prefix', Tensor.zeros([H, d, featureDim]), init) : null;
    this.W_V_prefix = prefix ? this.param('W_V_prefix', Tensor.zeros([H, d, dh]), init) : null;
    this.W_O = this.param('W_O', Tensor.zeros([H, dh, d]), torchLinearInit(d));
    this.hookQ = this.hookPoint('hook_q', HEADS_TO_BTHD);
    this.hookK = this.hookPoint('hook_k', HEADS_TO_BTHD);
    this.hookV = this.hookPoint('hook_v', HEADS_TO_BTHD);
    this.hookPattern = this.hookPoint('hook_pattern', HEADS_TO_BHTT);
    this.hookZ = this.hookPoint('hook_z');
  }

  /** x [B, T, d] (normalised) → [B·T, d]. */
  forward(x: Tensor, B: number, T: number, hooks: Hooks, prefixLen: number): Tensor {
    const H = this.nHeads;
    const d = this.dModel;
    const dh = this.dHead;
    const f = this.featureDim;
    const xn = reshape(x, [B * T, d]);
    const heads = (W: Tensor, w: number) => reshape(matmul(xn, W), [H, B, T, w]);
    const P = this.prefix ? Math.min(prefixLen, T) : 0;
    // Prefix rows take the prefix projections: a 0/1 row mask tiled over heads and batch.
    const pick = (dec: Tensor, enc: Tensor | null, w: number): Tensor => {
      if (!enc || P === 0) return dec;
      const cond = new Uint8Array(T * w);
      cond.fill(1, 0, P * w);
      return where(cond, heads(enc, w), dec);
    };
    const q = this.hookQ.run(hooks, heads(this.W_Q, f));
    const k = this.hookK.run(hooks, pick(heads(this.W_K, f), this.W_K_prefix, f));
    const v = this.hookV.run(hooks, pick(heads(this.W_V, dh), this.W_V_prefix, dh));
    const s = matmul(q, k, { transB: true }); // [H, B, T, T]
    // φ(q)·φ(k) = 1 + s/√d′ + s²/(2d′)
    const kernel = add(affine(s, 1 / Math.sqrt(f), 1), mulScalar(square(s), 1 / (2 * f)));
    const masked = maskedFill(kernel, prefixMaskBits(T, P), 0);
    const pattern = this.hookPattern.run(hooks, div(masked, sum(masked, -1, true)));
    const z = this.hookZ.run(hooks, permute(matmul(pattern, v), [1, 2, 0, 3])); // [B, T, H, dh]
    return matmul(reshape(z, [B * T, H * dh]), reshape(this.W_O, [H * dh, d]));
  }
}

/**
 * Causal softmax attention in the same layout (no biases, PyTorch's default
 * init, as zoology's MHA): the mixer of the attention baseline, so that it
 * differs from Based in the mixer alone.
 */
export class SoftmaxAttention extends Module {
  readonly W_Q: Tensor;
  readonly W_K: Tensor;
  readonly W_V: Tensor;
  readonly W_O: Tensor;
  readonly dHead: number;
  private readonly hookQ: HookPoint;
  private readonly hookK: HookPoint;
  private readonly hookV: HookPoint;
  private readonly hookPattern: HookPoint;
  private readonly hookZ: HookPoint;
  constructor(readonly nHeads: number, readonly dModel: number) {
    super();
    const H = nHeads;
    const dh = dModel / H;
    this.dHead = dh;
    const init = torchLinearInit(dModel);
    this.W_Q = this.param('W_Q', Tensor.zeros([H, dModel, dh]), init);
    this.W_K = this.param('W_K', Tensor.zeros([H, dModel, dh]), init);
    this.W_V = this.param('W_V', Tensor.zeros([H, dModel, dh]), init);
    this.W_O = this.param('W_O', Tensor.zeros([H, dh, dModel]), init);
    this.hookQ = this.hookPoint('hook_q', HEADS_TO_BTHD);
    this.hookK = this.hookPoint('hook_k', HEADS_TO_BTHD);
    this.hookV = this.hookPoint('hook_v', HEADS_TO_BTHD);
    this.hookPattern = this.hookPoint('hook_pattern', HEADS_TO_BHTT);
    this.hookZ = this.hookPoint('hook_z');
  }

  /** x [B, T, d] (normalised) → [B·T, d]. */
  forward(x: Tensor, B: number, T: number, hooks: Hooks): Tensor {
    const H = this.nHeads;
    const d = this.dModel;
    const dh = this.dHead;
    const xn = reshape(x, [B * T, d]);
    const heads = (W: Tensor) => reshape(matmul(xn, W), [H, B, T, dh]);
    const q = this.hookQ.run(hooks, heads(this.W_Q));
    const k = this.hookK.run(hooks, heads(this.W_K));
    const v = this.hookV.run(hooks, heads(this.W_V));
    const pattern = this.hookPattern.run(hooks, causalSoftmax(matmul(q, k, { transB: true }), 1 / Math.sqrt(dh)));
    const z = this.hookZ.run(hooks, permute(matmul(pattern, v), [1, 2, 0, 3]));
    return matmul(reshape(z, [B * T, H * dh]), reshape(this.W_O, [H * dh, d]));
  }
}

/** One Based layer: x + conv(ln_conv(x)), then x + attn(ln_attn(x)). */
class BasedBlock extends Module {
  readonly ln_conv: LayerNorm;
  readonly conv: BaseConv;
  readonly ln_attn: LayerNorm;
  readonly attn: TaylorLinearAttention | SoftmaxAttention;
  private readonly hookResidPre: HookPoint;
  private readonly hookConvOut: HookPoint;
  private readonly hookResidMid: HookPoint;
  private readonly hookAttnOut: HookPoint;
  private readonly hookResidPost: HookPoint;
  constructor(cfg: Required<BasedConfig>) {
    super();
    this.hookResidPre = this.hookPoint('hook_resid_pre');
    this.ln_conv = this.child('ln_conv', new LayerNorm(cfg.dModel, cfg.lnEps));
    this.conv = this.child('conv', new BaseConv(cfg.dModel, cfg.convKernel));
    this.hookConvOut = this.hookPoint('hook_conv_out');
    this.hookResidMid = this.hookPoint('hook_resid_mid');
    this.ln_attn = this.child('ln_attn', new LayerNorm(cfg.dModel, cfg.lnEps));
    this.attn = this.child('attn', cfg.mixer === 'softmax' ? new SoftmaxAttention(cfg.nHeads, cfg.dModel) : new TaylorLinearAttention(cfg.nHeads, cfg.dModel, cfg.featureDim, cfg.prefix));
    this.hookAttnOut = this.hookPoint('hook_attn_out');
    this.hookResidPost = this.hookPoint('hook_resid_post');
  }

  forward(x: Tensor, B: number, T: number, hooks: Hooks, prefixLen: number): Tensor {
    x = this.hookResidPre.run(hooks, x);
    const convOut = this.hookConvOut.run(hooks, this.conv.forward(this.ln_conv.forward(x), B, T, hooks));
    x = this.hookResidMid.run(hooks, add(x, convOut));
    const xn = this.ln_attn.forward(x);
    const mixed = this.attn instanceof TaylorLinearAttention ? this.attn.forward(xn, B, T, hooks, prefixLen) : this.attn.forward(xn, B, T, hooks);
    const attnOut = this.hookAttnOut.run(hooks, reshape(mixed, [B, T, this.attn.dModel]));
    return this.hookResidPost.run(hooks, add(x, attnOut));
  }
}

export class Based extends Module {
  readonly config: Required<BasedConfig>;
  readonly W_E: Tensor;
  readonly blocks: BasedBlock[] = [];
  readonly ln_final: LayerNorm;
  readonly W_U: Tensor;
  readonly b_U: Tensor;
  private readonly hookEmbed: HookPoint;

  constructor(config: BasedConfig) {
    super();
    const cfg: Required<BasedConfig> = { convKernel: 3, prefix: false, mixer: 'linear', lnEps: 1e-5, ...config };
    validateBasedConfig(cfg);
    this.config = cfg;
    const { vocabSize: V, dModel: d } = cfg;
    this.W_E = this.child('embed', new ParamGroup()).add('W_E', Tensor.zeros([V, d]), { std: 0.02 });
    this.hookEmbed = this.hookPoint('hook_embed');
    for (let i = 0; i < cfg.nLayers; i++) this.blocks.push(this.child(`blocks.${i}`, new BasedBlock(cfg)));
    this.ln_final = this.child('ln_final', new LayerNorm(d, cfg.lnEps, { hookNormalized: true }));
    const unembed = this.child('unembed', new ParamGroup());
    this.W_U = unembed.add('W_U', Tensor.zeros([d, V]), { std: 0.02 });
    this.b_U = unembed.add('b_U', Tensor.zeros([V]));
    this.initParameters(seededNormalInit(cfg.seed));
  }

  /**
   * Bytes kept between tokens after T tokens (f32): the fixed recurrent state
   * of linear attention, or the convolution's inputs plus a KV cache of T
   * positions for the softmax mixer.
   */
  stateBytes(T = 0): number {
    const c = this.config;
    if (c.mixer === 'linear') return basedStateBytes(c).total;
    return basedStateBytes(c).conv + 2 * c.nLayers * T * c.dModel * 4;
  }

  /** Logits [B, T, V] for tokens [B, T]. */
  forward(tokens: Int32Array, B: number, T: number, opts: BasedForwardOptions = {}): Tensor {
    if (tokens.length !== B * T) throw new Error(`Based.forward: ${tokens.length} tokens do not make a [${B}, ${T}] batch`);
    const prefixLen = opts.prefixLen ?? 0;
    if (!Number.isInteger(prefixLen) || prefixLen < 0) throw new Error(`Based.forward: prefixLen must be a non-negative integer, got ${prefixLen}`);
    if (prefixLen > 0 && !(this.config.prefix && this.config.mixer === 'linear')) throw new Error('Based.forward: a prefix length was given to a causal model (build it with prefix: true for prefix linear attention)');
    const hooks = opts.hooks ?? NO_HOOKS;
    if (opts.hooks) checkHookNames(opts.hooks.requested(), this.hookNames());
    let x = this.hookEmbed.run(hooks, gather(this.W_E, tokens, [B, T]));
    for (const blk of this.blocks) x = blk.forward(x, B, T, hooks, prefixLen);
    return matmulBias(this.ln_final.forward(x, hooks), this.W_U, this.b_U);
  }

  loss(tokens: Int32Array, targets: Int32Array, B: number, T: number, opts: BasedForwardOptions & { ignoreIndex?: number } = {}): Tensor {
    return crossEntropy(this.forward(tokens, B, T, opts), targets, { ignoreIndex: opts.ignoreIndex });
  }
}

const NO_HOOKS = new (class extends Hooks {
  override point(_name: string, value: Tensor): Tensor {
    return value;
  }
})();

/** Throws, naming the setting, for a Based config that cannot be built. */
export function validateBasedConfig(cfg: Required<BasedConfig>): void {
  for (const k of ['vocabSize', 'dModel', 'nLayers', 'featureDim', 'nHeads', 'convKernel'] as const) {
    const v = cfg[k];
    if (!Number.isInteger(v) || v < 1) throw new Error(`Based config: ${k} must be a positive integer, got ${v}`);
  }
  if (cfg.mixer !== 'linear' && cfg.mixer !== 'softmax') throw new Error(`Based config: mixer must be 'linear' or 'softmax', got ${String(cfg.mixer)}`);
  if (cfg.prefix && cfg.mixer !== 'linear') throw new Error('Based config: prefix attention is a linear-attention mixer (JRT-RNN); the softmax mixer is causal only');
  if (cfg.dModel % cfg.nHeads !== 0) throw new Error(`Based config: dModel ${cfg.dModel} is not divisible by nHeads ${cfg.nHeads}, so the state cannot be split into heads`);
  if (!Number.isInteger(cfg.seed)) throw new Error(`Based config: seed must be an integer, got ${cfg.seed}`);
}
