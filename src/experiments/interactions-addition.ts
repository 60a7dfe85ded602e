// The interaction lens on the addition task: AND-OR interactions of an addition GPT, and how
// their orders move while the model trains on a finite training set.
//
// Variables: the 2k operand digits. Masking: a masked digit's token embedding
// is replaced at hook_embed by the mean embedding of the ten digits (the
// vocabulary has no mask token; putting a real digit there, say 0, would pose
// a different, valid problem instead of hiding the digit). The output v is the
// log-odds of the correct answer digit at one answer position, under teacher
// forcing (earlier answer digits stay as written). The experiment composes the
// task, the GPT, the training loop and the lens; it computes nothing itself
// beyond bookkeeping.

import { Rng } from '../engine/rng.js';
import { ldexp } from '../engine/detmath.js';
import { AdamW, clipGradNorm } from '../engine/optim.js';
import { warmupCosine } from '../engine/schedule.js';
import { GPT, type GPTConfig } from '../nn/gpt.js';
import { AdditionTask, encodeBatch, targetPositions, VOCAB, promptString, type Problem } from '../data/addition.js';
import { trainLoop, type TrainEvent, type TrainState, type Batch } from '../train/trainer.js';
import { RunDir } from '../train/run-dir.js';
import { saveCheckpoint } from '../train/checkpoint.js';
import { scoreProblemList } from './addition-model.js';
import { computeInteractions, meanEmbedding, jaccardPerOrder, salientInteractions, type Interactions } from '../lens/interactions/index.js';
import { VERSION } from '../version.js';
import { SEED, type SettingsTable } from './settings.js';
import { defineExperiment, formatSeconds, Interrupted } from './experiment.js';
import { saveTrainingCheckpoint, readTrainingCheckpoint, restoreTraining } from '../train/resume.js';
import type { InteractionsAdditionConfig, InteractionsAdditionResult, InteractionsCheckpoint, CarryChainResult, CarryChainSample, TwoPhaseVerdict } from './interactions-addition-result.js';

/**
 * Defaults sized for a few minutes on 2 shared cores: k = 4 gives n = 8
 * variables (256 masked forwards per sample), a 2-layer d64 GPT, 3,000 steps
 * of 64 over 5,000 training problems (about 38 epochs, enough to memorise
 * operands and open a gap), 10 checkpoints from initialisation on a roughly
 * logarithmic grid (phase 1 is early), 6 + 6 problems analysed at each. The
 * answer digit c3 (hundreds) leaves the thousands digits a1, b1 outside its
 * carry chain, so the lens has something to rule out.
 */
export const INTERACTIONS_SETTINGS: SettingsTable<InteractionsAdditionConfig> = {
  digits: { type: 'int', min: 1, max: 8, arg: 'k', help: 'operand length k; the 2k operand digits are the variables (k ≤ 8: 2^2k masked forwards)' },
  trainSize: { type: 'int', min: 1, max: 10_000_000, help: 'finite training set, sampled with replacement' },
  steps: { type: 'int', min: 1, help: "training steps (the checkpoint grid keeps its shape when only this changes)" },
  batch: { type: 'int', min: 1, max: 65536, help: 'problems per step' },
  lr: { type: 'number', min: 1e-8, max: 10, help: 'peak learning rate (AdamW, warmup then cosine)' },
  minLr: { type: 'number', min: 0, max: 10, help: 'learning rate at the end of the decay (lowered to --lr when that is below it)' },
  warmup: { type: 'int', min: 0, help: 'steps of linear warmup' },
  weightDecay: { type: 'number', min: 0, max: 10, help: 'AdamW decoupled weight decay' },
  layers: { type: 'int', min: 1, max: 64, help: 'transformer blocks' },
  dModel: { type: 'int', min: 1, max: 4096, help: 'residual width' },
  heads: { type: 'int', min: 1, max: 256, help: 'attention heads (must divide d-model)' },
  seed: SEED,
  answerDigit: { type: 'int', min: 1, max: 16, arg: 'j', help: 'answer digit c_j whose log-odds is explained (1 = carry out, k+1 = units)' },
  checkpoints: { type: 'int[]', min: 0, arg: 'steps', help: 'steps to save and analyse (0 = initialisation)' },
  samples: { type: 'int', min: 1, max: 1000, help: 'training and test problems analysed per checkpoint (each)' },
  lossProblems: { type: 'int', min: 1, max: 10000, help: 'problems scored for the train and test losses (at most the training set)' },
  sparsifyIterations: { type: 'int', min: 1, help: 'SGD iterations of the AND/OR split (reference: 10,000)' },
  sparsifyLr: { type: 'number', min: 1e-12, max: 10, help: 'initial learning rate of the split (reference: 1e-5)' },
  qBound: { type: 'number', min: 0, max: 10, help: 'bound on the learned noise term: |q(S)| ≤ q-bound · |v(N) − v(∅)| (0 disables q)' },
};

