// Pretraining glassbox's own language model: a byte-level GPT on the corpus
// of data/lm-corpus.ts. It composes the corpus (data), a GPT (nn), the
// training loop and checkpoints (train) and the LM tools (lm/), and returns a
// typed result. Every batch is drawn from (seed, step), so the run, resumed or
// not, at any thread count, ends in the same weights: the shipped model is
// this file's `shipped` preset, rerun.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../engine/rng.js';
import { AdamW, clipGradNorm } from '../engine/optim.js';
import { warmupCosine } from '../engine/schedule.js';
import { GPT, type GPTConfig } from '../nn/gpt.js';
import { trainLoop, type TrainEvent, type TrainState, type Batch } from '../train/trainer.js';
import { RunDir } from '../train/run-dir.js';
import { saveCheckpoint, loadCheckpoint, modelTensors } from '../train/checkpoint.js';
import { optimizerStateTo, optimizerStateFrom } from '../train/optimizer-state.js';
import { buildCorpus, loadCorpus, readManifest } from '../data/lm-corpus.js';
import { scoreBytes } from '../lm/score.js';
import { generate } from '../lm/generate.js';
import { saveLmModel, type ModelCard } from '../lm/model-file.js';
import { classicalBitsPerByte, type Baseline } from '../lm/baselines.js';
import { VERSION } from '../version.js';
import { LOG2E } from '../engine/constants.js';
import { SEED, type SettingsTable } from './settings.js';
import { defineExperiment, trainStepFields, formatSeconds } from './experiment.js';

export interface LmConfig {
  layers: number;
  dModel: number;
  heads: number;
  /** Context length in bytes (learned positions). */
  context: number;
  batch: number;
  steps: number;
  lr: number;
  minLr: number;
  warmup: number;
  weightDecay: number;
  clip: number;
  seed: number;
  evalEvery: number;
  /** Validation bytes scored at each periodic evaluation (8 evenly spaced slices); the whole split at the end. */
  evalBytes: number;
}

export type LmPreset = 'tiny' | 'shipped';

/** What `glassbox run lm` takes: the training config and where the corpus is. */
export interface LmSettings extends LmConfig {
  corpus: string;
}

export const LM_SETTINGS: SettingsTable<LmSettings> = {
  corpus: { type: 'string', arg: 'dir', help: 'the built corpus (built there first if missing)' },
  layers: { type: 'int', min: 1, max: 64, help: 'transformer blocks' },
  dModel: { type: 'int', min: 1, max: 4096, help: 'residual width' },
  heads: { type: 'int', min: 1, max: 256, help: 'attention heads (must divide d-model)' },
  context: { type: 'int', min: 2, max: 4096, help: 'context length in bytes (learned positions)' },
  batch: { type: 'int', min: 1, max: 65536, help: 'windows per step' },
  steps: { type: 'int', min: 1, help: 'training steps' },
  lr: { type: 'number', min: 1e-8, max: 10, help: 'peak learning rate (AdamW, warmup then cosine)' },
  minLr: { type: 'number', min: 0, max: 10, help: 'learning rate at the end of the cosine decay' },
  warmup: { type: 'int', min: 0, help: 'steps of linear warmup (capped at the steps)' },
  weightDecay: { type: 'number', min: 0, max: 10, help: 'AdamW decoupled weight decay' },
  clip: { type: 'number', min: 0, max: 1e6, help: 'gradient-norm clip' },
  seed: SEED,
  evalEvery: { type: 'int', min: 1, help: 'steps between validation evaluations (and snapshots)' },
  evalBytes: { type: 'int', min: 8, help: 'validation bytes scored at each periodic evaluation (the whole split at the end)' },
};

