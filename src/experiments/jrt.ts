// `glassbox run jrt`: Arora et al., "Just read twice: closing the recall gap
// for recurrent language models" (arXiv 2407.05483), at CPU scale.
// - Recall against state size: MQAR accuracy of softmax attention (the GPT)
//   and of Based at several widths and feature dimensions d′, against the
//   bytes each keeps between tokens (the Based paper's Figure 2 shape,
//   arXiv 2402.18668).
// - JRT-Prompt: the same trained models with the key-value block shown twice
//   at the same sequence length.
// - Order matters: set disjointness with the small set first and with the
//   large set first, for causal Based and for prefix linear attention
//   (JRT-RNN), at several state sizes.
// - Generation: time per token and memory of Based's recurrent form against
//   the GPT's KV cache, from 256 to 4,096 tokens of context.

import { existsSync, statSync, truncateSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { RunDir } from '../train/run-dir.js';
import { writeFileAtomic } from '../engine/atomic-file.js';
import { VERSION } from '../version.js';
import { HeldOut, checkTask, type TaskShape } from '../data/recall-tasks.js';
import { trainModel, evalSets, accuracy, saveRecallModel, type ModelSpec, type TrainSpec, type Architecture, type EvalSet } from './jrt-train.js';
import { measureGeneration, type GenerationResult } from './jrt-speed.js';
import type { SettingsTable, Setting } from './settings.js';
import { defineExperiment, stopIfAborted, formatSeconds, trainStepFields, type Progress } from './experiment.js';
import { saveResultsCheckpoint, readResultsCheckpoint, resumePath } from '../train/resume.js';

export interface JrtConfig {
  vocabSize: number;
  seqLen: number;
  powerA: number;
  /** MQAR key-value counts trained and tested with one pass. */
  kv: number[];
  /** Key-value counts also trained and tested with the block shown twice (JRT-Prompt); 6K ≤ seqLen. */
  jrtKv: number[];
  attnDModel: number;
  attnHeads: number;
  /** Also train the plain GPT of gpt.ts (no convolution) on MQAR. */
  gpt: boolean;
  /** Based widths × feature dimensions d′: one model per pair. */
  basedWidths: number[];
  featureDims: number[];
  /** Pair basedWidths[i] with featureDims[i] (true), or train every width with every d′ (false). */
  paired: boolean;
  /** Set disjointness: the two set sizes, and the widths of the causal and prefix models (d′ = disjointFeatureDim). */
  setSmall: number;
  setLarge: number;
  disjointWidths: number[];
  disjointFeatureDim: number;
  layers: number;
  mqarSteps: number;
  disjointSteps: number;
  batch: number;
  /** Training stops once every validation shape reaches this accuracy (zoology: 0.99). */
  stopAt: number;
  lr: number;
  weightDecay: number;
  testExamples: number;
  seeds: number;
  /** Seeds per set-disjointness model (its models are small, and whether one learns the task varies by seed). */
  disjointSeeds: number;
  /** Train the MQAR models on the two-pass shapes too (false: one pass only, so two passes are new at test time). */
  trainTwoPasses: boolean;
  speedLengths: number[];
  speedTokens: number;
  seed: number;
}

const int = (min: number, max: number, help: string): Setting<number> => ({ type: 'int', min, max, help });

export const JRT_SETTINGS: SettingsTable<JrtConfig> = {
  vocabSize: int(8, 1 << 16, 'vocabulary size V (must exceed the sequence length)'),
  seqLen: int(4, 4096, 'MQAR sequence length L'),
  powerA: { type: 'number', min: 1e-6, max: 1, help: 'power-law exponent a of the query gaps (zoology: 0.01)' },
  kv: { type: 'int[]', min: 1, max: 1024, help: 'MQAR key-value pair counts K (one pass)' },
  jrtKv: { type: 'int[]', min: 1, max: 1024, flag: 'jrt-kv', help: 'K values also shown with two passes (JRT-Prompt); need 6K ≤ L' },
  attnDModel: int(4, 1024, 'width of the attention models (BaseConv + softmax attention, and the GPT)'),
  attnHeads: int(1, 64, 'heads of the attention models'),
  gpt: { type: 'boolean', help: 'also train the plain GPT (learned positions, MLPs, no convolution) on MQAR' },
  basedWidths: { type: 'int[]', min: 4, max: 1024, help: 'Based widths d_model' },
  featureDims: { type: 'int[]', min: 1, max: 64, help: 'Based feature dimensions d′' },
  paired: { type: 'boolean', help: 'pair the i-th width with the i-th d′ (otherwise every width × every d′)' },
  setSmall: int(1, 1024, 'set disjointness: the small set size'),
  setLarge: int(1, 1024, 'set disjointness: the large set size'),
  disjointWidths: { type: 'int[]', min: 4, max: 1024, help: 'set disjointness: widths of the causal and prefix Based models' },
  disjointFeatureDim: int(1, 64, "set disjointness: d′ of its models"),
  layers: int(1, 16, 'layers of every model (a Based layer is a BaseConv then a linear attention)'),
  mqarSteps: int(1, 1 << 20, 'most training steps per MQAR model (it stops early at stopAt)'),
  disjointSteps: int(1, 1 << 20, 'most training steps per set-disjointness model'),
  batch: int(1, 4096, 'sequences per step'),
  stopAt: { type: 'number', min: 0, max: 1, help: 'stop training once every validation shape reaches this accuracy (zoology: 0.99; 1 never stops early)' },
  lr: { type: 'number', min: 1e-6, max: 1, help: 'peak learning rate (AdamW, warmup then cosine)' },
  weightDecay: { type: 'number', min: 0, max: 10, help: 'AdamW decoupled weight decay (zoology: 0.1)' },
  testExamples: int(1, 1 << 20, 'held-out test examples per task shape'),
  seeds: int(1, 64, 'seeds per MQAR model (each point shows the mean and spread)'),
  disjointSeeds: int(1, 64, 'seeds per set-disjointness model'),
  trainTwoPasses: { type: 'boolean', help: 'train the MQAR models on the two-pass (JRT) shapes too; otherwise those are seen only at test time' },
  speedLengths: { type: 'int[]', min: 1, max: 1 << 16, allowEmpty: true, help: 'context lengths of the generation timing (empty: skip it)' },
  speedTokens: int(1, 4096, 'tokens timed per length in each of 3 repetitions (the median counts)'),
  seed: { type: 'int', min: 0, max: 2 ** 31 - 1, help: 'base seed (model seeds are seed, seed+1, ...)' },
};

const BASE: JrtConfig = {
  vocabSize: 128, seqLen: 64, powerA: 0.01, kv: [4, 8, 16], jrtKv: [4, 8],
  attnDModel: 64, attnHeads: 2, gpt: false, basedWidths: [32, 32, 64], featureDims: [2, 8, 16], paired: true,
  setSmall: 8, setLarge: 32, disjointWidths: [16, 32], disjointFeatureDim: 4, layers: 2,
  mqarSteps: 600, disjointSteps: 1200, batch: 32, stopAt: 0.995, lr: 3e-3, weightDecay: 0.1, testExamples: 256, seeds: 2, disjointSeeds: 3, trainTwoPasses: true,
  speedLengths: [256, 512, 1024, 2048, 4096], speedTokens: 32, seed: 1,
};

export const JRT_PRESETS: Record<'default' | 'quick' | 'tiny', JrtConfig> = {
  default: BASE,
  quick: { ...BASE, kv: [4, 8], jrtKv: [4], basedWidths: [32, 64], featureDims: [2, 16], disjointWidths: [16], mqarSteps: 250, disjointSteps: 300, testExamples: 128, seeds: 1, disjointSeeds: 1, speedLengths: [256, 1024], speedTokens: 4 },
  tiny: { ...BASE, vocabSize: 40, seqLen: 24, kv: [2, 4], jrtKv: [2], attnDModel: 16, attnHeads: 2, basedWidths: [16], featureDims: [4], paired: true, setSmall: 2, setLarge: 5, disjointWidths: [16], disjointFeatureDim: 4, mqarSteps: 12, disjointSteps: 8, batch: 8, testExamples: 16, seeds: 1, disjointSeeds: 1, speedLengths: [32], speedTokens: 2 },
};

/** The MQAR shapes of a config: every K with one pass, then the JRT K values with two. */
export function mqarShapes(c: JrtConfig): Array<{ name: string; K: number; passes: number; shape: TaskShape }> {
  const mk = (K: number, passes: number) => ({ name: passes === 1 ? `K=${K}` : `K=${K} ×${passes}`, K, passes, shape: { task: 'mqar' as const, vocabSize: c.vocabSize, seqLen: c.seqLen, numKvPairs: K, passes, powerA: c.powerA } });
  return [...c.kv.map((K) => mk(K, 1)), ...c.jrtKv.map((K) => mk(K, 2))];
}

export function disjointShapes(c: JrtConfig): Array<{ name: string; shape: TaskShape }> {
  return [
    { name: 'small first', shape: { task: 'disjoint', vocabSize: c.vocabSize, sizeA: c.setSmall, sizeB: c.setLarge } },
    { name: 'large first', shape: { task: 'disjoint', vocabSize: c.vocabSize, sizeA: c.setLarge, sizeB: c.setSmall } },
  ];
}

/** The (width, d′) of each Based model of the MQAR sweep. */
export function basedPairs(c: JrtConfig): Array<[number, number]> {
  if (c.paired) return c.basedWidths.map((d, i) => [d, c.featureDims[i]]);
  return c.basedWidths.flatMap((d) => c.featureDims.map((f): [number, number] => [d, f]));
}

/** Throws, naming the setting, for a config that cannot run (before any directory is made). */
export function validateJrt(c: JrtConfig): void {
  for (const s of mqarShapes(c)) checkTask(s.shape, `jrt: MQAR ${s.name}`);
  for (const s of disjointShapes(c)) checkTask(s.shape, `jrt: set disjointness ${s.name}`);
  for (const K of c.jrtKv) if (!c.kv.includes(K)) throw new Error(`jrt: jrtKv ${K} must also be in kv, so its one-pass accuracy is there to compare with`);
  if (c.setSmall >= c.setLarge) throw new Error(`jrt: setSmall (${c.setSmall}) must be smaller than setLarge (${c.setLarge})`);
  if (c.attnDModel % c.attnHeads !== 0) throw new Error(`jrt: attnDModel ${c.attnDModel} is not divisible by attnHeads ${c.attnHeads}`);
  if (c.paired && c.basedWidths.length !== c.featureDims.length) throw new Error(`jrt: paired needs as many featureDims as basedWidths (${c.featureDims.length} vs ${c.basedWidths.length})`);
}

// ------------------------------------------------------------------ results

export interface Stat {
  mean: number;
  sd: number;
  min: number;
  max: number;
  n: number;
}

export function stat(xs: number[]): Stat {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) * (b - mean), 0) / (n - 1)) : 0;
  return { mean, sd, min: Math.min(...xs), max: Math.max(...xs), n };
}

