// Checkpoints that resume training bit-identically: the weights, the
// optimiser's moments and step counts, the loop's TrainState, and whatever the
// experiment keeps beside them (its history so far). A resumed run must be
// the same run, so the checkpoint names its experiment and full config, and
// resuming under anything else is refused with both configs in the message.

import { readFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Module } from '../nn/module.js';
import { writeFileAtomic } from '../engine/atomic-file.js';
import { encodeSafetensors, decodeSafetensors } from '../engine/safetensors.js';
import { VERSION } from '../version.js';
import type { OptimizerState } from '../engine/optim.js';
import type { TrainState } from './trainer.js';
import { saveCheckpoint, loadCheckpoint, modelTensors } from './checkpoint.js';
import { optimizerStateTo, optimizerStateFrom } from './optimizer-state.js';

interface Optimizer {
  state(): OptimizerState;
  loadState(s: OptimizerState): void;
}

export interface TrainingCheckpoint<M> {
  experiment: string;
  config: unknown;
  state: TrainState;
  /** The experiment's own record (history, which phase it is in), JSON only. */
  extra: M;
}

export function saveTrainingCheckpoint<M>(path: string, model: Module, optimizer: Optimizer, c: TrainingCheckpoint<M> & { modelConfig?: unknown }): string {
  const { tensors, scalars } = optimizerStateTo(optimizer.state());
  saveCheckpoint(path, model, {
    meta: { experiment: c.experiment, experiment_config: c.config, model_config: c.modelConfig ?? null, train_state: c.state, optimizer_state: scalars, resume_extra: c.extra },
    extra: tensors,
  });
  return path;
}

/** Read a training checkpoint's record without touching a model (to decide which phase to resume). */
export function readTrainingCheckpoint<M>(path: string, experiment: string, config: unknown): TrainingCheckpoint<M> & { loaded: ReturnType<typeof loadCheckpoint> } {
  const ck = loadCheckpoint(path);
  if (ck.meta.experiment !== experiment) throw new Error(`${path} is a checkpoint of ${JSON.stringify(ck.meta.experiment ?? 'another experiment')}, not of ${experiment}`);
  if (JSON.stringify(ck.meta.experiment_config) !== JSON.stringify(config)) {
    throw new Error(`checkpoint ${path} was trained with a different configuration; resume needs the same settings (saved: ${JSON.stringify(ck.meta.experiment_config)}; now: ${JSON.stringify(config)})`);
  }
  if (!ck.meta.train_state) throw new Error(`${path} holds no training state to resume from`);
  return { experiment, config, state: ck.meta.train_state as TrainState, extra: ck.meta.resume_extra as M, loaded: ck };
}

/** Put a checkpoint's weights and optimiser state back; returns where the loop goes on from. */
export function restoreTraining<M>(ck: ReturnType<typeof readTrainingCheckpoint<M>>, model: Module, optimizer: Optimizer): { state: TrainState; extra: M } {
  model.loadStateDict(modelTensors(ck.loaded));
  optimizer.loadState(optimizerStateFrom(ck.loaded.tensors, ck.loaded.meta.optimizer_state));
  return { state: ck.state, extra: ck.extra };
}

/**
 * A checkpoint for runs whose state is results, not weights (a sweep of many
 * small trainings, each computed whole): JSON, written atomically, with the
 * same experiment-and-config check as a training checkpoint. A resumed run
 * keeps what the checkpoint holds and computes only the rest; because each
 * piece is a function of the config and its index, the results equal those of
 * a run that never stopped.
 */
export interface ResultsCheckpoint<S> {
  experiment: string;
  config: unknown;
  state: S;
}

export function saveResultsCheckpoint<S>(path: string, c: ResultsCheckpoint<S>): string {
  writeFileAtomic(path, JSON.stringify({ glassbox_results_checkpoint: 1, ...c }) + '\n');
  return path;
}

