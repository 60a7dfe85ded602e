// `glassbox run sae-lm`: flags → library → text or JSON. No numerics live here.

import { Command, Option } from 'commander';
import { intArg, floatArg } from './args.js';
import { progressBar, formatSeconds } from './progress.js';
import { SAE_LM_PRESETS, runSaeLm, type SaeLmConfig } from '../experiments/sae-lm.js';
import type { SaeLmResult } from '../experiments/sae-lm-result.js';
import { renderSaeLmReport } from '../report/sae-lm-report.js';

const list = (parse: (v: string) => number) => (v: string): number[] => v.split(',').map((s) => parse(s.trim()));

interface Flags {
  preset: 'quick' | 'default';
  model?: string; corpus?: string; hooks?: string; expansion?: number; ks?: number[]; k?: number; auxkExpansions?: number[]; l1s?: number[];
  tokens?: number; batch?: number; lr?: number; deadWindow?: number; evalWindows?: number; seed?: number; batchtopk: boolean;
  threads?: number; out: string; json?: boolean; quiet?: boolean;
}

export function saeLmConfigFromFlags(f: Flags): SaeLmConfig {
  const c: SaeLmConfig = { ...SAE_LM_PRESETS[f.preset] };
  if (f.model) c.model = f.model;
  if (f.corpus) c.corpus = f.corpus;
  if (f.hooks) c.hooks = f.hooks.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (f.expansion !== undefined) c.expansion = f.expansion;
  if (f.ks) c.ks = f.ks;
  if (f.k !== undefined) c.primaryK = f.k;
  if (f.auxkExpansions) c.auxkExpansions = f.auxkExpansions;
  if (f.l1s) c.reluL1s = f.l1s;
  if (f.tokens !== undefined) c.tokens = f.tokens;
  if (f.batch !== undefined) {
    c.batch = f.batch;
    c.bufferRows = Math.max(c.bufferRows, 2 * f.batch);
  }
  if (f.lr !== undefined) c.lr = f.lr;
  if (f.deadWindow !== undefined) c.deadWindow = f.deadWindow;
  if (f.evalWindows !== undefined) {
    c.evalWindows = f.evalWindows;
  }
  if (f.seed !== undefined) c.seed = f.seed;
  if (!f.batchtopk) c.batchTopK = false;
  return c;
}

export function registerSaeLmRun(run: Command): void {
  run
    .command('sae-lm')
    .description('sparse autoencoders on the language model: TopK k sweeps at residual and MLP hook points, AuxK on and off, BatchTopK, ReLU-L1, feature descriptions, steering')
    .addOption(new Option('--preset <name>', 'quick (seconds on the tiny model, about a minute on the shipped one) or default (the figures of the README)').choices(['quick', 'default']).default('default'))
    .option('--model <file>', 'LM model file, or builtin (the shipped model)', 'builtin')
    .option('--corpus <dir>', 'the built corpus (glassbox corpus build)', 'lm-corpus')
    .option('--hooks <list>', 'hook points, comma-separated (default: middle and last hook_resid_post, middle hook_mlp_out); the first is the primary')
    .option('--expansion <x>', 'latents per activation dimension in the k sweep', floatArg(0.01, 1024))
    .option('--ks <list>', 'TopK k values, comma-separated', list(intArg(1)))
    .option('--k <n>', 'primary k (features, AuxK comparison, BatchTopK); must be in --ks', intArg(1))
    .option('--auxk-expansions <list>', 'expansions at which the primary TopK trains with and without AuxK', list(floatArg(0.01, 1024)))
    .option('--l1s <list>', 'ReLU-L1 coefficients at the primary hook (empty string: none)', (v: string) => (v.trim() === '' ? [] : list(floatArg(0))(v)))
    .option('--tokens <n>', 'training activations per SAE', intArg(1))
    .option('--batch <n>', 'activations per step', intArg(1, 1 << 20))
    .option('--lr <x>', 'learning rate (Adam)', floatArg(1e-8, 10))
    .option('--dead-window <n>', 'training tokens without a fire after which a latent is dead (and AuxK revives it)', intArg(1))
    .option('--eval-windows <n>', 'validation windows of the model\'s context to measure on', intArg(1, 100000))
    .option('--seed <n>', 'seed', intArg(0, 2 ** 31 - 1))
    .option('--no-batchtopk', 'skip the BatchTopK SAE')
    .option('--threads <n>', 'matmul threads (results are identical for any count)', intArg(1, 64))
    .option('--out <dir>', 'parent folder of run directories', 'runs')
    .option('--json', 'print a JSON summary to stdout')
    .option('--quiet', 'no progress')
    .action(async (flags: Flags) => {
      const cfg = saeLmConfigFromFlags(flags);
      const quiet = flags.quiet || flags.json;
      let bar: ReturnType<typeof progressBar> | null = null;
      const result = await runSaeLm(cfg, {
        preset: flags.preset,
        outRoot: flags.out,
        threads: flags.threads,
        onProgress: (m) => {
          bar?.stop();
          bar = null;
          if (!quiet) process.stderr.write(`sae-lm: ${m}\n`);
        },
        onStep: (step, total, tokens) => {
          if (quiet) return;
          if (!bar) bar = progressBar(total, '{bar} step {value}/{total} | {tokens} activations | ETA {eta}', {});
          bar.update(step, { tokens });
        },
        render: (r, d) => renderSaeLmReport(r, d),
      });
      (bar as ReturnType<typeof progressBar> | null)?.stop();
      if (flags.json) process.stdout.write(JSON.stringify(jsonSummary(result), null, 2) + '\n');
      else process.stdout.write(textSummary(result));
    });
}

