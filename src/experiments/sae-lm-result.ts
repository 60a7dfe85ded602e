// The typed, JSON-ready result of `glassbox run sae-lm`.

import type { SaeArch } from '../lens/sae/config.js';
import type { SaeStepRecord } from '../lens/sae/train.js';
import type { LatentDescription } from '../lens/sae/describe.js';

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
