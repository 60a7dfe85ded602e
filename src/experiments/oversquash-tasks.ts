// Trained tasks for the over-squashing claims (Barbero et al., arXiv
// 2406.04267, §4-§5): copy the last bit, copy the first bit, count the ones,
// on binary strings. A small decoder with ALiBi (attention decaying with
// distance, the theorem's assumption) is trained on strings up to a length
// and evaluated on lengths up to 4-8 times longer, at fp32, bf16 and fp16,
// with and without a comma after every third digit (the paper's separator
// fix). One model per task sees both formats in training (every other step).
//
// A sequence is [BOS, digits (with separators), QUERY]; the answer is
// predicted at QUERY, as a class token after the input tokens (0/1 for the
// copies, 0..maxCount for the count).

import { noGrad } from '../engine/tensor.js';
import { AdamW } from '../engine/optim.js';
import { Rng } from '../engine/rng.js';
import { warmupCosine } from '../engine/schedule.js';
import { withPrecision, type Precision } from '../engine/precision.js';
import { trainLoop, type TrainEvent } from '../train/trainer.js';
import { PosGPT, type PosGPTConfig } from '../nn/pos-gpt.js';
import { lastTokenDistances, influenceByPosition, type FamilyDistances, type PairFamily } from '../lens/oversquash.js';

export const TASKS = ['copy-last', 'copy-first', 'count'] as const;
export type TaskName = (typeof TASKS)[number];

export const TOK = { ZERO: 0, ONE: 1, COMMA: 2, QUERY: 3, BOS: 4, ANSWER0: 5 } as const;

export interface TaskTrainConfig {
  tasks: TaskName[];
  /** Training strings have 1..trainMax digits. */
  trainMax: number;
  /** Evaluation lengths (digits); the largest sets the count task's classes. */
  evalNs: number[];
  /** Strings per length, format and precision. */
  evalSamples: number;
  steps: number;
  batch: number;
  lr: number;
  nLayers: number;
  nHeads: number;
  dModel: number;
  seed: number;
}

/** The tokens of a bit string: BOS, digits with a comma after every third (between groups), QUERY. */
export function encodeBits(bits: ArrayLike<number>, separators: boolean): number[] {
  const out: number[] = [TOK.BOS];
  for (let i = 0; i < bits.length; i++) {
    if (separators && i > 0 && i % 3 === 0) out.push(TOK.COMMA);
    out.push(bits[i] ? TOK.ONE : TOK.ZERO);
  }
  out.push(TOK.QUERY);
  return out;
}

export function answerOf(task: TaskName, bits: ArrayLike<number>): number {
  if (task === 'copy-last') return bits[bits.length - 1];
  if (task === 'copy-first') return bits[0];
  let c = 0;
  for (let i = 0; i < bits.length; i++) c += bits[i];
  return c;
}

/** Answer classes a task can have for strings of n digits. */
export function answerClasses(task: TaskName, n: number): number {
  return task === 'count' ? n + 1 : 2;
}

function drawBits(rng: Rng, n: number): number[] {
  return Array.from({ length: n }, () => (rng.next() < 0.5 ? 1 : 0));
}

export function taskModelConfig(cfg: TaskTrainConfig): PosGPTConfig {
  const nMax = Math.max(cfg.trainMax, ...cfg.evalNs);
  return {
    vocabSize: TOK.ANSWER0 + nMax + 1,
    contextLength: 2 + nMax + Math.floor((nMax - 1) / 3),
    nLayers: cfg.nLayers, nHeads: cfg.nHeads, dModel: cfg.dModel, pe: 'alibi', seed: cfg.seed,
  };
}

/** Equal-length strings as one batch; targets are −1 except the answer at QUERY. */
function batchOf(task: TaskName, strings: number[][], separators: boolean): { inputs: Int32Array; targets: Int32Array; B: number; T: number; answers: number[] } {
  const seqs = strings.map((b) => encodeBits(b, separators));
  const T = seqs[0].length;
  const B = seqs.length;
  const inputs = new Int32Array(B * T);
  const targets = new Int32Array(B * T).fill(-1);
  const answers = strings.map((b) => answerOf(task, b));
  seqs.forEach((s, i) => {
    inputs.set(s, i * T);
    targets[i * T + T - 1] = TOK.ANSWER0 + answers[i];
  });
  return { inputs, targets, B, T, answers };
}

export interface TaskAccuracy {
  task: TaskName;
  trainMax: number;
  steps: number;
  finalLoss: number;
  evalNs: number[];
  /** accuracy[precision][separators ? 1 : 0][k] at evalNs[k]. */
  accuracy: Record<Precision, [number[], number[]]>;
  /** The same on the paper's strings (paperStrings): patternAccuracy[precision][separators ? 1 : 0][k]. */
  patternAccuracy: Record<Precision, [number[], number[]]>;
  /** The lens on the trained model: BOS and n ones against n+1 ones (no query), n = 1, 2, 4, … up to the largest evaluation length. */
  distances: FamilyDistances;
  /** ‖∂h_L(last)/∂e_i‖_F on one training-length string (BOS, trainMax random bits, QUERY). */
  influence: number[];
  trainSeconds: number;
  evalSeconds: number;
}

