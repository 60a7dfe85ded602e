// Sparse autoencoders on the addition GPT (Gao et al., arXiv 2406.04093). It composes: an addition
// model (loaded, or trained first by runAddition), an activation buffer at one
// hook point, a sweep of TopK k and ReLU L1 SAEs (plus BatchTopK and TopK
// without AuxK), the field's metrics, latent-to-label matching and dashboards
// for the primary SAE. Everything it writes goes through the run directory.

import { join, resolve } from 'node:path';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { Rng } from '../engine/rng.js';
import { writeFileAtomic } from '../engine/atomic-file.js';
import { GPT } from '../nn/gpt.js';
import { RunDir } from '../train/run-dir.js';
import { VOCAB, AdditionTask } from '../data/addition.js';
import { ActivationBuffer, checkHook, hookActivations, type BufferState } from '../lens/sae/buffer.js';
import { SaeTrainer, drawSample, type SaeStepRecord, type SaeTrainerState } from '../lens/sae/train.js';
import { DEFAULT_TRAIN, validateTrainConfig, type SaeArch, type SaeTrainConfig } from '../lens/sae/config.js';
import { reconstructionMetrics, spliceMetrics, densityHistogram, type ScoredBatch } from '../lens/sae/metrics.js';
import { featureDashboards } from '../lens/sae/features.js';
import { Sae } from '../lens/sae/model.js';
import { saveStateCheckpoint, readStateCheckpoint, resumePath } from '../train/resume.js';
import { PRESETS, runAddition, validateAdditionConfig, type AdditionConfig } from './addition.js';
import { loadAdditionModel, modelConfig } from './addition-model.js';
import { additionLabels, matchLatents } from './sae-addition-labels.js';
import { VERSION } from '../version.js';
import type { TrainEvent } from '../train/trainer.js';
import { SEED, nestSettings, givenUnder, type SettingsTable } from './settings.js';
import { defineExperiment, formatSeconds, Interrupted, trainStepFields, eventLoopTurns } from './experiment.js';
import { ADDITION_SETTINGS, additionExperiment } from './addition.js';
import type { SaeAdditionResult, SaeSummary, DashboardsFile } from './sae-addition-result.js';

/** Problems per forward pass that fills the activation buffer. */
const SOURCE_BATCH = 64;

export interface SaeAdditionConfig {
  /** An addition checkpoint; empty: train one first with `base`. */
  model: string;
  /** Hook point; empty: the last block's hook_resid_post. */
  hook: string;
  expansion: number;
  topkKs: number[];
  reluL1s: number[];
  /** k of the primary TopK SAE (dashboards, labels, the AuxK comparison, BatchTopK). */
  primaryK: number;
  batchTopK: boolean;
  auxkAblation: boolean;
  tokens: number;
  batch: number;
  lr: number;
  deadWindow: number;
  /** Rows the activation buffer holds at most. */
  bufferRows: number;
  /** Held-out problems the metrics, labels and dashboards use. */
  evalProblems: number;
  seed: number;
  /** The addition model trained when `model` is null: small, to keep the whole run minutes long (measured: this one reaches
   *  100% held-out exact match at step 1,000, about 4.5 minutes on the shared 2-core machine). */
  base: AdditionConfig;
}

