/**
 * The transformer compressor's predictor (container format 1): a byte-level GPT that
 * learns while it codes, mixed with the order-3 count model.
 *
 * Token stream. u = [0, b_0, b_1, ...]: a virtual byte 0 starts the stream
 * so the first byte has a context. Byte b_i is predicted from the tokens of
 * u up to u_i.
 *
 * Windows and segments (C = model.contextLength, S = train.segment):
 * the KV cache (IncrementalGPT) holds at most C positions. Every S bytes, at
 * a segment boundary, the predictor
 *   1. trains: `steps` AdamW steps on a batch made of the current window
 *      (the last min(C, n) tokens and their next-byte targets) plus `replay`
 *      windows of C tokens drawn from the last `history` bytes, loss on every
 *      position, global-norm clipping, lr = lr * min(1, (t+1)/warmup) / sqrt(1 + t/decay);
 *   2. re-primes the cache with the last C - S + 1 tokens under the new weights.
 * Between boundaries each byte is one cached step. So every byte sees at
 * least C - S + 1 tokens of context (once that many exist), and the weights
 * change only at boundaries that depend on the byte count alone: never on
 * the container's chunking, the input's splitting or the thread count.
 *
 * Mixing. The final distribution is a GeometricMixer of the GPT's
 * log-softmax and the count model's log-probabilities, one of 16 weight sets
 * picked by how confident each is. Early on the mixer leans on the counts
 * (a count-based warm start); as the transformer learns it gains weight.
 * Level 1 is the count model alone.
 *
 * Static mode: the GPT comes from a checkpoint and never trains (the counts
 * and mixer still adapt); the header records the checkpoint's SHA-256.
 *
 * The whole configuration lives in the container header (see GptCodecConfig),
 * so a decoder needs only the file (and, in static mode, the checkpoint).
 */
import { CountPredictor, type CountPredictorConfig } from './count-predictor.js';
import { CorruptInputError } from './errors.js';
import { GeometricMixer, confidenceBucket, expApprox, lnApprox } from './gpt-mixer.js';
import { HighOrderContexts, type ContextModelConfig } from './gpt-contexts.js';
import type { Predictor } from './predictor.js';
import { GPT, type GPTConfig } from '../nn/gpt.js';
import { IncrementalGPT } from '../nn/gpt-incremental.js';
import { AdamW, clipGradNorm } from '../engine/optim.js';
import { Rng } from '../engine/rng.js';
import { Tensor as TensorCtor, type Tensor } from '../engine/tensor.js';
import { add } from '../engine/ops-elementwise.js';
import { crossEntropy } from '../engine/ops-nn.js';
import { LOG2E } from '../engine/constants.js';

/** Identifies this predictor family in a container header. */
export const GPT_PREDICTOR_NAME = 'gpt-mix';
/** Version of the predictor's semantics; a decoder refuses versions it does not know. */
export const GPT_PREDICTOR_VERSION = 1;

export interface TrainConfig {
  /** Bytes between training steps (and cache re-primes). */
  segment: number;
  /** Optimiser steps per segment. */
  steps: number;
  optimizer: 'adamw';
  lr: number;
  /** Linear warmup over this many steps (>= 1). */
  warmup: number;
  /** lr is divided by sqrt(1 + step/decay); 0 = no decay. */
  decay: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  /** Global gradient-norm clip. */
  clip: number;
  /** Past windows replayed with each step. */
  replay: number;
  /** Replay draws from the last `history` bytes. */
  history: number;
  /** Seed of the replay sampler. */
  seed: number;
  /**
   * Train the GPT as a correction to the classical mix: its loss is on
   * softmax(logits + ln P_counts), and that product is what it contributes to
   * the final mix (needs mixer.layers = 2; replay then draws from the last 8192 bytes).
   */
  residual: boolean;
}

export interface MixerConfig {
  lr: number;
  /** Initial weights of [GPT, counts]. */
  init: [number, number];
  /** 1: one mixer over every expert. 2: the count experts are mixed first, then that mix with the GPT. */
  layers: number;
}

