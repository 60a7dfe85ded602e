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
import type { GPT } from '../nn/gpt.js';
import { MultiHookBuffer, checkHook, hookActivations, type TokenBatch } from '../lens/sae/buffer.js';
import { SaeTrainer } from '../lens/sae/train.js';
import { DEFAULT_TRAIN, type SaeTrainConfig } from '../lens/sae/config.js';
import { reconstructionMetrics, spliceMetricsMany, densityHistogram, type ScoredBatch, type SpliceMetrics } from '../lens/sae/metrics.js';
import { featureDashboards } from '../lens/sae/features.js';
import { describeLatents, countInterpretable, byteLabel, type LatentDescription } from '../lens/sae/describe.js';
import type { Sae } from '../lens/sae/model.js';
import { steerFeatures } from './sae-lm-steer.js';
import { VERSION } from '../version.js';
import type { SaeLmResult, SaeLmSummary, HookFeatures, DeadPoint, AuxkSide } from './sae-lm-result.js';
import type { DashboardsFile } from './sae-addition-result.js';
import { SEED, type SettingsTable } from './settings.js';
import { defineExperiment, stopIfAborted, formatSeconds } from './experiment.js';

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

export interface SaeLmRunOptions {
  preset?: string;
  outRoot?: string;
  runDir?: string;
  signal?: AbortSignal;
  onProgress?: (msg: string) => void;
  onStep?: (step: number, total: number, tokens: number) => void;
  render?: (result: SaeLmResult, dashboards: DashboardsFile) => string;
}

export function defaultHooks(nLayers: number): string[] {
  const mid = Math.floor((nLayers - 1) / 2), last = nLayers - 1;
  return [...new Set([`blocks.${mid}.hook_resid_post`, `blocks.${last}.hook_resid_post`, `blocks.${mid}.hook_mlp_out`])];
}

/** A hook's short name for file names: blocks.1.hook_resid_post → resid1, blocks.2.hook_mlp_out → mlp2. */
export function hookShort(hook: string): string {
  const m = /^blocks\.(\d+)\.hook_(resid_post|resid_pre|resid_mid|mlp_out|attn_out)$/.exec(hook);
  if (!m) return hook.replace(/[^A-Za-z0-9]+/g, '_');
  const kind = { resid_post: 'resid', resid_pre: 'residpre', resid_mid: 'residmid', mlp_out: 'mlp', attn_out: 'attn' }[m[2]]!;
  return `${kind}${m[1]}`;
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

interface Plan {
  name: string;
  hook: number;
  cfg: SaeTrainConfig;
}

function plans(c: SaeLmConfig, hooks: string[], d: number[]): Plan[] {
  const base: SaeTrainConfig = { ...DEFAULT_TRAIN, lr: c.lr, batch: c.batch, tokens: c.tokens, deadWindow: c.deadWindow, seed: c.seed, medianSample: Math.min(2048, Math.floor(c.bufferRows / 2)) };
  const out: Plan[] = [];
  const add = (h: number, cfg: SaeTrainConfig, tail = '') => {
    const n = Math.round(cfg.expansion * d[h]);
    const what = cfg.arch === 'relu' ? `relu-l1-${cfg.l1}` : `${cfg.arch}-k${cfg.k}`;
    const name = `${hookShort(hooks[h])}-${what}-n${n}${tail}`;
    if (!out.some((p) => p.name === name)) out.push({ name, hook: h, cfg });
  };
  hooks.forEach((_, h) => {
    for (const k of [...c.ks].sort((a, b) => a - b)) add(h, { ...base, arch: 'topk', k, expansion: c.expansion, auxk: true });
  });
  for (const e of c.auxkExpansions) {
    add(0, { ...base, arch: 'topk', k: c.primaryK, expansion: e, auxk: true });
    add(0, { ...base, arch: 'topk', k: c.primaryK, expansion: e, auxk: false }, '-noauxk');
  }
  if (c.batchTopK) add(0, { ...base, arch: 'batchtopk', k: c.primaryK, expansion: c.expansion, auxk: true });
  for (const l1 of c.reluL1s) add(0, { ...base, arch: 'relu', l1, expansion: c.expansion, auxk: false });
  return out;
}

/** Evenly spaced validation windows of T bytes with their next-byte targets, in batches of at most 16 windows. */
export function evalWindows(val: Uint8Array, T: number, count: number): { batches: ScoredBatch[]; bytes: Uint8Array } {
  if (val.length < T + 1) throw new Error(`sae-lm: the validation split (${val.length} bytes) is shorter than one window of ${T + 1} bytes`);
  const span = val.length - T - 1;
  const bytes = new Uint8Array(count * T);
  const batches: ScoredBatch[] = [];
  for (let s = 0; s < count; s += 16) {
    const B = Math.min(16, count - s);
    const tokens = new Int32Array(B * T), targets = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const j = s + b;
      const o = count === 1 ? 0 : Math.floor((j * span) / (count - 1));
      for (let t = 0; t < T; t++) {
        tokens[b * T + t] = val[o + t];
        targets[b * T + t] = val[o + t + 1];
        bytes[j * T + t] = val[o + t];
      }
    }
    batches.push({ tokens, targets, B, T });
  }
  return { batches, bytes };
}

