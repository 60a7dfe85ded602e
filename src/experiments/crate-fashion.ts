// CRATE (Yu et al., arXiv 2306.01129) vs a same-size ViT on Fashion-MNIST. It composes
// the dataset (data), the two models (nn), the training loop (train) and the
// coding-rate lens (lens), and returns a JSON-ready result: test accuracy and
// parameter counts for both; R, R^c and sparsity per layer before and after
// training; and the class token's attention over the image, per head.

import { noGrad } from '../engine/tensor.js';
import { argmax } from '../engine/ops-reduce.js';
import { writeFileAtomic } from '../engine/atomic-file.js';
import { loadFashionMnist, imageBatch, FASHION_MNIST_CLASSES, fashionMnistDir, DEFAULT_FASHION_MNIST_DIR, type ImageSet } from '../data/fashion-mnist.js';
import { Crate, type CrateConfig } from '../nn/crate.js';
import { ViT, type ViTConfig } from '../nn/vit.js';
import { RunDir } from '../train/run-dir.js';
import { modelTensors } from '../train/checkpoint.js';
import { readTrainingCheckpoint } from '../train/resume.js';
import { join, dirname } from 'node:path';
import { existsSync } from 'node:fs';
import type { TrainEvent } from '../train/trainer.js';
import { measureLayers, type LayerRates } from '../lens/coding-rate.js';
import { trainClassifier, accuracy, type TrainedClassifier, type ClassifierCheckpointExtra } from './image-training.js';
import { VERSION } from '../version.js';
import { SEED, type SettingsTable } from './settings.js';
import { defineExperiment, formatSeconds } from './experiment.js';

export interface CrateFashionConfig {
  dModel: number;
  heads: number;
  layers: number;
  patch: number;
  epochs: number;
  batch: number;
  lr: number;
  weightDecay: number;
  /** Training images used (the first n of the 60,000); 0 = all. */
  trainImages: number;
  /** Test images scored after each epoch (the final score uses all 10,000). */
  evalImages: number;
  /** Test images the coding-rate lens runs on. */
  rateImages: number;
  /** Test images whose attention maps the report shows. */
  attentionImages: number;
  eta: number;
  lambda: number;
  eps: number;
  seed: number;
  /** Which models to train. */
  models: 'both' | 'crate' | 'vit';
}

/** The settings the two Fashion-MNIST experiments share (CRATE and ViT; CRATE-MAE). */
export const IMAGE_SETTINGS = {
  data: { type: 'string', arg: 'dir', help: 'folder with the Fashion-MNIST IDX files' },
  dModel: { type: 'int', min: 1, max: 4096, help: 'token width' },
  heads: { type: 'int', min: 1, max: 256, help: 'attention heads (must divide d-model)' },
  layers: { type: 'int', min: 1, max: 64, help: 'layers' },
  patch: { type: 'int', min: 1, max: 28, help: 'patch size (must divide 28)' },
  epochs: { type: 'int', min: 1, max: 1000, help: 'epochs' },
  batch: { type: 'int', min: 1, max: 65536, help: 'images per step' },
  lr: { type: 'number', min: 1e-8, max: 10, help: 'peak learning rate (AdamW, one-cycle)' },
  weightDecay: { type: 'number', min: 0, max: 10, help: 'AdamW decoupled weight decay' },
  trainImages: { type: 'int', min: 0, max: 60000, help: 'use the first n training images (0 = all 60,000)' },
  lambda: { type: 'number', min: 0, max: 100, help: 'ISTA sparsity penalty λ' },
  seed: SEED,
} as const;

/** What `glassbox run crate-fashion` takes: the config and where the data is. */
export interface CrateFashionSettings extends CrateFashionConfig {
  data: string;
}

export const CRATE_FASHION_SETTINGS: SettingsTable<CrateFashionSettings> = {
  ...IMAGE_SETTINGS,
  evalImages: { type: 'int', min: 1, max: 10000, help: 'test images scored after each epoch (the final score uses all 10,000)' },
  rateImages: { type: 'int', min: 1, max: 10000, help: 'test images the coding-rate lens runs on' },
  attentionImages: { type: 'int', min: 1, max: 10000, help: 'test images whose attention maps the report shows' },
  eta: { type: 'number', min: 0, max: 10, help: 'ISTA step size η' },
  eps: { type: 'number', min: 1e-12, max: 100, help: 'coding-rate distortion ε' },
  models: { type: 'string', choices: ['both', 'crate', 'vit'], arg: 'which', help: 'train both models or one' },
};

