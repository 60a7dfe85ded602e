// A decoder-only GPT in one file: pre-LN blocks, learned positions, optional
// weight tying and dropout, with TransformerLens's hook points and parameter
// names (`blocks.0.attn.W_Q` is [n_heads, d_model, d_head]). The layers it is
// built from live in layers.ts.

import { Tensor } from '../engine/tensor.js';
import { add } from '../engine/ops-elementwise.js';
import { reshape, gather } from '../engine/ops-shape.js';
import { matmulBias, dropout, crossEntropy } from '../engine/ops-nn.js';
import type { Rng } from '../engine/rng.js';
import { Module } from './module.js';
import { Hooks, checkHookNames, type HookPoint } from './hooks.js';
import { LayerNorm, CausalSelfAttention, MLP, ParamGroup, seededNormalInit } from './layers.js';

export interface GPTConfig {
  vocabSize: number;
  /** Longest sequence the position table covers. */
  contextLength: number;
  nLayers: number;
  nHeads: number;
  dModel: number;
  /** Hidden width of the MLP; 4·dModel when omitted. */
  dMlp?: number;
  /** Dropout on embeddings, attention patterns and residual branches; 0 by default. */
  dropout?: number;
  /** Use the embedding matrix as the unembedding (logits = x W_Eᵀ). */
  tieWeights?: boolean;
  /** Seed of the initialisation (each parameter draws from its own derived stream). */
  seed: number;
  lnEps?: number;
}

export interface ForwardOptions {
  hooks?: Hooks;
  /** Generator for dropout masks; dropout is skipped without one. */
  dropoutRng?: Rng;
}

/** One pre-LN transformer block: x + attn(ln1(x)), then x + mlp(ln2(x)). */
class Block extends Module {
  readonly ln1: LayerNorm;
  readonly attn: CausalSelfAttention;
  readonly ln2: LayerNorm;
  readonly mlp: MLP;
  private readonly hookResidPre: HookPoint;
  private readonly hookAttnOut: HookPoint;
  private readonly hookResidMid: HookPoint;
  private readonly hookMlpOut: HookPoint;
  private readonly hookResidPost: HookPoint;
  /** `index`: the layer number (the block's place in the tree is `blocks.{index}`, given by the GPT that registers it). */
  constructor(cfg: Required<GPTConfig>, readonly index: number) {
    super();
    const outStd = 0.02 / Math.sqrt(2 * cfg.nLayers); // GPT-2: residual projections shrink with depth
    // Registration order is state-dict order (ln1, attn, ln2, mlp, as the data
    // flows) and, with the hook points between them, hookNames() order.
    this.hookResidPre = this.hookPoint('hook_resid_pre');
    this.ln1 = this.child('ln1', new LayerNorm(cfg.dModel, cfg.lnEps));
    this.attn = this.child('attn', new CausalSelfAttention(cfg.nHeads, cfg.dModel, outStd));
    this.hookAttnOut = this.hookPoint('hook_attn_out');
    this.hookResidMid = this.hookPoint('hook_resid_mid');
    this.ln2 = this.child('ln2', new LayerNorm(cfg.dModel, cfg.lnEps));
    this.mlp = this.child('mlp', new MLP(cfg.dModel, cfg.dMlp, outStd));
    this.hookMlpOut = this.hookPoint('hook_mlp_out');
    this.hookResidPost = this.hookPoint('hook_resid_post');
  }

  forward(x: Tensor, B: number, T: number, hooks: Hooks, drop: (t: Tensor) => Tensor): Tensor {
    x = this.hookResidPre.run(hooks, x);
    const attnOut = this.hookAttnOut.run(hooks, this.attn.forward(this.ln1.forward(x), B, T, hooks, drop));
    x = this.hookResidMid.run(hooks, add(x, drop(reshape(attnOut, [B, T, this.attn.dModel]))));
    const mlpOut = this.hookMlpOut.run(hooks, this.mlp.forward(this.ln2.forward(x), hooks));
    return this.hookResidPost.run(hooks, add(x, drop(mlpOut)));
  }
}

export class GPT extends Module {
  readonly config: Required<GPTConfig>;
  readonly W_E: Tensor;
  readonly W_pos: Tensor;
  readonly blocks: Block[] = [];
  readonly ln_final: LayerNorm;
  readonly W_U: Tensor | null;
  readonly b_U: Tensor;
  private readonly hookEmbed: HookPoint;
  private readonly hookPosEmbed: HookPoint;