export const SAE_ADDITION_SETTINGS: SettingsTable<SaeAdditionConfig> = {
  model: { type: 'string', arg: 'checkpoint', help: 'an addition checkpoint (empty: train a small 2-digit model first, with the --base-* settings)' },
  hook: { type: 'string', arg: 'name', help: "hook point to read (empty: the last block's hook_resid_post)" },
  expansion: { type: 'number', min: 0.01, max: 1024, help: 'latents per activation dimension' },
  topkKs: { type: 'int[]', min: 1, allowEmpty: true, flag: 'ks', help: 'TopK k values' },
  reluL1s: { type: 'number[]', min: 0, allowEmpty: true, flag: 'l1s', help: 'ReLU L1 coefficients' },
  primaryK: { type: 'int', min: 1, flag: 'k', help: 'k of the primary TopK SAE (dashboards, AuxK ablation, BatchTopK)' },
  batchTopK: { type: 'boolean', flag: 'batchtopk', help: 'also train the BatchTopK SAE' },
  auxkAblation: { type: 'boolean', flag: 'auxk-ablation', help: 'also train the primary TopK SAE without AuxK' },
  tokens: { type: 'int', min: 1, help: 'training activations per SAE' },
  batch: { type: 'int', min: 1, max: 1 << 20, help: 'activations per step' },
  lr: { type: 'number', min: 1e-8, max: 10, help: 'learning rate (Adam)' },
  deadWindow: { type: 'int', min: 1, help: 'training tokens without a fire after which a latent is dead (and AuxK revives it)' },
  bufferRows: { type: 'int', min: 2, help: 'rows the activation buffer holds at most (at least twice the batch)' },
  evalProblems: { type: 'int', min: 10, max: 10000, help: 'held-out problems for metrics, labels and dashboards' },
  seed: SEED,
  ...nestSettings('base', ADDITION_SETTINGS),
};

export const SAE_ADDITION_DEFAULT: SaeAdditionConfig = {
  model: '', hook: '', expansion: 8, topkKs: [2, 4, 8, 16], reluL1s: [0.3, 1, 3, 10], primaryK: 8, batchTopK: true, auxkAblation: true,
  tokens: 200_000, batch: 256, lr: 2e-3, deadWindow: 20_000, bufferRows: 16_384, evalProblems: 1000, seed: 1,
  base: { ...PRESETS.default, digits: 2, layers: 2, dModel: 64, heads: 4, steps: 2500, batch: 128, lr: 3e-3, warmup: 100, evalEvery: 250, evalProblems: 500, stopExact: 0.995, stopGap: 0.02 },
};

export interface SaeAdditionRunOptions {
  outRoot?: string;
  runDir?: string;
  signal?: AbortSignal;
  /** A stopped run's checkpoint (checkpoints/sae-addition.safetensors) or its run directory; the run goes on in that directory. */
  resume?: string;
  onProgress?: (msg: string) => void;
  onSaeStep?: (name: string, r: SaeStepRecord, totalSteps: number) => void;
  /** The base model's training events, when it trains here. */
  onBaseEvent?: (e: TrainEvent) => void;
  render?: (result: SaeAdditionResult, dashboards: DashboardsFile) => string;
}

export function validateSaeAdditionConfig(c: SaeAdditionConfig): void {
  if (c.topkKs.length + c.reluL1s.length === 0) throw new Error('sae-addition: nothing to train (empty k and L1 lists)');
  for (const k of [...c.topkKs, c.primaryK]) if (!Number.isInteger(k) || k < 1) throw new Error(`sae-addition: k must be a positive integer, got ${k}`);
  for (const l of c.reluL1s) if (!(l >= 0)) throw new Error(`sae-addition: L1 coefficients must be >= 0, got ${l}`);
  if (!Number.isInteger(c.evalProblems) || c.evalProblems < 10 || c.evalProblems > 10000) throw new Error(`sae-addition: eval problems must be in [10, 10000], got ${c.evalProblems}`);
  if (!c.model) {
    validateAdditionConfig(c.base);
    if (c.base.warmup > c.base.steps) throw new Error(`sae-addition: the base model's warmup ${c.base.warmup} exceeds its ${c.base.steps} steps`);
  }
  if (!Number.isInteger(c.bufferRows) || c.bufferRows < 2 * c.batch) throw new Error(`sae-addition: buffer rows ${c.bufferRows} must be at least twice the batch ${c.batch}`);
}

interface Plan {
  name: string;
  cfg: SaeTrainConfig;
}

