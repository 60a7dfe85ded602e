// The addition model as a thing to score, decode and look into: its GPT
// config from the experiment's config, held-out and carry-case scoring, greedy
// decoding, attention on an example, and loading a trained checkpoint. The
// training run (addition.ts), `glassbox eval`, the SAE and interactions labs
// all use these.

import { noGrad, Tensor } from '../engine/tensor.js';
import { withStepArena } from '../engine/arena.js';
import { argmax } from '../engine/ops-reduce.js';
import { crossEntropy, softmax } from '../engine/ops-nn.js';
import { GPT, type GPTConfig } from '../nn/gpt.js';
import { AdditionTask, targetPositions, promptLength, encodeBatch, parseProblem, VOCAB, type Problem } from '../data/addition.js';
import { loadCheckpoint, modelTensors } from '../train/checkpoint.js';
import type { AdditionConfig } from './addition.js';
import type { AdditionResult } from './addition-result.js';

export function modelConfig(cfg: AdditionConfig): GPTConfig {
  return { vocabSize: VOCAB.length, contextLength: 3 * cfg.digits + 4, nLayers: cfg.layers, nHeads: cfg.heads, dModel: cfg.dModel, seed: cfg.seed };
}

/**
 * Held-out scoring: mean loss per predicted token, exact match of the answer,
 * per-position loss. Exact match uses teacher forcing: every answer digit must
 * be the argmax given the true prefix, which is exactly when greedy decoding
 * writes the whole answer right, at the cost of one forward pass.
 */
export function scoreProblems(model: GPT, task: AdditionTask, count: number): { loss: number; exact: number; perPosition: number[] } {
  return scoreBatches(model, task, Math.min(count, task.heldOut.length), (s, B) => task.heldOutBatch(s, B));
}

/** Exact match on the carry edge cases (teacher-forced; equal to greedy decoding, see scoreProblems). */
export function scoreCarryCases(model: GPT, task: AdditionTask): number {
  const batch = task.carryBatch();
  return scoreBatches(model, task, task.carryCases.length, () => batch).exact;
}

/** The same scoring on any list of problems (e.g. a finite training set). */
export function scoreProblemList(model: GPT, task: AdditionTask, problems: readonly Problem[]): { loss: number; exact: number; perPosition: number[] } {
  return scoreBatches(model, task, problems.length, (s, B) => encodeBatch(problems.slice(s, s + B), task.digits, task.answerOrder));
}

function scoreBatches(model: GPT, task: AdditionTask, n: number, batchAt: (start: number, count: number) => { inputs: Int32Array; targets: Int32Array }): { loss: number; exact: number; perPosition: number[] } {
  const T = task.T;
  const answer = targetPositions(task.digits).map((p) => p.kind === 'answer');
  const perPos = new Float64Array(T);
  let correct = 0;
  const chunk = 500;
  noGrad(() => {
    for (let s = 0; s < n; s += chunk) {
      const B = Math.min(chunk, n - s);
      const { inputs, targets } = batchAt(s, B);
      // The chunk's activations live in the step arena; only the sums leave it.
      correct += withStepArena(() => {
        const logits = model.forward(inputs, B, T);
        const losses = crossEntropy(logits, targets, { reduction: 'none' }).data;
        const pred = argmax(logits, -1).data;
        let c = 0;
        for (let b = 0; b < B; b++) {
          let ok = true;
          for (let t = 0; t < T; t++) {
            perPos[t] += losses[b * T + t];
            if (answer[t] && pred[b * T + t] !== targets[b * T + t]) ok = false;
          }
          if (ok) c++;
        }
        return c;
      });
    }
  });
  const perPosition = Array.from(perPos, (v) => v / n);
  const loss = perPosition.reduce((a, b) => a + b, 0) / T;
  return { loss, exact: correct / n, perPosition };
}

/**
 * Greedy decoding of the answer: feed `s a + b =`, take the most likely next
 * token, append it, repeat for the k+1 answer digits. Returns the answer text
 * and the probability the model gave each token it wrote.
 */
