// The LM's weights file: safetensors with the GPT's tensors by module path
// and a model card in `__metadata__`. Everything in it is a function of the
// training command alone (no wall times, no version string), so rerunning the
// command regenerates the same bytes and the same SHA-256.

import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { encodeSafetensors, decodeSafetensors } from '../engine/safetensors.js';
import { writeFileAtomic } from '../engine/atomic-file.js';
import { GPT, type GPTConfig } from '../nn/gpt.js';
import { packageRoot, sha256 } from '../data/lm-corpus.js';

export const LM_FORMAT = 'glassbox-lm';

export interface ModelCard {
  name: string;
  /** The command that trained it, from a clean checkout. */
  command: string;
  preset: string;
  corpus_manifest_sha256: string;
  params: number;
  steps: number;
  tokens: number;
  context: number;
  /** Bits per byte on the corpus's whole validation split (sliding windows, see lm/score.ts). */
  val_bpb: number;
  precision: 'F32';
  tokenizer: 'bytes';
}

export interface LoadedLm {
  model: GPT;
  card: ModelCard;
  path: string;
  sha256: string;
}

export const BUILTIN = 'builtin';

/** Where the package keeps its own model. */
export function builtinModelPath(): string {
  return join(packageRoot(), 'models', 'glassbox-lm.safetensors');
}

/** Write the model and its card; returns the file's SHA-256. */
export function saveLmModel(path: string, model: GPT, card: ModelCard): string {
  const tensors = model.namedParameters().map(([name, t]) => ({ name, dtype: 'F32' as const, shape: t.shape, data: t.data }));
  const bytes = encodeSafetensors(tensors, { format: LM_FORMAT, model_config: JSON.stringify(model.config), card: JSON.stringify(card) });
  writeFileAtomic(path, bytes);
  return sha256(bytes);
}

/** Load `builtin` (the shipped model) or a path; errors say what the file is and why it is not a glassbox LM. */
export function loadModel(spec: string = BUILTIN): LoadedLm {
  const path = spec === BUILTIN ? builtinModelPath() : spec;
  if (!existsSync(path)) {
    throw new Error(spec === BUILTIN ? `the shipped model is missing from the package (${path}); reinstall glassbox` : `model file ${path} does not exist`);
  }
  const bytes = new Uint8Array(readFileSync(path));
  let decoded: ReturnType<typeof decodeSafetensors>;
  try {
    decoded = decodeSafetensors(bytes);
  } catch (e) {
    throw new Error(`${path} is not a glassbox LM: not a valid safetensors file (${(e as Error).message})`);
  }
  const md = decoded.metadata ?? {};
  if (md.format !== LM_FORMAT) {
    const what = md.format === 'glassbox-checkpoint' ? 'a training checkpoint, not an LM model file (use the run directory\'s model.safetensors)' : 'a safetensors file without format=glassbox-lm in its metadata';
    throw new Error(`${path} is not a glassbox LM: it is ${what}`);
  }
  let config: GPTConfig;
  let card: ModelCard;
  try {
    config = JSON.parse(md.model_config) as GPTConfig;
    card = JSON.parse(md.card) as ModelCard;
  } catch {
    throw new Error(`${path} is not a glassbox LM: its model_config or card metadata is not valid JSON`);
  }
  if (config.vocabSize !== 256) throw new Error(`${path} is not a glassbox LM: its vocabulary has ${config.vocabSize} tokens, a byte model has 256`);
  const model = new GPT(config);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of decoded.tensors) {
    if (!(t.data instanceof Float32Array)) throw new Error(`${path}: tensor ${name} has dtype ${t.dtype}, expected F32`);
    tensors.set(name, { shape: t.shape, data: t.data });
  }
  model.loadStateDict(tensors);
  model.eval();
  return { model, card, path, sha256: sha256(bytes) };
}