export const CRATE_FASHION_PRESETS: Record<'default' | 'reference' | 'tiny', CrateFashionConfig> = {
  // The reference architecture (width 96, 4 heads, 4 layers, patch 7: 17 tokens) and set-up, on all
  // 60,000 training images for 3 epochs instead of 15. With the step arena a step of 256 images took
  // 0.15 s for CRATE and 0.34 s for the ViT on 2 quiet cores (702 steps each), well inside the 20-minute
  // budget. A CRATE step is ~5d² multiply-adds per token per layer (U, W_O, and two products with D),
  // a ViT step ~12d² (QKV, W_O, 4d MLP).
  default: { dModel: 96, heads: 4, layers: 4, patch: 7, epochs: 3, batch: 256, lr: 1e-3, weightDecay: 0.05, trainImages: 0, evalImages: 2000, rateImages: 200, attentionImages: 8, eta: 0.1, lambda: 0.1, eps: 0.01, seed: 1, models: 'both' },
  // The reference set-up: AdamW lr 1e-3 one-cycle, wd 0.05, batch 256, 15 epochs, normalised pixels, no augmentation.
  reference: { dModel: 96, heads: 4, layers: 4, patch: 7, epochs: 15, batch: 256, lr: 1e-3, weightDecay: 0.05, trainImages: 0, evalImages: 10000, rateImages: 200, attentionImages: 8, eta: 0.1, lambda: 0.1, eps: 0.01, seed: 1, models: 'both' },
  // For tests and smoke runs: seconds.
  tiny: { dModel: 16, heads: 2, layers: 2, patch: 7, epochs: 3, batch: 16, lr: 1e-2, weightDecay: 0.05, trainImages: 256, evalImages: 128, rateImages: 16, attentionImages: 2, eta: 0.1, lambda: 0.1, eps: 0.01, seed: 1, models: 'both' },
};

export interface AttentionExample {
  index: number;
  label: string;
  crate_pred: string;
  /** Raw pixels 0-255, rows × cols. */
  pixels: number[];
  /** [layer][head] → class-token attention over the patch grid (row-major, gh × gw). */
  maps: number[][][];
}

export interface CrateFashionResult {
  experiment: 'crate-fashion';
  glassbox_version: string;
  dataset: string;
  config: CrateFashionConfig;
  image: { rows: number; cols: number; patch: number; grid: [number, number] };
  train_images: number;
  crate?: {
    params: number;
    test_acc: number;
    seconds: number;
    steps: number;
    rc_per_layer: number[];
    r_per_layer: number[];
    sparsity_per_layer: number[];
    l1_l2_per_layer: number[];
    layers_init: LayerRates[];
    layers_trained: LayerRates[];
    /** Per layer and head: mean share of the class token's attention that lands on object patches ÷ the object's share of patches (1 = no preference). */
    object_attention_lift: number[][];
    history: TrainedClassifier['history'];
  };
  vit?: { params: number; test_acc: number; seconds: number; steps: number; history: TrainedClassifier['history'] };
  attention: AttentionExample[];
  /** Stopped by the signal; `checkpoint` (of the model that was training) resumes it. */
  aborted: boolean;
  checkpoint: string | null;
  seconds: number;
  run_dir: string;
  report: string;
}

export interface CrateFashionOptions {
  dataDir?: string;
  outRoot?: string;
  runDir?: string;
  resume?: string;
  onEvent?: (model: 'crate' | 'vit', e: TrainEvent) => void;
  signal?: AbortSignal;
  render?: (r: CrateFashionResult) => string;
}

