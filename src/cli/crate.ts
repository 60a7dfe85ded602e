// `glassbox run crate-fashion` (and crate-mae): flags → config → experiment → progress → result.

import { Command, Option } from 'commander';
import { intArg, floatArg } from './args.js';
import { progressBar, formatSeconds } from './progress.js';
import { CRATE_FASHION_PRESETS, runCrateFashion, type CrateFashionConfig } from '../experiments/crate-fashion.js';
import { renderCrateReport } from '../report/crate-report.js';
import { CRATE_MAE_PRESETS, runCrateMAE } from '../experiments/crate-mae.js';
import { renderCrateMAEReport } from '../report/crate-mae-report.js';
import type { TrainEvent } from '../train/trainer.js';

interface CrateFlags {
  preset: keyof typeof CRATE_FASHION_PRESETS;
  data?: string;
  dModel?: number;
  heads?: number;
  layers?: number;
  patch?: number;
  epochs?: number;
  batch?: number;
  lr?: number;
  trainImages?: number;
  lambda?: number;
  eps?: number;
  seed?: number;
  models?: CrateFashionConfig['models'];
  threads?: number;
  out: string;
  json?: boolean;
  quiet?: boolean;
}

export function crateConfigFromFlags(f: CrateFlags): CrateFashionConfig {
  const cfg: CrateFashionConfig = { ...CRATE_FASHION_PRESETS[f.preset] };
  if (f.dModel !== undefined) cfg.dModel = f.dModel;
  if (f.heads !== undefined) cfg.heads = f.heads;
  if (f.layers !== undefined) cfg.layers = f.layers;
  if (f.patch !== undefined) cfg.patch = f.patch;
  if (f.epochs !== undefined) cfg.epochs = f.epochs;
  if (f.batch !== undefined) cfg.batch = f.batch;
  if (f.lr !== undefined) cfg.lr = f.lr;
  if (f.trainImages !== undefined) cfg.trainImages = f.trainImages;
  if (f.lambda !== undefined) cfg.lambda = f.lambda;
  if (f.eps !== undefined) cfg.eps = f.eps;
  if (f.seed !== undefined) cfg.seed = f.seed;
  if (f.models) cfg.models = f.models;
  return cfg;
}

function withCommonFlags(cmd: Command): Command {
  return cmd
    .option('--data <dir>', 'folder with the Fashion-MNIST IDX files (default /usr/share/datasets/fashion-mnist)')
    .option('--d-model <n>', 'token width', intArg(1, 4096))
    .option('--heads <n>', 'attention heads (must divide d-model)', intArg(1, 256))
    .option('--layers <n>', 'layers', intArg(1, 64))
    .option('--patch <n>', 'patch size (must divide 28)', intArg(1, 28))
    .option('--epochs <n>', 'epochs', intArg(1, 1000))
    .option('--batch <n>', 'images per step', intArg(1, 65536))
    .option('--lr <x>', 'peak learning rate (AdamW, one-cycle)', floatArg(1e-8, 10))
    .option('--train-images <n>', 'use the first n training images (0 = all 60,000)', intArg(0, 60000))
    .option('--seed <n>', 'seed of init, data order and everything random', intArg(0, 2 ** 31 - 1))
    .option('--threads <n>', 'matmul threads (results are identical for any count)', intArg(1, 64))
    .option('--out <dir>', 'parent folder of run directories', 'runs')
    .option('--json', 'print the result as JSON to stdout')
    .option('--quiet', 'no progress bar');
}