export interface SeedRun {
  seed: number;
  steps: number;
  stoppedEarly: boolean;
  seconds: number;
  /** Accuracy per test set, by name. */
  acc: Record<string, number>;
  checkpoint: string;
}

/** The file a stopped run resumes from, in its run directory's checkpoints/. */
export const JRT_CHECKPOINT = 'jrt.json';

/**
 * What a stopped run keeps (a results checkpoint, with the config check of
 * src/train/resume.ts): every finished (task, model, seed) training with its
 * accuracies, and the length metrics.jsonl had then. A resumed run skips the
 * finished ones, cuts metrics.jsonl back to that length (dropping the lines of
 * a training that was stopped half-way) and trains the rest, so it ends in the
 * same result, models and metrics as a run that never stopped.
 */
interface JrtCheckpoint {
  done: Record<string, SeedRun & { stateBytes: number }>;
  metricsBytes: number;
}

export interface ModelRow {
  id: string;
  spec: ModelSpec;
  /** Bytes kept between tokens at the MQAR length (attention: its KV cache then; Based: its fixed state). */
  stateBytes: number;
  runs: SeedRun[];
  acc: Record<string, Stat>;
}

export interface JrtGain {
  id: string;
  K: number;
  stateBytes: number;
  onePass: Stat;
  twoPasses: Stat;
  /** Points (percentage points) gained by the second pass, per seed. */
  gain: Stat;
}

