// A decoder-only GPT in one file: pre-LN blocks, learned positions, optional
// weight tying and dropout, with TransformerLens's hook points and
// parameter names (`blocks.0.attn.W_Q` is [n_heads, d_model, d_head]).
//
// Layout note: inside attention the heads lead ([H, B, T, d_head]) so that
// every head of every sequence is one contiguous matrix for the batched
// matmul. Hooks still show TransformerLens's layouts ([B, T, H, d_head],
// patterns [B, H, T, T]); the permutation only runs when a hook is active.

import { Tensor } from '../engine/tensor.js';
import { add, mulScalar, gelu } from '../engine/ops-elementwise.js';
import { reshape, permute, gather, causalMask } from '../engine/ops-shape.js';
import { matmul, matmulBias, softmax, causalSoftmax, layerNorm, dropout, crossEntropy } from '../engine/ops-nn.js';
import { Rng } from '../engine/rng.js';
import { Module } from './module.js';
import { Hooks, checkHookNames, type HookLayout } from './hooks.js';

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

const HEADS_TO_BTHD: HookLayout = { toUser: [1, 2, 0, 3], fromUser: [2, 0, 1, 3] };
const HEADS_TO_BHTT: HookLayout = { toUser: [1, 0, 2, 3], fromUser: [1, 0, 2, 3] };

function normal(rng: Rng, n: number, std: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * std;
  return a;
}

/** A module that only holds parameters (the embeddings, the unembedding). */
class ParamGroup extends Module {
  add(name: string, t: Tensor): Tensor {
    return this.param(name, t);
  }
}

class LayerNormParams extends Module {
  readonly w: Tensor;
  readonly b: Tensor;
  constructor(d: number) {
    super();
    this.w = this.param('w', new Tensor(new Float32Array(d).fill(1), [d]));
    this.b = this.param('b', new Tensor(new Float32Array(d), [d]));
  }
}

class Attention extends Module {
  readonly W_Q: Tensor;
  readonly W_K: Tensor;
  readonly W_V: Tensor;
  readonly W_O: Tensor;
  readonly b_Q: Tensor;
  readonly b_K: Tensor;
  readonly b_V: Tensor;
  readonly b_O: Tensor;
  constructor(cfg: Required<GPTConfig>, init: (name: string, n: number, std: number) => Float32Array, prefix: string) {
    super();
    const { nHeads: H, dModel: d } = cfg;
    const dh = d / H;
    const std = 0.02;
    const outStd = 0.02 / Math.sqrt(2 * cfg.nLayers); // GPT-2: residual projections shrink with depth
    this.W_Q = this.param('W_Q', new Tensor(init(`${prefix}W_Q`, H * d * dh, std), [H, d, dh]));
    this.W_K = this.param('W_K', new Tensor(init(`${prefix}W_K`, H * d * dh, std), [H, d, dh]));
    this.W_V = this.param('W_V', new Tensor(init(`${prefix}W_V`, H * d * dh, std), [H, d, dh]));
    this.W_O = this.param('W_O', new Tensor(init(`${prefix}W_O`, H * dh * d, outStd), [H, dh, d]));
    this.b_Q = this.param('b_Q', Tensor.zeros([H, 1, dh]));
    this.b_K = this.param('b_K', Tensor.zeros([H, 1, dh]));
    this.b_V = this.param('b_V', Tensor.zeros([H, 1, dh]));
    this.b_O = this.param('b_O', Tensor.zeros([d]));
  }
}

class MLP extends Module {
  readonly W_in: Tensor;
  readonly b_in: Tensor;
  readonly W_out: Tensor;
  readonly b_out: Tensor;
  constructor(cfg: Required<GPTConfig>, init: (name: string, n: number, std: number) => Float32Array, prefix: string) {
    super();
    const { dModel: d, dMlp: m } = cfg;
    this.W_in = this.param('W_in', new Tensor(init(`${prefix}W_in`, d * m, 0.02), [d, m]));
    this.b_in = this.param('b_in', Tensor.zeros([m]));
    this.W_out = this.param('W_out', new Tensor(init(`${prefix}W_out`, m * d, 0.02 / Math.sqrt(2 * cfg.nLayers)), [m, d]));
    this.b_out = this.param('b_out', Tensor.zeros([d]));
  }
}

class Block extends Module {
  readonly ln1: LayerNormParams;
  readonly attn: Attention;
  readonly ln2: LayerNormParams;
  readonly mlp: MLP;
  constructor(cfg: Required<GPTConfig>, init: (name: string, n: number, std: number) => Float32Array, readonly index: number) {
    super();
    // Registration order is state-dict order: ln1, attn, ln2, mlp, as the data flows.
    this.ln1 = this.child('ln1', new LayerNormParams(cfg.dModel));
    this.attn = this.child('attn', new Attention(cfg, init, `blocks.${index}.attn.`));
    this.ln2 = this.child('ln2', new LayerNormParams(cfg.dModel));
    this.mlp = this.child('mlp', new MLP(cfg, init, `blocks.${index}.mlp.`));
  }
}

export class GPT extends Module {
  readonly config: Required<GPTConfig>;
  readonly W_E: Tensor;
  readonly W_pos: Tensor;
  readonly blocks: Block[] = [];
  readonly ln_final: LayerNormParams;
  readonly W_U: Tensor | null;
  readonly b_U: Tensor;

