// The training loop. Everything a step consumes is derived from (seed, step):
// the batch, the dropout masks, the learning rate. So a run resumed from a
// checkpoint at step s replays exactly the bits of a run that never stopped.
//
// Progress goes out as events (for a CLI progress bar, a web lab's SSE
// stream, or a test), metrics go to metrics.jsonl, and the loop stops
// cleanly, with a checkpoint, when its AbortSignal fires. The loop is async
// only so that it can let the event loop turn between steps (every 100 ms at
// most): that is how a Ctrl-C or a caller's timer reaches the signal.

import type { Tensor } from '../engine/tensor.js';
import { noGrad } from '../engine/tensor.js';
import { withStepArena } from '../engine/arena.js';
import { LOG2E } from '../engine/constants.js';
import { eventLoopTurns } from './event-loop.js';

export interface Batch {
  inputs: Int32Array;
  targets: Int32Array;
  /** Rows and columns of the [B, T] batch. */
  B: number;
  T: number;
}

export interface OptimizerLike {
  /** Sets the rate of the next step (and checks it, as Optimizer.setLr does). */
  setLr(lr: number): void;
  step(): void;
  zeroGrad(): void;
}

export type TrainEvent =
  | { type: 'step'; step: number; steps: number; loss: number; lr: number; tokens: number; seconds: number; tokensPerSecond: number; etaSeconds: number; cumBits: number }
  | { type: 'eval'; step: number; metrics: Record<string, number> }
  | { type: 'checkpoint'; step: number; path: string }
  | { type: 'done'; step: number; seconds: number; aborted: boolean };

export interface TrainState {
  /** Steps completed so far (the next step to run). */
  step: number;
  tokens: number;
  /** Area under the training loss curve so far, in bits: the prequential code length of the stream. */
  cumBits: number;
  /** Wall time spent in earlier sessions of this run (for resumed runs). */
  seconds: number;
}

export interface TrainLoopOptions {
  steps: number;
  /** The trainable parameters (for clipping and the finite check). */
  params: Tensor[];
  optimizer: OptimizerLike;
  lrAt: (step: number) => number;
  /** The batch for a given step: must depend only on the step (and fixed seeds). */
  batchAt: (step: number) => Batch;
  /** Forward + loss on a batch at a step (the step seeds dropout). Returns mean nats/token. */
  lossOf: (batch: Batch, step: number) => Tensor;
  clipNorm?: number;
  clip?: (params: Tensor[], maxNorm: number) => number;
  evalEvery?: number;
  evaluate?: (step: number) => Record<string, number>;
  checkpointEvery?: number;
  saveCheckpoint?: (state: TrainState) => string;
  /** Stop early when this returns true after an evaluation (e.g. a target reached). */
  stopWhen?: (metrics: Record<string, number>, step: number) => boolean;
  onEvent?: (e: TrainEvent) => void;
  onMetric?: (record: Record<string, unknown>) => void;
  signal?: AbortSignal;
  start?: TrainState;
  /** Emit a step event every this many steps (the progress bar's rate). */
  reportEvery?: number;
}

export class NonFiniteLossError extends Error {
  constructor(readonly step: number, readonly value: number) {
    super(`training diverged: the loss at step ${step} is ${value}; lower the learning rate or enable gradient clipping`);
    this.name = 'NonFiniteLossError';
  }
}

export async function trainLoop(o: TrainLoopOptions): Promise<TrainState & { aborted: boolean; stoppedEarly: boolean }> {
  const state: TrainState = { ...(o.start ?? { step: 0, tokens: 0, cumBits: 0, seconds: 0 }) };
  const t0 = performance.now();
  const elapsed = () => state.seconds + (performance.now() - t0) / 1000;
  const startTokens = state.tokens;
  const reportEvery = Math.max(1, o.reportEvery ?? 1);
  let aborted = false;
  let stoppedEarly = false;
  let lastEval = -1;
  let lastCheckpoint = o.start?.step ?? -1;
  const runEval = (): boolean => {
    if (!o.evaluate) return false;
    lastEval = state.step;
    const metrics = noGrad(() => o.evaluate!(state.step));
    o.onEvent?.({ type: 'eval', step: state.step, metrics });
    o.onMetric?.({ kind: 'eval', step: state.step, tokens: state.tokens, seconds: round(elapsed()), ...metrics });
    return o.stopWhen ? o.stopWhen(metrics, state.step) : false;
  };
  const turn = eventLoopTurns();
  const checkpoint = () => {
    if (!o.saveCheckpoint) return;
    lastCheckpoint = state.step;
    const path = o.saveCheckpoint({ ...state, seconds: elapsed() });
    o.onEvent?.({ type: 'checkpoint', step: state.step, path });
  };

  while (state.step < o.steps) {
    await turn();
    if (o.signal?.aborted) {
      aborted = true;
      break;
    }
    const step = state.step;
    const lr = o.lrAt(step);
    o.optimizer.setLr(lr);
    const batch = o.batchAt(step);
    // The step's activations and their gradients live in the step arena
    // (engine/arena.ts) and are released when it returns: only the loss
    // value, the parameters and the optimiser state carry over.
    const value = withStepArena(() => {
      const loss = o.lossOf(batch, step);
      const v = loss.item();
      if (!Number.isFinite(v)) throw new NonFiniteLossError(step, v);
      loss.backward();
      if (o.clipNorm && o.clip) o.clip(o.params, o.clipNorm);
      noGrad(() => o.optimizer.step());
      o.optimizer.zeroGrad();
      return v;
    });

    const tokens = countTargets(batch);
    state.step = step + 1;
    state.tokens += tokens;
    state.cumBits += value * tokens * LOG2E;
    o.onMetric?.({ kind: 'train', step: state.step, tokens: state.tokens, seconds: round(elapsed()), train_loss: value, lr, cum_bits: state.cumBits });
    if (state.step % reportEvery === 0 || state.step === o.steps) {
      const secs = elapsed();
      const sessionSecs = (performance.now() - t0) / 1000;
      const tps = sessionSecs > 0 ? (state.tokens - startTokens) / sessionSecs : 0;
      const perStep = sessionSecs / Math.max(1, state.step - (o.start?.step ?? 0));
      o.onEvent?.({ type: 'step', step: state.step, steps: o.steps, loss: value, lr, tokens: state.tokens, seconds: secs, tokensPerSecond: tps, etaSeconds: perStep * (o.steps - state.step), cumBits: state.cumBits });
    }
    const evalNow = o.evalEvery && state.step % o.evalEvery === 0;
    if (evalNow && runEval()) {
      stoppedEarly = true;
      break;
    }
    if (o.checkpointEvery && state.step % o.checkpointEvery === 0) checkpoint();
  }
  // Leave a final evaluation and checkpoint unless the last step just made them.
  if (lastEval !== state.step && !aborted) runEval();
  if (lastCheckpoint !== state.step) checkpoint();
  state.seconds = elapsed();
  o.onEvent?.({ type: 'done', step: state.step, seconds: state.seconds, aborted });
  return { ...state, aborted, stoppedEarly };
}

/** Tokens that count toward the loss (targets of -1 are padding). */
function countTargets(b: Batch): number {
  let n = 0;
  for (let i = 0; i < b.targets.length; i++) if (b.targets[i] >= 0) n++;
  return n;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