export interface OrderRow {
  id: string;
  arch: Architecture;
  dModel: number;
  stateBytes: number;
  smallFirst: Stat;
  largeFirst: Stat;
  /** Small-first minus large-first accuracy, in points, per seed. */
  gap: Stat;
}

export interface JrtResult {
  experiment: 'jrt';
  glassbox_version: string;
  config: JrtConfig;
  recall: { tests: string[]; models: ModelRow[] };
  jrtPrompt: { rows: JrtGain[]; averageGain: Stat | null; averageGainWhereShort: Stat | null; paperGain: number };
  order: { tests: string[]; models: ModelRow[]; rows: OrderRow[] };
  generation: GenerationResult | null;
  seconds: number;
  run_dir: string;
  report: string;
}

export interface JrtRunOptions {
  outRoot?: string;
  runDir?: string;
  /** A stopped run's checkpoint (checkpoints/jrt.json) or its run directory. */
  resume?: string;
  signal?: AbortSignal;
  progress?: Progress;
  render?: (r: JrtResult) => string;
}

function modelId(s: ModelSpec): string {
  return s.arch === 'attention' || s.arch === 'gpt' ? `${s.arch} d=${s.dModel}` : `${s.arch} d=${s.dModel} d′=${s.featureDim}`;
}

// --------------------------------------------------------------------- run

