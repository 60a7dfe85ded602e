// Training an SAE on a stream of activations. The TopK recipe is OpenAI's:
// tied init, unit-norm decoder rows renormalised after every step with the
// gradient component along each row removed first, b_pre at the geometric
// median, and AuxK: the dead latents' top-k_aux pre-activations must explain
// the residual x − x̂ (coefficient 1/32 on the normalised MSE).

import { Tensor } from '../../engine/tensor.js';
import { add, sub, square, mulScalar } from '../../engine/ops-elementwise.js';
import { sum } from '../../engine/ops-reduce.js';
import { relu } from '../../engine/ops-elementwise.js';
import { topkIndices } from '../../engine/ops-nn.js';
import { AdamW, type OptimizerState } from '../../engine/optim.js';
import { Sae } from './model.js';
import { gatherLatents, sparseDecode } from './ops.js';
import { geometricMedian } from './geomedian.js';
import { validateTrainConfig, type SaeTrainConfig } from './config.js';

/** Anything that hands out shuffled activation batches [m, d]. */
export interface ActivationStream {
  readonly d: number;
  next(m: number): Float32Array;
}

export interface SaeStepRecord {
  step: number;
  tokens: number;
  /** Per-element MSE of the batch, in the (normalised) units the SAE trains on. */
  mse: number;
  /** Batch FVU: Σ||x − x̂||² / Σ||x − mean||². */
  fvu: number;
  l0: number;
  aux: number;
  /** Fraction of latents with no fire in the last deadWindow tokens. */
  dead: number;
}

export interface SaeTrainResult {
  sae: Sae;
  history: SaeStepRecord[];
  /** Training tokens since each latent last fired. */
  tokensSinceFire: Float64Array;
  seconds: number;
  steps: number;
}

/** Remove from each decoder row's gradient its component along the row (the row has unit norm after renormalisation). */
export function removeParallelGrad(W_dec: Tensor): void {
  const g = W_dec.grad;
  if (!g) return;
  const [n, d] = W_dec.shape;
  const w = W_dec.data;
  for (let i = 0; i < n; i++) {
    let dot = 0, nn = 0;
    for (let c = 0; c < d; c++) {
      dot += g[i * d + c] * w[i * d + c];
      nn += w[i * d + c] * w[i * d + c];
    }
    if (nn === 0) continue;
    const s = dot / nn;
    for (let c = 0; c < d; c++) g[i * d + c] -= s * w[i * d + c];
  }
}

/** Scale every decoder row to unit norm. */
export function normalizeDecoderRows(W_dec: Tensor): void {
  const [n, d] = W_dec.shape;
  const w = W_dec.data;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let c = 0; c < d; c++) s += w[i * d + c] * w[i * d + c];
    if (s === 0) continue;
    const inv = 1 / Math.sqrt(s);
    for (let c = 0; c < d; c++) w[i * d + c] *= inv;
  }
}

/** Σ_b ||e_b − mean(e)||² in f64: the normaliser of AuxK's MSE and of FVU. */
export function sumSqAboutMean(e: Float32Array, B: number, d: number): number {
  const mean = new Float64Array(d);
  for (let b = 0; b < B; b++) for (let c = 0; c < d; c++) mean[c] += e[b * d + c];
  for (let c = 0; c < d; c++) mean[c] /= B;
  let s = 0;
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < d; c++) {
      const v = e[b * d + c] - mean[c];
      s += v * v;
    }
  }
  return s;
}

/**
 * The AuxK loss for one batch: coef · ||ê − e||² / ||e − mean e||², where
 * e = x − x̂ (no gradient) and ê decodes (without bias) the top-kAux
 * pre-activations among dead latents. Null when nothing is dead.
 */