function plans(c: SaeAdditionConfig): Plan[] {
  const base: SaeTrainConfig = { ...DEFAULT_TRAIN, expansion: c.expansion, lr: c.lr, batch: c.batch, tokens: c.tokens, deadWindow: c.deadWindow, seed: c.seed };
  const out: Plan[] = [];
  const ks = [...new Set([...c.topkKs, c.primaryK])].sort((a, b) => a - b);
  for (const k of ks) out.push({ name: `topk-k${k}`, cfg: { ...base, arch: 'topk', k, auxk: true } });
  if (c.auxkAblation) out.push({ name: `topk-k${c.primaryK}-noauxk`, cfg: { ...base, arch: 'topk', k: c.primaryK, auxk: false } });
  if (c.batchTopK) out.push({ name: `batchtopk-k${c.primaryK}`, cfg: { ...base, arch: 'batchtopk', k: c.primaryK, auxk: true } });
  for (const l1 of c.reluL1s) out.push({ name: `relu-l1-${l1}`, cfg: { ...base, arch: 'relu', l1, auxk: false } });
  return out;
}

/**
 * What a stopped run keeps (checkpoints/sae-addition.safetensors): where the
 * base model stands, the SAEs already trained and measured (their weights are
 * in saes/), and the SAE being trained with its activation buffer. Each SAE's
 * data is a function of the seed and the step, so the resumed run's bits are
 * those of a run that never stopped.
 */
interface SaeAdditionProgress {
  runDir: string;
  /** The addition model trained here: its checkpoint, and whether its training finished. */
  base: { checkpoint: string; done: boolean; exact: number } | null;
  done: SaeSummary[];
  cleanRef: { ce_clean: number; ce_zero_ablation: number; answer_clean: number; answer_zero: number };
  /** Seconds the run had taken before it stopped (wall-clock, so the total is honest). */
  seconds: number;
  current: { name: string; trainer: SaeTrainerState; buffer: BufferState } | null;
}

const CHECKPOINT = 'sae-addition.safetensors';

/** Reads a stopped run's checkpoint (or its run directory's) and the directory it goes on in; throws before anything is written. */
function readResume(cfg: SaeAdditionConfig, given: string, runDir: string | undefined): SaeAdditionProgress {
  const path = resumePath(given, CHECKPOINT);
  if (!existsSync(path)) throw new Error(`sae-addition: nothing to resume at ${given}: expected a checkpoint, or a run directory holding checkpoints/${CHECKPOINT}`);
  const from = readStateCheckpoint<SaeAdditionProgress>(path, 'sae-addition', cfg);
  if (runDir !== undefined && resolve(runDir) !== from.runDir) throw new Error(`sae-addition: a stopped run goes on in its own run directory (${from.runDir}), where its finished SAEs are; got ${resolve(runDir)}`);
  if (!existsSync(from.runDir)) throw new Error(`sae-addition: the run directory of checkpoint ${path} (${from.runDir}) no longer exists`);
  return from;
}