/** The header object of a GPT-compressed file: everything decoding needs. */
export interface GptCodecConfig {
  predictor: typeof GPT_PREDICTOR_NAME;
  version: number;
  level: number;
  counts: Required<CountPredictorConfig>;
  /** Higher-order contexts mixed in (null: none). */
  contexts: ContextModelConfig | null;
  /** null: no transformer. */
  model: Required<Omit<GPTConfig, 'dropout' | 'tieWeights' | 'lnEps'>> & { tieWeights: boolean } | null;
  /** null: the model never trains (static mode). */
  train: TrainConfig | null;
  /** null only when there is nothing to mix (counts alone). */
  mixer: MixerConfig | null;
  /** Static mode: the checkpoint the model came from. */
  checkpoint?: { sha256: string };
}

// ---------------------------------------------------------------- levels

interface LevelSpec {
  counts: Required<CountPredictorConfig>;
  contexts?: ContextModelConfig;
  model?: { dModel: number; nLayers: number; nHeads: number; contextLength: number };
  train?: Partial<TrainConfig> & { segment: number };
}

const COUNTS: Required<CountPredictorConfig> = { order: 3, hashBits: 16, limit: 1020, escape16: 32 };
const CONTEXTS: ContextModelConfig = { orders: [4, 6, 8], hashBits: 20, limit: 255, escape16: 32 };

/**
 * Level presets, -1 (fastest) to -9 (most compute). Measured in bench/compress.ts:
 * level 1 is the order-3 counts alone, level 2 adds the order-4/6/8 contexts,
 * levels 3-9 add a transformer of growing size and training effort, mixed in
 * two layers. On inputs up to ~1 MB a small transformer updated often helps
 * most; the larger ones are meant for larger inputs.
 */
export const LEVELS: Record<number, LevelSpec> = {
  1: { counts: COUNTS },
  2: { counts: COUNTS, contexts: CONTEXTS },
  3: { counts: COUNTS, contexts: CONTEXTS, model: { dModel: 16, nLayers: 1, nHeads: 2, contextLength: 32 }, train: { segment: 16 } },
  4: { counts: COUNTS, contexts: CONTEXTS, model: { dModel: 32, nLayers: 1, nHeads: 4, contextLength: 64 }, train: { segment: 32 } },
  5: { counts: COUNTS, contexts: CONTEXTS, model: { dModel: 32, nLayers: 1, nHeads: 4, contextLength: 64 }, train: { segment: 16 } },
  6: { counts: COUNTS, contexts: CONTEXTS, model: { dModel: 32, nLayers: 2, nHeads: 4, contextLength: 64 }, train: { segment: 16 } },
  7: { counts: COUNTS, contexts: CONTEXTS, model: { dModel: 48, nLayers: 2, nHeads: 4, contextLength: 96 }, train: { segment: 16, replay: 1 } },
  8: { counts: COUNTS, contexts: CONTEXTS, model: { dModel: 64, nLayers: 2, nHeads: 4, contextLength: 128 }, train: { segment: 32, replay: 2 } },
  9: { counts: COUNTS, contexts: CONTEXTS, model: { dModel: 96, nLayers: 2, nHeads: 4, contextLength: 128 }, train: { segment: 32, replay: 3 } },
};

const DEFAULT_TRAIN: Omit<TrainConfig, 'segment'> = {
  steps: 1, optimizer: 'adamw', lr: 3e-3, warmup: 16, decay: 0, betas: [0.9, 0.99], eps: 1e-8, weightDecay: 0, clip: 1, replay: 0, history: 1 << 16, seed: 0, residual: false,
};
const DEFAULT_MIXER: MixerConfig = { lr: 0.002, init: [0.3, 1], layers: 1 };
/** With a transformer: the count experts are mixed first, then with the GPT (measured better than one flat mixer). */
const GPT_MIXER: MixerConfig = { ...DEFAULT_MIXER, layers: 2 };