export function greedyAnswer(model: GPT, task: AdditionTask, prompt: Int32Array): { answer: string; probs: number[] } {
  const k = task.digits;
  const T = task.T;
  const seq = new Int32Array(T);
  seq.set(prompt);
  let len = promptLength(k);
  const probs: number[] = [];
  let answer = '';
  noGrad(() => {
    for (let i = 0; i <= k; i++) {
      const logits = model.forward(seq.subarray(0, len), 1, len);
      const V = logits.dim(-1);
      const row = softmax(new Tensor(logits.data.slice((len - 1) * V, len * V), [V])).data;
      let best = 0;
      for (let j = 1; j < V; j++) if (row[j] > row[best]) best = j;
      probs.push(row[best]);
      answer += VOCAB[best];
      if (len < T) seq[len] = best;
      len++;
    }
  });
  return { answer, probs };
}

/** The prompt `s a + b =` of a problem as token ids. */
export function promptIds(task: AdditionTask, p: Problem): Int32Array {
  return encodeBatch([p], task.digits, task.answerOrder).inputs.subarray(0, promptLength(task.digits));
}

/** Every head's attention pattern on the first held-out problem. */
export function attentionOnExample(model: GPT, task: AdditionTask): AdditionResult['attention'] {
  const T = task.T;
  const { inputs } = task.heldOutBatch(0, 1);
  const names = model.blocks.map((b) => `blocks.${b.index}.attn.hook_pattern`);
  const { cache } = noGrad(() => model.runWithCache(inputs, 1, T, names));
  const H = model.config.nHeads;
  const layers = model.blocks.map((b) => {
    const p = cache.get(`blocks.${b.index}.attn.hook_pattern`)!; // [1, H, T, T]
    const heads: number[][][] = [];
    for (let h = 0; h < H; h++) {
      const rows: number[][] = [];
      for (let q = 0; q < T; q++) rows.push(Array.from(p.data.subarray((h * T + q) * T, (h * T + q + 1) * T), (v) => Math.round(v * 1e4) / 1e4));
      heads.push(rows);
    }
    return { layer: b.index, heads };
  });
  return { tokens: Array.from(inputs, (id) => VOCAB[id]), layers };
}

/** A trained addition model from a checkpoint, with its task (for `glassbox eval`). */
export function loadAdditionModel(path: string): { model: GPT; task: AdditionTask; config: AdditionConfig } {
  const ck = loadCheckpoint(path);
  const cfg = ck.meta.experiment_config as AdditionConfig | undefined;
  const mcfg = ck.meta.model_config as GPTConfig | undefined;
  if (!cfg || !mcfg || typeof cfg.digits !== 'number') throw new Error(`${path} is a glassbox checkpoint but not of the addition experiment (no addition config in its metadata)`);
  const expected = modelConfig(cfg);
  if (JSON.stringify(expected) !== JSON.stringify(mcfg)) throw new Error(`${path}: the model config in the checkpoint does not match its experiment config`);
  const model = new GPT(mcfg);
  model.loadStateDict(modelTensors(ck));
  model.eval();
  const task = new AdditionTask({ digits: cfg.digits, answerOrder: cfg.answerOrder, firstDigit: cfg.firstDigit, edgeMix: cfg.edgeMix, seed: cfg.seed });
  return { model, task, config: cfg };
}

/** Solve one problem string ("12345678+87654321=") greedily; the answer is reported most-significant-first. */
export function solveProblem(model: GPT, task: AdditionTask, text: string): { problem: string; answer: string; expected: string; correct: boolean; tokens: Array<{ token: string; prob: number }> } {
  const p = parseProblem(text, task.digits);
  const { answer, probs } = greedyAnswer(model, task, p.prompt);
  const written = answer; // in the order the model writes it
  const msf = task.answerOrder === 'lsf' ? [...written].reverse().join('') : written;
  const expected = String(p.a + p.b).padStart(task.digits + 1, '0');
  return { problem: `${String(p.a).padStart(task.digits, '0')}+${String(p.b).padStart(task.digits, '0')}=`, answer: msf, expected, correct: msf === expected, tokens: [...written].map((token, i) => ({ token, prob: probs[i] })) };
}
