// Sparse autoencoders on the byte-level language model. It composes the LM
// (lm/model-file), the corpus (data/lm-corpus: train windows to learn from,
// validation windows to score on), one shuffled buffer over several hook
// points, SAEs trained in lockstep on it (a TopK k sweep at every hook; at the
// first hook also TopK without AuxK at several widths, BatchTopK and ReLU-L1),
// the field's metrics, automatic descriptions against an untrained baseline,
// dashboards and steering. Everything it writes goes through the run directory.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../engine/rng.js';
import { writeFileAtomic } from '../engine/atomic-file.js';
import { RunDir } from '../train/run-dir.js';
import { loadCorpus } from '../data/lm-corpus.js';
import { loadModel, BUILTIN } from '../lm/model-file.js';
import { MultiHookBuffer, checkHook, type TokenBatch } from '../lens/sae/buffer.js';
import { SaeTrainer } from '../lens/sae/train.js';
import { saveStateCheckpoint } from '../train/resume.js';
import { plans, defaultHooks, hookShort, type Plan } from './sae-lm-plan.js';
import { readSaeLmResume, SAE_LM_CHECKPOINT, type SaeLmProgress } from './sae-lm-resume.js';
import { reconstructionMetrics, spliceMetricsMany, densityHistogram, type SpliceMetrics } from '../lens/sae/metrics.js';
import type { Sae } from '../lens/sae/model.js';
import { steerFeatures } from './sae-lm-steer.js';
import { readFeatures } from './sae-lm-features.js';
import { evalWindows, evalActivations, deadOnWindow } from './sae-lm-eval.js';
import { VERSION } from '../version.js';
import { saeLmJson, saeLmText, type SaeLmResult, type SaeLmSummary, type DeadPoint, type AuxkSide } from './sae-lm-result.js';
import type { DashboardsFile } from './sae-addition-result.js';
import { SEED, type SettingsTable } from './settings.js';
import { defineExperiment, Interrupted, eventLoopTurns } from './experiment.js';

export interface SaeLmConfig {
  /** `builtin` (the shipped model) or a model file. */
  model: string;
  /** The built corpus (glassbox corpus build). */
  corpus: string;
  /** Hook points; empty: the middle and last residual streams and the middle MLP output. The first is the primary. */
  hooks: string[];
  /** Latents per dimension of the k sweep. */
  expansion: number;
  /** TopK k at every hook. */
  ks: number[];
  /** k of the SAEs whose features are read, and of the AuxK comparison and BatchTopK. */
  primaryK: number;
  /** Expansions at which TopK (primaryK) trains with and without AuxK at the primary hook. */
  auxkExpansions: number[];
  batchTopK: boolean;
  /** ReLU-L1 coefficients at the primary hook. */
  reluL1s: number[];
  /** Training activations per SAE. */
  tokens: number;
  batch: number;
  lr: number;
  /** A latent with no fire in this many training tokens is dead to the tracker (and revived by AuxK). */
  deadWindow: number;
  bufferRows: number;
  /** Validation windows (of the model's context) that every metric is measured on. */
  evalWindows: number;
  /** The fixed window of validation tokens (the first ones of the evaluation set) the dead fraction over training is measured on. */
  probeTokens: number;
  /** Dead-fraction measurements over training. */
  probes: number;
  steerFeatures: number;
  /** Multiples of the feature's largest activation. */
  steerMultiples: number[];
  steerBytes: number;
  steerPrompts: string[];
  seed: number;
}

const COMMON = { model: BUILTIN, corpus: 'lm-corpus', hooks: [] as string[], seed: 1, steerPrompts: ['The ', 'And he said'] };