/** The header config for a level (and seed); `overrides` tweak the training recipe (benchmarks, experiments). */
export function levelConfig(level: number, opts: { seed?: number; train?: Partial<TrainConfig>; mixer?: Partial<MixerConfig> } = {}): GptCodecConfig {
  const spec = LEVELS[level];
  if (!spec) throw new RangeError(`compression level must be an integer from 1 to 9, got ${level}`);
  const seed = opts.seed ?? 0;
  const base: GptCodecConfig = {
    predictor: GPT_PREDICTOR_NAME, version: GPT_PREDICTOR_VERSION, level, counts: { ...spec.counts },
    contexts: spec.contexts ? { ...spec.contexts, orders: spec.contexts.orders.slice() } : null, model: null, train: null, mixer: null,
  };
  if (base.contexts) base.mixer = { ...DEFAULT_MIXER, ...opts.mixer };
  if (!spec.model) return base;
  const m = spec.model;
  base.model = { vocabSize: 256, contextLength: m.contextLength, nLayers: m.nLayers, nHeads: m.nHeads, dModel: m.dModel, dMlp: 4 * m.dModel, tieWeights: false, seed };
  base.train = { ...DEFAULT_TRAIN, ...spec.train, seed, ...opts.train } as TrainConfig;
  base.mixer = { ...GPT_MIXER, ...opts.mixer };
  return base;
}

/** The header config for static mode: a fixed model from a checkpoint (identified by its SHA-256), counts and mixer as usual. */
export function staticConfig(model: Required<GPTConfig>, sha256: string, opts: { seed?: number } = {}): GptCodecConfig {
  const { vocabSize, contextLength, nLayers, nHeads, dModel, dMlp, tieWeights } = model;
  return {
    predictor: GPT_PREDICTOR_NAME,
    version: GPT_PREDICTOR_VERSION,
    level: 0,
    counts: { ...COUNTS },
    contexts: { ...CONTEXTS, orders: CONTEXTS.orders.slice() },
    model: { vocabSize, contextLength, nLayers, nHeads, dModel, dMlp, tieWeights, seed: opts.seed ?? model.seed },
    train: null,
    mixer: { ...GPT_MIXER },
    checkpoint: { sha256 },
  };
}

// ---------------------------------------------------------------- validation

function bad(what: string): never {
  throw new CorruptInputError(`header at offset 14: ${what}`, 14);
}

function int(v: unknown, what: string, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) bad(`${what} must be an integer in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
  return v as number;
}

function num(v: unknown, what: string, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) bad(`${what} must be a number in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
  return v as number;
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(`${what} must be an object`);
  return v as Record<string, unknown>;
}