  constructor(config: GPTConfig) {
    super();
    const cfg: Required<GPTConfig> = { dMlp: 4 * config.dModel, dropout: 0, tieWeights: false, lnEps: 1e-5, ...config };
    validateConfig(cfg);
    this.config = cfg;
    const { vocabSize: V, dModel: d, contextLength: C } = cfg;
    this.W_E = this.child('embed', new ParamGroup()).add('W_E', Tensor.zeros([V, d]), { std: 0.02 });
    this.hookEmbed = this.hookPoint('hook_embed');
    this.W_pos = this.child('pos_embed', new ParamGroup()).add('W_pos', Tensor.zeros([C, d]), { std: 0.02 });
    this.hookPosEmbed = this.hookPoint('hook_pos_embed');
    for (let i = 0; i < cfg.nLayers; i++) this.blocks.push(this.child(`blocks.${i}`, new Block(cfg, i)));
    this.ln_final = this.child('ln_final', new LayerNorm(d, cfg.lnEps, { hookNormalized: true }));
    const unembed = this.child('unembed', new ParamGroup());
    this.W_U = cfg.tieWeights ? null : unembed.add('W_U', Tensor.zeros([d, V]), { std: 0.02 });
    this.b_U = unembed.add('b_U', Tensor.zeros([V]));
    this.initParameters(seededNormalInit(cfg.seed));
  }

  /** Logits [B, T, V] for tokens [B, T] (row-major Int32Array). */
  forward(tokens: Int32Array, B: number, T: number, opts: ForwardOptions = {}): Tensor {
    const cfg = this.config;
    if (tokens.length !== B * T) throw new Error(`GPT.forward: ${tokens.length} tokens do not make a [${B}, ${T}] batch`);
    if (T > cfg.contextLength) throw new Error(`GPT.forward: sequence length ${T} exceeds the model's context length ${cfg.contextLength}`);
    const hooks = opts.hooks ?? NO_HOOKS;
    if (opts.hooks) checkHookNames(opts.hooks.requested(), this.hookNames());
    const p = cfg.dropout;
    const drop = (t: Tensor) => (p > 0 && opts.dropoutRng && this.training ? dropout(t, p, opts.dropoutRng, true) : t);
    const posIds = new Int32Array(B * T);
    for (let i = 0; i < B * T; i++) posIds[i] = i % T;
    const tokEmb = this.hookEmbed.run(hooks, gather(this.W_E, tokens, [B, T]));
    const posEmb = this.hookPosEmbed.run(hooks, gather(this.W_pos, posIds, [B, T]));
    let x = drop(add(tokEmb, posEmb));
    for (const blk of this.blocks) x = blk.forward(x, B, T, hooks, drop);
    const xf = this.ln_final.forward(x, hooks);
    return this.W_U ? matmulBias(xf, this.W_U, this.b_U) : matmulBias(xf, this.W_E, this.b_U, { transB: true });
  }

  /** Mean cross-entropy (nats/token) of next-token targets; `ignoreIndex` targets are skipped. */
  loss(tokens: Int32Array, targets: Int32Array, B: number, T: number, opts: ForwardOptions & { ignoreIndex?: number } = {}): Tensor {
    const logits = this.forward(tokens, B, T, opts);
    return crossEntropy(logits, targets, { ignoreIndex: opts.ignoreIndex });
  }

  /** Forward pass that records the named activations (TransformerLens's run_with_cache). */
  runWithCache(tokens: Int32Array, B: number, T: number, names: Iterable<string> | 'all'): { logits: Tensor; cache: Map<string, Tensor> } {
    const hooks = new Hooks({ cache: names });
    const logits = this.forward(tokens, B, T, { hooks });
    return { logits, cache: hooks.cache };
  }
}

const NO_HOOKS = new (class extends Hooks {
  override point(_name: string, value: Tensor): Tensor {
    return value;
  }
})();

export function validateConfig(cfg: Required<GPTConfig>): void {
  const ints: Array<keyof GPTConfig> = ['vocabSize', 'contextLength', 'nLayers', 'nHeads', 'dModel', 'dMlp'];
  for (const k of ints) {
    const v = cfg[k] as number;
    if (!Number.isInteger(v) || v < 1) throw new Error(`GPT config: ${k} must be a positive integer, got ${v}`);
  }
  if (cfg.dModel % cfg.nHeads !== 0) throw new Error(`GPT config: dModel ${cfg.dModel} is not divisible by nHeads ${cfg.nHeads}`);
  if (!(cfg.dropout >= 0 && cfg.dropout < 1)) throw new Error(`GPT config: dropout must be in [0, 1), got ${cfg.dropout}`);
  if (!Number.isInteger(cfg.seed)) throw new Error(`GPT config: seed must be an integer, got ${cfg.seed}`);
}