export const SAE_LM_SETTINGS: SettingsTable<SaeLmConfig> = {
  model: { type: 'string', arg: 'file', help: 'LM model file, or builtin (the shipped model)' },
  corpus: { type: 'string', arg: 'dir', help: 'the built corpus (glassbox corpus build)' },
  hooks: { type: 'string[]', allowEmpty: true, help: 'hook points, comma-separated; empty: the middle and last hook_resid_post and the middle hook_mlp_out. The first is the primary' },
  expansion: { type: 'number', min: 0.01, max: 1024, help: 'latents per activation dimension in the k sweep' },
  ks: { type: 'int[]', min: 1, help: 'TopK k values' },
  primaryK: { type: 'int', min: 1, flag: 'k', help: 'primary k (features, AuxK comparison, BatchTopK); must be in --ks' },
  auxkExpansions: { type: 'number[]', min: 0.01, max: 1024, allowEmpty: true, help: 'expansions at which the primary TopK trains with and without AuxK' },
  batchTopK: { type: 'boolean', flag: 'batchtopk', help: 'also train the BatchTopK SAE' },
  reluL1s: { type: 'number[]', min: 0, allowEmpty: true, flag: 'l1s', help: 'ReLU-L1 coefficients at the primary hook (empty: none)' },
  tokens: { type: 'int', min: 1, help: 'training activations per SAE' },
  batch: { type: 'int', min: 1, max: 1 << 20, help: 'activations per step' },
  lr: { type: 'number', min: 1e-8, max: 10, help: 'learning rate (Adam)' },
  deadWindow: { type: 'int', min: 1, help: 'training tokens without a fire after which a latent is dead (and AuxK revives it)' },
  bufferRows: { type: 'int', min: 1, help: 'activation rows kept in the shuffle buffer (raised to twice the batch)' },
  evalWindows: { type: 'int', min: 1, max: 100000, help: "validation windows of the model's context to measure on" },
  probeTokens: { type: 'int', min: 1, help: 'validation tokens of the fixed window the dead fraction over training is measured on' },
  probes: { type: 'int', min: 1, help: 'dead-fraction measurements over training' },
  steerFeatures: { type: 'int', min: 0, help: 'features steered with' },
  steerMultiples: { type: 'number[]', help: "steering scales, as multiples of the feature's largest activation" },
  steerBytes: { type: 'int', min: 1, max: 4096, help: 'bytes generated per steered prompt' },
  steerPrompts: { type: 'string[]', arg: 'texts', help: 'steering prompts, separated by |', parse: (t) => t.split('|') },
  seed: SEED,
};

export const SAE_LM_PRESETS: Record<'quick' | 'default', SaeLmConfig> = {
  // For tests and a first look: seconds on the tiny model, about a minute on the shipped one.
  // Forty steps need a large step size: at 1e-3 a k = 32 SAE is still overshooting
  // (FVU > 1) when they end; at 1e-2 it is at FVU 0.15-0.2 on a d16 model.
  quick: {
    ...COMMON, lr: 1e-2, expansion: 8, ks: [8, 32], primaryK: 8, auxkExpansions: [8], batchTopK: false, reluL1s: [], tokens: 20_480, batch: 512,
    deadWindow: 5_000, bufferRows: 16_384, evalWindows: 16, probeTokens: 1024, probes: 4, steerFeatures: 2, steerMultiples: [0, 4], steerBytes: 24,
  },
  default: {
    ...COMMON, lr: 3e-3, expansion: 8, ks: [8, 16, 32, 64], primaryK: 32, auxkExpansions: [8, 32], batchTopK: true, reluL1s: [3], tokens: 409_600, batch: 1024,
    deadWindow: 50_000, bufferRows: 65_536, evalWindows: 64, probeTokens: 2048, probes: 10, steerFeatures: 6, steerMultiples: [0, 2, 5, 10], steerBytes: 48,
  },
};

export { defaultHooks, hookShort } from './sae-lm-plan.js';

export interface SaeLmRunOptions {
  preset?: string;
  outRoot?: string;
  runDir?: string;
  signal?: AbortSignal;
  /** A stopped run's checkpoint (checkpoints/sae-lm.safetensors) or its run directory; the run goes on in that directory. */
  resume?: string;
  onProgress?: (msg: string) => void;
  onStep?: (step: number, total: number, tokens: number) => void;
  render?: (result: SaeLmResult, dashboards: DashboardsFile) => string;
}