export async function runSaeAddition(cfg: SaeAdditionConfig, opts: SaeAdditionRunOptions = {}): Promise<SaeAdditionResult> {
  validateSaeAdditionConfig(cfg);
  const t0 = performance.now();
  const say = opts.onProgress ?? (() => {});
  // Check the hook against the model before anything is written.
  let loaded = cfg.model ? loadAdditionModel(cfg.model) : null;
  const probeModel = loaded?.model ?? new GPT(modelConfig(cfg.base));
  const hook = cfg.hook || `blocks.${probeModel.config.nLayers - 1}.hook_resid_post`;
  checkHook(probeModel, hook);
  // The buffer must hold two source batches (64 problems each): checked here, before anything is written.
  const probeT = loaded?.task.T ?? new AdditionTask({ digits: cfg.base.digits, answerOrder: cfg.base.answerOrder, firstDigit: cfg.base.firstDigit, edgeMix: cfg.base.edgeMix, seed: cfg.base.seed }).T;
  if (cfg.bufferRows < 2 * SOURCE_BATCH * probeT) throw new Error(`sae-addition: buffer rows ${cfg.bufferRows} must hold two source batches of ${SOURCE_BATCH} problems × ${probeT} positions (at least ${2 * SOURCE_BATCH * probeT})`);
  // A resume is checked before the run directory is touched.
  const from = opts.resume ? readResume(cfg, opts.resume, opts.runDir) : null;

  const run = opts.runDir || from ? new RunDir(opts.runDir ?? from!.runDir) : RunDir.create(opts.outRoot ?? 'runs', 'sae-addition');
  run.writeJson('config.json', { experiment: 'sae-addition', glassbox_version: VERSION, config: { ...cfg, hook } });
  const progress: SaeAdditionProgress = from
    ? { ...from, current: null }
    : { runDir: run.path, base: null, done: [], cleanRef: { ce_clean: 0, ce_zero_ablation: 0, answer_clean: 0, answer_zero: 0 }, seconds: 0, current: null };
  const ckPath = join(run.checkpoints, CHECKPOINT);
  const elapsed = () => progress.seconds + (performance.now() - t0) / 1000;
  const save = (current: SaeAdditionProgress['current'] = null) => saveStateCheckpoint(ckPath, { experiment: 'sae-addition', config: cfg, state: { ...progress, seconds: elapsed(), current } });
  /** The stop: the checkpoint, then an error that says where the run stopped and how it goes on. */
  const stop = (where: string, current: SaeAdditionProgress['current'] = null) => {
    save(current);
    return new Interrupted(`${where}; resume with --resume ${ckPath}`, true);
  };
  let checkpoint = cfg.model;
  let exact: number | null = null;
  if (!loaded) {
    if (!progress.base?.done) {
      say(`training the addition model first (${cfg.base.digits} digits, ${cfg.base.layers} layers × d${cfg.base.dModel}, up to ${cfg.base.steps} steps)`);
      const r = await runAddition(cfg.base, { runDir: join(run.path, 'base-model'), signal: opts.signal, resume: progress.base?.checkpoint, onEvent: opts.onBaseEvent });
      progress.base = { checkpoint: r.checkpoint, done: !r.config.aborted, exact: r.exact_match };
      if (r.config.aborted) throw stop(`while training the addition model (step ${r.steps} of ${cfg.base.steps})`);
      save();
    }
    checkpoint = progress.base.checkpoint;
    exact = progress.base.exact;
    loaded = loadAdditionModel(checkpoint);
  }
  const { model, task } = loaded;
  // Record where the model is, for `glassbox sae features/steer`.
  run.writeJson('config.json', { experiment: 'sae-addition', glassbox_version: VERSION, config: { ...cfg, hook }, model_checkpoint: checkpoint });
  const T = task.T;

  // Evaluation set: the first held-out problems, and their activations at the hook.
  const evalBatches: ScoredBatch[] = [];
  const answerBatches: ScoredBatch[] = [];
  const chunk = 250;
  const answerFrom = 2 * task.digits + 2, answerTo = 3 * task.digits + 2;
  for (let s = 0; s < cfg.evalProblems; s += chunk) {
    const B = Math.min(chunk, cfg.evalProblems - s);
    const b = task.heldOutBatch(s, B);
    evalBatches.push({ tokens: b.inputs, targets: b.targets, B, T });
    const masked = b.targets.map((v, i) => (i % T >= answerFrom && i % T <= answerTo ? v : -1));
    answerBatches.push({ tokens: b.inputs, targets: masked, B, T });
  }
  const N = cfg.evalProblems * T;
  let d = 0;
  const parts: Float32Array[] = [];
  for (const b of evalBatches) {
    const h = hookActivations(model, hook, b);
    d = h.d;
    parts.push(h.rows);
  }
  const evalX = new Float32Array(N * d);
  parts.reduce((off, p) => (evalX.set(p, off), off + p.length), 0);

  const source = (i: number) => {
    const b = task.trainBatch(SOURCE_BATCH, Rng.derive(cfg.seed, `sae-addition/data/${i}`));
    return { tokens: b.inputs, B: SOURCE_BATCH, T };
  };
  mkdirSync(run.file('saes'), { recursive: true });
  const saes = progress.done;
  const trained = new Map<string, Sae>();
  const turn = eventLoopTurns();
  for (const plan of plans(cfg)) {
    if (saes.some((s) => s.name === plan.name)) continue;
    await turn();
    if (opts.signal?.aborted) throw stop(`before training ${plan.name}`);
    say(`training ${plan.name}`);
    const buffer = new ActivationBuffer(model, hook, source, cfg.bufferRows, cfg.seed);
    const steps = Math.ceil(plan.cfg.tokens / plan.cfg.batch);
    validateTrainConfig(plan.cfg, buffer.d);
    const trainer = new SaeTrainer(plan.cfg, buffer.d, drawSample(buffer, plan.cfg), {
      meta: { hook, model_checkpoint: checkpoint, name: plan.name },
      onStep: (rec) => {
        run.appendMetric({ kind: 'sae', sae: plan.name, ...rec });
        opts.onSaeStep?.(plan.name, rec, steps);
      },
    });
    if (from?.current?.name === plan.name) {
      buffer.loadState(from.current.buffer);
      trainer.loadState(from.current.trainer);
    }
    while (!trainer.finished) {
      await turn();
      if (opts.signal?.aborted) throw stop(`at step ${trainer.stepsDone} of ${steps} of ${plan.name}`, { name: plan.name, trainer: trainer.state(), buffer: buffer.state() });
      trainer.step(buffer.next(plan.cfg.batch));
    }
    const r = trainer.finish();
    const m = reconstructionMetrics(r.sae, evalX, N);
    const sp = spliceMetrics(model, hook, r.sae, evalBatches);
    const spa = spliceMetrics(model, hook, r.sae, answerBatches, -1);
    progress.cleanRef = { ce_clean: sp.ce_clean, ce_zero_ablation: sp.ce_zero_ablation, answer_clean: spa.ce_clean, answer_zero: spa.ce_zero_ablation };
    const file = run.file(`saes/${plan.name}.safetensors`);
    writeFileAtomic(file, r.sae.toSafetensors());
    let deadTrain = 0;
    for (const v of r.tokensSinceFire) if (v >= plan.cfg.deadWindow) deadTrain++;
    const summary: SaeSummary = {
      name: plan.name, arch: plan.cfg.arch as SaeArch, k_or_l1: plan.cfg.arch === 'relu' ? plan.cfg.l1 : plan.cfg.k, auxk: plan.cfg.arch !== 'relu' && plan.cfg.auxk, n: r.sae.shape.n,
      l0: m.l0, fvu: m.fvu, mse: m.mse, cosine: m.cosine, ce_score: sp.ce_score, ce_score_answer: spa.ce_score, kl_score: sp.kl_score, ce_spliced: sp.ce_spliced,
      dead_fraction: m.dead_fraction, dead_fraction_train: deadTrain / r.sae.shape.n, density_histogram: densityHistogram(m.density),
      history: r.history, seconds: r.seconds, file,
    };
    run.appendMetric({ kind: 'sae_eval', sae: plan.name, l0: m.l0, fvu: m.fvu, ce_score: sp.ce_score, dead_fraction: m.dead_fraction });
    saes.push(summary);
    trained.set(plan.name, r.sae);
    save();
  }
  await turn();
  if (opts.signal?.aborted) throw stop('after training the SAEs');
  const cleanRef = progress.cleanRef;

  // The primary SAE: labels and dashboards. An SAE trained before a resume is read back from its file.
  const primary = saes.some((s) => s.name === `topk-k${cfg.primaryK}`) ? `topk-k${cfg.primaryK}` : saes[0].name;
  const psae = trained.get(primary) ?? Sae.fromSafetensors(readFileSync(saes.find((s) => s.name === primary)!.file), `SAE ${primary}`);
  const z = psae.encode(evalX, N);
  const problems = task.heldOut.slice(0, cfg.evalProblems);
  const inputs = new Int32Array(N);
  evalBatches.reduce((off, b) => (inputs.set(b.tokens, off), off + b.tokens.length), 0);
  const labels = additionLabels(problems, inputs, task.digits, task.answerOrder);
  const matches = matchLatents(z, N, psae.shape.n, labels);
  const W_U = model.W_U ? model.W_U.data : transposeEmbedding(model.W_E.data, VOCAB.length, d);
  const dashboards = featureDashboards(psae, z, N, T, { W_U, vocab: VOCAB });
  const byFeature = new Map(matches.map((m) => [m.feature, m]));
  const examples = Array.from({ length: cfg.evalProblems }, (_, s) => Array.from(inputs.subarray(s * T, (s + 1) * T), (t) => VOCAB[t]).join(''));
  const dash: DashboardsFile = { sae: primary, hook, n: psae.shape.n, examples, features: dashboards.map((f) => ({ ...f, label: byFeature.get(f.index) ?? null })) };
  const dashboardsFile = run.writeJson('dashboards.json', dash);

  const withA = saes.find((s) => s.name === `topk-k${cfg.primaryK}`);
  const withoutA = saes.find((s) => s.name === `topk-k${cfg.primaryK}-noauxk`);
  const pick = (s: SaeSummary) => ({ dead_fraction: s.dead_fraction, dead_fraction_train: s.dead_fraction_train, fvu: s.fvu });
  const result: SaeAdditionResult = {
    experiment: 'sae-addition', glassbox_version: VERSION, model_checkpoint: checkpoint, model_trained_here: !cfg.model, model_exact_match: exact,
    hook, d, digits: task.digits, eval_problems: cfg.evalProblems, eval_tokens: N,
    ce_clean: cleanRef.ce_clean, ce_zero_ablation: cleanRef.ce_zero_ablation, ce_clean_answer: cleanRef.answer_clean, ce_zero_ablation_answer: cleanRef.answer_zero,
    saes, primary,
    auxk_comparison: withA && withoutA ? { k: cfg.primaryK, with_auxk: pick(withA), without_auxk: pick(withoutA) } : null,
    feature_labels: matches,
    interpretable: { f1_090: matches.filter((m) => m.f1 >= 0.9).length, f1_070: matches.filter((m) => m.f1 >= 0.7).length, live: matches.length },
    dashboards_file: dashboardsFile,
    config: { ...cfg, hook },
    seconds: elapsed(),
    run_dir: run.path,
    report: run.file('report.html'),
  };
  run.writeJson('result.json', result);
  if (opts.render) writeFileAtomic(result.report, opts.render(result, dash));
  return result;
}