/** Check a header object read from a file; errors are CorruptInputErrors naming the field. */
export function parseGptCodecConfig(raw: Record<string, unknown>): GptCodecConfig {
  if (raw.predictor !== GPT_PREDICTOR_NAME) bad(`unknown predictor ${JSON.stringify(raw.predictor)} (this glassbox knows "${GPT_PREDICTOR_NAME}")`);
  const version = int(raw.version, 'predictor version', 0, 65535);
  if (version > GPT_PREDICTOR_VERSION) bad(`predictor version ${version} is newer than this glassbox supports (max ${GPT_PREDICTOR_VERSION}); upgrade glassbox to read this file`);
  if (version < 1) bad(`predictor version ${version} is not valid`);
  const level = int(raw.level, 'level', 0, 9);
  const c = obj(raw.counts, 'counts');
  const counts = { order: int(c.order, 'counts.order', 0, 3), hashBits: int(c.hashBits, 'counts.hashBits', 8, 20), limit: int(c.limit, 'counts.limit', 2, 65535), escape16: int(c.escape16, 'counts.escape16', 1, 1024) };
  const cfg: GptCodecConfig = { predictor: GPT_PREDICTOR_NAME, version, level, counts, contexts: null, model: null, train: null, mixer: null };
  if (raw.contexts !== null && raw.contexts !== undefined) {
    const x = obj(raw.contexts, 'contexts');
    const orders = x.orders;
    if (!Array.isArray(orders) || orders.length < 1 || orders.length > 5) bad('contexts.orders must be an array of 1 to 5 orders');
    let last = 3;
    for (const k of orders as unknown[]) last = int(k, 'contexts.orders[]', last + 1, 8);
    cfg.contexts = { orders: (orders as number[]).slice(), hashBits: int(x.hashBits, 'contexts.hashBits', 10, 22), limit: int(x.limit, 'contexts.limit', 2, 65535), escape16: int(x.escape16, 'contexts.escape16', 1, 1024) };
  }
  if (cfg.contexts || (raw.model !== null && raw.model !== undefined)) cfg.mixer = parseMixer(raw.mixer);
  if (raw.model === null || raw.model === undefined) return cfg;
  const m = obj(raw.model, 'model');
  const model = {
    vocabSize: int(m.vocabSize, 'model.vocabSize', 256, 256),
    contextLength: int(m.contextLength, 'model.contextLength', 2, 4096),
    nLayers: int(m.nLayers, 'model.nLayers', 1, 64),
    nHeads: int(m.nHeads, 'model.nHeads', 1, 64),
    dModel: int(m.dModel, 'model.dModel', 1, 4096),
    dMlp: int(m.dMlp, 'model.dMlp', 1, 16384),
    tieWeights: m.tieWeights === true,
    seed: int(m.seed, 'model.seed', 0, Number.MAX_SAFE_INTEGER),
  };
  if (model.dModel % model.nHeads !== 0) bad(`model.dModel ${model.dModel} is not divisible by model.nHeads ${model.nHeads}`);
  cfg.model = model;
  if (raw.checkpoint !== undefined) {
    const ck = obj(raw.checkpoint, 'checkpoint');
    if (typeof ck.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(ck.sha256)) bad('checkpoint.sha256 must be 64 hex digits');
    cfg.checkpoint = { sha256: ck.sha256 };
  }
  if (raw.train === null || raw.train === undefined) {
    if (!cfg.checkpoint) bad('a model without training needs a checkpoint (static mode)');
    return cfg;
  }
  const t = obj(raw.train, 'train');
  if (t.optimizer !== 'adamw') bad(`unknown optimizer ${JSON.stringify(t.optimizer)} (this glassbox knows "adamw")`);
  const betas = t.betas;
  if (!Array.isArray(betas) || betas.length !== 2) bad('train.betas must be an array of 2 numbers');
  const segment = int(t.segment, 'train.segment', 1, model.contextLength - 1);
  cfg.train = {
    segment,
    steps: int(t.steps, 'train.steps', 0, 64),
    optimizer: 'adamw',
    lr: num(t.lr, 'train.lr', 0, 1),
    warmup: int(t.warmup, 'train.warmup', 1, 1e9),
    decay: num(t.decay, 'train.decay', 0, 1e12),
    betas: [num((betas as unknown[])[0], 'train.betas[0]', 0, 0.999999), num((betas as unknown[])[1], 'train.betas[1]', 0, 0.999999)],
    eps: num(t.eps, 'train.eps', 0, 1),
    weightDecay: num(t.weightDecay, 'train.weightDecay', 0, 1),
    clip: num(t.clip, 'train.clip', 0, 1e6),
    replay: int(t.replay, 'train.replay', 0, 256),
    history: int(t.history, 'train.history', model.contextLength + 1, 1 << 26),
    seed: int(t.seed, 'train.seed', 0, Number.MAX_SAFE_INTEGER),
    residual: t.residual === true,
  };
  if (cfg.train.residual && cfg.mixer!.layers !== 2) bad('train.residual needs mixer.layers = 2');
  return cfg;
}

function parseMixer(raw: unknown): MixerConfig {
  const mx = obj(raw, 'mixer');
  const init = mx.init;
  if (!Array.isArray(init) || init.length !== 2) bad('mixer.init must be an array of 2 numbers');
  return { lr: num(mx.lr, 'mixer.lr', 0, 10), init: [num((init as unknown[])[0], 'mixer.init[0]', -4, 4), num((init as unknown[])[1], 'mixer.init[1]', -4, 4)], layers: int(mx.layers, 'mixer.layers', 1, 2) };
}