export async function runJrt(cfg: JrtConfig, opts: JrtRunOptions = {}): Promise<JrtResult> {
  validateJrt(cfg);
  const t0 = performance.now();
  const progress = opts.progress;
  // A resume is checked before anything is written; it goes on in the run directory it stopped in.
  const resumeFrom = opts.resume ? resumePath(opts.resume, JRT_CHECKPOINT) : null;
  const from = resumeFrom ? readResultsCheckpoint<JrtCheckpoint>(resumeFrom, 'jrt', cfg) : null;
  const stoppedIn = resumeFrom ? dirname(dirname(resumeFrom)) : null;
  if (stoppedIn && opts.runDir && resolve(opts.runDir) !== resolve(stoppedIn)) throw new Error(`jrt: --resume ${opts.resume} continues the run in ${stoppedIn}, not in ${opts.runDir}`);
  const run = stoppedIn ? new RunDir(stoppedIn) : opts.runDir ? new RunDir(opts.runDir) : RunDir.create(opts.outRoot ?? 'runs', 'jrt');
  run.writeJson('config.json', { experiment: 'jrt', glassbox_version: VERSION, config: cfg });
  const metricsFile = run.file('metrics.jsonl');
  const state: JrtCheckpoint = { done: { ...(from?.done ?? {}) }, metricsBytes: from?.metricsBytes ?? 0 };
  if (from && existsSync(metricsFile)) truncateSync(metricsFile, from.metricsBytes);
  const ckPath = run.file(`checkpoints/${JRT_CHECKPOINT}`);
  const keep = () => {
    state.metricsBytes = existsSync(metricsFile) ? statSync(metricsFile).size : 0;
    saveResultsCheckpoint(ckPath, { experiment: 'jrt', config: cfg, state });
  };
  keep();
  const seedList = (n: number) => Array.from({ length: n }, (_, i) => cfg.seed + i);
  const train = (steps: number, seed: number): TrainSpec => ({ vocabSize: cfg.vocabSize, steps, batch: cfg.batch, lr: cfg.lr, weightDecay: cfg.weightDecay, warmup: Math.min(100, Math.floor(steps / 10)), evalEvery: 100, stopAt: cfg.stopAt, seed });

  // One held-out registry per task: test and validation sequences, never trained on.
  const mq = mqarShapes(cfg);
  const mqHeld = new HeldOut();
  const mqTest = evalSets(mq.map((s) => s.shape), cfg.testExamples, cfg.seed, 'mqar/test', mqHeld);
  const mqValid = evalSets(mq.map((s) => s.shape), 64, cfg.seed, 'mqar/valid', mqHeld);
  const dj = disjointShapes(cfg);
  const djHeld = new HeldOut();
  const djTest = evalSets(dj.map((s) => s.shape), cfg.testExamples, cfg.seed, 'disjoint/test', djHeld);
  const djValid = evalSets(dj.map((s) => s.shape), 64, cfg.seed, 'disjoint/valid', djHeld);

  const sweep = async (specs: ModelSpec[], shapes: TaskShape[], names: string[], test: EvalSet[], valid: EvalSet[], held: HeldOut, steps: number, task: string, seeds: number[]): Promise<ModelRow[]> => {
    const rows: ModelRow[] = [];
    for (const spec of specs) {
      const id = modelId(spec);
      let stateBytes = 0;
      const runs: SeedRun[] = [];
      for (const seed of seeds) {
        const key = `${task}/${id}/seed${seed}`;
        const finished = state.done[key];
        if (finished) {
          const { stateBytes: bytes, ...seedRun } = finished;
          stateBytes = bytes;
          runs.push(seedRun);
          progress?.note(`${task} ${id} seed ${seed}: finished before the stop`);
          continue;
        }
        stopIfAborted(opts.signal, `while training ${task} ${id}`, ckPath);
        progress?.phase(`${task} ${id} seed ${seed}`, steps, ['loss', 'tps', 'eta']);
        const t = await trainModel(spec, train(steps, seed), shapes, valid, held, {
          signal: opts.signal,
          onEvent: (e) => {
            if (e.type === 'step') progress?.update(e.step, trainStepFields(e));
          },
          onMetric: (m) => run.appendMetric({ ...m, task, model: id, seed }),
        });
        stopIfAborted(opts.signal, `while training ${task} ${id}`, ckPath);
        const acc = Object.fromEntries(test.map((s, i) => [names[i], accuracy(t.model, s)]));
        const checkpoint = run.file(`checkpoints/${task}-${id.replace(/[^a-z0-9]+/gi, '-')}-seed${seed}.safetensors`);
        saveRecallModel(checkpoint, t.model, spec);
        stateBytes = t.model.stateBytes(cfg.seqLen);
        progress?.note(`${task} ${id} seed ${seed}: ${t.steps} steps${t.stoppedEarly ? ` (reached ${100 * cfg.stopAt}%)` : ''} in ${formatSeconds(t.seconds)}; ${names.map((n) => `${n} ${(acc[n] * 100).toFixed(1)}%`).join(', ')}`);
        runs.push({ seed, steps: t.steps, stoppedEarly: t.stoppedEarly, seconds: t.seconds, acc, checkpoint });
        state.done[key] = { ...runs[runs.length - 1], stateBytes };
        keep();
      }
      rows.push({ id, spec, stateBytes, runs, acc: Object.fromEntries(names.map((n) => [n, stat(runs.map((r) => r.acc[n]))])) });
    }
    return rows;
  };

  // Recall against state size.
  const recallSpecs: ModelSpec[] = [
    { arch: 'attention', dModel: cfg.attnDModel, nLayers: cfg.layers, featureDim: 0, nHeads: cfg.attnHeads },
    ...(cfg.gpt ? [{ arch: 'gpt' as const, dModel: cfg.attnDModel, nLayers: cfg.layers, featureDim: 0, nHeads: cfg.attnHeads }] : []),
    ...basedPairs(cfg).map(([d, f]): ModelSpec => ({ arch: 'based', dModel: d, nLayers: cfg.layers, featureDim: f, nHeads: 1 })),
  ];
  const mqNames = mq.map((s) => s.name);
  // Without trainTwoPasses the two-pass shapes are held out of training and of early stopping alike.
  const trained = mq.map((s, i) => ({ s, i })).filter(({ s }) => cfg.trainTwoPasses || s.passes === 1);
  const recallModels = await sweep(recallSpecs, trained.map(({ s }) => s.shape), mqNames, mqTest, trained.map(({ i }) => mqValid[i]), mqHeld, cfg.mqarSteps, 'mqar', seedList(cfg.seeds));

  // JRT-Prompt: the same models, one pass against two.
  const rows: JrtGain[] = [];
  for (const m of recallModels.filter((r) => r.spec.arch === 'based')) {
    for (const K of cfg.jrtKv) {
      const one = `K=${K}`;
      const two = `K=${K} ×2`;
      rows.push({ id: m.id, K, stateBytes: m.stateBytes, onePass: m.acc[one], twoPasses: m.acc[two], gain: stat(m.runs.map((r) => 100 * (r.acc[two] - r.acc[one]))) });
    }
  }
  const attention = recallModels.find((r) => r.spec.arch === 'attention')!;
  const allGains = rows.flatMap((r) => recallModels.find((m) => m.id === r.id)!.runs.map((run) => 100 * (run.acc[`K=${r.K} ×2`] - run.acc[`K=${r.K}`])));
  const short = rows.filter((r) => r.onePass.mean < attention.acc[`K=${r.K}`].mean - 0.01);
  const shortGains = short.flatMap((r) => recallModels.find((m) => m.id === r.id)!.runs.map((run) => 100 * (run.acc[`K=${r.K} ×2`] - run.acc[`K=${r.K}`])));

  // Order matters: set disjointness, both orders, causal against prefix.
  const djSpecs: ModelSpec[] = (['based', 'prefix'] as const).flatMap((arch) => cfg.disjointWidths.map((d): ModelSpec => ({ arch, dModel: d, nLayers: cfg.layers, featureDim: cfg.disjointFeatureDim, nHeads: 1 })));
  const djNames = dj.map((s) => s.name);
  const orderModels = await sweep(djSpecs, dj.map((s) => s.shape), djNames, djTest, djValid, djHeld, cfg.disjointSteps, 'disjoint', seedList(cfg.disjointSeeds));
  const orderRows: OrderRow[] = orderModels.map((m) => ({
    id: m.id, arch: m.spec.arch, dModel: m.spec.dModel, stateBytes: m.stateBytes,
    smallFirst: m.acc['small first'], largeFirst: m.acc['large first'],
    gap: stat(m.runs.map((r) => 100 * (r.acc['small first'] - r.acc['large first']))),
  }));

  // Generation speed and memory.
  let generation: GenerationResult | null = null;
  if (cfg.speedLengths.length > 0) {
    stopIfAborted(opts.signal, 'before the generation timing', ckPath);
    progress?.note(`generation timing at ${cfg.speedLengths.join(', ')} tokens of context`);
    generation = measureGeneration({ vocabSize: cfg.vocabSize, dModel: cfg.attnDModel, nLayers: cfg.layers, nHeads: cfg.attnHeads, featureDim: Math.max(...cfg.featureDims), lengths: cfg.speedLengths, tokens: cfg.speedTokens, seed: cfg.seed });
  }

  const result: JrtResult = {
    experiment: 'jrt',
    glassbox_version: VERSION,
    config: cfg,
    recall: { tests: mqNames, models: recallModels },
    jrtPrompt: { rows, averageGain: allGains.length ? stat(allGains) : null, averageGainWhereShort: shortGains.length ? stat(shortGains) : null, paperGain: 11.0 },
    order: { tests: djNames, models: orderModels, rows: orderRows },
    generation,
    seconds: (performance.now() - t0) / 1000,
    run_dir: run.path,
    report: run.file('report.html'),
  };
  run.writeJson('result.json', result);
  if (opts.render) writeFileAtomic(result.report, opts.render(result));
  return result;
}