/** Activations of every eval batch at `hook`, concatenated as rows. */
function evalActivations(model: GPT, hook: string, batches: readonly ScoredBatch[], N: number): { x: Float32Array; d: number } {
  let d = 0, at = 0;
  let x = new Float32Array(0);
  for (const b of batches) {
    const h = hookActivations(model, hook, b);
    if (d === 0) {
      d = h.d;
      x = new Float32Array(N * d);
    }
    x.set(h.rows, at);
    at += h.rows.length;
  }
  return { x, d };
}

function deadOnWindow(sae: Sae, rows: Float32Array, count: number): number {
  const n = sae.shape.n;
  const fired = new Uint8Array(n);
  for (let s = 0; s < count; s += 1024) {
    const B = Math.min(1024, count - s);
    const z = sae.encode(rows.subarray(s * sae.shape.d, (s + B) * sae.shape.d), B);
    for (let r = 0; r < B; r++) for (let i = 0; i < n; i++) if (z[r * n + i] > 0) fired[i] = 1;
  }
  let dead = 0;
  for (let i = 0; i < n; i++) if (!fired[i]) dead++;
  return dead / n;
}

/** The 256 bytes as dashboard tokens. */
export const BYTE_VOCAB: readonly string[] = Array.from({ length: 256 }, (_, b) => byteLabel(b));

