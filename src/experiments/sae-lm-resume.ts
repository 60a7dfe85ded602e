// Where a stopped sae-lm run stands, and reading it back: the checkpoint a
// run writes when it stops and when its training ends.

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { BufferState } from '../lens/sae/buffer.js';
import type { SaeTrainerState } from '../lens/sae/train.js';
import { readStateCheckpoint, resumePath } from '../train/resume.js';
import type { DeadPoint } from './sae-lm-result.js';
import type { SaeLmConfig } from './sae-lm.js';

/**
 * What a stopped run keeps (checkpoints/sae-lm.safetensors), written when it
 * stops and when training ends: every trainer (weights, Adam, dead-latent
 * tracker, history), the shared buffer (rows, read position, shuffle stream),
 * b_pre's samples and the dead-fraction probes so far. The training data is a
 * function of the seed and the batch index, so the resumed run's bits are
 * those of a run that never stopped. Evaluation, features and steering are
 * computed whole from the trained SAEs, so a stop in them resumes from the end
 * of training.
 */
export interface SaeLmProgress {
  runDir: string;
  /** SAE steps taken. */
  step: number;
  /** Wall-clock seconds before the stop (run, model reads, each SAE), carried so the totals are honest. */
  seconds: number;
  lmSeconds: number;
  saeSeconds: number[];
  deadSeries: DeadPoint[][];
  samples: Float32Array[];
  buffer: BufferState;
  trainers: SaeTrainerState[];
}

export const SAE_LM_CHECKPOINT = 'sae-lm.safetensors';

/** Reads a stopped run's checkpoint (or its run directory's); throws before anything is written. */
export function readSaeLmResume(cfg: SaeLmConfig, given: string, runDir: string | undefined): SaeLmProgress {
  const path = resumePath(given, SAE_LM_CHECKPOINT);
  if (!existsSync(path)) throw new Error(`sae-lm: nothing to resume at ${given}: expected a checkpoint, or a run directory holding checkpoints/${SAE_LM_CHECKPOINT}`);
  const from = readStateCheckpoint<SaeLmProgress>(path, 'sae-lm', cfg);
  if (runDir !== undefined && resolve(runDir) !== from.runDir) throw new Error(`sae-lm: a stopped run goes on in its own run directory (${from.runDir}); got ${resolve(runDir)}`);
  if (!existsSync(from.runDir)) throw new Error(`sae-lm: the run directory of checkpoint ${path} (${from.runDir}) no longer exists`);
  return from;
}