// ---------------------------------------------------------------- the predictor

const N = 256;
/** Positions of count-mix log-probabilities kept for residual training (8 MiB). */
const RES_HISTORY = 8192;

export class GptPredictor implements Predictor {
  readonly config: GptCodecConfig;
  readonly counts: CountPredictor;
  readonly contexts: HighOrderContexts | null;
  readonly model: GPT | null;
  private readonly inc: IncrementalGPT | null;
  private readonly mixer: GeometricMixer | null;
  /** Two-layer mixing: the count experts' mixer (whose output `mixer` then mixes with the GPT). */
  private readonly mixer1: GeometricMixer | null = null;
  private readonly p1 = new Float32Array(N);
  private readonly lcm = new Float64Array(N);
  /** Residual training: ln P of the count mix at each of the last RES_HISTORY positions. */
  private readonly resLog: Float32Array | null = null;
  private readonly opt: AdamW | null;
  private readonly params: Tensor[];
  private readonly replayRng: Rng | null;
  /** The last `history` tokens of u, by index mod history. */
  private readonly ring: Uint8Array;
  private readonly segment: number;
  private readonly C: number;
  private logits: Float32Array | null = null;
  /** Mixer inputs: ln P of the order-3 counts, of each higher order, then of the GPT. */
  private readonly inputs: Float64Array[];
  private readonly lc = new Float64Array(N);
  private readonly lg = new Float64Array(N);
  private readonly out = new Float32Array(N);
  private lastP: Float32Array = this.out;
  private n = 0;
  private step = 0;
  /** Sum of -log2 p(byte) over the bytes observed, from the probabilities handed to the coder (before quantisation). */
  bits = 0;
  /** Seconds spent in training steps (for benchmarks). */
  trainSeconds = 0;

  /** `model`: a ready model for static mode (its weights loaded from the checkpoint). */
  constructor(config: GptCodecConfig, model?: GPT) {
    this.config = config;
    this.counts = new CountPredictor(config.counts);
    this.contexts = config.contexts ? new HighOrderContexts(config.contexts) : null;
    this.inputs = [this.lc, ...(this.contexts ? this.contexts.logp : [])];
    const mc = config.model;
    if (mc) {
      this.model = model ?? new GPT(mc);
      const c = this.model.config;
      if (c.vocabSize !== 256 || c.contextLength !== mc.contextLength || c.dModel !== mc.dModel || c.nLayers !== mc.nLayers || c.nHeads !== mc.nHeads || c.dMlp !== mc.dMlp || c.tieWeights !== mc.tieWeights) {
        throw new Error(`the model (${JSON.stringify(c)}) does not match the one recorded in the file (${JSON.stringify(mc)})`);
      }
      this.inputs.push(this.lg);
      this.C = c.contextLength;
      this.inc = new IncrementalGPT(this.model);
    } else {
      this.model = this.inc = null;
      this.C = 0;
    }
    if (config.mixer && config.mixer.layers === 2 && this.model) {
      const classical = this.inputs.slice(0, -1);
      const orders = this.contexts ? this.contexts.orders.length : 0;
      if (classical.length > 1) {
        const init1 = classical.map((_, i) => (i === classical.length - 1 ? config.mixer!.init[1] : 0));
        this.mixer1 = new GeometricMixer(classical.length, (orders + 1) * 4, init1, config.mixer.lr);
      }
      this.mixer = new GeometricMixer(2, 16, [config.mixer.init[1], config.mixer.init[0]], config.mixer.lr);
      if (config.train?.residual) this.resLog = new Float32Array(RES_HISTORY * N);
    } else if (config.mixer && this.inputs.length > 1) {
      // Start from the top count expert alone (weight init[1]) plus the GPT at init[0]; the rest learn their way in.
      const init = this.inputs.map(() => 0);
      init[this.inputs.length - (this.model ? 2 : 1)] = config.mixer.init[1];
      if (this.model) init[this.inputs.length - 1] = config.mixer.init[0];
      const orders = this.contexts ? this.contexts.orders.length : 0;
      this.mixer = new GeometricMixer(this.inputs.length, (orders + 1) * 4, init, config.mixer.lr);
    } else this.mixer = null;
    const t = config.train;
    this.segment = t ? t.segment : Math.max(1, this.C >> 1);
    this.ring = new Uint8Array(!this.model ? 0 : t ? t.history : this.C + 1);
    if (this.model && t) {
      this.params = this.model.parameters();
      this.opt = new AdamW(this.params, { lr: t.lr, betas: t.betas, eps: t.eps, weightDecay: t.weightDecay });
      this.replayRng = Rng.derive(t.seed, 'compress/replay');
    } else {
      this.params = [];
      this.opt = null;
      this.replayRng = null;
    }
    if (this.inc) this.logits = this.inc.push(0); // u_0 = 0, the virtual start byte
  }