  constructor(config: GPTConfig) {
    super();
    const cfg: Required<GPTConfig> = { dMlp: 4 * config.dModel, dropout: 0, tieWeights: false, lnEps: 1e-5, ...config };
    validateConfig(cfg);
    this.config = cfg;
    const init = (name: string, n: number, std: number) => normal(Rng.derive(cfg.seed, `init/${name}`), n, std);
    const { vocabSize: V, dModel: d, contextLength: C } = cfg;
    this.W_E = this.child('embed', new ParamGroup()).add('W_E', new Tensor(init('embed.W_E', V * d, 0.02), [V, d]));
    this.W_pos = this.child('pos_embed', new ParamGroup()).add('W_pos', new Tensor(init('pos_embed.W_pos', C * d, 0.02), [C, d]));
    for (let i = 0; i < cfg.nLayers; i++) this.blocks.push(this.child(`blocks.${i}`, new Block(cfg, init, i)));
    this.ln_final = this.child('ln_final', new LayerNormParams(d));
    const unembed = this.child('unembed', new ParamGroup());
    this.W_U = cfg.tieWeights ? null : unembed.add('W_U', new Tensor(init('unembed.W_U', d * V, 0.02), [d, V]));
    this.b_U = unembed.add('b_U', Tensor.zeros([V]));
  }

  /** Every hook point this model offers, in forward order. */
  hookNames(): string[] {
    const names = ['hook_embed', 'hook_pos_embed'];
    for (let i = 0; i < this.config.nLayers; i++) {
      const b = `blocks.${i}.`;
      names.push(`${b}hook_resid_pre`, `${b}attn.hook_q`, `${b}attn.hook_k`, `${b}attn.hook_v`, `${b}attn.hook_attn_scores`, `${b}attn.hook_pattern`, `${b}attn.hook_z`, `${b}hook_attn_out`, `${b}hook_resid_mid`, `${b}mlp.hook_pre`, `${b}mlp.hook_post`, `${b}hook_mlp_out`, `${b}hook_resid_post`);
    }
    names.push('ln_final.hook_normalized');
    return names;
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
    const { dModel: d, nHeads: H } = cfg;
    const dh = d / H;

    const posIds = new Int32Array(B * T);
    for (let i = 0; i < B * T; i++) posIds[i] = i % T;
    const tokEmb = hooks.point('hook_embed', gather(this.W_E, tokens, [B, T]));
    const posEmb = hooks.point('hook_pos_embed', gather(this.W_pos, posIds, [B, T]));
    let x = drop(add(tokEmb, posEmb));

    for (const blk of this.blocks) {
      const pre = `blocks.${blk.index}.`;
      x = hooks.point(`${pre}hook_resid_pre`, x);
      // Attention: q, k, v are [H, B·T, dh] straight from the shared-input matmul.
      const a = blk.attn;
      const xn = reshape(layerNorm(x, blk.ln1.w, blk.ln1.b, cfg.lnEps), [B * T, d]);
      const heads = (W: Tensor, b: Tensor) => reshape(matmulBias(xn, W, b), [H, B, T, dh]);
      const q = hooks.point(`${pre}attn.hook_q`, heads(a.W_Q, a.b_Q), HEADS_TO_BTHD);
      const k = hooks.point(`${pre}attn.hook_k`, heads(a.W_K, a.b_K), HEADS_TO_BTHD);
      const v = hooks.point(`${pre}attn.hook_v`, heads(a.W_V, a.b_V), HEADS_TO_BTHD);
      const rawScores = matmul(q, k, { transB: true });
      let probs: Tensor;
      if (hooks.wants(`${pre}attn.hook_attn_scores`)) {
        // Someone reads or rewrites the scores: materialise them (scaled and masked, as in TransformerLens).
        const scores = hooks.point(`${pre}attn.hook_attn_scores`, causalMask(mulScalar(rawScores, 1 / Math.sqrt(dh))), HEADS_TO_BHTT);
        probs = softmax(scores);
      } else probs = causalSoftmax(rawScores, 1 / Math.sqrt(dh));
      const pattern = hooks.point(`${pre}attn.hook_pattern`, drop(probs), HEADS_TO_BHTT);
      const z = hooks.point(`${pre}attn.hook_z`, permute(matmul(pattern, v), [1, 2, 0, 3])); // [B, T, H, dh]
      const attnOut = hooks.point(`${pre}hook_attn_out`, matmulBias(reshape(z, [B * T, H * dh]), reshape(a.W_O, [H * dh, d]), a.b_O));
      x = hooks.point(`${pre}hook_resid_mid`, add(x, drop(reshape(attnOut, [B, T, d]))));
      // MLP.
      const m = blk.mlp;
      const hidden = hooks.point(`${pre}mlp.hook_pre`, matmulBias(layerNorm(x, blk.ln2.w, blk.ln2.b, cfg.lnEps), m.W_in, m.b_in));
      const act = hooks.point(`${pre}mlp.hook_post`, gelu(hidden));
      const mlpOut = hooks.point(`${pre}hook_mlp_out`, matmulBias(act, m.W_out, m.b_out));
      x = hooks.point(`${pre}hook_resid_post`, add(x, drop(mlpOut)));
    }
    const xf = hooks.point('ln_final.hook_normalized', layerNorm(x, this.ln_final.w, this.ln_final.b, cfg.lnEps));
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

