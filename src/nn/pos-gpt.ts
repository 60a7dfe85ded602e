// A decoder-only GPT whose position encoding is a choice: none, the
// sinusoidal table, ALiBi or RoPE, instead of gpt.ts's learned table. With
// ALiBi (Press et al., arXiv 2108.12409) attention decays with distance and
// nothing ties the model to a trained length, which is the setting of the
// over-squashing theorem (Barbero et al., arXiv 2406.04267, Theorem 4.2).
// Pre-LN blocks, GELU MLP, TransformerLens names, as in gpt.ts.

import { Tensor } from '../engine/tensor.js';
import { add, mulScalar } from '../engine/ops-elementwise.js';
import { reshape, permute, gather } from '../engine/ops-shape.js';
import { matmul, matmulBias, causalSoftmax, crossEntropy } from '../engine/ops-nn.js';
import { alibi, alibiSlopes, rope, sinusoidalTable } from '../engine/ops-position.js';
import { Module } from './module.js';
import { Hooks, checkHookNames, HEADS_TO_BTHD, HEADS_TO_BHTT, type HookPoint } from './hooks.js';
import { LayerNorm, MLP, ParamGroup, seededNormalInit } from './layers.js';

export type PositionEncoding = 'none' | 'sinusoidal' | 'alibi' | 'rope';
export const POSITION_ENCODINGS: readonly PositionEncoding[] = ['none', 'sinusoidal', 'alibi', 'rope'];

export interface PosGPTConfig {
  vocabSize: number;
  /** Longest sequence the model accepts (no table depends on it: a limit for clear errors). */
  contextLength: number;
  nLayers: number;
  nHeads: number;
  dModel: number;
  /** MLP width; 4·dModel when omitted. */
  dMlp?: number;
  pe: PositionEncoding;
  seed: number;
}

/**
 * Causal attention of q, k, v [H, B, T, dh] under a position encoding: RoPE
 * rotates q and k, ALiBi adds −m_h·(q − k) to the scaled scores. Returns the
 * pattern [H, B, T, T] and the mixed values [H, B, T, dh]. Shared by the
 * model below and by the one-layer synthetic experiments.
 */
export function positionalAttention(q: Tensor, k: Tensor, v: Tensor, pe: PositionEncoding, slopes?: readonly number[]): { pattern: Tensor; z: Tensor } {
  const dh = q.dim(-1);
  if (pe === 'rope') {
    q = rope(q);
    k = rope(k);
  }
  const raw = matmul(q, k, { transB: true });
  const scale = 1 / Math.sqrt(dh);
  const pattern = pe === 'alibi' ? causalSoftmax(alibi(mulScalar(raw, scale), slopes ?? alibiSlopes(q.shape[0])), 1) : causalSoftmax(raw, scale);
  return { pattern, z: matmul(pattern, v) };
}

class PosAttention extends Module {
  readonly W_Q: Tensor;
  readonly W_K: Tensor;
  readonly W_V: Tensor;
  readonly W_O: Tensor;
  readonly b_O: Tensor;
  readonly slopes: number[];
  private readonly hookQ: HookPoint;
  private readonly hookK: HookPoint;
  private readonly hookV: HookPoint;
  private readonly hookPattern: HookPoint;
  private readonly hookZ: HookPoint;
  constructor(readonly nHeads: number, readonly dModel: number, readonly pe: PositionEncoding, outStd: number) {
    super();
    const dh = dModel / nHeads;
    this.W_Q = this.param('W_Q', Tensor.zeros([nHeads, dModel, dh]), { std: 0.02 });
    this.W_K = this.param('W_K', Tensor.zeros([nHeads, dModel, dh]), { std: 0.02 });
    this.W_V = this.param('W_V', Tensor.zeros([nHeads, dModel, dh]), { std: 0.02 });
    this.W_O = this.param('W_O', Tensor.zeros([nHeads, dh, dModel]), { std: outStd });
    this.b_O = this.param('b_O', Tensor.zeros([dModel]));
    this.slopes = alibiSlopes(nHeads);
    this.hookQ = this.hookPoint('hook_q', HEADS_TO_BTHD);
    this.hookK = this.hookPoint('hook_k', HEADS_TO_BTHD);
    this.hookV = this.hookPoint('hook_v', HEADS_TO_BTHD);
    this.hookPattern = this.hookPoint('hook_pattern', HEADS_TO_BHTT);
    this.hookZ = this.hookPoint('hook_z');
  }
  forward(x: Tensor, B: number, T: number, hooks: Hooks): Tensor {
    const H = this.nHeads;
    const d = this.dModel;
    const dh = d / H;
    const xn = reshape(x, [B * T, d]);
    const heads = (W: Tensor) => reshape(matmul(xn, W), [H, B, T, dh]);
    const q = this.hookQ.run(hooks, heads(this.W_Q));
    const k = this.hookK.run(hooks, heads(this.W_K));
    const v = this.hookV.run(hooks, heads(this.W_V));
    const { pattern, z } = positionalAttention(q, k, v, this.pe, this.slopes);
    this.hookPattern.run(hooks, pattern);
    const zt = this.hookZ.run(hooks, permute(z, [1, 2, 0, 3])); // [B, T, H, dh]
    return reshape(matmulBias(reshape(zt, [B * T, H * dh]), reshape(this.W_O, [H * dh, d]), this.b_O), [B, T, d]);
  }
}