  /** Bytes observed so far. */
  get bytesSeen(): number {
    return this.n;
  }

  /** Training steps taken so far. */
  get stepsTaken(): number {
    return this.step;
  }

  predict(): Float32Array {
    const pc = this.counts.predict();
    if (!this.mixer) return (this.lastP = pc);
    const lc = this.lc;
    let maxP = 0;
    for (let s = 0; s < N; s++) {
      const p = pc[s];
      lc[s] = lnApprox(p);
      if (p > maxP) maxP = p;
    }
    let found = 0;
    if (this.contexts) {
      this.contexts.predict(lc);
      found = this.contexts.found + 1;
    }
    const z = this.logits;
    if (z && this.config.mixer!.layers === 2) return (this.lastP = this.mixTwoLayers(z, found, maxP));
    if (z) {
      const lg = this.lg;
      let mx = -Infinity;
      for (let s = 0; s < N; s++) if (z[s] > mx) mx = z[s];
      let sum = 0;
      for (let s = 0; s < N; s++) sum += expApprox(z[s] - mx);
      const lse = mx + lnApprox(sum);
      for (let s = 0; s < N; s++) lg[s] = z[s] - lse;
      maxP = expApprox(mx - lse); // the set is picked by the GPT's confidence when there is a GPT
    }
    this.mixer.mix(this.inputs, found * 4 + confidenceBucket(maxP), this.out);
    return (this.lastP = this.out);
  }

  /** Count experts through mixer1 (-> lcm), then [lcm, GPT] through the final mixer. */
  private mixTwoLayers(z: Float32Array, found: number, maxCounts: number): Float32Array {
    const lcm = this.lcm;
    let maxCm = maxCounts;
    if (this.mixer1) {
      const classical = this.inputs.slice(0, -1);
      this.mixer1.mix(classical, found * 4 + confidenceBucket(maxCounts), this.p1, lcm);
      maxCm = 0;
      for (let s = 0; s < N; s++) if (this.p1[s] > maxCm) maxCm = this.p1[s];
    } else lcm.set(this.lc);
    if (this.resLog) {
      const o = (this.n % RES_HISTORY) * N;
      for (let s = 0; s < N; s++) this.resLog[o + s] = lcm[s];
    }
    // The GPT expert: log-softmax of its logits, or of logits + ln P_counts when it learns the residual.
    const lg = this.lg;
    const res = this.resLog !== null;
    let mx = -Infinity;
    for (let s = 0; s < N; s++) {
      const v = res ? z[s] + lcm[s] : z[s];
      lg[s] = v;
      if (v > mx) mx = v;
    }
    let sum = 0;
    for (let s = 0; s < N; s++) sum += expApprox(lg[s] - mx);
    const lse = mx + lnApprox(sum);
    for (let s = 0; s < N; s++) lg[s] -= lse;
    const maxG = expApprox(mx - lse);
    this.mixer!.mix([lcm, lg], confidenceBucket(maxG) * 4 + confidenceBucket(maxCm), this.out);
    return this.out;
  }

