/**
 * The compression levels of the context-mixing compressor, one table like
 * zstd's clevels.h: each level is a complete CmConfig, stored in the file's
 * header, so changing this table never changes how an existing file decodes.
 *
 * Every addition from one level to the next was measured (bench/compress.ts
 * and the table in README.md); levels are monotone in ratio on the corpus.
 */
import { CM_MODEL_NAME, CM_MODEL_VERSION, type CmConfig } from './cm-config.js';

type LevelSpec = Omit<CmConfig, 'model' | 'version' | 'level'>;

const FAST: LevelSpec = {
  contexts: ['o1', 'o2', 'o3', 'o4', 'w1'],
  bucketBits: 18,
  limit: 255,
  indirect: false,
  match: { minLength: 6, windowBits: 22, hashBits: 18 },
  selectors: ['c0'],
  lr: [24, 12],
  apm: 1,
  gpt: null,
};

const TEXT: LevelSpec = {
  contexts: ['o1', 'o2', 'o3', 'o4', 'o6', 'w1', 'w2', 'wc', 'col'],
  bucketBits: 22,
  limit: 255,
  indirect: true,
  match: { minLength: 7, windowBits: 24, hashBits: 22 },
  selectors: ['c0', 'c1', 'match', 'known'],
  lr: [24, 12],
  apm: 2,
  gpt: null,
};

export const CM_LEVELS: Record<number, LevelSpec> = {
  1: FAST,
  2: TEXT,
  // More contexts than this measured no better (orders 5 and 7, sparse and "byte above" contexts each cost
  // 0.001-0.002 bpb on alice29/asyoulik with this mixer); the third word and a faster mixer do help.
  3: { ...TEXT, contexts: [...TEXT.contexts, 'w3'], lr: [32, 12] },
  4: { ...TEXT, contexts: [...TEXT.contexts, 'w3'], lr: [32, 12], gpt: 3 },
};
export const CM_DEFAULT_LEVEL = 2;
export const CM_MAX_LEVEL = 4;

/** The header configuration of a level. */
export function cmLevelConfig(level: number): CmConfig {
  const spec = CM_LEVELS[level];
  if (!spec) throw new RangeError(`compression level must be an integer from 1 to ${CM_MAX_LEVEL}, got ${level}`);
  return { model: CM_MODEL_NAME, version: CM_MODEL_VERSION, level, ...structuredClone(spec) };
}