/** Train one task's model; onEvent sees the training loop's events. */
export async function trainTaskModel(task: TaskName, cfg: TaskTrainConfig, onEvent?: (e: TrainEvent) => void, signal?: AbortSignal, onMetric?: (m: Record<string, unknown>) => void): Promise<{ model: PosGPT; finalLoss: number; seconds: number }> {
  const t0 = performance.now();
  const model = new PosGPT(taskModelConfig(cfg));
  const params = model.parameters();
  const opt = new AdamW(params, { lr: cfg.lr, betas: [0.9, 0.98], weightDecay: 0.01 });
  let finalLoss = NaN;
  await trainLoop({
    steps: cfg.steps, params, optimizer: opt,
    lrAt: warmupCosine({ base: cfg.lr, warmup: Math.min(50, Math.floor(cfg.steps / 10)), total: cfg.steps, min: cfg.lr / 10 }),
    batchAt: (step) => {
      const rng = Rng.derive(cfg.seed, `oversquash/${task}/data/step/${step}`);
      const n = 1 + rng.int(cfg.trainMax);
      const strings = Array.from({ length: cfg.batch }, () => drawBits(rng, n));
      return batchOf(task, strings, step % 2 === 1);
    },
    lossOf: (b) => model.loss(b.inputs, b.targets, b.B, b.T),
    clipNorm: 1,
    onMetric,
    onEvent: (e) => {
      if (e.type === 'step') finalLoss = e.loss;
      onEvent?.(e);
    },
    signal,
  });
  return { model, finalLoss, seconds: (performance.now() - t0) / 1000 };
}

/** Accuracy on fresh strings of n digits (the same strings at every precision), restricted to the task's possible answers. */
export function taskAccuracy(model: PosGPT, task: TaskName, n: number, separators: boolean, precision: Precision, samples: number, seed: number, chunk = 8): number {
  const rng = Rng.derive(seed, `oversquash/${task}/eval/${n}/${separators ? 'sep' : 'plain'}`);
  return stringsAccuracy(model, task, Array.from({ length: samples }, () => drawBits(rng, n)), separators, precision, chunk);
}

/**
 * The paper's strings for a task at n digits (its Figures 2-3): ones with the
 * bit to copy last (1…1b) or first (b1…1), b = 0 and 1; for the count, n ones.
 */
export function paperStrings(task: TaskName, n: number): number[][] {
  const ones = Array.from({ length: n }, () => 1);
  if (task === 'count') return [ones];
  return [0, 1].map((b) => (task === 'copy-last' ? [...ones.slice(1), b] : [b, ...ones.slice(1)]));
}

/** Accuracy on given strings of one length, restricted to the task's possible answers. */
export function stringsAccuracy(model: PosGPT, task: TaskName, strings: number[][], separators: boolean, precision: Precision, chunk = 8): number {
  const samples = strings.length;
  const n = strings[0].length;
  const classes = answerClasses(task, n);
  let right = 0;
  for (let s = 0; s < samples; s += chunk) {
    const b = batchOf(task, strings.slice(s, s + chunk), separators);
    const logits = noGrad(() => withPrecision(precision, () => model.forward(b.inputs, b.B, b.T)));
    const V = logits.dim(-1);
    for (let i = 0; i < b.B; i++) {
      // The first largest logit among the task's possible answers (NaN never wins: fp16 may overflow).
      const o = (i * b.T + b.T - 1) * V + TOK.ANSWER0;
      let pred = -1;
      for (let c = 0; c < classes; c++) if (pred < 0 ? logits.data[o + c] === logits.data[o + c] : logits.data[o + c] > logits.data[o + pred]) pred = c;
      if (pred === b.answers[i]) right++;
    }
  }
  return right / samples;
}

/** Train, then measure accuracy per precision, format and length; `onEval(done, total)` counts the measured cells. */
export async function runTask(task: TaskName, cfg: TaskTrainConfig, precisions: readonly Precision[], onEvent?: (e: TrainEvent) => void, signal?: AbortSignal, onEval?: (done: number, total: number) => void, onMetric?: (m: Record<string, unknown>) => void): Promise<TaskAccuracy> {
  const { model, finalLoss, seconds } = await trainTaskModel(task, cfg, onEvent, signal, onMetric);
  model.eval();
  const t0 = performance.now();
  const accuracy = {} as Record<Precision, [number[], number[]]>;
  const total = precisions.length * 2 * cfg.evalNs.length;
  let done = 0;
  for (const p of precisions) {
    accuracy[p] = [false, true].map((sep) => cfg.evalNs.map((n) => {
      const a = taskAccuracy(model, task, n, sep, p, cfg.evalSamples, cfg.seed);
      onEval?.(++done, total);
      return a;
    })) as [number[], number[]];
  }
  const patternAccuracy = {} as Record<Precision, [number[], number[]]>;
  for (const p of precisions) {
    patternAccuracy[p] = [false, true].map((sep) => cfg.evalNs.map((n) => stringsAccuracy(model, task, paperStrings(task, n), sep, p))) as [number[], number[]];
  }
  const nMax = Math.max(...cfg.evalNs);
  const ns: number[] = [];
  for (let n = 1; n <= nMax; n *= 2) ns.push(n);
  const distances = lastTokenDistances(model, onesFamily(task), ns, { precisions, contextLength: model.config.contextLength });
  const probe = encodeBits(drawBits(Rng.derive(cfg.seed, `oversquash/${task}/influence`), cfg.trainMax), false);
  const influence = influenceByPosition(model, Int32Array.from(probe));
  return { task, trainMax: cfg.trainMax, steps: cfg.steps, finalLoss, evalNs: [...cfg.evalNs], accuracy, patternAccuracy, distances, influence, trainSeconds: seconds, evalSeconds: (performance.now() - t0) / 1000 };
}

/** BOS and n ones against BOS and n+1 ones: the paper's repeated-token pair on a task model. */
export function onesFamily(task: TaskName): PairFamily {
  const seq = (n: number) => Int32Array.from({ length: n + 1 }, (_, i) => (i === 0 ? TOK.BOS : TOK.ONE));
  return { name: `${task} model: BOS + ones`, pair: (n) => ({ v: seq(n), vStar: seq(n + 1) }) };
}