export function validateCrateFashionConfig(c: CrateFashionConfig): void {
  for (const k of ['dModel', 'heads', 'layers', 'patch', 'epochs', 'batch', 'evalImages', 'rateImages', 'attentionImages'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) throw new Error(`crate-fashion config: ${k} must be a positive integer, got ${c[k]}`);
  }
  if (28 % c.patch !== 0) throw new Error(`crate-fashion config: image size 28×28 is not divisible by the patch size ${c.patch}; use 1, 2, 4, 7, 14 or 28`);
  if (c.dModel % c.heads !== 0) throw new Error(`crate-fashion config: width ${c.dModel} is not divisible by heads ${c.heads}`);
  if (!(c.lr > 0)) throw new Error(`crate-fashion config: lr must be positive, got ${c.lr}`);
}

export function crateConfigOf(c: CrateFashionConfig, rows = 28, cols = 28): CrateConfig {
  return { channels: 1, height: rows, width: cols, patch: c.patch, classes: 10, dModel: c.dModel, nHeads: c.heads, nLayers: c.layers, eta: c.eta, lambda: c.lambda, seed: c.seed };
}

export function vitConfigOf(c: CrateFashionConfig, rows = 28, cols = 28): ViTConfig {
  return { channels: 1, height: rows, width: cols, patch: c.patch, classes: 10, dModel: c.dModel, nHeads: c.heads, nLayers: c.layers, seed: c.seed };
}