const pct = (s: Stat | null | undefined): string => (s ? `${(100 * s.mean).toFixed(1)}%${s.n > 1 ? ` ±${(100 * s.sd).toFixed(1)}` : ''}` : '–');
const pts = (s: Stat | null | undefined): string => (s ? `${s.mean >= 0 ? '+' : ''}${s.mean.toFixed(1)} pts${s.n > 1 ? ` ±${s.sd.toFixed(1)}` : ''} (n=${s.n})` : '–');

/** `glassbox run jrt`. */
export const jrtExperiment = defineExperiment<JrtConfig, JrtResult>({
  name: 'jrt',
  description: 'Just read twice (Arora et al., arXiv 2407.05483) at CPU scale: MQAR recall against state size for attention and Based, JRT-Prompt (the context shown twice), set disjointness in both orders for causal Based and prefix linear attention (JRT-RNN), and generation time and memory of the recurrent form against a KV cache',
  settings: JRT_SETTINGS,
  presets: {
    default: { help: 'attention and 3 Based models on MQAR (2 seeds each), 4 set-disjointness models (3 seeds each), then the generation timing', config: JRT_PRESETS.default },
    quick: { help: 'a smoke test of the whole run, one seed (under 2 minutes; too few steps for the models to learn MQAR)', config: JRT_PRESETS.quick },
    tiny: { help: 'a few steps of tiny models (tests)', config: JRT_PRESETS.tiny },
  },
  defaultPreset: 'default',
  validate: validateJrt,
  resumable: true,
  resumeCheckpoint: (runDir) => join(runDir, 'checkpoints', JRT_CHECKPOINT),
  async run(cfg, ctx) {
    return runJrt(cfg, { outRoot: ctx.outRoot, runDir: ctx.runDir, resume: ctx.resume, signal: ctx.signal, progress: ctx.progress, render: ctx.render });
  },
  summary(r) {
    const lines = ['MQAR accuracy (test sets never trained on):'];
    for (const m of r.recall.models) lines.push(`  ${m.id.padEnd(24)} ${String(m.stateBytes).padStart(8)} B  ${r.recall.tests.map((t) => `${t} ${pct(m.acc[t])}`).join('  ')}`);
    lines.push(`JRT-Prompt (two passes): average ${pts(r.jrtPrompt.averageGain)}; where short of attention ${pts(r.jrtPrompt.averageGainWhereShort)}; paper +${r.jrtPrompt.paperGain} pts`);
    lines.push('Set disjointness (small first / large first):');
    for (const o of r.order.rows) lines.push(`  ${o.id.padEnd(24)} ${String(o.stateBytes).padStart(8)} B  ${pct(o.smallFirst)} / ${pct(o.largeFirst)}  gap ${pts(o.gap)}`);
    if (r.generation) lines.push(`Generation ms/token (KV-cached attention vs recurrent): ${r.generation.points.map((p) => `${p.length}: ${p.attentionMs.toFixed(3)} vs ${p.recurrentMs.toFixed(3)}`).join(', ')}; the recurrent form is faster from ${r.generation.overtakeTime ?? 'no measured length'} on, and its state smaller than the KV cache from ${r.generation.overtakeMemory} tokens`);
    lines.push(`report: ${r.report}`);
    return lines;
  },
});