export const LM_PRESETS: Record<LmPreset, LmConfig> = {
  // Seconds, for tests: the whole path (corpus, training, evaluation, the model file) at toy size.
  tiny: { layers: 2, dModel: 32, heads: 2, context: 64, batch: 8, steps: 40, lr: 3e-3, minLr: 3e-4, warmup: 5, weightDecay: 0.1, clip: 1, seed: 1, evalEvery: 20, evalBytes: 4096 },
  // The shipped model. Sized by measurement on 2 cores: at batch 64 x 128 bytes a d128 4-layer
  // step ran at 5,650 tokens/s (2 threads), d192 at 3,000 and d256 at 1,660. In a budget of
  // about half an hour on 2 quiet cores the d128 model sees 9.8M bytes, 0.8 passes over the
  // corpus and 11 bytes per parameter, near the compute-optimal ratio; d256 would see 30 times
  // fewer bytes than its parameters call for.
  shipped: { layers: 4, dModel: 128, heads: 4, context: 128, batch: 64, steps: 1200, lr: 3e-3, minLr: 1e-4, warmup: 100, weightDecay: 0.1, clip: 1, seed: 1, evalEvery: 150, evalBytes: 65536 },
};

export function lmModelConfig(cfg: LmConfig): GPTConfig {
  return { vocabSize: 256, contextLength: cfg.context, nLayers: cfg.layers, nHeads: cfg.heads, dModel: cfg.dModel, seed: cfg.seed };
}

export function validateLmConfig(cfg: LmConfig): void {
  for (const k of ['layers', 'dModel', 'heads', 'context', 'batch', 'steps', 'evalEvery', 'evalBytes'] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] < 1) throw new Error(`lm config: ${k} must be a positive integer, got ${cfg[k]}`);
  }
  if (cfg.dModel % cfg.heads !== 0) throw new Error(`lm config: d-model ${cfg.dModel} is not divisible by heads ${cfg.heads}`);
  if (!(cfg.lr > 0) || !(cfg.minLr >= 0) || cfg.minLr > cfg.lr) throw new Error(`lm config: need 0 <= min-lr <= lr and lr > 0, got lr ${cfg.lr}, min-lr ${cfg.minLr}`);
}

export interface LmEvalPoint {
  step: number;
  tokens: number;
  seconds: number;
  train_loss: number;
  /** Bits per byte on the periodic validation slices. */
  val_bpb: number;
  sample: string;
}

export interface LmResult {
  experiment: 'lm';
  glassbox_version: string;
  preset: LmPreset | 'custom';
  config: LmConfig;
  model: GPTConfig;
  params: number;
  steps: number;
  tokens: number;
  seconds: number;
  /** Bits per byte on the whole validation split. */
  val_bpb: number;
  /** The same, per source of the corpus. */
  val_bpb_by_source: Record<string, number>;
  baselines: Baseline[];
  corpus: { train_bytes: number; val_bytes: number; manifest_sha256: string };
  history: LmEvalPoint[];
  /** Mean training loss (nats/byte) per reported step. */
  train_curve: Array<{ step: number; tokens: number; loss: number }>;
  model_path: string;
  model_sha256: string;
  checkpoints: string[];
  run_dir: string;
  report: string;
  aborted: boolean;
}

export interface LmRunOptions {
  preset?: LmPreset | 'custom';
  corpusDir?: string;
  outRoot?: string;
  runDir?: string;
  resume?: string;
  signal?: AbortSignal;
  onEvent?: (e: TrainEvent) => void;
  /** Skip the classical compressors (tests). */
  baselines?: boolean;
  render?: (r: LmResult) => string;
}

export const SAMPLE_PROMPT = 'The ';
const SAMPLE_BYTES = 200;

/** The periodic validation text: 8 evenly spaced slices of evalBytes/8 bytes. */
export function evalSlices(val: Uint8Array, evalBytes: number): Uint8Array[] {
  const per = Math.max(1, Math.floor(Math.min(evalBytes, val.length) / 8));
  const out: Uint8Array[] = [];
  for (let i = 0; i < 8; i++) {
    const s = Math.floor((i * (val.length - per)) / 7);
    out.push(val.subarray(s, s + per));
  }
  return out;
}

export function lmCommand(preset: string): string {
  return `glassbox run lm --preset ${preset}`;
}

