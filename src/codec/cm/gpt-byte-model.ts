/**
 * The transformer of gpt-predictor.ts as one more input of the context
 * mixer: its next-byte distribution enters through the ByteModel seam
 * (byte-model.ts), which reads it along the byte's binary tree. The GPT
 * learns as it codes, exactly as in the transformer compressor, so the
 * decoder replays the same training; its output is identical for any
 * thread count (the engine's reductions have a fixed order).
 */
import { GptPredictor } from '../gpt-predictor.js';
import { levelConfig } from '../gpt-levels.js';
import type { ByteModel } from './byte-model.js';
import type { CmConfig } from './cm-config.js';

/** A ByteModel backed by the GPT predictor of a given GPT level. */
export function gptByteModel(gptLevel: number): ByteModel {
  const p = new GptPredictor(levelConfig(gptLevel, { seed: 0 }));
  return {
    predict: () => p.predict(),
    update: (byte) => p.observe(byte),
  };
}

/** The byte models a configuration asks for (the GPT, when `gpt` is set). */
export function defaultByteModels(config: CmConfig): ByteModel[] {
  return config.gpt === null ? [] : [gptByteModel(config.gpt)];
}
