// The result of the addition lab, as data. The CLI prints it (--json), the
// run directory stores it (result.json), and the HTML report renders it; none
// of them computes anything the result does not already hold.

export interface AdditionHistoryPoint {
  step: number;
  /** Predicted tokens trained on so far (steps × batch × (3k+4)). */
  tokens: number;
  seconds: number;
  /** Mean training loss of this step's batch, nats per token. */
  train_loss: number;
  lr: number;
  /** Area under the training loss so far, in bits: the prequential code length of the stream seen so far. */
  cum_bits: number;
  /** Held-out loss, nats per token, on the points where an evaluation ran. */
  eval_loss?: number;
  /** Held-out exact match (0..1), on the points where an evaluation ran. */
  exact_match?: number;
}

export interface AdditionCarryCase {
  /** "a+b=" with zero-padded operands. */
  problem: string;
  /** The answer as written in the sequence (k+1 digits; reversed when answer_order is 'lsf'). */
  expected: string;
  /** What the model wrote, greedily, in the same order. */
  predicted: string;
  correct: boolean;
  /** What the case tests, e.g. "99..9 + 00..01: a carry rippling through every digit". */
  name?: string;
}

export interface AdditionPerPosition {
  /** Index into the 3k+4 predicted positions. */
  position: number;
  /** What is predicted there: 'a1'..'ak', '+', 'b1'..'bk', '=', 'c1'..'c(k+1)', 'e'. */
  target: string;
  kind: 'operand' | 'operator' | 'answer' | 'end';
  /** Final held-out loss at this position, nats. */
  loss: number;
  /** The irreducible loss there: ln10 (ln9) at operand digits, 0 elsewhere. */
  floor: number;
}

export interface AdditionAttention {
  /** The example's input tokens, one per position (T of them). */
  tokens: string[];
  layers: Array<{
    layer: number;
    /** [head][query][key], T×T, causal (zero above the diagonal). */
    heads: number[][][];
  }>;
  /** The example problem, e.g. "12345678+87654321=" (optional). */
  example?: string;
}

export interface AdditionResult {
  experiment: 'addition';
  glassbox_version: string;
  digits: number;
  answer_order: 'msf' | 'lsf';
  first_digit: 'uniform' | 'nonzero';
  /** Share of training problems drawn from the edge digits 0,1,4,5,9 (0: the pure uniform stream). Held-out problems are always uniform. */
  edge_mix: number;
  /** Held-out loss, nats per predicted token. */
  eval_loss: number;
  /** The loss floor, nats per predicted token. */
  loss_floor: number;
  /** Held-out exact match, 0..1. */
  exact_match: number;
  carry_cases: AdditionCarryCase[];
  carry_exact_match: number;
  seconds: number;
  steps: number;
  tokens: number;
  steps_to_99?: number | null;
  tokens_to_99?: number | null;
  /** Wall time of the run (seconds, periodic evaluations included) at the step where held-out exact match first reached 99%. */
  seconds_to_99?: number | null;
  checkpoint: string;
  report: string;
  run_dir: string;
  bits: {
    /**
     * Area under the training loss curve, bits: Σ -log2 p of every trained-on target under the model as it stood
     * before that step. No coder runs here; it is the code length a prequential coder would reach (within the
     * bound test/codec/identity.test.ts checks on a range-coded GPT stream).
     */
    area_under_loss_bits: number;
    /** The training stream stored as 8-bit characters. */
    raw_bits: number;
    /** The training stream coded uniformly over the 14 symbols (log2 14 bits per predicted token). */
    uniform_bits: number;
    /** The operands' entropy: what no model can compress away. */
    floor_bits: number;
    problems_seen: number;
  };
  /** Model and training configuration. */
  config: Record<string, unknown>;
  params: number;
  history: AdditionHistoryPoint[];
  per_position: AdditionPerPosition[];
  attention: AdditionAttention;
  /** Preset name, if the run used one (e.g. 'seed'). */
  preset?: string | null;
  /** Training seed. */
  seed?: number;
  /** When the run started, ISO 8601. */
  started_at?: string;
}