export async function runLm(cfg: LmConfig, opts: LmRunOptions = {}): Promise<LmResult> {
  validateLmConfig(cfg);
  const corpusDir = opts.corpusDir ?? 'lm-corpus';
  const manifest = readManifest();
  if (!existsSync(join(corpusDir, 'train.bin')) || !existsSync(join(corpusDir, 'val.bin'))) buildCorpus(corpusDir, manifest);
  const corpus = loadCorpus(corpusDir, manifest);
  const T = cfg.context;
  if (corpus.train.length <= T + 1) throw new Error(`lm: the training split (${corpus.train.length} bytes) is shorter than one window of ${T + 1}`);

  const mcfg = lmModelConfig(cfg);
  const model = new GPT(mcfg);
  const params = model.parameters();
  const optimizer = new AdamW(params, { lr: cfg.lr, betas: [0.9, 0.99], eps: 1e-8, weightDecay: cfg.weightDecay });
  const lrAt = warmupCosine({ base: cfg.lr, warmup: Math.min(cfg.warmup, cfg.steps), total: cfg.steps, min: cfg.minLr });

  let start: TrainState | undefined;
  const history: LmEvalPoint[] = [];
  const trainCurve: LmResult['train_curve'] = [];
  const checkpoints: string[] = [];
  if (opts.resume) {
    const ck = loadCheckpoint(opts.resume);
    const saved = ck.meta.experiment_config as LmConfig | undefined;
    if (ck.meta.experiment !== 'lm' || !saved) throw new Error(`${opts.resume} is a glassbox checkpoint but not of the lm experiment`);
    if (JSON.stringify(saved) !== JSON.stringify(cfg)) throw new Error(`checkpoint ${opts.resume} was trained with a different configuration; resume needs the same flags (saved: ${JSON.stringify(saved)})`);
    model.loadStateDict(modelTensors(ck));
    optimizer.loadState(optimizerStateFrom(ck.tensors, ck.meta.optimizer_state));
    start = ck.meta.train_state as TrainState;
    history.push(...((ck.meta.history as LmEvalPoint[] | undefined) ?? []));
    trainCurve.push(...((ck.meta.train_curve as LmResult['train_curve'] | undefined) ?? []));
    checkpoints.push(...((ck.meta.checkpoints as string[] | undefined) ?? []));
  }
  const run = opts.runDir ? new RunDir(opts.runDir) : RunDir.create(opts.outRoot ?? 'runs', 'lm');
  run.writeJson('config.json', { experiment: 'lm', glassbox_version: VERSION, preset: opts.preset ?? 'custom', config: cfg, model: mcfg, corpus_manifest_sha256: corpus.manifestSha256 });

  const span = corpus.train.length - T - 1;
  const batchAt = (step: number): Batch => {
    const rng = Rng.derive(cfg.seed, `lm/data/step/${step}`);
    const inputs = new Int32Array(cfg.batch * T);
    const targets = new Int32Array(cfg.batch * T);
    for (let b = 0; b < cfg.batch; b++) {
      const o = rng.int(span + 1);
      for (let t = 0; t < T; t++) {
        inputs[b * T + t] = corpus.train[o + t];
        targets[b * T + t] = corpus.train[o + t + 1];
      }
    }
    return { inputs, targets, B: cfg.batch, T };
  };
  const slices = evalSlices(corpus.val, cfg.evalBytes);
  let lastLoss = NaN;
  let lastTokens = 0;
  let lastSeconds = 0;
  const sample = () => Buffer.from(generate(model, SAMPLE_PROMPT, { maxBytes: SAMPLE_BYTES, temperature: 0.8, topK: 40, seed: cfg.seed })).toString('latin1');

  const final = await trainLoop({
    steps: cfg.steps,
    params,
    optimizer,
    lrAt,
    batchAt,
    lossOf: (b) => model.loss(b.inputs, b.targets, b.B, b.T),
    clipNorm: cfg.clip,
    clip: clipGradNorm,
    evalEvery: cfg.evalEvery,
    evaluate: (step) => {
      model.eval();
      let bits = 0;
      let n = 0;
      for (const s of slices) {
        bits += scoreBytes(model, s).totalBits;
        n += s.length;
      }
      const text = SAMPLE_PROMPT + sample();
      model.train();
      const p: LmEvalPoint = { step, tokens: lastTokens, seconds: lastSeconds, train_loss: lastLoss, val_bpb: bits / n, sample: text };
      history.push(p);
      // A model-only snapshot per evaluation: the series the lenses read over training.
      const snap = join(run.checkpoints, `step-${String(step).padStart(6, '0')}.safetensors`);
      saveCheckpoint(snap, model, { meta: { experiment: 'lm', model_config: mcfg, step } });
      if (!checkpoints.includes(snap)) checkpoints.push(snap);
      return { val_bpb: p.val_bpb };
    },
    checkpointEvery: cfg.evalEvery,
    saveCheckpoint: (state) => {
      const path = join(run.checkpoints, 'last.safetensors');
      const { tensors, scalars } = optimizerStateTo(optimizer.state());
      saveCheckpoint(path, model, {
        meta: { experiment: 'lm', model_config: mcfg, experiment_config: cfg, train_state: state, optimizer_state: scalars, history, train_curve: trainCurve, checkpoints },
        extra: tensors,
      });
      return path;
    },
    onEvent: opts.onEvent,
    onMetric: (r) => {
      run.appendMetric(r);
      if (r.kind === 'train') {
        lastLoss = r.train_loss as number;
        lastTokens = r.tokens as number;
        lastSeconds = r.seconds as number;
        trainCurve.push({ step: r.step as number, tokens: lastTokens, loss: lastLoss });
      }
    },
    signal: opts.signal,
    start,
    reportEvery: 1,
  });

  const preset = opts.preset ?? 'custom';
  if (final.aborted) {
    // Interrupted: the checkpoint is written; no final scoring, no model file.
    const last = history[history.length - 1];
    return {
      experiment: 'lm', glassbox_version: VERSION, preset, config: cfg, model: mcfg, params: model.paramCount(), steps: final.step, tokens: final.tokens, seconds: final.seconds,
      val_bpb: last?.val_bpb ?? NaN, val_bpb_by_source: {}, baselines: [], corpus: { train_bytes: corpus.train.length, val_bytes: corpus.val.length, manifest_sha256: corpus.manifestSha256 },
      history, train_curve: thinCurve(trainCurve, 500), model_path: '', model_sha256: '', checkpoints, run_dir: run.path, report: '', aborted: true,
    };
  }
  model.eval();
  const full = scoreBytes(model, corpus.val, { signal: opts.signal });
  const bySource: Record<string, number> = {};
  let at = 0;
  for (const [src, c] of Object.entries(manifest.composition)) {
    let t = 0;
    for (let i = at; i < at + c.valBytes; i++) t += full.bits[i];
    bySource[src] = t / c.valBytes;
    at += c.valBytes;
  }
  const card: ModelCard = {
    name: `glassbox-lm-${preset}`,
    command: preset === 'custom' ? `glassbox run lm (custom config ${JSON.stringify(cfg)})` : lmCommand(preset),
    preset,
    corpus_manifest_sha256: corpus.manifestSha256,
    params: model.paramCount(),
    steps: final.step,
    tokens: final.tokens,
    context: T,
    val_bpb: full.bitsPerByte,
    precision: 'F32',
    tokenizer: 'bytes',
  };
  const modelPath = run.file('model.safetensors');
  const modelSha = saveLmModel(modelPath, model, card);
  const result: LmResult = {
    experiment: 'lm',
    glassbox_version: VERSION,
    preset,
    config: cfg,
    model: mcfg,
    params: model.paramCount(),
    steps: final.step,
    tokens: final.tokens,
    seconds: final.seconds,
    val_bpb: full.bitsPerByte,
    val_bpb_by_source: bySource,
    baselines: opts.baselines === false ? [] : classicalBitsPerByte(join(corpusDir, 'val.bin')),
    corpus: { train_bytes: corpus.train.length, val_bytes: corpus.val.length, manifest_sha256: corpus.manifestSha256 },
    history,
    train_curve: thinCurve(trainCurve, 500),
    model_path: modelPath,
    model_sha256: modelSha,
    checkpoints,
    run_dir: run.path,
    report: run.file('report.html'),
    aborted: final.aborted,
  };
  run.writeJson('result.json', result);
  if (opts.render) {
    const { writeFileAtomic } = await import('../engine/atomic-file.js');
    writeFileAtomic(result.report, opts.render(result));
  }
  return result;
}

