/**
 * The compression levels of the transformer compressor (container format
 * 1), one table as zstd keeps clevels.h: each level is a complete
 * GptCodecConfig, stored in the file's header, so changing this table never
 * changes how an existing file decodes.
 */
import type { CountPredictorConfig } from './count-predictor.js';
import type { ContextModelConfig } from './gpt-contexts.js';
import { GPT_PREDICTOR_NAME, GPT_PREDICTOR_VERSION, type GptCodecConfig, type MixerConfig, type TrainConfig } from './gpt-header.js';
import type { GPTConfig } from '../nn/gpt.js';

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