function firstN(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** R, R^c and sparsity per layer on the first `n` test images. */
export function crateLayerRates(model: Crate, test: ImageSet, n: number, eps: number): LayerRates[] {
  const { pixels } = imageBatch(test, firstN(Math.min(n, test.count)));
  return noGrad(() => measureLayers((names) => model.runWithCache(pixels, Math.min(n, test.count), names).cache, model.config.nLayers, { eps }));
}

/** The class token's attention over the patches, per layer and head, for the first n test images; and how much of it lands on the object. */
export function crateAttention(model: Crate, test: ImageSet, n: number): { examples: AttentionExample[]; lift: number[][] } {
  const B = Math.min(n, test.count);
  const { pixels } = imageBatch(test, firstN(B));
  const L = model.config.nLayers;
  const H = model.config.nHeads;
  const T = model.tokens;
  const P = T - 1;
  const p = model.config.patch;
  const gw = test.cols / p;
  const names = Array.from({ length: L }, (_, i) => `blocks.${i}.attn.hook_pattern`);
  const { logits, cache } = noGrad(() => model.runWithCache(pixels, B, names));
  const pred = argmax(logits, -1).data;
  const liftSum = Array.from({ length: L }, () => new Array<number>(H).fill(0));
  const examples: AttentionExample[] = [];
  for (let b = 0; b < B; b++) {
    // A patch is "object" when any of its raw pixels is non-zero: Fashion-MNIST's background is exactly 0.
    const object = new Uint8Array(P);
    for (let k = 0; k < P; k++) {
      const py = Math.floor(k / gw);
      const px = k % gw;
      for (let r = 0; r < p && !object[k]; r++) for (let q = 0; q < p; q++) if (test.pixels[b * test.rows * test.cols + (py * p + r) * test.cols + px * p + q] > 0) object[k] = 1;
    }
    const objShare = object.reduce((a, v) => a + v, 0) / P;
    const maps: number[][][] = [];
    for (let l = 0; l < L; l++) {
      const pat = cache.get(names[l])!.data; // [B, H, T, T]
      const heads: number[][] = [];
      for (let h = 0; h < H; h++) {
        const row = (b * H + h) * T * T; // query = class token (0)
        let total = 0;
        let onObject = 0;
        const m: number[] = [];
        for (let k = 0; k < P; k++) {
          const v = pat[row + 1 + k];
          m.push(Math.round(v * 1e4) / 1e4);
          total += v;
          if (object[k]) onObject += v;
        }
        if (total > 0 && objShare > 0) liftSum[l][h] += onObject / total / objShare;
        heads.push(m);
      }
      maps.push(heads);
    }
    examples.push({ index: b, label: FASHION_MNIST_CLASSES[test.labels[b]], crate_pred: FASHION_MNIST_CLASSES[pred[b]], pixels: Array.from(test.pixels.subarray(b * test.rows * test.cols, (b + 1) * test.rows * test.cols)), maps });
  }
  return { examples, lift: liftSum.map((r) => r.map((v) => v / B)) };
}

export async function runCrateFashion(cfg: CrateFashionConfig, opts: CrateFashionOptions = {}): Promise<CrateFashionResult> {
  validateCrateFashionConfig(cfg);
  const t0 = performance.now();
  const dataset = fashionMnistDir(opts.dataDir);
  const train = loadFashionMnist('train', { dir: opts.dataDir, limit: cfg.trainImages > 0 ? cfg.trainImages : undefined });
  const test = loadFashionMnist('test', { dir: opts.dataDir });
  // A resume is checked before the run directory is touched.
  const resumeFrom = opts.resume ? readTrainingCheckpoint<ClassifierCheckpointExtra>(opts.resume, 'crate-fashion', cfg) : null;
  const run = opts.runDir ? new RunDir(opts.runDir) : RunDir.create(opts.outRoot ?? 'runs', 'crate-fashion');
  const ccfg = crateConfigOf(cfg, test.rows, test.cols);
  const vcfg = vitConfigOf(cfg, test.rows, test.cols);
  run.writeJson('config.json', { experiment: 'crate-fashion', glassbox_version: VERSION, dataset, config: cfg, crate: ccfg, vit: vcfg });
  const training = { epochs: cfg.epochs, batch: cfg.batch, lr: cfg.lr, weightDecay: cfg.weightDecay, seed: cfg.seed };
  const result: CrateFashionResult = {
    experiment: 'crate-fashion', glassbox_version: VERSION, dataset, config: cfg,
    image: { rows: test.rows, cols: test.cols, patch: cfg.patch, grid: [test.rows / cfg.patch, test.cols / cfg.patch] },
    train_images: train.count, attention: [], seconds: 0, run_dir: run.path, report: run.file('report.html'), aborted: false, checkpoint: null,
  };

  // Resuming: the checkpoint says which model was training; a finished CRATE is read back from its own checkpoint beside it.
  const resumeTag = resumeFrom?.extra.tag;
  const stopped = (trained: TrainedClassifier, ckpt: string): boolean => {
    if (!trained.aborted) return false;
    result.aborted = true;
    result.checkpoint = ckpt;
    return true;
  };
  if (cfg.models !== 'vit') {
    const model = new Crate(ccfg);
    const layersInit = crateLayerRates(model, test, cfg.rateImages, cfg.eps);
    const ckpt = `${run.checkpoints}/crate.safetensors`;
    let trained: TrainedClassifier;
    if (resumeTag === 'vit') {
      const done = readTrainingCheckpoint<ClassifierCheckpointExtra>(join(dirname(opts.resume!), 'crate.safetensors'), 'crate-fashion', cfg);
      model.loadStateDict(modelTensors(done.loaded));
      model.eval();
      trained = { steps: done.state.step, seconds: done.state.seconds, aborted: false, history: done.extra.history };
    } else {
      trained = await trainClassifier(model, train, test, training, {
        evalImages: cfg.evalImages, signal: opts.signal,
        onEvent: (e) => opts.onEvent?.('crate', e),
        onMetric: (r) => run.appendMetric({ model: 'crate', ...r }),
        checkpoint: { path: ckpt, experiment: 'crate-fashion', config: cfg, modelConfig: ccfg, tag: 'crate' },
        resumeFrom: resumeTag === 'crate' ? resumeFrom! : undefined,
      });
    }
    if (!stopped(trained, ckpt)) {
      const layers = crateLayerRates(model, test, cfg.rateImages, cfg.eps);
      const attn = crateAttention(model, test, cfg.attentionImages);
      result.attention = attn.examples;
      result.crate = {
        params: model.paramCount(), test_acc: accuracy(model, test), seconds: trained.seconds, steps: trained.steps,
        rc_per_layer: layers.map((l) => l.Rc), r_per_layer: layers.map((l) => l.R),
        sparsity_per_layer: layers.map((l) => l.zeroFraction), l1_l2_per_layer: layers.map((l) => l.l1OverL2),
        layers_init: layersInit, layers_trained: layers, object_attention_lift: attn.lift, history: trained.history,
      };
    }
  }
  if (cfg.models !== 'crate' && !result.aborted) {
    const model = new ViT(vcfg);
    const ckpt = `${run.checkpoints}/vit.safetensors`;
    const trained = await trainClassifier(model, train, test, training, {
      evalImages: cfg.evalImages, signal: opts.signal,
      onEvent: (e) => opts.onEvent?.('vit', e),
      onMetric: (r) => run.appendMetric({ model: 'vit', ...r }),
      checkpoint: { path: ckpt, experiment: 'crate-fashion', config: cfg, modelConfig: vcfg, tag: 'vit' },
      resumeFrom: resumeTag === 'vit' ? resumeFrom! : undefined,
    });
    if (!stopped(trained, ckpt)) result.vit = { params: model.paramCount(), test_acc: accuracy(model, test), seconds: trained.seconds, steps: trained.steps, history: trained.history };
  }
  result.seconds = (performance.now() - t0) / 1000;
  run.writeJson('result.json', result);
  // An interrupted run has half its models; the report is drawn when it is resumed to the end.
  if (opts.render && !result.aborted) writeFileAtomic(result.report, opts.render(result));
  return result;
}

/** `glassbox run crate-fashion`. */
export const crateFashionExperiment = defineExperiment<CrateFashionSettings, CrateFashionResult>({
  name: 'crate-fashion',
  description: 'the white-box transformer (CRATE, arXiv 2306.01129): train CRATE and a same-size ViT on Fashion-MNIST; coding rate, sparsity and attention maps per layer',
  settings: CRATE_FASHION_SETTINGS,
  presets: {
    default: { help: '3 epochs, about 6 min on 2 cores', config: { data: DEFAULT_FASHION_MNIST_DIR, ...CRATE_FASHION_PRESETS.default } },
    reference: { help: 'the 15-epoch reference set-up, about 31 min on 2 cores', config: { data: DEFAULT_FASHION_MNIST_DIR, ...CRATE_FASHION_PRESETS.reference } },
    tiny: { help: 'smoke test, seconds', config: { data: DEFAULT_FASHION_MNIST_DIR, ...CRATE_FASHION_PRESETS.tiny } },
  },
  defaultPreset: 'default',
  validate: (c) => validateCrateFashionConfig(c),
  resumable: true,
  // The ViT's checkpoint once it has one (the finished CRATE is read back from its own file), else the CRATE's.
  resumeCheckpoint: (runDir) => (existsSync(join(runDir, 'checkpoints', 'vit.safetensors')) ? join(runDir, 'checkpoints', 'vit.safetensors') : join(runDir, 'checkpoints', 'crate.safetensors')),
  interrupted: (r) => (r.aborted ? `interrupted; resume with --resume ${r.checkpoint}` : null),
  run(input, ctx) {
    const { data, ...cfg } = input;
    const steps = Math.floor((cfg.trainImages > 0 ? Math.min(cfg.trainImages, 60000) : 60000) / cfg.batch) * cfg.epochs;
    let acc = '-';
    let current = '';
    return runCrateFashion(cfg, {
      dataDir: data, outRoot: ctx.outRoot, runDir: ctx.runDir, resume: ctx.resume, signal: ctx.signal, render: ctx.render,
      onEvent: (model, e) => {
        if (model !== current) ctx.progress.phase(model, steps, ['loss', 'acc', 'eta']);
        current = model;
        if (e.type === 'eval') acc = `${(e.metrics.test_acc * 100).toFixed(1)}%`;
        if (e.type === 'step') ctx.progress.update(e.step, { loss: e.loss.toFixed(4), acc, eta: formatSeconds(e.etaSeconds) });
      },
    });
  },
  summary(r) {
    const lines: string[] = [];
    if (r.crate) {
      const c = r.crate;
      lines.push(`CRATE: test accuracy ${(c.test_acc * 100).toFixed(2)}%, ${c.params} parameters, ${formatSeconds(c.seconds)}`);
      lines.push(`  R^c per layer ${c.rc_per_layer.map((v) => v.toFixed(1)).join(' ')}; ISTA zeros ${c.sparsity_per_layer.map((v) => (v * 100).toFixed(0) + '%').join(' ')}`);
    }
    if (r.vit) lines.push(`ViT:   test accuracy ${(r.vit.test_acc * 100).toFixed(2)}%, ${r.vit.params} parameters, ${formatSeconds(r.vit.seconds)}`);
    lines.push(`report: ${r.report}`);
    return lines;
  },
});
