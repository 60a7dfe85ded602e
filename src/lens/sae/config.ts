// What an SAE is and how it is trained: the knobs of the ReLU-L1 recipe
// (Bricken et al., "Towards Monosemanticity") and of TopK with AuxK (Gao et
// al., arXiv 2406.04093), with checks that name the bad value. Shapes follow SAELens: W_enc [d, n], W_dec [n, d].

export type SaeArch = 'relu' | 'topk' | 'batchtopk';

export interface SaeShape {
  arch: SaeArch;
  /** Width of the activations it reads (the hook's last axis). */
  d: number;
  /** Number of latents (d · expansion). */
  n: number;
  /** Active latents per token (TopK), or on average per token (BatchTopK). Unused for ReLU. */
  k: number;
}

export interface SaeTrainConfig {
  arch: SaeArch;
  expansion: number;
  k: number;
  /** L1 coefficient of the ReLU SAE (on f_i · ||W_dec[i]||). */
  l1: number;
  lr: number;
  /** Activations per optimiser step. */
  batch: number;
  /** Activations to train on in total. */
  tokens: number;
  /** Use the AuxK loss (TopK and BatchTopK). */
  auxk: boolean;
  /** Dead latents revived per token by AuxK; 0 means d/2. */
  kAux: number;
  /** Coefficient of the AuxK loss (OpenAI: 1/32). */
  auxCoef: number;
  /** A latent that has not fired for this many training tokens counts as dead. */
  deadWindow: number;
  /** Activations sampled for the geometric median that initialises b_pre. */
  medianSample: number;
  /**
   * Train on activations scaled so that E||x||² = d (SAELens's normalisation),
   * which makes L1 coefficients and learning rates comparable across hook
   * points; the scale is folded into the weights afterwards, so the SAE reads
   * and writes raw activations.
   */
  normalize: boolean;
  seed: number;
}

export const DEFAULT_TRAIN: SaeTrainConfig = {
  arch: 'topk', expansion: 8, k: 8, l1: 1e-2, lr: 1e-3, batch: 512, tokens: 500_000,
  auxk: true, kAux: 0, auxCoef: 1 / 32, deadWindow: 50_000, medianSample: 2048, normalize: true, seed: 1,
};

export function validateTrainConfig(c: SaeTrainConfig, d: number): void {
  if (c.arch !== 'relu' && c.arch !== 'topk' && c.arch !== 'batchtopk') throw new Error(`sae config: arch must be relu, topk or batchtopk, got ${String(c.arch)}`);
  for (const key of ['batch', 'tokens', 'deadWindow', 'medianSample'] as const) {
    if (!Number.isInteger(c[key]) || c[key] < 1) throw new Error(`sae config: ${key} must be a positive integer, got ${c[key]}`);
  }
  if (!(c.expansion > 0) || !Number.isInteger(c.expansion * d)) throw new Error(`sae config: expansion ${c.expansion} × d ${d} must be a positive integer number of latents`);
  const n = c.expansion * d;
  if (c.arch !== 'relu' && (!Number.isInteger(c.k) || c.k < 1 || c.k > n)) throw new Error(`sae config: k must be an integer in [1, ${n}], got ${c.k}`);
  if (!Number.isInteger(c.kAux) || c.kAux < 0 || c.kAux > n) throw new Error(`sae config: kAux must be an integer in [0, ${n}], got ${c.kAux}`);
  if (!(c.l1 >= 0)) throw new Error(`sae config: l1 must be >= 0, got ${c.l1}`);
  if (!(c.lr > 0)) throw new Error(`sae config: lr must be > 0, got ${c.lr}`);
  if (!(c.auxCoef >= 0)) throw new Error(`sae config: auxCoef must be >= 0, got ${c.auxCoef}`);
}
