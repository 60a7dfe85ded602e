// The result of `glassbox run interactions-addition`, as data (result.json,
// --json, and what report.html renders).

export interface InteractionsAdditionConfig {
  digits: number;
  /** Finite training set: problems drawn once, then sampled with replacement. */
  trainSize: number;
  steps: number;
  batch: number;
  lr: number;
  minLr: number;
  warmup: number;
  weightDecay: number;
  layers: number;
  dModel: number;
  heads: number;
  seed: number;
  /** Answer digit whose log-odds is v: c1..c(k+1), most significant first (c1 is the carry out). */
  answerDigit: number;
  /** Steps at which the model is saved and analysed (0 = initialisation). */
  checkpoints: number[];
  /** Problems per checkpoint whose interactions are computed, from the training set and from the held-out set. */
  samples: number;
  /** Problems scored for the train and test losses at each checkpoint. */
  lossProblems: number;
  sparsifyIterations: number;
  sparsifyLr: number;
  qBound: number;
}

export interface InteractionsCheckpoint {
  step: number;
  /** Mean cross-entropy per predicted token on training problems and on held-out ones (nats). */
  train_loss: number;
  test_loss: number;
  /** The same on the answer digits only (the part addition decides). */
  train_answer_loss: number;
  test_answer_loss: number;
  /** Per order k = 1..n (index k-1): mean over analysed samples of salient positive / |negative| strength, AND and OR together. */
  order_strength_pos: number[];
  order_strength_neg: number[];
  /** Mean number of salient interactions per sample, and their mean share of all 2(2^n - 1). */
  salient: number;
  salient_share: number;
  /** Strength-weighted mean order of the salient interactions. */
  mean_order: number;
  /** Largest universal-matching error over the samples (relative to |v(N) - v(∅)|). */
  matching_error: number;
  /** Per order: Jaccard similarity of the mean interactions of training vs test samples. */
  jaccard: number[];
  /** Mean v(N) - v(∅) (log-odds gained by seeing all operand digits). */
  mean_gain: number;
  checkpoint: string;
  seconds: number;
}

export interface CarryChainSample {
  problem: string;
  split: 'train' | 'test';
  /** Place value (0 = units) of the analysed answer digit. */
  place: number;
  /** Variables the answer digit can depend on: its own place, the place below, and further places while the places above them sum to 9. */
  chain: string[];
  /** Strongest salient AND interactions, as variable names. */
  top_and: Array<{ set: string[]; value: number }>;
  /** Share of salient AND strength (Σ|I|) on sets inside the chain. */
  chain_share: number;
  v_gain: number;
}

export interface CarryChainResult {
  answer_digit: string;
  variables: string[];
  /** Per variable: mean over samples of Σ|I_and| of salient AND interactions that contain it. */
  dependence: number[];
  /** Per variable: place value of the digit. */
  places: number[];
  /** Mean chain share over samples. */
  mean_chain_share: number;
  /** What a dependence-blind spread would give: the mean share of non-empty sets that lie inside the chain. */
  blind_chain_share: number;
  samples: CarryChainSample[];
}

export interface TwoPhaseVerdict {
  /** Step where the strength-weighted mean order is lowest. */
  min_order_step: number;
  /** Mean order at initialisation, at its minimum, and at the end. */
  order_init: number;
  order_min: number;
  order_end: number;
  /** First checkpoint where test - train answer loss exceeds 0.05 nats (null: never). */
  gap_opens_step: number | null;
  /** Phase 1 seen: the order falls from initialisation; phase 2 seen: it rises again after its minimum. */
  phase1: boolean;
  phase2: boolean;
  /** Middle orders (n/4 < k ≤ 3n/4) carry the most salient strength at initialisation (the spindle). */
  spindle_at_init: boolean;
}

export interface InteractionsAdditionResult {
  experiment: 'interactions-addition';
  glassbox_version: string;
  config: InteractionsAdditionConfig;
  n: number;
  variables: string[];
  baseline: string;
  output: string;
  params: number;
  checkpoints: InteractionsCheckpoint[];
  carry_chain: CarryChainResult;
  two_phase: TwoPhaseVerdict;
  seconds: number;
  run_dir: string;
  report: string;
}