export function readResultsCheckpoint<S>(path: string, experiment: string, config: unknown): S {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path} is not a results checkpoint: ${(e as Error).message}`);
  }
  const ck = raw as Partial<ResultsCheckpoint<S>> & { glassbox_results_checkpoint?: number };
  if (ck.glassbox_results_checkpoint !== 1 || ck.state === undefined) throw new Error(`${path} is not a glassbox results checkpoint`);
  if (ck.experiment !== experiment) throw new Error(`${path} is a checkpoint of ${JSON.stringify(ck.experiment ?? 'another experiment')}, not of ${experiment}`);
  if (JSON.stringify(ck.config) !== JSON.stringify(config)) {
    throw new Error(`checkpoint ${path} was written with a different configuration; resume needs the same settings (saved: ${JSON.stringify(ck.config)}; now: ${JSON.stringify(config)})`);
  }
  return ck.state;
}

/**
 * A checkpoint for training state that is neither one module with its
 * optimiser nor only results: several models trained in lockstep, a shuffle
 * buffer, the record of phases already finished. The state is one JSON value
 * in which every Float32Array or Float64Array is stored as a tensor (named by
 * its path in the value, so f64 counters keep every bit) and the rest as JSON
 * metadata; safetensors, written atomically, with the same
 * experiment-and-config check as the other checkpoints.
 */
export function saveStateCheckpoint(path: string, c: ResultsCheckpoint<unknown>): string {
  const tensors: Array<{ name: string; dtype: 'F32' | 'F64'; shape: number[]; data: Float32Array | Float64Array }> = [];
  const pack = (v: unknown, at: string): unknown => {
    if (v instanceof Float32Array || v instanceof Float64Array) {
      tensors.push({ name: at, dtype: v instanceof Float32Array ? 'F32' : 'F64', shape: [v.length], data: v });
      return { $tensor: at };
    }
    if (ArrayBuffer.isView(v)) throw new Error(`state checkpoint: ${at} is a ${v.constructor.name}; only Float32Array and Float64Array are stored`);
    if (Array.isArray(v)) return v.map((x, i) => pack(x, `${at}.${i}`));
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, pack(x, at ? `${at}.${k}` : k)]));
    return v;
  };
  const state = pack(c.state, '');
  const metadata = { format: 'glassbox-state-checkpoint', glassbox_version: VERSION, experiment: c.experiment, experiment_config: JSON.stringify(c.config), state: JSON.stringify(state) };
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
  return path;
}

export function readStateCheckpoint<S>(path: string, experiment: string, config: unknown): S {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read checkpoint ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let decoded: ReturnType<typeof decodeSafetensors>;
  try {
    decoded = decodeSafetensors(bytes);
  } catch (e) {
    throw new Error(`${path} is not a valid safetensors checkpoint: ${(e as Error).message}`);
  }
  const md = decoded.metadata;
  if (md.format !== 'glassbox-state-checkpoint' || md.state === undefined) throw new Error(`${path} is not a glassbox state checkpoint (no format=glassbox-state-checkpoint in its metadata)`);
  if (md.experiment !== experiment) throw new Error(`${path} is a checkpoint of ${JSON.stringify(md.experiment ?? 'another experiment')}, not of ${experiment}`);
  if (md.experiment_config !== JSON.stringify(config)) {
    throw new Error(`checkpoint ${path} was written with a different configuration; resume needs the same settings (saved: ${md.experiment_config}; now: ${JSON.stringify(config)})`);
  }
  const unpack = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(unpack);
    if (v !== null && typeof v === 'object') {
      const ref = (v as { $tensor?: unknown }).$tensor;
      if (typeof ref === 'string') {
        const t = decoded.tensors.get(ref);
        if (!t || !(t.data instanceof Float32Array || t.data instanceof Float64Array)) throw new Error(`${path}: tensor ${ref} is missing or not F32/F64`);
        return t.data;
      }
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unpack(x)]));
    }
    return v;
  };
  try {
    return unpack(JSON.parse(md.state)) as S;
  } catch (e) {
    throw new Error(`${path}: its state is unreadable: ${(e as Error).message}`);
  }
}

/**
 * The checkpoint a `--resume` names: the file itself, or a run directory
 * (then its checkpoints/<file>), so a stopped run is continued by naming the
 * folder it wrote.
 */
export function resumePath(given: string, file: string): string {
  if (existsSync(given) && statSync(given).isDirectory()) return join(given, 'checkpoints', file);
  return given;
}