/** W_Eᵀ [d, V] for a model with tied embeddings. */
function transposeEmbedding(W_E: Float32Array, V: number, d: number): Float32Array {
  const out = new Float32Array(d * V);
  for (let v = 0; v < V; v++) for (let c = 0; c < d; c++) out[c * V + v] = W_E[v * d + c];
  return out;
}

/** The per-SAE summary line `--json` prints, in the metric names SAELens uses. */
export function saeSummaryLine(s: SaeSummary): { arch: SaeArch; k_or_l1: number; auxk: boolean; l0: number; fvu: number; ce_score: number; dead_fraction: number } {
  return { arch: s.arch, k_or_l1: s.k_or_l1, auxk: s.auxk, l0: s.l0, fvu: s.fvu, ce_score: s.ce_score, dead_fraction: s.dead_fraction };
}

function saeAdditionJson(r: SaeAdditionResult): unknown {
  return {
    experiment: r.experiment, run_dir: r.run_dir, report: r.report, hook: r.hook, d: r.d, model_checkpoint: r.model_checkpoint,
    saes: r.saes.map(saeSummaryLine), primary: r.primary, auxk_comparison: r.auxk_comparison, interpretable: r.interpretable,
    top_features: r.feature_labels.slice(0, 10), seconds: r.seconds,
  };
}

