// `glassbox run interactions-addition`: flags → config → experiment → progress → result.

import { Command, InvalidArgumentError } from 'commander';
import { intArg, floatArg } from './args.js';
import { progressBar, formatSeconds } from './progress.js';
import { INTERACTIONS_DEFAULTS, runInteractionsAddition } from '../experiments/interactions-addition.js';
import type { InteractionsAdditionConfig } from '../experiments/interactions-addition-result.js';
import { renderInteractionsReport } from '../report/interactions-report.js';

interface Flags {
  digits?: number;
  trainSize?: number;
  steps?: number;
  batch?: number;
  lr?: number;
  layers?: number;
  dModel?: number;
  heads?: number;
  seed?: number;
  answerDigit?: number;
  checkpoints?: number[];
  samples?: number;
  lossProblems?: number;
  sparsifyIterations?: number;
  sparsifyLr?: number;
  threads?: number;
  out: string;
  json?: boolean;
  quiet?: boolean;
}

function stepList(v: string): number[] {
  const parts = v.split(',').map((s) => s.trim());
  if (parts.some((s) => !/^\d+$/.test(s))) throw new InvalidArgumentError(`expected comma-separated step numbers like 0,100,1000, got "${v}"`);
  return parts.map(Number);
}

export function interactionsConfigFromFlags(f: Flags): InteractionsAdditionConfig {
  const c: InteractionsAdditionConfig = { ...INTERACTIONS_DEFAULTS, checkpoints: [...INTERACTIONS_DEFAULTS.checkpoints] };
  const set = <K extends keyof InteractionsAdditionConfig>(k: K, v: InteractionsAdditionConfig[K] | undefined) => { if (v !== undefined) c[k] = v; };
  set('digits', f.digits);
  set('trainSize', f.trainSize);
  set('batch', f.batch);
  set('layers', f.layers);
  set('dModel', f.dModel);
  set('heads', f.heads);
  set('seed', f.seed);
  set('answerDigit', f.answerDigit);
  set('samples', f.samples);
  set('sparsifyIterations', f.sparsifyIterations);
  set('sparsifyLr', f.sparsifyLr);
  if (f.lr !== undefined) {
    c.lr = f.lr;
    c.minLr = Math.min(c.minLr, f.lr);
  }
  if (f.steps !== undefined && f.steps !== c.steps) {
    // Keep the default grid's shape on a different training length.
    const scale = f.steps / c.steps;
    c.checkpoints = [...new Set(c.checkpoints.map((s) => Math.round(s * scale)))];
    c.steps = f.steps;
  }
  if (f.checkpoints) c.checkpoints = f.checkpoints;
  c.lossProblems = f.lossProblems ?? Math.min(c.lossProblems, c.trainSize);
  return c;
}

export function registerInteractionsCommand(program: Command): void {
  const run = program.commands.find((c) => c.name() === 'run');
  if (!run) throw new Error('registerInteractionsCommand: register the run command first');
  run
    .command('interactions-addition')
    .description("AND-OR interactions (arXiv 2405.10262) of the addition GPT's operand digits, the carry chain they expose, and their orders over training on a finite set")
    .option('--digits <k>', 'operand length k; the 2k operand digits are the variables (k ≤ 8: 2^2k masked forwards)', intArg(1, 8))
    .option('--train-size <n>', 'finite training set, sampled with replacement', intArg(1, 10_000_000))
    .option('--steps <n>', 'training steps', intArg(1))
    .option('--batch <n>', 'problems per step', intArg(1, 65536))
    .option('--lr <x>', 'peak learning rate (AdamW, warmup then cosine)', floatArg(1e-8, 10))
    .option('--layers <n>', 'transformer blocks', intArg(1, 64))
    .option('--d-model <n>', 'residual width', intArg(1, 4096))
    .option('--heads <n>', 'attention heads (must divide d-model)', intArg(1, 256))
    .option('--seed <n>', 'seed of init, data and everything random', intArg(0, 2 ** 31 - 1))
    .option('--answer-digit <j>', 'answer digit c_j whose log-odds is explained (1 = carry out, k+1 = units)', intArg(1, 16))
    .option('--checkpoints <steps>', 'comma-separated steps to save and analyse (0 = initialisation)', stepList)
    .option('--samples <n>', 'training and test problems analysed per checkpoint (each)', intArg(1, 1000))
    .option('--loss-problems <n>', 'problems scored for the train and test losses', intArg(1, 10000))
    .option('--sparsify-iterations <n>', 'SGD iterations of the AND/OR split (reference: 10,000)', intArg(1))
    .option('--sparsify-lr <x>', 'initial learning rate of the split (reference: 1e-5)', floatArg(1e-12, 10))
    .option('--threads <n>', 'matmul threads (results are identical for any count)', intArg(1, 64))
    .option('--out <dir>', 'parent folder of run directories', 'runs')
    .option('--json', 'print result.json to stdout')
    .option('--quiet', 'no progress output')
    .action(async (flags: Flags) => {
      const cfg = interactionsConfigFromFlags(flags);
      const bar = progressBar(cfg.steps, '{bar} step {value}/{total} | loss {loss} | {what}', { quiet: flags.quiet || flags.json });
      let what = '';
      const controller = new AbortController();
      const onSigint = () => controller.abort();
      process.once('SIGINT', onSigint);
      try {
        const result = await runInteractionsAddition(cfg, {
          outRoot: flags.out, threads: flags.threads, signal: controller.signal, render: renderInteractionsReport,
          onEvent: (e) => {
            if (e.type === 'step') bar.update(e.step, { loss: e.loss.toFixed(4), what });
            if (e.type === 'analysis') {
              const c = e.checkpoint;
              what = `step ${c.step}: gap ${(c.test_answer_loss - c.train_answer_loss).toFixed(3)}, mean order ${c.mean_order.toFixed(2)}`;
              bar.update(c.step, { loss: c.train_loss.toFixed(4), what });
            }
          },
        });
        bar.stop();
        if (flags.json) {
          process.stdout.write(JSON.stringify(result, null, 2) + '\n');
          return;
        }
        const lines = result.checkpoints.map((c) =>
          `step ${String(c.step).padStart(6)}  train ${c.train_loss.toFixed(4)}  test ${c.test_loss.toFixed(4)}  answer gap ${(c.test_answer_loss - c.train_answer_loss).toFixed(4)}  salient ${c.salient.toFixed(1)}  mean order ${c.mean_order.toFixed(2)}  matching ${c.matching_error.toExponential(1)}`);
        const t = result.two_phase;
        const cc = result.carry_chain;
        lines.push(
          `carry chain (${cc.answer_digit}): ${(cc.mean_chain_share * 100).toFixed(1)}% of salient AND strength inside the chain (a dependence-blind spread: ${(cc.blind_chain_share * 100).toFixed(1)}%)`,
          `dependence per digit: ${cc.variables.map((v, i) => `${v} ${cc.dependence[i]!.toFixed(2)}`).join(', ')}`,
          `two-phase: mean order ${t.order_init.toFixed(2)} at init, ${t.order_min.toFixed(2)} at step ${t.min_order_step}, ${t.order_end.toFixed(2)} at the end; gap opens ${t.gap_opens_step ?? 'never'}; phase 1 ${t.phase1 ? 'seen' : 'not seen'}, phase 2 ${t.phase2 ? 'seen' : 'not seen'}`,
          `${formatSeconds(result.seconds)}; report: ${result.report}`,
        );
        process.stdout.write(lines.join('\n') + '\n');
      } finally {
        bar.stop();
        process.off('SIGINT', onSigint);
      }
    });
}