export function validateSaeLmConfig(c: SaeLmConfig): void {
  if (c.ks.length === 0) throw new Error('sae-lm: nothing to train (empty k list)');
  for (const k of [...c.ks, c.primaryK]) if (!Number.isInteger(k) || k < 1) throw new Error(`sae-lm: k must be a positive integer, got ${k}`);
  if (!c.ks.includes(c.primaryK)) throw new Error(`sae-lm: the primary k ${c.primaryK} must be one of the k sweep (${c.ks.join(', ')})`);
  for (const l of c.reluL1s) if (!(l >= 0)) throw new Error(`sae-lm: L1 coefficients must be >= 0, got ${l}`);
  for (const e of [c.expansion, ...c.auxkExpansions]) if (!(e > 0)) throw new Error(`sae-lm: expansions must be > 0, got ${e}`);
  for (const key of ['tokens', 'batch', 'deadWindow', 'bufferRows', 'evalWindows', 'probeTokens', 'probes', 'steerBytes'] as const) {
    if (!Number.isInteger(c[key]) || c[key] < 1) throw new Error(`sae-lm: ${key} must be a positive integer, got ${c[key]}`);
  }
  if (c.bufferRows < 2 * c.batch) throw new Error(`sae-lm: buffer rows ${c.bufferRows} must be at least twice the batch ${c.batch}`);
  if (!Number.isInteger(c.steerFeatures) || c.steerFeatures < 0) throw new Error(`sae-lm: steer features must be a non-negative integer, got ${c.steerFeatures}`);
}

