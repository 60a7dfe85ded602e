// The typed, JSON-ready result of `glassbox run sae-lm`.

import type { SaeArch } from '../lens/sae/config.js';
import type { SaeStepRecord } from '../lens/sae/train.js';
import type { LatentDescription } from '../lens/sae/describe.js';
import { formatSeconds } from './experiment.js';

/** Dead fraction at one point of training. */
export interface DeadPoint {
  tokens: number;
  /** Latents that fire on none of the fixed probe window's tokens. */
  dead_probe: number;
  /** Latents with no fire in the last deadWindow training tokens (the tracker AuxK uses). */
  dead_tracker: number;
}

export interface SaeLmSummary {
  name: string;
  hook: string;
  arch: SaeArch;
  /** k for TopK and BatchTopK, the L1 coefficient for ReLU. */
  k_or_l1: number;
  auxk: boolean;
  n: number;
  l0: number;
  fvu: number;
  mse: number;
  cosine: number;
  ce_score: number;
  kl_score: number;
  ce_spliced: number;
  /** Latents that never fire on the evaluation tokens. */
  dead_fraction: number;
  dead_fraction_train: number;
  density_histogram: { edges: number[]; counts: number[]; dead: number };
  /** Dead fraction over training (the SAEs of the AuxK comparison only; empty for the others). */
  dead_over_training: DeadPoint[];
  history: SaeStepRecord[];
  /** Seconds in this SAE's training steps (not the model's forward passes). */
  seconds: number;
  activations_per_s: number;
  file: string;
}

export interface HookFeatures {
  hook: string;
  sae: string;
  live: number;
  interpretable: Record<string, number>;
  /** The same counts for an untrained SAE of the same shape: random unit directions, b_pre at the geometric median. */
  random: { sae: string; live: number; interpretable: Record<string, number>; fvu: number; l0: number };
  best: LatentDescription[];
  worst: LatentDescription[];
  dashboards_file: string;
}

export interface SteeringRow {
  feature: number;
  description: string;
  f1: number;
  prompt: string;
  /** scale is a multiple of the feature's largest activation on the evaluation tokens. */
  runs: Array<{ multiple: number; scale: number; text: string; description_rate: number; promoted_rate: number }>;
  /** The description's property holds more often in the steered text (largest multiple) than unsteered, by 0.2 or more. */
  description_follows: boolean;
  /** The feature's top promoted bytes are generated more often, by 0.2 or more. */
  promoted_follows: boolean;
}

export interface SaeLmResult {
  experiment: 'sae-lm';
  glassbox_version: string;
  preset: string;
  model_path: string;
  model_sha256: string;
  model: { layers: number; d_model: number; context: number; params: number; val_bpb: number | null };
  hooks: string[];
  eval_tokens: number;
  probe_tokens: number;
  /** Clean and zero-ablated validation CE per hook, nats per byte. */
  ce: Record<string, { clean: number; zero_ablation: number }>;
  saes: SaeLmSummary[];
  /** With and without AuxK, TopK at the primary k, at each width, on the primary hook. */
  auxk_comparison: Array<{ hook: string; k: number; n: number; with_auxk: AuxkSide; without_auxk: AuxkSide }>;
  /** Per hook: the best TopK SAE with L0 ≤ 32 against the targets (FVU ≤ 0.2, CE score ≥ 0.9). */
  targets: Array<{ hook: string; sae: string | null; l0: number | null; fvu: number | null; ce_score: number | null; fvu_met: boolean; ce_met: boolean }>;
  features: HookFeatures[];
  steering: SteeringRow[];
  throughput: { lm_tokens: number; lm_seconds: number; lm_tokens_per_s: number; sae_activations: number; sae_seconds: number; sae_activations_per_s: number; pytorch: string };
  config: Record<string, unknown>;
  seconds: number;
  /** Wall seconds of training (with the model's forwards and the probes), evaluation, feature reading and steering. */
  phase_seconds: Record<string, number>;
  run_dir: string;
  report: string;
}

export interface AuxkSide {
  dead_fraction: number;
  dead_probe_final: number;
  dead_fraction_train: number;
  fvu: number;
  ce_score: number;
}

/** The run's figures for --json: the SAEs' metrics, the comparisons, features and steering, without the series. */
export function saeLmJson(r: SaeLmResult): unknown {
  return {
    experiment: r.experiment, run_dir: r.run_dir, report: r.report, model_path: r.model_path, model_sha256: r.model_sha256, hooks: r.hooks, ce: r.ce,
    saes: r.saes.map((s) => ({ name: s.name, hook: s.hook, arch: s.arch, k_or_l1: s.k_or_l1, auxk: s.auxk, n: s.n, l0: s.l0, fvu: s.fvu, ce_score: s.ce_score, dead_fraction: s.dead_fraction, activations_per_s: s.activations_per_s })),
    auxk_comparison: r.auxk_comparison, targets: r.targets,
    features: r.features.map((f) => ({ hook: f.hook, sae: f.sae, live: f.live, interpretable: f.interpretable, random: f.random, best: f.best.slice(0, 5), worst: f.worst.slice(0, 3) })),
    steering: r.steering.map((s) => ({ feature: s.feature, description: s.description, prompt: s.prompt, description_follows: s.description_follows, promoted_follows: s.promoted_follows })),
    throughput: r.throughput, seconds: r.seconds,
  };
}

/** The run's figures as lines for the terminal. */
export function saeLmText(r: SaeLmResult): string {
  const lines = [`${'SAE'.padEnd(34)} ${'L0'.padStart(7)} ${'FVU'.padStart(8)} ${'CE score'.padStart(9)} ${'dead'.padStart(7)}`];
  for (const s of r.saes) lines.push(`${s.name.padEnd(34)} ${s.l0.toFixed(2).padStart(7)} ${s.fvu.toFixed(4).padStart(8)} ${s.ce_score.toFixed(4).padStart(9)} ${(s.dead_fraction * 100).toFixed(1).padStart(6)}%`);
  for (const c of r.auxk_comparison) lines.push(`dead latents, TopK k=${c.k} n=${c.n} at ${c.hook}: ${(c.with_auxk.dead_probe_final * 100).toFixed(1)}% with AuxK, ${(c.without_auxk.dead_probe_final * 100).toFixed(1)}% without (on the ${r.probe_tokens}-token probe window)`);
  for (const t of r.targets) lines.push(`target at ${t.hook}: ${t.sae ?? 'no TopK SAE with L0 <= 32'}${t.sae ? ` FVU ${t.fvu!.toFixed(3)} (${t.fvu_met ? 'met' : 'missed'}), CE score ${t.ce_score!.toFixed(3)} (${t.ce_met ? 'met' : 'missed'})` : ''}`);
  for (const f of r.features) lines.push(`${f.sae}: ${f.interpretable['f1_0.70']} of ${f.live} live latents described with F1 >= 0.7; untrained baseline ${f.random.interpretable['f1_0.70']} of ${f.random.live}`);
  lines.push(`SAE training ${Math.round(r.throughput.sae_activations_per_s)} activations/s, LM ${Math.round(r.throughput.lm_tokens_per_s)} tokens/s; ${formatSeconds(r.seconds)}; report: ${r.report}`);
  return lines.join('\n') + '\n';
}
