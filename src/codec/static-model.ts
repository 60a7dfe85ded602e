/**
 * Static mode of the transformer compressor: the GPT comes from a fixed
 * checkpoint and never trains (the counts and the mixer still adapt). The
 * file's header records the checkpoint's SHA-256 (FIPS 180-4), and decoding
 * refuses any other checkpoint up front: other weights give other
 * probabilities, which would decode to garbage that only the chunk CRCs
 * would catch.
 *
 * The hash is taken over the very bytes the weights are read from, so a
 * checkpoint replaced between two reads cannot pass the check.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { GptCodecConfig } from './gpt-header.js';
import { GPT, type GPTConfig } from '../nn/gpt.js';
import { decodeCheckpoint, modelTensors } from '../train/checkpoint.js';

/** A checkpoint's GPT, ready for static mode, and what identifies it. */
export interface StaticModel {
  model: GPT;
  /** SHA-256 of the checkpoint file, 64 lowercase hex digits. */
  sha256: string;
  /** Where it came from (a path), for error messages. */
  source: string;
}

/** SHA-256 of a checkpoint's bytes, as the header records it. */
export function checkpointSha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Build the static-mode model from a checkpoint's bytes (a glassbox
 * safetensors checkpoint whose metadata holds a byte-level model_config).
 * `source` names it in errors.
 */
export function staticModelFromBytes(bytes: Uint8Array, source: string): StaticModel {
  const sha256 = checkpointSha256(bytes);
  const ck = decodeCheckpoint(bytes, source);
  const cfg = ck.meta.model_config as GPTConfig | undefined;
  if (!cfg || typeof cfg !== 'object') throw new Error(`${source}: no model_config in the checkpoint's metadata`);
  if (cfg.vocabSize !== 256) throw new Error(`${source}: the model's vocabulary has ${cfg.vocabSize} tokens; compression needs a byte-level model (256)`);
  const model = new GPT(cfg);
  model.loadStateDict(modelTensors(ck));
  return { model, sha256, source };
}

/** Read a checkpoint file and build its static-mode model (see staticModelFromBytes). */
export async function loadStaticModel(path: string): Promise<StaticModel> {
  const bytes = await readFile(path).catch((e: NodeJS.ErrnoException) => {
    throw new Error(`cannot read checkpoint ${path}: ${e.code ?? e.message}`);
  });
  return staticModelFromBytes(bytes, path);
}

/**
 * The model for a static-mode file, after checking that it is the
 * checkpoint the file names (for gptPredictorFactory).
 */
export function staticModelFor(loaded: StaticModel | undefined): (config: GptCodecConfig) => GPT {
  return (config) => {
    const want = config.checkpoint!.sha256;
    if (!loaded) throw new Error(`this file was compressed with a fixed model (checkpoint sha256 ${want}); pass that checkpoint as the model (--model on the command line)`);
    if (loaded.sha256 !== want) {
      throw new Error(`wrong checkpoint: ${loaded.source} has sha256 ${loaded.sha256}, but this file was compressed with the checkpoint whose sha256 is ${want}`);
    }
    return loaded.model;
  };
}
