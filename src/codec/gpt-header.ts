/**
 * The header schema of a transformer-compressed file (container format 1):
 * the object the container stores under "config", with everything a decoder
 * needs to rebuild the encoder's predictor, and its validation.
 *
 * A header is read from an untrusted file, so every field is checked for
 * type and range before anything is allocated from it; a bad one is a
 * CorruptInputError that names the field (the header starts at offset 14).
 */
import type { CountPredictorConfig } from './count-predictor.js';
import { CorruptInputError } from './errors.js';
import type { ContextModelConfig } from './gpt-contexts.js';
import type { GPTConfig } from '../nn/gpt.js';

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