export const INTERACTIONS_DEFAULTS: InteractionsAdditionConfig = {
  digits: 4, trainSize: 5000, steps: 3000, batch: 64, lr: 1e-3, minLr: 1e-4, warmup: 100, weightDecay: 0,
  layers: 2, dModel: 64, heads: 4, seed: 1, answerDigit: 3,
  checkpoints: [0, 25, 50, 100, 200, 400, 800, 1400, 2200, 3000],
  samples: 6, lossProblems: 1000, sparsifyIterations: 10000, sparsifyLr: 1e-5, qBound: 0.04,
};

export interface InteractionsRunOptions {
  outRoot?: string;
  runDir?: string;
  resume?: string;
  onEvent?: (e: TrainEvent | { type: 'analysis'; step: number; checkpoint: InteractionsCheckpoint }) => void;
  signal?: AbortSignal;
  render?: (r: InteractionsAdditionResult) => string;
}

export function validateInteractionsConfig(c: InteractionsAdditionConfig): void {
  const pos: Array<keyof InteractionsAdditionConfig> = ['digits', 'trainSize', 'steps', 'batch', 'layers', 'dModel', 'heads', 'samples', 'lossProblems', 'sparsifyIterations'];
  for (const k of pos) if (!Number.isInteger(c[k]) || (c[k] as number) < 1) throw new Error(`interactions-addition: ${k} must be a positive integer, got ${String(c[k])}`);
  if (c.digits > 8) throw new Error(`interactions-addition: digits must be at most 8, got ${c.digits}: the 2k operand digits are the variables and the lens takes at most 16 (2^n masked forwards)`);
  if (!Number.isInteger(c.answerDigit) || c.answerDigit < 1 || c.answerDigit > c.digits + 1) throw new Error(`interactions-addition: answer digit must be 1..${c.digits + 1} (c1 is the carry out, c${c.digits + 1} the units), got ${c.answerDigit}`);
  if (c.dModel % c.heads !== 0) throw new Error(`interactions-addition: d-model ${c.dModel} is not divisible by heads ${c.heads}`);
  if (c.lossProblems > Math.min(c.trainSize, 10000)) throw new Error(`interactions-addition: loss problems (${c.lossProblems}) cannot exceed the training set (${c.trainSize}) or the 10,000 held-out problems`);
  if (c.samples > c.trainSize) throw new Error(`interactions-addition: samples (${c.samples}) exceed the training set (${c.trainSize})`);
  const cps = c.checkpoints;
  if (cps.length === 0 || cps.some((s, i) => !Number.isInteger(s) || s < 0 || s > c.steps || (i > 0 && s <= cps[i - 1]!))) throw new Error(`interactions-addition: checkpoints must be increasing steps in 0..${c.steps}, got ${cps.join(',')}`);
}

/** Variable names a1..ak, b1..bk (most significant first) and their sequence positions. */
export function operandVariables(k: number): { names: string[]; positions: number[]; places: number[] } {
  const names: string[] = [];
  const positions: number[] = [];
  const places: number[] = [];
  for (const [op, first] of [['a', 1], ['b', k + 2]] as const) {
    for (let i = 0; i < k; i++) {
      names.push(`${op}${i + 1}`);
      positions.push(first + i);
      places.push(k - 1 - i);
    }
  }
  return { names, positions, places };
}

/**
 * The places an answer digit at `place` can depend on: its own (when it is an
 * operand place), the one below (it may carry in), and further down while the
 * place above sums to 9 (a carry from there would ripple through).
 */
export function carryChainPlaces(p: Problem, k: number, place: number): number[] {
  const digit = (x: number, q: number) => {
    let t = 1;
    for (let i = 0; i < q; i++) t *= 10; // exact for q <= 22
    return Math.floor(x / t) % 10;
  };
  const out: number[] = [];
  if (place < k) out.push(place);
  for (let q = place - 1; q >= 0; q--) {
    out.push(q);
    if (digit(p.a, q) + digit(p.b, q) !== 9) break;
  }
  return out;
}

function gptConfig(c: InteractionsAdditionConfig): GPTConfig {
  return { vocabSize: VOCAB.length, contextLength: 3 * c.digits + 4, nLayers: c.layers, nHeads: c.heads, dModel: c.dModel, seed: c.seed };
}

