// Training and scoring an image classifier on an ImageSet, shared by the CRATE
// experiments: epochs over a seeded shuffle, AdamW with a one-cycle learning
// rate (as PyTorch's OneCycleLR: cosine warm-up over 30% of the steps from
// lr/25 to lr, then cosine annealing to lr/25e4), test accuracy per epoch.

import { noGrad, type Tensor } from '../engine/tensor.js';
import { withStepArena } from '../engine/arena.js';
import { argmax } from '../engine/ops-reduce.js';
import { Rng } from '../engine/rng.js';
import { AdamW } from '../engine/optim.js';
import { oneCycle } from '../engine/schedule.js';
import { imageBatch, type ImageSet } from '../data/fashion-mnist.js';
import { trainLoop, type Batch, type TrainEvent, type TrainState } from '../train/trainer.js';
import { saveTrainingCheckpoint, restoreTraining, type readTrainingCheckpoint } from '../train/resume.js';
import type { Module } from '../nn/module.js';

export interface ImageClassifier extends Module {
  forward(pixels: Float32Array, B: number): Tensor;
  loss(pixels: Float32Array, labels: Int32Array, B: number): Tensor;
}

export interface ClassifierTraining {
  epochs: number;
  batch: number;
  lr: number;
  weightDecay: number;
  seed: number;
}

/** Accuracy on the first `limit` images of a set, in chunks. */
export function accuracy(model: ImageClassifier, set: ImageSet, limit = set.count, chunk = 500): number {
  const n = Math.min(limit, set.count);
  let correct = 0;
  const was = model.training;
  model.eval();
  noGrad(() => {
    for (let s = 0; s < n; s += chunk) {
      const B = Math.min(chunk, n - s);
      const { pixels, labels } = imageBatch(set, Array.from({ length: B }, (_, i) => s + i));
      // Each chunk's activations live in the step arena and are released after it (only the count leaves).
      correct += withStepArena(() => {
        const pred = argmax(model.forward(pixels, B), -1).data;
        let c = 0;
        for (let i = 0; i < B; i++) if (pred[i] === labels[i]) c++;
        return c;
      });
    }
  });
  model.train(was);
  return n > 0 ? correct / n : 0;
}

/** What a classifier's checkpoint keeps beside the weights: which model it is and its history so far. */
export interface ClassifierCheckpointExtra {
  tag: string;
  history: TrainedClassifier['history'];
}

export interface TrainedClassifier {
  steps: number;
  seconds: number;
  aborted: boolean;
  history: Array<{ step: number; seconds: number; train_loss?: number; lr?: number; test_acc?: number }>;
}

/**
 * Train on `train` for cfg.epochs. Each epoch visits the images in a fresh
 * permutation derived from (seed, epoch); a ragged last batch is dropped.
 * Batches carry image indices in `inputs` and labels in `targets`.
 */
export async function trainClassifier(
  model: ImageClassifier,
  train: ImageSet,
  test: ImageSet,
  cfg: ClassifierTraining,
  opts: {
    evalImages: number; onEvent?: (e: TrainEvent) => void; onMetric?: (r: Record<string, unknown>) => void; signal?: AbortSignal;
    /** Where to keep a resumable checkpoint (each epoch, at the end, and when stopped), and what it records. */
    checkpoint?: { path: string; experiment: string; config: unknown; modelConfig: unknown; tag: string };
    /** A checkpoint of this same training to continue from. */
    resumeFrom?: ReturnType<typeof readTrainingCheckpoint<ClassifierCheckpointExtra>>;
  },
): Promise<TrainedClassifier> {
  const perEpoch = Math.floor(train.count / cfg.batch);
  if (perEpoch < 1) throw new Error(`training set of ${train.count} images is smaller than one batch of ${cfg.batch}`);
  const steps = perEpoch * cfg.epochs;
  const params = model.parameters();
  const optimizer = new AdamW(params, { lr: cfg.lr, betas: [0.9, 0.999], eps: 1e-8, weightDecay: cfg.weightDecay });
  const orders = new Map<number, Int32Array>();
  const orderOf = (epoch: number) => {
    let o = orders.get(epoch);
    if (!o) {
      orders.clear();
      o = Rng.derive(cfg.seed, `data/epoch/${epoch}`).permutation(train.count);
      orders.set(epoch, o);
    }
    return o;
  };
  const history: TrainedClassifier['history'] = [];
  let start: TrainState | undefined;
  if (opts.resumeFrom) {
    const r = restoreTraining(opts.resumeFrom, model, optimizer);
    start = r.state;
    history.push(...r.extra.history);
  }
  const ck = opts.checkpoint;
  const state = await trainLoop({
    steps,
    params,
    optimizer,
    lrAt: oneCycle(cfg.lr, steps),
    batchAt: (step): Batch => {
      const order = orderOf(Math.floor(step / perEpoch));
      const s = (step % perEpoch) * cfg.batch;
      const inputs = order.slice(s, s + cfg.batch);
      const targets = new Int32Array(cfg.batch);
      for (let i = 0; i < cfg.batch; i++) targets[i] = train.labels[inputs[i]];
      return { inputs, targets, B: cfg.batch, T: 1 };
    },
    lossOf: (b) => model.loss(imageBatch(train, b.inputs).pixels, b.targets, b.B),
    evalEvery: perEpoch,
    evaluate: () => ({ test_acc: accuracy(model, test, opts.evalImages) }),
    checkpointEvery: perEpoch,
    saveCheckpoint: ck ? (st) => saveTrainingCheckpoint(ck.path, model, optimizer, { experiment: ck.experiment, config: ck.config, modelConfig: ck.modelConfig, state: st, extra: { tag: ck.tag, history } }) : undefined,
    start,
    onEvent: opts.onEvent,
    onMetric: (r) => {
      opts.onMetric?.(r);
      if (r.kind === 'train' && ((r.step as number) % 10 === 0 || r.step === steps)) history.push({ step: r.step as number, train_loss: r.train_loss as number, lr: r.lr as number, seconds: r.seconds as number });
      if (r.kind === 'eval') history.push({ step: r.step as number, seconds: r.seconds as number, test_acc: r.test_acc as number });
    },
    signal: opts.signal,
    reportEvery: 1,
  });
  model.eval();
  return { steps: state.step, seconds: state.seconds, aborted: state.aborted, history };
}