function thinCurve<T>(c: T[], n: number): T[] {
  if (c.length <= n) return c;
  const every = Math.ceil(c.length / n);
  return c.filter((_, i) => i % every === 0 || i === c.length - 1);
}

/** The preset a config is, or 'custom': a model card names its preset only when the config is exactly that preset's. */
function presetOf(cfg: LmConfig): LmPreset | 'custom' {
  for (const [name, p] of Object.entries(LM_PRESETS)) if (JSON.stringify(p) === JSON.stringify(cfg)) return name as LmPreset;
  return 'custom';
}

/** `glassbox run lm`: pretrain the byte-level LM; the shipped preset reproduces models/glassbox-lm.safetensors. */
export const lmExperiment = defineExperiment<LmSettings, LmResult>({
  name: 'lm',
  description: 'pretrain the byte-level language model on the corpus (glassbox corpus build); writes model.safetensors with its SHA-256',
  settings: LM_SETTINGS,
  presets: {
    shipped: { help: 'the model in the package: 1,200 steps of 64 x 128 bytes, about half an hour on 2 quiet cores', config: { corpus: 'lm-corpus', ...LM_PRESETS.shipped } },
    tiny: { help: 'seconds, for tests', config: { corpus: 'lm-corpus', ...LM_PRESETS.tiny } },
  },
  defaultPreset: 'shipped',
  adjust: (c) => ({ ...c, warmup: Math.min(c.warmup, c.steps) }),
  validate: (c) => validateLmConfig(c),
  resumable: true,
  resumeCheckpoint: (runDir) => join(runDir, 'checkpoints', 'last.safetensors'),
  async run(input, ctx) {
    const { corpus, ...cfg } = input;
    ctx.progress.note(`lm: ${cfg.layers} layers × d${cfg.dModel} × ${cfg.heads} heads, context ${cfg.context}, ${cfg.steps} steps of ${cfg.batch} × ${cfg.context} bytes`);
    ctx.progress.phase('train', cfg.steps, ['loss', 'val', 'tps', 'eta']);
    let val = '-';
    return runLm(cfg, {
      preset: presetOf(cfg), corpusDir: corpus, outRoot: ctx.outRoot, runDir: ctx.runDir, resume: ctx.resume, signal: ctx.signal, render: ctx.render,
      onEvent: (e) => {
        if (e.type === 'eval') val = e.metrics.val_bpb.toFixed(3);
        // The loss shown in bits per byte, the unit of the whole LM page.
        if (e.type === 'step') ctx.progress.update(e.step, { ...trainStepFields(e, LOG2E), val });
      },
    });
  },
  summary(r) {
    const base = r.baselines.filter((b) => b.bpb !== null).map((b) => `${b.name} ${b.bpb!.toFixed(3)}`).join(', ');
    return [
      `validation: ${r.val_bpb.toFixed(4)} bits/byte over ${r.corpus.val_bytes.toLocaleString('en-US')} bytes${base ? ` (${base})` : ''}`,
      `${r.steps} steps, ${r.tokens.toLocaleString('en-US')} bytes seen, ${formatSeconds(r.seconds)}`,
      `model: ${r.model_path}`,
      `sha256: ${r.model_sha256}`,
      `report: ${r.report}`,
    ];
  },
  interrupted: (r) => (r.aborted ? `interrupted at step ${r.steps}; resume with --resume ${r.run_dir}/checkpoints/last.safetensors` : null),
});