export async function runInteractionsAddition(cfg: InteractionsAdditionConfig, opts: InteractionsRunOptions = {}): Promise<InteractionsAdditionResult> {
  validateInteractionsConfig(cfg);
  const t0 = performance.now();
  const k = cfg.digits;
  const task = new AdditionTask({ digits: k, seed: cfg.seed });
  const dataRng = Rng.derive(cfg.seed, 'interactions/train-set');
  const trainSet: Problem[] = Array.from({ length: cfg.trainSize }, () => task.nextProblem(dataRng));
  const testSet = task.heldOut.slice(0, cfg.lossProblems);
  const mcfg = gptConfig(cfg);
  const model = new GPT(mcfg);
  const params = model.parameters();
  const optimizer = new AdamW(params, { lr: cfg.lr, betas: [0.9, 0.99], eps: 1e-8, weightDecay: cfg.weightDecay });
  const lrAt = warmupCosine({ base: cfg.lr, warmup: Math.min(cfg.warmup, cfg.steps), total: cfg.steps, min: Math.min(cfg.minLr, cfg.lr) });
  const T = task.T;
  // A resume is checked before the run directory is touched.
  const resumeFrom = opts.resume ? readTrainingCheckpoint<{ checkpoints: InteractionsCheckpoint[] }>(opts.resume, 'interactions-addition', cfg) : null;
  const run = opts.runDir ? new RunDir(opts.runDir) : RunDir.create(opts.outRoot ?? 'runs', 'interactions-addition');
  run.writeJson('config.json', { experiment: 'interactions-addition', glassbox_version: VERSION, config: cfg, model: mcfg });

  const batchAt = (step: number): Batch => {
    const rng = Rng.derive(cfg.seed, `interactions/step/${step}`);
    const probs = Array.from({ length: cfg.batch }, () => trainSet[rng.int(trainSet.length)]!);
    const b = encodeBatch(probs, k, task.answerOrder);
    return { inputs: b.inputs, targets: b.targets, B: cfg.batch, T };
  };
  const vars = operandVariables(k);
  const n = vars.names.length;
  const answerTarget = 2 * k + 2 + (cfg.answerDigit - 1); // target index predicting c_j
  const place = k + 1 - cfg.answerDigit;
  const answerMask = targetPositions(k).map((p) => p.kind === 'answer');
  const answerLoss = (perPos: number[]) => perPos.reduce((s, x, t) => s + (answerMask[t] ? x : 0), 0) / (k + 1);
  const trainSamples = trainSet.slice(0, cfg.samples);
  const testSamples = task.heldOut.slice(cfg.lossProblems, cfg.lossProblems + cfg.samples);

  const analyse = (problems: readonly Problem[], baseline: Float32Array): Interactions[] =>
    problems.map((p) => {
      const b = encodeBatch([p], k, task.answerOrder);
      return computeInteractions(model, {
        tokens: b.inputs, variables: vars.positions, baseline: { kind: 'hook', hook: 'hook_embed', vector: baseline },
        output: { position: answerTarget, target: b.targets[answerTarget]! },
      }, { iterations: cfg.sparsifyIterations, lr: cfg.sparsifyLr, qBound: cfg.qBound });
    });

  const checkpoints: InteractionsCheckpoint[] = [];
  let state: TrainState | undefined;
  if (resumeFrom) {
    const r = restoreTraining(resumeFrom, model, optimizer);
    state = r.state;
    checkpoints.push(...r.extra.checkpoints);
  }
  // The resumable checkpoint: the weights, the optimiser and the analyses so far (each analysed step also keeps its own weights file).
  const lastPath = `${run.checkpoints}/last.safetensors`;
  const saveLast = (st: TrainState): string => saveTrainingCheckpoint(lastPath, model, optimizer, { experiment: 'interactions-addition', config: cfg, modelConfig: mcfg, state: st, extra: { checkpoints } });
  let aborted = false;
  let last: { train: Interactions[]; test: Interactions[] } | null = null;
  for (const target of cfg.checkpoints) {
    if (checkpoints.some((c) => c.step === target)) continue;
    if (opts.signal?.aborted) {
      aborted = true;
      saveLast(state ?? { step: 0, tokens: 0, cumBits: 0, seconds: 0 });
      break;
    }
    if (target > (state?.step ?? 0)) {
      const r = await trainLoop({
        steps: target, params, optimizer, lrAt, batchAt, start: state,
        lossOf: (b) => model.loss(b.inputs, b.targets, b.B, b.T),
        clipNorm: 1, clip: clipGradNorm, onEvent: (e) => opts.onEvent?.(e), onMetric: (m) => run.appendMetric(m), signal: opts.signal,
        saveCheckpoint: saveLast,
      });
      state = { step: r.step, tokens: r.tokens, cumBits: r.cumBits, seconds: r.seconds };
      if (r.aborted) {
        aborted = true;
        break;
      }
    }
    const step = state?.step ?? 0;
    const ckPath = `${run.checkpoints}/step-${step}.safetensors`;
    saveCheckpoint(ckPath, model, { meta: { model_config: mcfg, experiment_config: cfg, train_state: state ?? null } });
    const ta = performance.now();
    model.eval();
    const trainScore = scoreProblemList(model, task, trainSet.slice(0, cfg.lossProblems));
    const testScore = scoreProblemList(model, task, testSet);
    const baseline = meanEmbedding(model, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const train = analyse(trainSamples, baseline);
    const test = analyse(testSamples, baseline);
    model.train();
    last = { train, test };
    const all = [...train, ...test];
    const mean = (f: (x: Interactions) => number) => all.reduce((s, x) => s + f(x), 0) / all.length;
    const meanVec = (f: (x: Interactions) => number[]) => Array.from({ length: n }, (_, i) => mean((x) => f(x)[i]!));
    const pos = meanVec((x) => x.salient.strength.pos);
    const neg = meanVec((x) => x.salient.strength.neg);
    const total = pos.reduce((s, x, i) => s + x + neg[i]!, 0);
    const cp: InteractionsCheckpoint = {
      step, train_loss: trainScore.loss, test_loss: testScore.loss,
      train_answer_loss: answerLoss(trainScore.perPosition), test_answer_loss: answerLoss(testScore.perPosition),
      order_strength_pos: pos, order_strength_neg: neg,
      salient: mean((x) => x.salient.count), salient_share: mean((x) => x.salient.share),
      mean_order: total > 0 ? pos.reduce((s, x, i) => s + (i + 1) * (x + neg[i]!), 0) / total : 0,
      matching_error: Math.max(...all.map((x) => x.matchingError)),
      jaccard: jaccardPerOrder(train, test), mean_gain: mean((x) => x.v[x.v.length - 1]!),
      checkpoint: ckPath, seconds: (performance.now() - ta) / 1000,
    };
    checkpoints.push(cp);
    run.appendMetric({ kind: 'interactions', ...cp });
    opts.onEvent?.({ type: 'analysis', step, checkpoint: cp });
  }
  if (aborted) throw new Interrupted(`at step ${state?.step ?? 0}; resume with --resume ${lastPath}`, true);
  if (!last) throw new Error('interactions-addition: nothing left to analyse (the checkpoint resumed from had analysed every step)');

  const carry = carryChainResult(last, trainSamples, testSamples, vars, k, place, cfg.answerDigit);
  const result: InteractionsAdditionResult = {
    experiment: 'interactions-addition', glassbox_version: VERSION, config: cfg, n, variables: vars.names,
    baseline: 'masked operand digits: token embedding replaced at hook_embed by the mean embedding of the digits 0-9',
    output: `log-odds of the correct c${cfg.answerDigit} (place 10^${place}) at target position ${answerTarget}, teacher-forced, minus its value with every operand digit masked`,
    params: model.paramCount(), checkpoints, carry_chain: carry, two_phase: twoPhase(checkpoints, n),
    seconds: (performance.now() - t0) / 1000, run_dir: run.path, report: run.file('report.html'),
  };
  run.writeJson('result.json', result);
  if (opts.render) {
    const { writeFileAtomic } = await import('../engine/atomic-file.js');
    writeFileAtomic(result.report, opts.render(result));
  }
  return result;
}

function carryChainResult(last: { train: Interactions[]; test: Interactions[] }, trainP: Problem[], testP: Problem[], vars: ReturnType<typeof operandVariables>, k: number, place: number, answerDigit: number): CarryChainResult {
  const n = vars.names.length;
  const samples: CarryChainSample[] = [];
  const dependence = new Array(n).fill(0);
  let blind = 0;
  const items = [...last.train.map((x, i) => ['train', x, trainP[i]!] as const), ...last.test.map((x, i) => ['test', x, testP[i]!] as const)];
  for (const [split, x, p] of items) {
    const places = new Set(carryChainPlaces(p, k, place));
    let chainMask = 0;
    vars.places.forEach((q, i) => { if (places.has(q)) chainMask |= 1 << i; });
    const sal = salientInteractions(x.iAnd, x.iOr).filter((s) => s.kind === 'and');
    let inChain = 0;
    let all = 0;
    for (const s of sal) {
      const a = Math.abs(s.value);
      all += a;
      if ((s.mask & ~chainMask) === 0) inChain += a;
      for (const i of s.set) dependence[i] += a / items.length;
    }
    let size = 0;
    for (let m = chainMask; m; m &= m - 1) size++;
    blind += ((ldexp(1, size) - 1) / (ldexp(1, n) - 1)) / items.length;
    samples.push({
      problem: promptString(p, k), split, place,
      chain: vars.names.filter((_, i) => chainMask & (1 << i)),
      top_and: sal.slice(0, 8).map((s) => ({ set: s.set.map((i) => vars.names[i]!), value: s.value })),
      chain_share: all > 0 ? inChain / all : 0, v_gain: x.v[x.v.length - 1]!,
    });
  }
  return {
    answer_digit: `c${answerDigit}`, variables: vars.names, dependence, places: vars.places,
    mean_chain_share: samples.reduce((s, x) => s + x.chain_share, 0) / samples.length, blind_chain_share: blind, samples,
  };
}

/** The two-phase verdict (Zhang et al., arXiv 2405.10262) from the checkpoints (exported for its test). */
export function twoPhase(cps: InteractionsCheckpoint[], n: number): TwoPhaseVerdict {
  let minI = 0;
  cps.forEach((c, i) => { if (c.mean_order < cps[minI]!.mean_order) minI = i; });
  const first = cps[0]!;
  const lastCp = cps[cps.length - 1]!;
  const gap = cps.find((c) => c.test_answer_loss - c.train_answer_loss > 0.05);
  const strength = first.order_strength_pos.map((x, i) => x + first.order_strength_neg[i]!);
  let best = 0;
  strength.forEach((x, i) => { if (x > strength[best]!) best = i; });
  const order = best + 1;
  return {
    min_order_step: cps[minI]!.step, order_init: first.mean_order, order_min: cps[minI]!.mean_order, order_end: lastCp.mean_order,
    gap_opens_step: gap ? gap.step : null,
    phase1: minI > 0 && cps[minI]!.mean_order < first.mean_order - 0.25,
    phase2: minI < cps.length - 1 && lastCp.mean_order > cps[minI]!.mean_order + 0.25,
    spindle_at_init: order > n / 4 && order <= (3 * n) / 4,
  };
}


/** `glassbox run interactions-addition`. */
export const interactionsAdditionExperiment = defineExperiment<InteractionsAdditionConfig, InteractionsAdditionResult>({
  name: 'interactions-addition',
  description: "AND-OR interactions (arXiv 2405.10262) of the addition GPT's operand digits, the carry chain they expose, and their orders over training on a finite set",
  settings: INTERACTIONS_SETTINGS,
  presets: { default: { help: 'the figures of the README', config: INTERACTIONS_DEFAULTS } },
  defaultPreset: 'default',
  adjust(cfg, given) {
    const c = { ...cfg };
    if (given.has('lr') && !given.has('minLr')) c.minLr = Math.min(c.minLr, c.lr);
    // Keep the default grid's shape on a different training length.
    if (given.has('steps') && !given.has('checkpoints')) {
      const scale = c.steps / INTERACTIONS_DEFAULTS.steps;
      c.checkpoints = [...new Set(INTERACTIONS_DEFAULTS.checkpoints.map((s) => Math.round(s * scale)))];
    }
    if (!given.has('lossProblems')) c.lossProblems = Math.min(c.lossProblems, c.trainSize);
    return c;
  },
  validate: (c) => validateInteractionsConfig(c),
  resumable: true,
  resumeCheckpoint: (runDir) => `${runDir}/checkpoints/last.safetensors`,
  run(cfg, ctx) {
    ctx.progress.phase('train', cfg.steps, ['loss', 'what']);
    let what = '';
    return runInteractionsAddition(cfg, {
      outRoot: ctx.outRoot, runDir: ctx.runDir, resume: ctx.resume, signal: ctx.signal, render: ctx.render,
      onEvent: (e) => {
        if (e.type === 'step') ctx.progress.update(e.step, { loss: e.loss.toFixed(4), what });
        if (e.type === 'analysis') {
          const c = e.checkpoint;
          what = `step ${c.step}: gap ${(c.test_answer_loss - c.train_answer_loss).toFixed(3)}, mean order ${c.mean_order.toFixed(2)}`;
          ctx.progress.update(c.step, { loss: c.train_loss.toFixed(4), what });
        }
      },
    });
  },
  summary(result) {
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
    return lines;
  },
});