export async function runSaeLm(cfg: SaeLmConfig, opts: SaeLmRunOptions = {}): Promise<SaeLmResult> {
  validateSaeLmConfig(cfg);
  const t0 = performance.now();
  const say = opts.onProgress ?? (() => {});
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

  const run = opts.runDir ? new RunDir(opts.runDir) : RunDir.create(opts.outRoot ?? 'runs', 'sae-lm');
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

  // b_pre's sample, shared by the SAEs of a hook.
  const medianSample = planList[0].cfg.medianSample;
  const samples = hooks.map((_, h) => new Float32Array(medianSample * widths[h]));
  let lmSeconds = 0;
  const tS = performance.now();
  for (let got = 0; got < medianSample; ) {
    const m = Math.min(cfg.batch, medianSample - got);
    const parts = buffer.next(m);
    parts.forEach((p, h) => samples[h].set(p, got * widths[h]));
    got += m;
  }
  lmSeconds += (performance.now() - tS) / 1000;
  const meta = (p: Plan) => ({ hook: hooks[p.hook], name: p.name, model_sha256: lm.sha256, model_path: lm.path });
  const trainers = planList.map((p) => new SaeTrainer(p.cfg, widths[p.hook], samples[p.hook], { meta: meta(p), onStep: (rec) => run.appendMetric({ kind: 'sae', sae: p.name, ...rec }) }));
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
  const deadSeries: DeadPoint[][] = trainers.map(() => []);
  const probe = (tokens: number) => trainers.forEach((tr, j) => {
    if (!probed[j]) return;
    let tracker = 0;
    for (const v of tr.sinceFire) if (v >= tr.cfg.deadWindow) tracker++;
    deadSeries[j].push({ tokens, dead_probe: deadOnWindow(tr.sae, probeRows[j], probeTokens), dead_tracker: tracker / tr.sae.shape.n });
  });

  const steps = trainers[0].steps;
  const probeAt = new Set(Array.from({ length: cfg.probes }, (_, i) => Math.round(((i + 1) * steps) / cfg.probes)));
  const saeSeconds = new Float64Array(trainers.length);
  probe(0);
  for (let s = 0; s < steps; s++) {
    stopIfAborted(opts.signal, `at SAE step ${s} of ${steps}`);
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
  // One shared clean and zero-ablated run per hook; one spliced run per SAE.
  const splices = new Array<SpliceMetrics>(trainers.length);
  hooks.forEach((hook, h) => {
    const js = planList.map((p, j) => (p.hook === h ? j : -1)).filter((j) => j >= 0);
    const many = spliceMetricsMany(model, hook, js.map((j) => finished[j].sae), evalBatches);
    js.forEach((j, i) => (splices[j] = many[i]));
    ce[hook] = { clean: many[0].ce_clean, zero_ablation: many[0].ce_zero_ablation };
  });
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
    run.appendMetric({ kind: 'sae_eval', sae: p.name, hook, l0: m.l0, fvu: m.fvu, ce_score: sp.ce_score, dead_fraction: m.dead_fraction });
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
  say('reading features');
  const W_U = model.W_U ? model.W_U.data : transposeEmbedding(model.W_E.data, 256, widths[0]);
  const examples = Array.from({ length: cfg.evalWindows }, (_, s) => Buffer.from(evalBytes.subarray(s * T, (s + 1) * T)).toString('latin1'));
  const thresholds = [0.5, 0.7, 0.9];
  const features: HookFeatures[] = [];
  let primaryDash: DashboardsFile | null = null;
  const describedPrimary: LatentDescription[][] = [];
  hooks.forEach((hook, h) => {
    const name = `${hookShort(hook)}-topk-k${cfg.primaryK}-n${Math.round(cfg.expansion * widths[h])}`;
    const sae = trained.get(name)!;
    const z = sae.encode(evalX[h], N);
    const descs = describeLatents(z, sae.shape.n, { bytes: evalBytes, T });
    const rnd = new SaeTrainer({ ...planList.find((p) => p.name === name)!.cfg, seed: cfg.seed + 1 }, widths[h], samples[h]).finish().sae;
    const zr = rnd.encode(evalX[h], N);
    const rdescs = describeLatents(zr, rnd.shape.n, { bytes: evalBytes, T });
    const rm = reconstructionMetrics(rnd, evalX[h], N);
    const dash = featureDashboards(sae, z, N, T, { W_U, vocab: BYTE_VOCAB });
    const byFeature = new Map(descs.map((d) => [d.feature, d]));
    const file: DashboardsFile = { sae: name, hook, n: sae.shape.n, examples, features: dash.map((f) => ({ ...f, label: byFeature.get(f.index) ?? null })) };
    const path = run.writeJson(`dashboards/${name}.json`, file);
    if (h === 0) {
      primaryDash = file;
      run.writeJson('dashboards.json', file);
    }
    describedPrimary.push(descs);
    features.push({
      hook, sae: name, live: descs.length, interpretable: countInterpretable(descs, thresholds),
      random: { sae: `untrained ${name}`, live: rdescs.length, interpretable: countInterpretable(rdescs, thresholds), fvu: rm.fvu, l0: rm.l0 },
      best: descs.slice(0, 12), worst: descs.slice(-12).reverse(), dashboards_file: path,
    });
  });

  lap('features');
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
    seconds: (performance.now() - t0) / 1000,
    phase_seconds: phases,
    run_dir: run.path,
    report: run.file('report.html'),
  };
  run.writeJson('result.json', result);
  if (opts.render) writeFileAtomic(result.report, opts.render(result, primaryDash!));
  return result;
}

/**
 * Throws unless `sae` was trained on this model: an SAE's dictionary is
 * specific to the activations of the model it read, so it records the model
 * file's SHA-256, and another model (even one of the same shape) is refused.
 */
