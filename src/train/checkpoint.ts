// Checkpoints as safetensors. A PyTorch user opens one with
// `safetensors.torch.load_file`; the model's tensors are named by module path
// (`blocks.0.attn.W_Q`), optimiser moments sit under `optimizer.`, and the
// configs (model, training, run state) are JSON strings in `__metadata__`.

import { readFileSync } from 'node:fs';
import { encodeSafetensors, decodeSafetensors } from '../engine/safetensors.js';
import { writeFileAtomic } from '../engine/atomic-file.js';
import { VERSION } from '../version.js';
import type { Module } from '../nn/module.js';

export const OPTIMIZER_PREFIX = 'optimizer.';

export interface CheckpointContents {
  /** JSON-serialisable facts stored in `__metadata__` (each value JSON-encoded). */
  meta: Record<string, unknown>;
  /** Named f32 tensors beyond the model's own (optimiser moments). */
  extra?: Array<{ name: string; shape: number[]; data: Float32Array }>;
}

export function saveCheckpoint(path: string, model: Module, contents: CheckpointContents): void {
  const tensors = model.namedParameters().map(([name, t]) => ({ name, dtype: 'F32' as const, shape: t.shape, data: t.data }));
  for (const e of contents.extra ?? []) tensors.push({ name: e.name, dtype: 'F32', shape: e.shape, data: e.data });
  const metadata: Record<string, string> = { format: 'glassbox-checkpoint', glassbox_version: VERSION };
  for (const [k, v] of Object.entries(contents.meta)) metadata[k] = JSON.stringify(v);
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export interface LoadedCheckpoint {
  meta: Record<string, unknown>;
  glassboxVersion: string;
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
}

/** Read and validate a glassbox checkpoint; errors name the file and what is wrong with it. */
export function loadCheckpoint(path: string): LoadedCheckpoint {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read checkpoint ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return decodeCheckpoint(bytes, path);
}

/**
 * Validate and decode a glassbox checkpoint already in memory (`path` names
 * it in errors). For a caller that must also hash the very bytes it loads.
 */
export function decodeCheckpoint(bytes: Uint8Array, path: string): LoadedCheckpoint {
  let decoded: ReturnType<typeof decodeSafetensors>;
  try {
    decoded = decodeSafetensors(bytes);
  } catch (e) {
    throw new Error(`${path} is not a valid safetensors checkpoint: ${(e as Error).message}`);
  }
  const md = decoded.metadata ?? {};
  if (md.format !== 'glassbox-checkpoint') throw new Error(`${path} is a safetensors file but not a glassbox checkpoint (no format=glassbox-checkpoint in its metadata)`);
  const meta: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(md)) {
    if (k === 'format' || k === 'glassbox_version') continue;
    try {
      meta[k] = JSON.parse(v);
    } catch {
      throw new Error(`${path}: metadata entry "${k}" is not valid JSON`);
    }
  }
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of decoded.tensors) {
    if (!(t.data instanceof Float32Array)) throw new Error(`${path}: tensor ${name} has dtype ${t.dtype}, expected F32`);
    tensors.set(name, { shape: t.shape, data: t.data });
  }
  return { meta, glassboxVersion: md.glassbox_version ?? 'unknown', tensors };
}

/** The model's tensors of a loaded checkpoint (everything outside the optimiser namespace). */
export function modelTensors(ck: LoadedCheckpoint): Map<string, { shape: number[]; data: Float32Array }> {
  return new Map([...ck.tensors].filter(([n]) => !n.startsWith(OPTIMIZER_PREFIX)));
}
