// Training and scoring one recall model of the JRT experiment (jrt.ts): the
// softmax-attention GPT, causal Based, or Based with prefix linear attention
// (JRT-RNN), on a mix of task shapes (one shape per batch), with fixed
// held-out sets that no training batch ever repeats, and early stopping at a
// validation accuracy as zoology does.

import { noGrad, type Tensor } from '../engine/tensor.js';
import { argmax } from '../engine/ops-reduce.js';
import { crossEntropy } from '../engine/ops-nn.js';
import { Rng } from '../engine/rng.js';
import { AdamW, clipGradNorm } from '../engine/optim.js';
import { warmupCosine } from '../engine/schedule.js';
import { GPT } from '../nn/gpt.js';
import { Based } from '../nn/based.js';
import type { Module } from '../nn/module.js';
import { trainLoop, type TrainEvent } from '../train/trainer.js';
import { saveCheckpoint, loadCheckpoint, modelTensors } from '../train/checkpoint.js';
import { HeldOut, IGNORE, taskBatch, taskLength, type RecallBatch, type TaskShape } from '../data/recall-tasks.js';

/**
 * 'attention': BaseConv + causal softmax attention, zoology's attention
 * baseline (the Based layout with the mixer swapped); 'gpt': the plain GPT of
 * gpt.ts (learned positions, MLPs, no convolution); 'based': BaseConv + Taylor
 * linear attention; 'prefix': the same with prefix linear attention (JRT-RNN).
 */
export type Architecture = 'attention' | 'gpt' | 'based' | 'prefix';

/** One model of the sweep: its architecture and widths. */
export interface ModelSpec {
  arch: Architecture;
  dModel: number;
  nLayers: number;
  /** d′ (Based and prefix only). */
  featureDim: number;
  nHeads: number;
}

export interface TrainSpec {
  vocabSize: number;
  steps: number;
  batch: number;
  lr: number;
  weightDecay: number;
  warmup: number;
  evalEvery: number;
  /** Stop once every validation shape reaches this accuracy (zoology: 0.99). */
  stopAt: number;
  seed: number;
}

export interface RecallModel {
  arch: Architecture;
  module: Module;
  /** Logits [B, T, V] of a batch (a prefix model reads the batch's prompt non-causally). */
  logits(b: RecallBatch): Tensor;
  /** Bytes a generator keeps between tokens after T tokens: the KV cache of attention, the fixed state of Based. */
  stateBytes(T: number): number;
  config: object;
}

export function buildModel(spec: ModelSpec, vocabSize: number, contextLength: number, seed: number): RecallModel {
  if (spec.arch === 'gpt') {
    const gpt = new GPT({ vocabSize, contextLength, nLayers: spec.nLayers, nHeads: spec.nHeads, dModel: spec.dModel, seed });
    return {
      arch: 'gpt', module: gpt, config: gpt.config,
      logits: (b) => gpt.forward(b.inputs, b.B, b.T),
      stateBytes: (T) => 2 * spec.nLayers * T * spec.dModel * 4,
    };
  }
  const based = new Based({ vocabSize, dModel: spec.dModel, nLayers: spec.nLayers, featureDim: Math.max(1, spec.featureDim), nHeads: spec.nHeads, prefix: spec.arch === 'prefix', mixer: spec.arch === 'attention' ? 'softmax' : 'linear', seed });
  return {
    arch: spec.arch, module: based, config: based.config,
    logits: (b) => based.forward(b.inputs, b.B, b.T, { prefixLen: spec.arch === 'prefix' ? b.prefixLen : 0 }),
    stateBytes: (T) => based.stateBytes(T),
  };
}

/** A fixed held-out set of one shape: its batches, and the sequences they hold. */
export interface EvalSet {
  shape: TaskShape;
  batches: RecallBatch[];
}

/** Draw the fixed evaluation sets (under their own seed streams), registering every sequence in `heldOut`. */
export function evalSets(shapes: TaskShape[], examples: number, seed: number, purpose: string, heldOut: HeldOut): EvalSet[] {
  return shapes.map((shape, i) => {
    const rng = Rng.derive(seed, `${purpose}/${i}`);
    const batches: RecallBatch[] = [];
    for (let left = examples; left > 0; left -= 64) batches.push(taskBatch(shape, Math.min(64, left), rng, { exclude: heldOut, include: heldOut }));
    return { shape, batches };
  });
}