export async function runSaeLm(cfg: SaeLmConfig, opts: SaeLmRunOptions = {}): Promise<SaeLmResult> {
  validateSaeLmConfig(cfg);
  const t0 = performance.now();
  const say = opts.onProgress ?? (() => {});
  const from = opts.resume ? readSaeLmResume(cfg, opts.resume, opts.runDir) : null;
  // Everything that can be wrong with the inputs is checked before anything is written.
  const lm = loadModel(cfg.model);
  const model = lm.model;
  const corpus = loadCorpus(cfg.corpus);
  const T = model.config.contextLength;
  if (corpus.train.length < T + 1) throw new Error(`sae-lm: the training split of ${cfg.corpus} (${corpus.train.length} bytes) is shorter than one window of ${T + 1} bytes`);
  const hooks = cfg.hooks.length > 0 ? cfg.hooks : defaultHooks(model.config.nLayers);
  for (const h of hooks) checkHook(model, h);
  const { batches: evalBatches, bytes: evalBytes } = evalWindows(corpus.val, T, cfg.evalWindows);
  const N = cfg.evalWindows * T;
  // The probe window is the first tokens of the evaluation set; a model with a short context has fewer (result.probe_tokens says how many).
  const probeTokens = Math.min(cfg.probeTokens, N);
  // The evaluation activations, read first: a hook whose activations are not one vector per token fails here, before any file.
  const evalX = hooks.map((h) => evalActivations(model, h, evalBatches, N).x);

  const run = opts.runDir || from ? new RunDir(opts.runDir ?? from!.runDir) : RunDir.create(opts.outRoot ?? 'runs', 'sae-lm');
  run.writeJson('config.json', { experiment: 'sae-lm', glassbox_version: VERSION, preset: opts.preset ?? 'custom', config: { ...cfg, hooks }, model_path: lm.path, model_sha256: lm.sha256 });
  mkdirSync(run.file('saes'), { recursive: true });
  mkdirSync(run.file('dashboards'), { recursive: true });

  // Training windows: B random windows of the train split per forward pass, drawn from (seed, i).
  const perBatch = Math.max(1, Math.floor(2048 / T));
  const span = corpus.train.length - T;
  const source = (i: number): TokenBatch => {
    const rng = Rng.derive(cfg.seed, `sae-lm/data/${i}`);
    const tokens = new Int32Array(perBatch * T);
    for (let b = 0; b < perBatch; b++) {
      const o = rng.int(span + 1);
      for (let t = 0; t < T; t++) tokens[b * T + t] = corpus.train[o + t];
    }
    return { tokens, B: perBatch, T };
  };
  const buffer = new MultiHookBuffer(model, hooks, source, Math.max(cfg.bufferRows, 2 * perBatch * T), cfg.seed);
  const widths = buffer.widths;
  const planList = plans(cfg, hooks, widths);
  say(`${planList.length} SAEs at ${hooks.join(', ')} (d ${widths.join(', ')}), ${cfg.tokens} training activations each`);

  // b_pre's sample, shared by the SAEs of a hook (a resumed run has it in its checkpoint).
  const medianSample = planList[0].cfg.medianSample;
  const samples = from ? from.samples : hooks.map((_, h) => new Float32Array(medianSample * widths[h]));
  let lmSeconds = from ? from.lmSeconds : 0;
  const tS = performance.now();
  for (let got = from ? medianSample : 0; got < medianSample; ) {
    const m = Math.min(cfg.batch, medianSample - got);
    const parts = buffer.next(m);
    parts.forEach((p, h) => samples[h].set(p, got * widths[h]));
    got += m;
  }
  lmSeconds += (performance.now() - tS) / 1000;
  const meta = (p: Plan) => ({ hook: hooks[p.hook], name: p.name, model_sha256: lm.sha256, model_path: lm.path });
  const trainers = planList.map((p) => new SaeTrainer(p.cfg, widths[p.hook], samples[p.hook], { meta: meta(p), onStep: (rec) => run.appendMetric({ kind: 'sae', sae: p.name, ...rec }) }));
  if (from) {
    if (from.trainers.length !== trainers.length) throw new Error(`sae-lm: the checkpoint holds ${from.trainers.length} SAEs, this config trains ${trainers.length}`);
    buffer.loadState(from.buffer);
    trainers.forEach((tr, j) => tr.loadState(from.trainers[j]));
  }
  // Only the SAEs of the AuxK comparison are probed during training: encoding the window is a dense product per SAE.
  const probed = planList.map((p) => p.hook === 0 && p.cfg.arch === 'topk' && p.cfg.k === cfg.primaryK && cfg.auxkExpansions.includes(p.cfg.expansion));
  // The probe window in each trainer's own units (training sees scaled activations).
  const probeRows = trainers.map((tr, j) => {
    const h = planList[j].hook;
    if (!probed[j]) return new Float32Array(0);
    const x = evalX[h].slice(0, probeTokens * widths[h]);
    for (let i = 0; i < x.length; i++) x[i] *= tr.scale;
    return x;
  });
  const deadSeries: DeadPoint[][] = from ? from.deadSeries : trainers.map(() => []);
  const probe = (tokens: number) => trainers.forEach((tr, j) => {
    if (!probed[j]) return;
    let tracker = 0;
    for (const v of tr.sinceFire) if (v >= tr.cfg.deadWindow) tracker++;
    deadSeries[j].push({ tokens, dead_probe: deadOnWindow(tr.sae, probeRows[j], probeTokens), dead_tracker: tracker / tr.sae.shape.n });
  });

  const steps = trainers[0].steps;
  const probeAt = new Set(Array.from({ length: cfg.probes }, (_, i) => Math.round(((i + 1) * steps) / cfg.probes)));
  const saeSeconds = from ? Float64Array.from(from.saeSeconds) : new Float64Array(trainers.length);
  const ckPath = join(run.checkpoints, SAE_LM_CHECKPOINT);
  const save = (step: number) => saveStateCheckpoint(ckPath, {
    experiment: 'sae-lm', config: cfg,
    state: { runDir: run.path, step, seconds: (from?.seconds ?? 0) + (performance.now() - t0) / 1000, lmSeconds, saeSeconds: [...saeSeconds], deadSeries, samples, buffer: buffer.state(), trainers: trainers.map((tr) => tr.state()) } satisfies SaeLmProgress,
  });
  const turn = eventLoopTurns();
  /** On a stop: the checkpoint at `step` (after training, the end-of-training one is already there), then an error that says where the run stopped and how it goes on. */
  const stopIfAborted = async (where: string, step?: number) => {
    await turn();
    if (!opts.signal?.aborted) return;
    if (step !== undefined) save(step);
    throw new Interrupted(`${where}; resume with --resume ${ckPath}`, true);
  };
  if (!from) probe(0);
  for (let s = from ? from.step : 0; s < steps; s++) {
    await stopIfAborted(`at SAE step ${s} of ${steps}`, s);
    const tA = performance.now();
    const parts = buffer.next(cfg.batch);
    lmSeconds += (performance.now() - tA) / 1000;
    trainers.forEach((tr, j) => {
      const tB = performance.now();
      tr.step(parts[planList[j].hook]);
      saeSeconds[j] += (performance.now() - tB) / 1000;
    });
    if (probeAt.has(s + 1)) probe((s + 1) * cfg.batch);
    opts.onStep?.(s + 1, steps, (s + 1) * cfg.batch);
  }
  // The end of training is kept too: a stop in the phases below resumes here, and so does a crash.
  save(steps);
  await stopIfAborted('after training the SAEs');

  const phases: Record<string, number> = { train: (performance.now() - t0) / 1000 };
  let tPhase = performance.now();
  const lap = (name: string) => {
    phases[name] = (performance.now() - tPhase) / 1000;
    tPhase = performance.now();
  };
  say('evaluating');
  const ce: SaeLmResult['ce'] = {};
  const saes: SaeLmSummary[] = [];
  const trained = new Map<string, Sae>();
  const finished = trainers.map((tr) => tr.finish());
  // Logged when the run ends, so a run stopped after evaluating and resumed logs them once.
  const evalMetrics: Array<Record<string, unknown>> = [];
  // One shared clean and zero-ablated run per hook; one spliced run per SAE.
  const splices = new Array<SpliceMetrics>(trainers.length);
  for (const [h, hook] of hooks.entries()) {
    await stopIfAborted(`while evaluating the SAEs at ${hook}`);
    const js = planList.map((p, j) => (p.hook === h ? j : -1)).filter((j) => j >= 0);
    const many = spliceMetricsMany(model, hook, js.map((j) => finished[j].sae), evalBatches);
    js.forEach((j, i) => (splices[j] = many[i]));
    ce[hook] = { clean: many[0].ce_clean, zero_ablation: many[0].ce_zero_ablation };
  }
  trainers.forEach((tr, j) => {
    const p = planList[j];
    const r = finished[j];
    const hook = hooks[p.hook];
    const m = reconstructionMetrics(r.sae, evalX[p.hook], N);
    const sp = splices[j];
    const file = run.file(`saes/${p.name}.safetensors`);
    writeFileAtomic(file, r.sae.toSafetensors());
    let deadTrain = 0;
    for (const v of r.tokensSinceFire) if (v >= p.cfg.deadWindow) deadTrain++;
    saes.push({
      name: p.name, hook, arch: p.cfg.arch, k_or_l1: p.cfg.arch === 'relu' ? p.cfg.l1 : p.cfg.k, auxk: p.cfg.arch !== 'relu' && p.cfg.auxk, n: r.sae.shape.n,
      l0: m.l0, fvu: m.fvu, mse: m.mse, cosine: m.cosine, ce_score: sp.ce_score, kl_score: sp.kl_score, ce_spliced: sp.ce_spliced,
      dead_fraction: m.dead_fraction, dead_fraction_train: deadTrain / r.sae.shape.n, density_histogram: densityHistogram(m.density),
      dead_over_training: deadSeries[j], history: r.history, seconds: saeSeconds[j], activations_per_s: r.steps * p.cfg.batch / Math.max(saeSeconds[j], 1e-9), file,
    });
    evalMetrics.push({ kind: 'sae_eval', sae: p.name, hook, l0: m.l0, fvu: m.fvu, ce_score: sp.ce_score, dead_fraction: m.dead_fraction });
    trained.set(p.name, r.sae);
  });

  // The AuxK comparison and the targets.
  const auxk_comparison: SaeLmResult['auxk_comparison'] = [];
  const side = (s: SaeLmSummary): AuxkSide => ({ dead_fraction: s.dead_fraction, dead_probe_final: s.dead_over_training.length ? s.dead_over_training[s.dead_over_training.length - 1].dead_probe : s.dead_fraction, dead_fraction_train: s.dead_fraction_train, fvu: s.fvu, ce_score: s.ce_score });
  for (const e of cfg.auxkExpansions) {
    const n = Math.round(e * widths[0]);
    const base = `${hookShort(hooks[0])}-topk-k${cfg.primaryK}-n${n}`;
    const w = saes.find((s) => s.name === base), wo = saes.find((s) => s.name === `${base}-noauxk`);
    if (w && wo) auxk_comparison.push({ hook: hooks[0], k: cfg.primaryK, n, with_auxk: side(w), without_auxk: side(wo) });
  }
  const targets = hooks.map((hook) => {
    const cands = saes.filter((s) => s.hook === hook && s.arch === 'topk' && s.auxk && s.l0 <= 32);
    const best = cands.sort((a, b) => a.fvu - b.fvu)[0];
    return best
      ? { hook, sae: best.name, l0: best.l0, fvu: best.fvu, ce_score: best.ce_score, fvu_met: best.fvu <= 0.2, ce_met: best.ce_score >= 0.9 }
      : { hook, sae: null, l0: null, fvu: null, ce_score: null, fvu_met: false, ce_met: false };
  });

  lap('evaluate');
  // Reading the features: the primary SAE at each hook, against an untrained one of the same shape.
  await stopIfAborted('before reading features');
  say('reading features');
  const { features, primaryDash, describedPrimary } = await readFeatures({ stopIfAborted: (hook) => stopIfAborted(`while reading the features at ${hook}`), model, run, hooks, widths, evalX, evalBytes, N, T, primaryNames: hooks.map((hook, h) => `${hookShort(hook)}-topk-k${cfg.primaryK}-n${Math.round(cfg.expansion * widths[h])}`), seed: cfg.seed, trained, samples, planCfg: (name) => planList.find((p) => p.name === name)!.cfg });

  lap('features');
  await stopIfAborted('before steering');
  say('steering');
  const primaryName = features[0].sae;
  const steering = steerFeatures(model, trained.get(primaryName)!, hooks[0], describedPrimary[0], primaryDash!.features, cfg);

  lap('steering');
  const saeTotal = saes.reduce((a, s) => a + s.seconds, 0);
  const saeActs = trainers.reduce((a, tr) => a + tr.stepsDone * tr.cfg.batch, 0);
  const result: SaeLmResult = {
    experiment: 'sae-lm', glassbox_version: VERSION, preset: opts.preset ?? 'custom', model_path: lm.path, model_sha256: lm.sha256,
    model: { layers: model.config.nLayers, d_model: model.config.dModel, context: T, params: model.paramCount(), val_bpb: Number.isFinite(lm.card.val_bpb) ? lm.card.val_bpb : null },
    hooks, eval_tokens: N, probe_tokens: probeTokens, ce, saes, auxk_comparison, targets, features, steering,
    throughput: {
      lm_tokens: buffer.tokensRead, lm_seconds: lmSeconds, lm_tokens_per_s: buffer.tokensRead / Math.max(lmSeconds, 1e-9),
      sae_activations: saeActs, sae_seconds: saeTotal, sae_activations_per_s: saeActs / Math.max(saeTotal, 1e-9),
      pytorch: 'not measured in this run: `npm run bench:sae` runs the PyTorch twin when a Python with torch is found',
    },
    config: { ...cfg, hooks },
    seconds: (from?.seconds ?? 0) + (performance.now() - t0) / 1000,
    phase_seconds: phases,
    run_dir: run.path,
    report: run.file('report.html'),
  };
  for (const m of evalMetrics) run.appendMetric(m);
  run.writeJson('result.json', result);
  if (opts.render) writeFileAtomic(result.report, opts.render(result, primaryDash!));
  return result;
}