  observe(byte: number): void {
    // Code length of this byte under what predict() returned (the coder quantises it; this is for progress reports).
    const p = this.lastP;
    let s = 0;
    for (let i = 0; i < N; i++) s += p[i];
    this.bits += (lnApprox(s) - lnApprox(p[byte])) * LOG2E;
    this.counts.observe(byte);
    this.contexts?.observe(byte);
    this.mixer?.update(byte);
    this.mixer1?.update(byte);
    const n = ++this.n;
    if (!this.inc) return;
    this.ring[n % this.ring.length] = byte; // u_n = b_{n-1}
    if (n % this.segment === 0) {
      if (this.opt) this.train();
      const keep = Math.min(n + 1, this.C - this.segment + 1);
      const toks = new Int32Array(keep);
      for (let i = 0; i < keep; i++) toks[i] = this.ring[(n + 1 - keep + i) % this.ring.length];
      this.inc.reset();
      this.logits = this.inc.pushMany(toks);
    } else {
      this.logits = this.inc.push(byte);
    }
  }

  endChunk(): void {}

  /** One segment's training: `steps` optimiser steps on the current window plus replayed ones. */
  private train(): void {
    const t = this.config.train!;
    const model = this.model!;
    const opt = this.opt!;
    const n = this.n;
    const C = this.C;
    const R = this.ring.length;
    const H = this.resLog ? Math.min(R, RES_HISTORY) : R; // replay draws from the last H bytes
    const T = Math.min(C, n);
    const t0 = performance.now();
    for (let k = 0; k < t.steps; k++) {
      // Windows: [start, start + T) of u as inputs, shifted by one as targets.
      const starts = [n - T];
      const lo = Math.max(0, n - H + 1);
      const hi = n - T; // last start whose targets are all known
      if (T === C && hi - lo >= C) for (let r = 0; r < t.replay; r++) starts.push(lo + Math.floor(this.replayRng!.next() * (hi - lo)));
      const B = starts.length;
      const x = new Int32Array(B * T);
      const y = new Int32Array(B * T);
      for (let b = 0; b < B; b++) {
        for (let i = 0; i < T; i++) {
          x[b * T + i] = this.ring[(starts[b] + i) % R];
          y[b * T + i] = this.ring[(starts[b] + i + 1) % R];
        }
      }
      opt.zeroGrad();
      let logits = model.forward(x, B, T);
      if (this.resLog) {
        // Target i of window b is byte (starts[b] + i); its count-mix log-probabilities were kept at that index.
        const base = new Float32Array(B * T * N);
        for (let b = 0; b < B; b++) {
          for (let i = 0; i < T; i++) {
            const o = ((starts[b] + i) % RES_HISTORY) * N;
            base.set(this.resLog.subarray(o, o + N), (b * T + i) * N);
          }
        }
        logits = add(logits, new TensorCtor(base, [B, T, N]));
      }
      const loss = crossEntropy(logits, y);
      loss.backward();
      const norm = clipGradNorm(this.params, t.clip);
      if (Number.isFinite(norm)) {
        const warm = Math.min(1, (this.step + 1) / t.warmup);
        const decay = t.decay > 0 ? 1 / Math.sqrt(1 + this.step / t.decay) : 1;
        opt.setLr(t.lr * warm * decay);
        opt.step();
      }
      this.step++;
    }
    this.inc!.refresh();
    this.trainSeconds += (performance.now() - t0) / 1000;
  }
}

/**
 * A PredictorFactory for files written with a GptCodecConfig header.
 * `staticModel(config)` supplies the checkpoint's model in static mode (it
 * must check config.checkpoint.sha256 against the checkpoint it loads).
 */
export function gptPredictorFactory(staticModel?: (config: GptCodecConfig) => GPT): (raw: Record<string, unknown>) => GptPredictor {
  return (raw) => {
    const config = parseGptCodecConfig(raw);
    if (config.checkpoint) {
      if (!staticModel) throw new Error(`this file was compressed with a fixed model (checkpoint sha256 ${config.checkpoint.sha256}); pass it with --model`);
      return new GptPredictor(config, staticModel(config));
    }
    return new GptPredictor(config);
  };
}
