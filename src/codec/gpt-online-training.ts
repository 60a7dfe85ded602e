/**
 * The transformer compressor's online training: at each segment boundary
 * the GPT takes `steps` AdamW steps on the window it has just coded plus
 * `replay` windows drawn from the recent past, so it learns from exactly the
 * bytes both the encoder and the decoder have seen.
 *
 * Each step's batch is the current window (the last min(C, n) tokens of
 * u = [0, b_0, b_1, ...] and their next-byte targets) and, once C tokens and
 * a spare window exist, `replay` windows of C tokens whose starts come from a
 * seeded generator; the loss is on every position, the gradient is clipped
 * by its global norm, and the rate follows warmupInverseSqrt
 * (src/engine/schedule.ts). A step whose gradient norm is not finite is
 * skipped but still counted, so the step number, and with it the rate,
 * depends on the byte count alone.
 *
 * Residual training (train.residual): the GPT learns a correction to the
 * classical mix, its loss taken on softmax(logits + ln P_counts). The
 * count-mix log-probabilities of the last RESIDUAL_HISTORY positions are kept
 * for that, and replay then draws only from those positions.
 */
import type { TrainConfig } from './gpt-header.js';
import type { GPT } from '../nn/gpt.js';
import { AdamW, clipGradNorm } from '../engine/optim.js';
import { Rng } from '../engine/rng.js';
import { warmupInverseSqrt, type LrSchedule } from '../engine/schedule.js';
import { Tensor as TensorCtor, type Tensor } from '../engine/tensor.js';
import { add } from '../engine/ops-elementwise.js';
import { crossEntropy } from '../engine/ops-nn.js';

const N = 256;
/** Positions of count-mix log-probabilities kept for residual training (8 MiB). */
export const RESIDUAL_HISTORY = 8192;

export class OnlineTrainer {
  private readonly config: TrainConfig;
  private readonly model: GPT;
  private readonly params: Tensor[];
  private readonly opt: AdamW;
  private readonly lrAt: LrSchedule;
  private readonly replayRng: Rng;
  /** Residual training: ln P of the count mix at each of the last RESIDUAL_HISTORY positions. */
  private readonly residualLog: Float32Array | null;
  /** Optimiser steps taken so far (skipped ones included). */
  step = 0;
  /** Seconds spent in training steps (for benchmarks). */
  seconds = 0;

  constructor(model: GPT, config: TrainConfig, residual: boolean) {
    this.config = config;
    this.model = model;
    this.params = model.parameters();
    this.opt = new AdamW(this.params, { lr: config.lr, betas: config.betas, eps: config.eps, weightDecay: config.weightDecay });
    this.lrAt = warmupInverseSqrt({ base: config.lr, warmup: config.warmup, decay: config.decay });
    this.replayRng = Rng.derive(config.seed, 'compress/replay');
    this.residualLog = residual ? new Float32Array(RESIDUAL_HISTORY * N) : null;
  }

  /** Whether the GPT learns the residual of the count mix (then recordCountMix must be called for every byte). */
  get residual(): boolean {
    return this.residualLog !== null;
  }

  /** Keep the count mix's log-probabilities for the byte at position `n` (residual training). */
  recordCountMix(n: number, logp: Float64Array): void {
    const o = (n % RESIDUAL_HISTORY) * N;
    for (let s = 0; s < N; s++) this.residualLog![o + s] = logp[s];
  }

  /**
   * One segment's training, after `n` bytes: `ring` holds the last
   * ring.length tokens of u, token i at index i mod ring.length.
   */
  train(ring: Uint8Array, n: number): void {
    const t = this.config;
    const model = this.model;
    const opt = this.opt;
    const C = model.config.contextLength;
    const R = ring.length;
    const H = this.residualLog ? Math.min(R, RESIDUAL_HISTORY) : R; // replay draws from the last H bytes
    const T = Math.min(C, n);
    const t0 = performance.now();
    for (let k = 0; k < t.steps; k++) {
      // Windows: [start, start + T) of u as inputs, shifted by one as targets.
      const starts = [n - T];
      const lo = Math.max(0, n - H + 1);
      const hi = n - T; // last start whose targets are all known
      if (T === C && hi - lo >= C) for (let r = 0; r < t.replay; r++) starts.push(lo + Math.floor(this.replayRng.next() * (hi - lo)));
      const B = starts.length;
      const x = new Int32Array(B * T);
      const y = new Int32Array(B * T);
      for (let b = 0; b < B; b++) {
        for (let i = 0; i < T; i++) {
          x[b * T + i] = ring[(starts[b] + i) % R];
          y[b * T + i] = ring[(starts[b] + i + 1) % R];
        }
      }
      opt.zeroGrad();
      let logits = model.forward(x, B, T);
      if (this.residualLog) {
        // Target i of window b is byte (starts[b] + i); its count-mix log-probabilities were kept at that index.
        const base = new Float32Array(B * T * N);
        for (let b = 0; b < B; b++) {
          for (let i = 0; i < T; i++) {
            const o = ((starts[b] + i) % RESIDUAL_HISTORY) * N;
            base.set(this.residualLog.subarray(o, o + N), (b * T + i) * N);
          }
        }
        logits = add(logits, new TensorCtor(base, [B, T, N]));
      }
      const loss = crossEntropy(logits, y);
      loss.backward();
      const norm = clipGradNorm(this.params, t.clip);
      if (Number.isFinite(norm)) {
        opt.setLr(this.lrAt(this.step));
        opt.step();
      }
      this.step++;
    }
    this.seconds += (performance.now() - t0) / 1000;
  }
}