/** `glassbox run sae-lm`. */
export const saeLmExperiment = defineExperiment<SaeLmConfig, SaeLmResult>({
  name: 'sae-lm',
  description: 'sparse autoencoders on the language model: TopK k sweeps at residual and MLP hook points, AuxK on and off, BatchTopK, ReLU-L1, feature descriptions, steering',
  settings: SAE_LM_SETTINGS,
  presets: {
    default: { help: 'the figures of the README', config: SAE_LM_PRESETS.default },
    quick: { help: 'seconds on the tiny model, about a minute on the shipped one', config: SAE_LM_PRESETS.quick },
  },
  defaultPreset: 'default',
  adjust: (c, given) => (given.has('batch') && !given.has('bufferRows') ? { ...c, bufferRows: Math.max(c.bufferRows, 2 * c.batch) } : c),
  validate: (c) => validateSaeLmConfig(c),
  resumable: true,
  run(cfg, ctx) {
    let phase = '';
    return runSaeLm(cfg, {
      preset: ctx.preset, outRoot: ctx.outRoot, runDir: ctx.runDir, signal: ctx.signal, resume: ctx.resume,
      onProgress: (m) => {
        phase = '';
        ctx.progress.note(`sae-lm: ${m}`);
      },
      onStep: (step, total, tokens) => {
        if (phase !== 'train') ctx.progress.phase('train', total, ['tokens']);
        phase = 'train';
        ctx.progress.update(step, { tokens });
      },
      render: ctx.render ? (r, d) => ctx.render!(r, d) : undefined,
    });
  },
  summary: (r) => saeLmText(r).trimEnd().split('\n'),
  json: saeLmJson,
});