/** Share of labelled positions whose argmax is the label. */
export function accuracy(model: RecallModel, set: EvalSet): number {
  let right = 0;
  let total = 0;
  noGrad(() => {
    for (const b of set.batches) {
      const pred = argmax(model.logits(b), -1).data;
      for (let i = 0; i < b.targets.length; i++) {
        if (b.targets[i] === IGNORE) continue;
        total++;
        if (pred[i] === b.targets[i]) right++;
      }
    }
  });
  return total > 0 ? right / total : 0;
}

export interface TrainedModel {
  model: RecallModel;
  steps: number;
  stoppedEarly: boolean;
  seconds: number;
  finalLoss: number;
}

/**
 * Train on the shapes in turn (step s draws shape s mod n from
 * Rng.derive(seed, 'data/step/s'), never a held-out sequence); evaluate on
 * `valid` every evalEvery steps and stop when all reach stopAt.
 */
export async function trainModel(spec: ModelSpec, train: TrainSpec, shapes: TaskShape[], valid: EvalSet[], heldOut: HeldOut, opts: { signal?: AbortSignal; onEvent?: (e: TrainEvent) => void; onMetric?: (r: Record<string, unknown>) => void } = {}): Promise<TrainedModel> {
  const T = Math.max(...shapes.map(taskLength), ...valid.map((v) => taskLength(v.shape)));
  const model = buildModel(spec, train.vocabSize, T, train.seed);
  const params = model.module.parameters();
  const optimizer = new AdamW(params, { lr: train.lr, betas: [0.9, 0.98], eps: 1e-8, weightDecay: train.weightDecay });
  let finalLoss = NaN;
  const r = await trainLoop({
    steps: train.steps,
    params,
    optimizer,
    lrAt: warmupCosine({ base: train.lr, warmup: Math.min(train.warmup, train.steps), total: train.steps }),
    batchAt: (step) => taskBatch(shapes[step % shapes.length], train.batch, Rng.derive(train.seed, `data/step/${step}`), { exclude: heldOut }),
    lossOf: (batch) => crossEntropyOf(model, batch as RecallBatch),
    clipNorm: 1,
    clip: clipGradNorm,
    evalEvery: train.evalEvery,
    evaluate: () => Object.fromEntries(valid.map((v, i) => [`valid_acc_${i}`, accuracy(model, v)])),
    stopWhen: (m) => Object.values(m).every((a) => a >= train.stopAt),
    onEvent: (e) => {
      if (e.type === 'step') finalLoss = e.loss;
      opts.onEvent?.(e);
    },
    onMetric: opts.onMetric,
    signal: opts.signal,
    reportEvery: 10,
  });
  model.module.eval();
  return { model, steps: r.step, stoppedEarly: r.stoppedEarly, seconds: r.seconds, finalLoss };
}

function crossEntropyOf(model: RecallModel, b: RecallBatch): Tensor {
  return crossEntropy(model.logits(b), b.targets, { ignoreIndex: IGNORE });
}

/** Save a trained model with its architecture, so a reader can refuse another. */
export function saveRecallModel(path: string, m: RecallModel, spec: ModelSpec): void {
  saveCheckpoint(path, m.module, { meta: { architecture: m.arch, model_spec: spec, model_config: m.config } });
}

/** Load a model saved by saveRecallModel, refusing a checkpoint of another architecture or shape. */
export function loadRecallModel(path: string, expect: Architecture): RecallModel {
  const ck = loadCheckpoint(path);
  const arch = ck.meta.architecture;
  if (arch !== expect) throw new Error(`${path} holds a ${arch === undefined ? 'model of no recorded architecture' : `"${String(arch)}" model`}, not a "${expect}" model`);
  const cfg = ck.meta.model_config as { vocabSize: number; contextLength?: number; seed: number };
  const spec = ck.meta.model_spec as ModelSpec;
  const m = buildModel(spec, cfg.vocabSize, cfg.contextLength ?? 1, cfg.seed);
  m.module.loadStateDict(modelTensors(ck));
  m.module.eval();
  return m;
}
