// The typed, JSON-ready result of `glassbox run sae-addition`.

import type { SaeArch } from '../lens/sae/config.js';
import type { SaeStepRecord } from '../lens/sae/train.js';
import type { FeatureDashboard } from '../lens/sae/features.js';
import type { LatentMatch } from './sae-addition-labels.js';

export interface SaeSummary {
  name: string;
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
  /** The CE score over answer-digit targets only (the tokens the model can actually predict). */
  ce_score_answer: number;
  kl_score: number;
  ce_spliced: number;
  /** Latents that never fire on the evaluation tokens. */
  dead_fraction: number;
  /** Latents dead by the training tracker (no fire in the last deadWindow tokens) at the end. */
  dead_fraction_train: number;
  density_histogram: { edges: number[]; counts: number[]; dead: number };
  history: SaeStepRecord[];
  seconds: number;
  file: string;
}

export interface SaeAdditionResult {
  experiment: 'sae-addition';
  glassbox_version: string;
  model_checkpoint: string;
  /** Whether this run trained the addition model itself. */
  model_trained_here: boolean;
  model_exact_match: number | null;
  hook: string;
  d: number;
  digits: number;
  eval_problems: number;
  eval_tokens: number;
  ce_clean: number;
  ce_zero_ablation: number;
  ce_clean_answer: number;
  ce_zero_ablation_answer: number;
  saes: SaeSummary[];
  /** The SAE whose features are analysed (dashboards, labels, steering default). */
  primary: string;
  auxk_comparison: { k: number; with_auxk: { dead_fraction: number; dead_fraction_train: number; fvu: number }; without_auxk: { dead_fraction: number; dead_fraction_train: number; fvu: number } } | null;
  /** Best-matching label per live latent of the primary SAE, best first. */
  feature_labels: LatentMatch[];
  /** Live latents of the primary SAE whose best label has F1 >= 0.9 / >= 0.7. */
  interpretable: { f1_090: number; f1_070: number; live: number };
  dashboards_file: string;
  config: Record<string, unknown>;
  seconds: number;
  run_dir: string;
  report: string;
}

export interface DashboardsFile {
  sae: string;
  hook: string;
  n: number;
  /** Evaluation problems as token strings, indexed by `seq` in each example. */
  examples: string[];
  features: Array<FeatureDashboard & { label: LatentMatch | null }>;
}