export function auxKLoss(sae: Sae, xc: Tensor, pre: Float32Array, residual: Float32Array, dead: Uint8Array, kAux: number, coef: number): Tensor | null {
  const B = xc.dim(0);
  const { n, d } = sae.shape;
  let nDead = 0;
  for (let i = 0; i < n; i++) nDead += dead[i];
  const kk = Math.min(kAux, nDead);
  if (kk === 0) return null;
  const masked = new Float32Array(pre.length);
  for (let b = 0; b < B; b++) for (let i = 0; i < n; i++) masked[b * n + i] = dead[i] ? pre[b * n + i] : -Infinity;
  const idx = topkIndices(new Tensor(masked, [B, n]), kk);
  const acts = relu(gatherLatents(xc, sae.W_enc, sae.b_enc, pre, idx, kk));
  const eHat = sparseDecode(acts, idx, sae.W_dec);
  const denom = sumSqAboutMean(residual, B, d);
  if (!(denom > 0)) return null;
  return mulScalar(sum(square(sub(eHat, new Tensor(residual, [B, d])))), coef / denom);
}

/**
 * Everything a trainer carries from one step to the next, so a stopped run
 * goes on to the same bits: the weights and Adam's moments, the step and
 * token counts, the dead-latent tracker, BatchTopK's running threshold, and
 * the history logged so far. The input scale and b_pre's start are fixed by
 * the sample the trainer was built from; `scale` checks it is the same one.
 */
export interface SaeTrainerState {
  step: number;
  tokens: number;
  scale: number;
  /** Training seconds before the stop (a wall-clock figure, carried so a resumed run reports its total). */
  seconds: number;
  thresholdSeen: boolean;
  threshold: number;
  lastMinKept: number;
  history: SaeStepRecord[];
  sinceFire: Float64Array;
  /** W_enc, b_enc, W_dec, b_dec. */
  params: Float32Array[];
  optimizer: OptimizerState;
}

export interface TrainSaeOptions {
  onStep?: (r: SaeStepRecord) => void;
  /** Record history every this many steps (and at the last). */
  logEvery?: number;
  signal?: AbortSignal;
  /** Metadata saved with the weights. */
  meta?: Record<string, string>;
}

/**
 * One SAE being trained, a batch at a time. The loop lives with the caller, so
 * several SAEs (at several hook points) can train in lockstep on one streamed
 * batch of activations, the model run once for all of them. `sample` is
 * cfg.medianSample raw rows: b_pre starts at their geometric median, and with
 * cfg.normalize they fix the input scale.
 */
export class SaeTrainer {
  readonly sae: Sae;
  /** The factor raw activations are multiplied by before the SAE sees them (1 without normalisation). */
  readonly scale: number;
  readonly steps: number;
  readonly history: SaeStepRecord[] = [];
  readonly sinceFire: Float64Array;
  private readonly opt: AdamW;
  private readonly dead: Uint8Array;
  private readonly kAux: number;
  private readonly logEvery: number;
  private t0 = performance.now();
  private tokens = 0;
  private step_ = 0;
  private thresholdSeen = false;
  private done = false;

  constructor(readonly cfg: SaeTrainConfig, readonly d: number, sample: Float32Array, private readonly opts: TrainSaeOptions = {}) {
    validateTrainConfig(cfg, d);
    if (sample.length !== cfg.medianSample * d) throw new Error(`sae trainer: the sample has ${sample.length} values, expected ${cfg.medianSample} rows of width ${d}`);
    const n = Math.round(cfg.expansion * d);
    this.sae = new Sae({ arch: cfg.arch, d, n, k: cfg.arch === 'relu' ? 0 : cfg.k });
    if (opts.meta) Object.assign(this.sae.meta, opts.meta);
    let scale = 1;
    const scaled = sample.slice();
    if (cfg.normalize) {
      let sq = 0;
      for (let i = 0; i < scaled.length; i++) sq += scaled[i] * scaled[i];
      if (sq > 0) scale = Math.sqrt((d * cfg.medianSample) / sq);
      for (let i = 0; i < scaled.length; i++) scaled[i] *= scale;
    }
    this.scale = scale;
    const median = geometricMedian(scaled, cfg.medianSample, d);
    // Unit rows for TopK (its constraint); small rows for ReLU (Anthropic start at norm 0.1, unconstrained after).
    this.sae.initTied(cfg.seed, median, cfg.arch === 'relu' ? 0.1 : 1);
    this.opt = new AdamW(this.sae.params(), { lr: cfg.lr, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 });
    this.steps = Math.ceil(cfg.tokens / cfg.batch);
    this.kAux = cfg.kAux > 0 ? cfg.kAux : Math.max(1, Math.floor(d / 2));
    this.sinceFire = new Float64Array(n);
    this.dead = new Uint8Array(n);
    this.logEvery = opts.logEvery ?? Math.max(1, Math.floor(this.steps / 100));
  }