export function checkSaeModel(sae: Sae, lm: { path: string; sha256: string }, what = 'this SAE'): void {
  const want = sae.meta.model_sha256;
  if (!want) throw new Error(`${what} records no model SHA-256, so it cannot be checked against ${lm.path}; it is not from a sae-lm run`);
  if (want !== lm.sha256) throw new Error(`${what} was trained on the model with sha256 ${want.slice(0, 16)}…, but ${lm.path} has sha256 ${lm.sha256.slice(0, 16)}…: an SAE only reads the activations of the model it was trained on`);
}

/** W_Eᵀ [d, V] for a model with tied embeddings. */
function transposeEmbedding(W_E: Float32Array, V: number, d: number): Float32Array {
  const out = new Float32Array(d * V);
  for (let v = 0; v < V; v++) for (let c = 0; c < d; c++) out[c * V + v] = W_E[v * d + c];
  return out;
}

function saeLmJson(r: SaeLmResult): unknown {
  return {
    experiment: r.experiment, run_dir: r.run_dir, report: r.report, model_path: r.model_path, model_sha256: r.model_sha256, hooks: r.hooks, ce: r.ce,
    saes: r.saes.map((s) => ({ name: s.name, hook: s.hook, arch: s.arch, k_or_l1: s.k_or_l1, auxk: s.auxk, n: s.n, l0: s.l0, fvu: s.fvu, ce_score: s.ce_score, dead_fraction: s.dead_fraction, activations_per_s: s.activations_per_s })),
    auxk_comparison: r.auxk_comparison, targets: r.targets,
    features: r.features.map((f) => ({ hook: f.hook, sae: f.sae, live: f.live, interpretable: f.interpretable, random: f.random, best: f.best.slice(0, 5), worst: f.worst.slice(0, 3) })),
    steering: r.steering.map((s) => ({ feature: s.feature, description: s.description, prompt: s.prompt, description_follows: s.description_follows, promoted_follows: s.promoted_follows })),
    throughput: r.throughput, seconds: r.seconds,
  };
}

function saeLmText(r: SaeLmResult): string {
  const lines = [`${'SAE'.padEnd(34)} ${'L0'.padStart(7)} ${'FVU'.padStart(8)} ${'CE score'.padStart(9)} ${'dead'.padStart(7)}`];
  for (const s of r.saes) lines.push(`${s.name.padEnd(34)} ${s.l0.toFixed(2).padStart(7)} ${s.fvu.toFixed(4).padStart(8)} ${s.ce_score.toFixed(4).padStart(9)} ${(s.dead_fraction * 100).toFixed(1).padStart(6)}%`);
  for (const c of r.auxk_comparison) lines.push(`dead latents, TopK k=${c.k} n=${c.n} at ${c.hook}: ${(c.with_auxk.dead_probe_final * 100).toFixed(1)}% with AuxK, ${(c.without_auxk.dead_probe_final * 100).toFixed(1)}% without (on the ${r.probe_tokens}-token probe window)`);
  for (const t of r.targets) lines.push(`target at ${t.hook}: ${t.sae ?? 'no TopK SAE with L0 <= 32'}${t.sae ? ` FVU ${t.fvu!.toFixed(3)} (${t.fvu_met ? 'met' : 'missed'}), CE score ${t.ce_score!.toFixed(3)} (${t.ce_met ? 'met' : 'missed'})` : ''}`);
  for (const f of r.features) lines.push(`${f.sae}: ${f.interpretable['f1_0.70']} of ${f.live} live latents described with F1 >= 0.7; untrained baseline ${f.random.interpretable['f1_0.70']} of ${f.random.live}`);
  lines.push(`SAE training ${Math.round(r.throughput.sae_activations_per_s)} activations/s, LM ${Math.round(r.throughput.lm_tokens_per_s)} tokens/s; ${formatSeconds(r.seconds)}; report: ${r.report}`);
  return lines.join('\n') + '\n';
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
  resumable: false,
  run(cfg, ctx) {
    let phase = '';
    return runSaeLm(cfg, {
      preset: ctx.preset, outRoot: ctx.outRoot, runDir: ctx.runDir, signal: ctx.signal,
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