function jsonSummary(r: SaeLmResult): unknown {
  return {
    experiment: r.experiment, run_dir: r.run_dir, report: r.report, model_path: r.model_path, model_sha256: r.model_sha256, hooks: r.hooks, ce: r.ce,
    saes: r.saes.map((s) => ({ name: s.name, hook: s.hook, arch: s.arch, k_or_l1: s.k_or_l1, auxk: s.auxk, n: s.n, l0: s.l0, fvu: s.fvu, ce_score: s.ce_score, dead_fraction: s.dead_fraction, activations_per_s: s.activations_per_s })),
    auxk_comparison: r.auxk_comparison, targets: r.targets,
    features: r.features.map((f) => ({ hook: f.hook, sae: f.sae, live: f.live, interpretable: f.interpretable, random: f.random, best: f.best.slice(0, 5), worst: f.worst.slice(0, 3) })),
    steering: r.steering.map((s) => ({ feature: s.feature, description: s.description, prompt: s.prompt, description_follows: s.description_follows, promoted_follows: s.promoted_follows })),
    throughput: r.throughput, seconds: r.seconds,
  };
}

function textSummary(r: SaeLmResult): string {
  const lines = [`${'SAE'.padEnd(34)} ${'L0'.padStart(7)} ${'FVU'.padStart(8)} ${'CE score'.padStart(9)} ${'dead'.padStart(7)}`];
  for (const s of r.saes) lines.push(`${s.name.padEnd(34)} ${s.l0.toFixed(2).padStart(7)} ${s.fvu.toFixed(4).padStart(8)} ${s.ce_score.toFixed(4).padStart(9)} ${(s.dead_fraction * 100).toFixed(1).padStart(6)}%`);
  for (const c of r.auxk_comparison) lines.push(`dead latents, TopK k=${c.k} n=${c.n} at ${c.hook}: ${(c.with_auxk.dead_probe_final * 100).toFixed(1)}% with AuxK, ${(c.without_auxk.dead_probe_final * 100).toFixed(1)}% without (on the ${r.probe_tokens}-token probe window)`);
  for (const t of r.targets) lines.push(`target at ${t.hook}: ${t.sae ?? 'no TopK SAE with L0 <= 32'}${t.sae ? ` FVU ${t.fvu!.toFixed(3)} (${t.fvu_met ? 'met' : 'missed'}), CE score ${t.ce_score!.toFixed(3)} (${t.ce_met ? 'met' : 'missed'})` : ''}`);
  for (const f of r.features) lines.push(`${f.sae}: ${f.interpretable['f1_0.70']} of ${f.live} live latents described with F1 >= 0.7; untrained baseline ${f.random.interpretable['f1_0.70']} of ${f.random.live}`);
  lines.push(`SAE training ${Math.round(r.throughput.sae_activations_per_s)} activations/s, LM ${Math.round(r.throughput.lm_tokens_per_s)} tokens/s; ${formatSeconds(r.seconds)}; report: ${r.report}`);
  return lines.join('\n') + '\n';
}