  /** Steps taken so far. */
  get stepsDone(): number {
    return this.step_;
  }

  get finished(): boolean {
    return this.step_ >= this.steps;
  }

  /** A copy of the trainer's state between steps (see SaeTrainerState). */
  state(): SaeTrainerState {
    if (this.done) throw new Error('sae trainer: finished; its state is no longer that of training');
    return {
      step: this.step_, tokens: this.tokens, scale: this.scale, seconds: (performance.now() - this.t0) / 1000,
      thresholdSeen: this.thresholdSeen, threshold: this.sae.threshold, lastMinKept: this.sae.lastMinKept,
      history: this.history.map((r) => ({ ...r })), sinceFire: this.sinceFire.slice(),
      params: this.sae.params().map((p) => p.data.slice()), optimizer: this.opt.state(),
    };
  }

  /** Continues from state(): the trainer must have been built with the same config and sample. */
  loadState(s: SaeTrainerState): void {
    if (this.done || this.step_ !== 0) throw new Error('sae trainer: a state loads only into a fresh trainer');
    if (s.scale !== this.scale) throw new Error(`sae trainer: the saved state was trained at input scale ${s.scale}, this trainer's sample gives ${this.scale}: not the same run`);
    if (!Number.isSafeInteger(s.step) || s.step < 0 || s.step > this.steps) throw new Error(`sae trainer: saved step ${s.step} is outside 0..${this.steps}`);
    const params = this.sae.params();
    if (s.params.length !== params.length || s.sinceFire.length !== this.sinceFire.length) throw new Error(`sae trainer: the saved state is of another shape (${this.sae.shape.n} latents here)`);
    params.forEach((p, i) => {
      if (s.params[i].length !== p.size) throw new Error(`sae trainer: saved ${p.name} has ${s.params[i].length} values, expected ${p.size}`);
      p.data.set(s.params[i]);
    });
    this.opt.loadState(s.optimizer);
    this.sinceFire.set(s.sinceFire);
    this.history.push(...s.history.map((r) => ({ ...r })));
    this.sae.threshold = s.threshold;
    this.sae.lastMinKept = s.lastMinKept;
    this.thresholdSeen = s.thresholdSeen;
    this.tokens = s.tokens;
    this.step_ = s.step;
    this.t0 = performance.now() - s.seconds * 1000;
  }

