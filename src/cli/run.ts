// `glassbox run <experiment>`: flags → config → experiment → progress bar → result.

import { Command, Option } from 'commander';
import { intArg, floatArg } from './args.js';
import { progressBar, formatSeconds } from './progress.js';
import { PRESETS, runAddition, type AdditionConfig } from '../experiments/addition.js';
import { renderAdditionReport } from '../report/addition-report.js';
import type { TrainEvent } from '../train/trainer.js';
import { registerSaeAdditionRun } from './sae.js';
import { registerSaeLmRun } from './sae-lm.js';
import { registerCrateRuns } from './crate.js';
import { registerLmRun } from './lm.js';
import { registerScanSnapRun } from './scan-snap.js';

interface AdditionFlags {
  preset: 'default' | 'seed';
  digits?: number;
  answerOrder?: 'msf' | 'lsf';
  firstDigit?: 'uniform' | 'nonzero';
  edgeMix?: number;
  steps?: number;
  batch?: number;
  lr?: number;
  minLr?: number;
  warmup?: number;
  weightDecay?: number;
  layers?: number;
  dModel?: number;
  heads?: number;
  seed?: number;
  evalEvery?: number;
  threads?: number;
  out: string;
  resume?: string;
  json?: boolean;
  quiet?: boolean;
}

export function additionConfigFromFlags(f: AdditionFlags): AdditionConfig {
  const base = PRESETS[f.preset];
  const cfg: AdditionConfig = { ...base };
  if (f.digits !== undefined) cfg.digits = f.digits;
  if (f.answerOrder) cfg.answerOrder = f.answerOrder;
  if (f.firstDigit) cfg.firstDigit = f.firstDigit;
  if (f.edgeMix !== undefined) cfg.edgeMix = f.edgeMix;
  if (f.steps !== undefined) cfg.steps = f.steps;
  if (f.batch !== undefined) cfg.batch = f.batch;
  if (f.lr !== undefined) {
    cfg.lr = f.lr;
    cfg.minLr = Math.min(cfg.minLr, f.lr);
  }
  if (f.minLr !== undefined) {
    if (f.minLr > cfg.lr) throw new Error(`--min-lr ${f.minLr} is above the peak learning rate ${cfg.lr}`);
    cfg.minLr = f.minLr;
  }
  if (f.warmup !== undefined) cfg.warmup = f.warmup;
  if (f.weightDecay !== undefined) cfg.weightDecay = f.weightDecay;
  if (f.layers !== undefined) cfg.layers = f.layers;
  if (f.dModel !== undefined) cfg.dModel = f.dModel;
  if (f.heads !== undefined) cfg.heads = f.heads;
  if (f.seed !== undefined) cfg.seed = f.seed;
  if (f.evalEvery !== undefined) cfg.evalEvery = f.evalEvery;
  cfg.warmup = Math.min(cfg.warmup, cfg.steps);
  return cfg;
}