function saeAdditionText(r: SaeAdditionResult): string {
  const lines = [`${'SAE'.padEnd(24)} ${'L0'.padStart(7)} ${'FVU'.padStart(8)} ${'CE score'.padStart(9)} ${'dead'.padStart(7)}`];
  for (const s of r.saes) lines.push(`${s.name.padEnd(24)} ${s.l0.toFixed(2).padStart(7)} ${s.fvu.toFixed(4).padStart(8)} ${s.ce_score.toFixed(4).padStart(9)} ${(s.dead_fraction * 100).toFixed(1).padStart(6)}%`);
  if (r.auxk_comparison) lines.push(`dead latents at k=${r.auxk_comparison.k}: ${(r.auxk_comparison.with_auxk.dead_fraction * 100).toFixed(1)}% with AuxK, ${(r.auxk_comparison.without_auxk.dead_fraction * 100).toFixed(1)}% without`);
  lines.push(`${r.primary}: ${r.interpretable.f1_090} of ${r.interpretable.live} live latents match a label with F1 >= 0.9 (${r.interpretable.f1_070} with F1 >= 0.7)`);
  for (const m of r.feature_labels.slice(0, 5)) lines.push(`  feature ${m.feature}: ${m.label} (F1 ${m.f1.toFixed(2)})`);
  lines.push(`${formatSeconds(r.seconds)}; report: ${r.report}`);
  return lines.join('\n') + '\n';
}