  /** One optimiser step on raw rows [cfg.batch, d] (not modified). Returns the record when this step is logged. */
  step(raw: Float32Array): SaeStepRecord | null {
    const { cfg, d, sae } = this;
    const n = sae.shape.n;
    const B = cfg.batch;
    if (this.done) throw new Error('sae trainer: already finished');
    if (raw.length !== B * d) throw new Error(`sae trainer: a batch must be ${B} rows of width ${d}, got ${raw.length} values`);
    const step = this.step_;
    const steps = this.steps;
    let xData = raw;
    if (this.scale !== 1) {
      xData = new Float32Array(raw.length);
      for (let i = 0; i < raw.length; i++) xData[i] = raw[i] * this.scale;
    }
    const x = new Tensor(xData, [B, d]);
    // ReLU: the L1 coefficient ramps up over the first 5% of steps (Anthropic's April 2024 recipe).
    const l1 = cfg.arch === 'relu' ? cfg.l1 * Math.min(1, (step + 1) / Math.max(1, Math.floor(steps * 0.05))) : 0;
    const fw = sae.forward(x, l1);
    let loss = fw.mse;
    if (fw.sparsity) loss = add(loss, fw.sparsity);
    let auxValue = 0;
    let nDead = 0;
    const { dead, sinceFire } = this;
    for (let i = 0; i < n; i++) {
      dead[i] = sinceFire[i] >= cfg.deadWindow ? 1 : 0;
      nDead += dead[i];
    }
    if (fw.sel && cfg.auxk && nDead > 0) {
      const resid = new Float32Array(B * d);
      const xh = fw.xHat.data;
      for (let i = 0; i < resid.length; i++) resid[i] = xData[i] - xh[i];
      const aux = auxKLoss(sae, fw.xc, fw.sel.pre, resid, dead, this.kAux, cfg.auxCoef);
      if (aux) {
        auxValue = aux.item();
        loss = add(loss, aux);
      }
    }
    loss.backward();
    if (cfg.arch !== 'relu') removeParallelGrad(sae.W_dec);
    this.opt.step();
    this.opt.zeroGrad();
    if (cfg.arch !== 'relu') normalizeDecoderRows(sae.W_dec);
    if (cfg.arch === 'batchtopk') {
      // A running mean of recent batches' smallest kept activation (decay 0.9: it must forget the early, larger ones).
      sae.threshold = this.thresholdSeen ? 0.9 * sae.threshold + 0.1 * sae.lastMinKept : sae.lastMinKept;
      this.thresholdSeen = true;
    }

    // Dead-latent bookkeeping: tokens since each latent last fired.
    this.tokens += B;
    for (let i = 0; i < n; i++) sinceFire[i] += B;
    let active = 0;
    if (fw.sel) {
      const { idx, acts } = fw.sel;
      for (let j = 0; j < idx.length; j++) if (idx[j] >= 0 && acts.data[j] > 0) {
        sinceFire[idx[j]] = 0;
        active++;
      }
    } else {
      const f = fw.dense!.data;
      for (let b = 0; b < B; b++) for (let i = 0; i < n; i++) if (f[b * n + i] > 0) {
        sinceFire[i] = 0;
        active++;
      }
    }
    this.step_ = step + 1;
    if ((step + 1) % this.logEvery === 0 || step === steps - 1) {
      const mseV = fw.mse.item();
      const ssm = sumSqAboutMean(xData, B, d);
      let deadNow = 0;
      for (let i = 0; i < n; i++) if (sinceFire[i] >= cfg.deadWindow) deadNow++;
      const rec: SaeStepRecord = { step: step + 1, tokens: this.tokens, mse: mseV / d, fvu: (mseV * B) / ssm, l0: active / B, aux: auxValue, dead: deadNow / n };
      this.history.push(rec);
      this.opts.onStep?.(rec);
      return rec;
    }
    return null;
  }

  /** Ends training: folds the input scale into the weights, so the SAE reads and writes raw activations. */
  finish(): SaeTrainResult {
    if (this.done) throw new Error('sae trainer: already finished');
    this.done = true;
    if (this.scale !== 1) foldInputScale(this.sae, this.scale);
    return { sae: this.sae, history: this.history, tokensSinceFire: this.sinceFire, seconds: (performance.now() - this.t0) / 1000, steps: this.step_ };
  }
}

/** Draw cfg.medianSample rows from the stream, in chunks of at most one batch. */
export function drawSample(stream: ActivationStream, cfg: SaeTrainConfig): Float32Array {
  const d = stream.d;
  const sample = new Float32Array(cfg.medianSample * d);
  for (let got = 0; got < cfg.medianSample; ) {
    const m = Math.min(cfg.batch, cfg.medianSample - got);
    sample.set(stream.next(m), got * d);
    got += m;
  }
  return sample;
}

export function trainSae(stream: ActivationStream, cfg: SaeTrainConfig, opts: TrainSaeOptions = {}): SaeTrainResult {
  validateTrainConfig(cfg, stream.d);
  const trainer = new SaeTrainer(cfg, stream.d, drawSample(stream, cfg), opts);
  while (!trainer.finished) {
    if (opts.signal?.aborted) break;
    trainer.step(stream.next(cfg.batch));
  }
  return trainer.finish();
}

/**
 * An SAE trained on s·x, rewritten to read and write x: W_enc ← s·W_enc,
 * b_dec ← b_dec/s, W_dec ← W_dec/s (pre-activations, and so BatchTopK's
 * threshold, are unchanged).
 */
export function foldInputScale(sae: Sae, s: number): void {
  for (let i = 0; i < sae.W_enc.size; i++) sae.W_enc.data[i] *= s;
  for (let i = 0; i < sae.W_dec.size; i++) sae.W_dec.data[i] /= s;
  for (let i = 0; i < sae.b_dec.size; i++) sae.b_dec.data[i] /= s;
  sae.meta.input_scale = String(s);
}