export function registerRunCommand(program: Command): void {
  const run = program.command('run').description('run an experiment and write its run directory (config, metrics, checkpoints, result, report)');
  registerCrateRuns(run);
  run
    .command('addition')
    .description("the addition lab: train a GPT on k-digit addition and watch training loss become compressed size")
    .addOption(new Option('--preset <name>', 'starting configuration: default (3 digits, about 3 minutes on 2 cores) or seed (the original 8-digit experiment, 30,000 steps, about 22 minutes on 2 cores, extrapolated from steps 200-1,200)').choices(['default', 'seed']).default('default'))
    .option('--digits <k>', 'operand length k (sequence s a+b=c e of 3k+5 tokens)', intArg(1, 15))
    .addOption(new Option('--answer-order <order>', 'answer digits most- or least-significant first').choices(['msf', 'lsf']))
    .addOption(new Option('--first-digit <mode>', 'leading operand digit: uniform 0-9, or 1-9 as in the minGPT reference lab\'s code').choices(['uniform', 'nonzero']))
    .option('--edge-mix <q>', 'share of training problems with every digit from 0,1,4,5,9, so runs of zeros and 5+5 carries are seen (0 = the pure uniform stream)', floatArg(0, 1))
    .option('--steps <n>', 'training steps (at most; stops early at the target)', intArg(1))
    .option('--batch <n>', 'problems per step', intArg(1, 65536))
    .option('--lr <x>', 'peak learning rate (AdamW, warmup then cosine)', floatArg(1e-8, 10))
    .option('--min-lr <x>', 'learning rate at the end of the cosine decay', floatArg(0, 10))
    .option('--warmup <n>', 'steps of linear learning-rate warmup', intArg(0))
    .option('--weight-decay <x>', 'AdamW decoupled weight decay', floatArg(0, 10))
    .option('--layers <n>', 'transformer blocks', intArg(1, 64))
    .option('--d-model <n>', 'residual width', intArg(1, 4096))
    .option('--heads <n>', 'attention heads (must divide d-model)', intArg(1, 256))
    .option('--seed <n>', 'seed of init, data and everything random', intArg(0, 2 ** 31 - 1))
    .option('--eval-every <n>', 'steps between held-out evaluations', intArg(1))
    .option('--threads <n>', 'matmul threads (results are identical for any count)', intArg(1, 64))
    .option('--out <dir>', 'parent folder of run directories', 'runs')
    .option('--resume <checkpoint>', 'continue a run from its checkpoint (same flags), bit-identically')
    .option('--json', 'print result.json to stdout')
    .option('--quiet', 'no progress bar')
    .action(async (flags: AdditionFlags) => {
      const cfg = additionConfigFromFlags(flags);
      const bar = progressBar(cfg.steps, '{bar} step {value}/{total} | loss {loss} | exact {exact} | {tps} tok/s | ETA {eta}', { quiet: flags.quiet });
      let exact = '-';
      const controller = new AbortController();
      const onSigint = () => controller.abort();
      process.once('SIGINT', onSigint);
      const onEvent = (e: TrainEvent) => {
        if (e.type === 'eval') exact = `${(e.metrics.exact_match * 100).toFixed(1)}%`;
        if (e.type === 'step') bar.update(e.step, { loss: e.loss.toFixed(4), exact, tps: Math.round(e.tokensPerSecond), eta: formatSeconds(e.etaSeconds) });
      };
      try {
        if (!flags.json && !flags.quiet) {
          process.stderr.write(`addition: ${cfg.digits}-digit operands, answer ${cfg.answerOrder}, ${cfg.layers} layers × d${cfg.dModel} × ${cfg.heads} heads, up to ${cfg.steps} steps of ${cfg.batch}\n`);
        }
        const result = await runAddition(cfg, { outRoot: flags.out, threads: flags.threads, onEvent, signal: controller.signal, resume: flags.resume, render: renderAdditionReport });
        bar.stop();
        if (flags.json) {
          process.stdout.write(JSON.stringify(result, null, 2) + '\n');
        } else {
          const gap = result.eval_loss - result.loss_floor;
          process.stdout.write(
            [
              `held-out exact match ${(result.exact_match * 100).toFixed(2)}% (carry cases ${(result.carry_exact_match * 100).toFixed(0)}%)`,
              `held-out loss ${result.eval_loss.toFixed(4)} nats/token; floor ${result.loss_floor.toFixed(4)} (gap ${gap.toFixed(4)})`,
              `training stream: area under the training loss ${(result.bits.area_under_loss_bits / 8 / 1024).toFixed(1)} KiB vs ${(result.bits.raw_bits / 8 / 1024).toFixed(1)} KiB raw (floor ${(result.bits.floor_bits / 8 / 1024).toFixed(1)} KiB)`,
              `${result.steps} steps, ${formatSeconds(result.seconds)}${controller.signal.aborted ? ' (interrupted; resume with --resume ' + result.checkpoint + ')' : ''}`,
              `report: ${result.report}`,
            ].join('\n') + '\n',
          );
        }
      } finally {
        bar.stop();
        process.off('SIGINT', onSigint);
      }
    });
  registerSaeAdditionRun(run);
  registerSaeLmRun(run);
  registerLmRun(run);
  registerScanSnapRun(run);
}