/** `glassbox run sae-addition`. */
export const saeAdditionExperiment = defineExperiment<SaeAdditionConfig, SaeAdditionResult>({
  name: 'sae-addition',
  description: "sparse autoencoders (TopK k sweep, ReLU L1 sweep, BatchTopK, AuxK ablation) on the addition GPT's last residual stream",
  settings: SAE_ADDITION_SETTINGS,
  presets: { default: { help: 'the figures of the README (trains its addition model first, minutes)', config: SAE_ADDITION_DEFAULT } },
  defaultPreset: 'default',
  adjust: (c, given) => ({ ...c, base: additionExperiment.adjust!(c.base, givenUnder(given, 'base')) }),
  validate: (c) => validateSaeAdditionConfig(c),
  resumable: true,
  run(cfg, ctx) {
    let current = '';
    return runSaeAddition(cfg, {
      outRoot: ctx.outRoot, runDir: ctx.runDir, signal: ctx.signal, resume: ctx.resume,
      onProgress: (m) => {
        current = '';
        ctx.progress.note(`sae-addition: ${m}`);
      },
      onBaseEvent: (e) => {
        if (e.type !== 'step') return;
        if (current !== 'base') ctx.progress.phase('base model', e.steps, ['loss', 'eta']);
        current = 'base';
        ctx.progress.update(e.step, trainStepFields(e));
      },
      onSaeStep: (name, r, total) => {
        if (name !== current) ctx.progress.phase(name, total, ['fvu', 'l0', 'dead']);
        current = name;
        ctx.progress.update(r.step, { fvu: r.fvu.toFixed(3), l0: r.l0.toFixed(1), dead: `${(r.dead * 100).toFixed(1)}%` });
      },
      render: ctx.render ? (r, d) => ctx.render!(r, d) : undefined,
    });
  },
  summary: (r) => saeAdditionText(r).trimEnd().split('\n'),
  json: saeAdditionJson,
});