class PosBlock extends Module {
  readonly ln1: LayerNorm;
  readonly attn: PosAttention;
  readonly ln2: LayerNorm;
  readonly mlp: MLP;
  private readonly hookResidPre: HookPoint;
  private readonly hookResidMid: HookPoint;
  private readonly hookResidPost: HookPoint;
  constructor(cfg: Required<PosGPTConfig>) {
    super();
    const outStd = 0.02 / Math.sqrt(2 * cfg.nLayers);
    this.hookResidPre = this.hookPoint('hook_resid_pre');
    this.ln1 = this.child('ln1', new LayerNorm(cfg.dModel));
    this.attn = this.child('attn', new PosAttention(cfg.nHeads, cfg.dModel, cfg.pe, outStd));
    this.hookResidMid = this.hookPoint('hook_resid_mid');
    this.ln2 = this.child('ln2', new LayerNorm(cfg.dModel));
    this.mlp = this.child('mlp', new MLP(cfg.dModel, cfg.dMlp, outStd));
    this.hookResidPost = this.hookPoint('hook_resid_post');
  }
  forward(x: Tensor, B: number, T: number, hooks: Hooks): Tensor {
    x = this.hookResidPre.run(hooks, x);
    x = this.hookResidMid.run(hooks, add(x, this.attn.forward(this.ln1.forward(x), B, T, hooks)));
    return this.hookResidPost.run(hooks, add(x, this.mlp.forward(this.ln2.forward(x), hooks)));
  }
}

export class PosGPT extends Module {
  readonly config: Required<PosGPTConfig>;
  readonly W_E: Tensor;
  readonly blocks: PosBlock[] = [];
  readonly ln_final: LayerNorm;
  readonly W_U: Tensor;
  readonly b_U: Tensor;
  private readonly hookEmbed: HookPoint;
  private readonly hookPosEmbed: HookPoint | null;

  constructor(config: PosGPTConfig) {
    super();
    const cfg: Required<PosGPTConfig> = { dMlp: 4 * config.dModel, ...config };
    for (const k of ['vocabSize', 'contextLength', 'nLayers', 'nHeads', 'dModel', 'dMlp'] as const) {
      if (!Number.isInteger(cfg[k]) || cfg[k] < 1) throw new Error(`PosGPT config: ${k} must be a positive integer, got ${cfg[k]}`);
    }
    if (cfg.dModel % cfg.nHeads !== 0) throw new Error(`PosGPT config: dModel ${cfg.dModel} is not divisible by nHeads ${cfg.nHeads}`);
    if (!POSITION_ENCODINGS.includes(cfg.pe)) throw new Error(`PosGPT config: unknown position encoding "${cfg.pe}" (have: ${POSITION_ENCODINGS.join(', ')})`);
    if (cfg.pe === 'rope' && (cfg.dModel / cfg.nHeads) % 2 !== 0) throw new Error(`PosGPT config: RoPE needs an even head width, got ${cfg.dModel / cfg.nHeads}`);
    this.config = cfg;
    this.W_E = this.child('embed', new ParamGroup()).add('W_E', Tensor.zeros([cfg.vocabSize, cfg.dModel]), { std: 0.02 });
    this.hookEmbed = this.hookPoint('hook_embed');
    this.hookPosEmbed = cfg.pe === 'sinusoidal' ? this.hookPoint('hook_pos_embed') : null;
    for (let i = 0; i < cfg.nLayers; i++) this.blocks.push(this.child(`blocks.${i}`, new PosBlock(cfg)));
    this.ln_final = this.child('ln_final', new LayerNorm(cfg.dModel, 1e-5, { hookNormalized: true }));
    const unembed = this.child('unembed', new ParamGroup());
    this.W_U = unembed.add('W_U', Tensor.zeros([cfg.dModel, cfg.vocabSize]), { std: 0.02 });
    this.b_U = unembed.add('b_U', Tensor.zeros([cfg.vocabSize]));
    this.initParameters(seededNormalInit(cfg.seed));
  }

  /** Logits [B, T, V] for tokens [B, T]. */
  forward(tokens: Int32Array, B: number, T: number, opts: { hooks?: Hooks } = {}): Tensor {
    const cfg = this.config;
    if (tokens.length !== B * T) throw new Error(`PosGPT.forward: ${tokens.length} tokens do not make a [${B}, ${T}] batch`);
    if (T > cfg.contextLength) throw new Error(`PosGPT.forward: sequence length ${T} exceeds the model's context length ${cfg.contextLength}`);
    for (let i = 0; i < tokens.length; i++) {
      if (!(tokens[i] >= 0 && tokens[i] < cfg.vocabSize)) throw new Error(`PosGPT.forward: token ${tokens[i]} at flat index ${i} is outside the vocabulary of ${cfg.vocabSize}`);
    }
    const hooks = opts.hooks ?? new Hooks();
    if (opts.hooks) checkHookNames(opts.hooks.requested(), this.hookNames());
    let x = this.hookEmbed.run(hooks, gather(this.W_E, tokens, [B, T]));
    if (this.hookPosEmbed) x = add(x, this.hookPosEmbed.run(hooks, sinusoidalTable(T, cfg.dModel))); // [T, d], broadcast over the batch
    for (const blk of this.blocks) x = blk.forward(x, B, T, hooks);
    const xf = this.ln_final.forward(x, hooks);
    return matmulBias(xf, this.W_U, this.b_U);
  }

  /** Mean cross-entropy of `targets` (ignoreIndex −1 skips a position). */
  loss(tokens: Int32Array, targets: Int32Array, B: number, T: number): Tensor {
    return crossEntropy(this.forward(tokens, B, T), targets, { ignoreIndex: -1 });
  }
}