export function registerCrateRuns(run: Command): void {
  withCommonFlags(
    run
      .command('crate-fashion')
      .description("the white-box transformer (CRATE, arXiv 2306.01129): train CRATE and a same-size ViT on Fashion-MNIST; coding rate, sparsity and attention maps per layer")
      .addOption(new Option('--preset <name>', 'default (3 epochs, about 6 min on 2 cores), reference (the 15-epoch reference set-up, about 31 min on 2 cores) or tiny (smoke test)').choices(Object.keys(CRATE_FASHION_PRESETS)).default('default'))
      .option('--lambda <x>', 'ISTA sparsity penalty λ', floatArg(0, 100))
      .option('--eps <x>', 'coding-rate distortion ε', floatArg(1e-12, 100))
      .addOption(new Option('--models <which>', 'train both models or one').choices(['both', 'crate', 'vit'])),
  ).action(async (flags: CrateFlags) => {
    const cfg = crateConfigFromFlags(flags);
    const steps = Math.floor((cfg.trainImages > 0 ? Math.min(cfg.trainImages, 60000) : 60000) / cfg.batch) * cfg.epochs;
    const bar = progressBar(steps, '{model} {bar} step {value}/{total} | loss {loss} | test acc {acc} | ETA {eta}', { quiet: flags.quiet || flags.json });
    const controller = new AbortController();
    const onSigint = () => controller.abort();
    process.once('SIGINT', onSigint);
    let acc = '-';
    const onEvent = (model: string, e: TrainEvent) => {
      if (e.type === 'eval') acc = `${(e.metrics.test_acc * 100).toFixed(1)}%`;
      if (e.type === 'step') bar.update(e.step, { model, loss: e.loss.toFixed(4), acc, eta: formatSeconds(e.etaSeconds) });
    };
    try {
      const result = await runCrateFashion(cfg, { dataDir: flags.data, outRoot: flags.out, threads: flags.threads, onEvent, signal: controller.signal, render: renderCrateReport });
      bar.stop();
      if (flags.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
      else {
        const lines: string[] = [];
        if (result.crate) {
          const c = result.crate;
          lines.push(`CRATE: test accuracy ${(c.test_acc * 100).toFixed(2)}%, ${c.params} parameters, ${formatSeconds(c.seconds)}`);
          lines.push(`  R^c per layer ${c.rc_per_layer.map((v) => v.toFixed(1)).join(' ')}; ISTA zeros ${c.sparsity_per_layer.map((v) => (v * 100).toFixed(0) + '%').join(' ')}`);
        }
        if (result.vit) lines.push(`ViT:   test accuracy ${(result.vit.test_acc * 100).toFixed(2)}%, ${result.vit.params} parameters, ${formatSeconds(result.vit.seconds)}`);
        lines.push(`report: ${result.report}`);
        process.stdout.write(lines.join('\n') + '\n');
      }
    } finally {
      bar.stop();
      process.off('SIGINT', onSigint);
    }
  });
  registerCrateMAE(run);
}

function registerCrateMAE(run: Command): void {
  withCommonFlags(
    run
      .command('crate-mae')
      .description('CRATE-MAE: a CRATE encoder (λ = 0.5) and a mirrored decoder reconstruct Fashion-MNIST images from 25% of their patches')
      .addOption(new Option('--preset <name>', 'default (3 epochs of 10,000 images, 468 steps; not yet timed with the step arena) or tiny (smoke test)').choices(Object.keys(CRATE_MAE_PRESETS)).default('default'))
      .option('--mask-ratio <x>', 'share of patches hidden from the encoder', floatArg(0, 0.99))
      .option('--lambda <x>', 'encoder ISTA sparsity penalty λ', floatArg(0, 100)),
  ).action(async (flags: CrateFlags & { preset: keyof typeof CRATE_MAE_PRESETS; maskRatio?: number }) => {
    const cfg = { ...CRATE_MAE_PRESETS[flags.preset] };
    for (const k of ['dModel', 'heads', 'layers', 'patch', 'epochs', 'batch', 'lr', 'trainImages', 'lambda', 'seed', 'maskRatio'] as const) {
      const v = flags[k];
      if (v !== undefined) cfg[k] = v;
    }
    const steps = Math.floor((cfg.trainImages > 0 ? Math.min(cfg.trainImages, 60000) : 60000) / cfg.batch) * cfg.epochs;
    const bar = progressBar(steps, '{bar} step {value}/{total} | masked MSE {loss} | ETA {eta}', { quiet: flags.quiet || flags.json });
    const controller = new AbortController();
    const onSigint = () => controller.abort();
    process.once('SIGINT', onSigint);
    try {
      const result = await runCrateMAE(cfg, {
        dataDir: flags.data, outRoot: flags.out, threads: flags.threads, signal: controller.signal, render: renderCrateMAEReport,
        onEvent: (e) => {
          if (e.type === 'step') bar.update(e.step, { loss: e.loss.toFixed(4), eta: formatSeconds(e.etaSeconds) });
        },
      });
      bar.stop();
      if (flags.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
      else process.stdout.write(`CRATE-MAE: masked-patch MSE ${result.test_mse_masked.toFixed(4)} (mean-image baseline ${result.baseline_mse_masked.toFixed(4)}), ${result.params} parameters, ${formatSeconds(result.seconds)}\nreport: ${result.report}\n`);
    } finally {
      bar.stop();
      process.off('SIGINT', onSigint);
    }
  });
}
