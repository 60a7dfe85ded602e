// `glassbox run scan-snap`: Tian et al., "Scan and Snap" (arXiv 2305.16380),
// reproduced on its own synthetic task. Figure 4: how one class's attention
// moves over its support during training (it leaves the common tokens, and
// the distinct tokens drop out one by one). Figure 6: the final attention
// entropy over a sweep of query-token counts and learning rates, and when the
// attention snaps.

import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { trainRun, type TrainConfig } from './scan-snap-model.js';
import { figure6, sweepSpecs, type Figure6Result, type SweepRunResult } from './scan-snap-figure6.js';
import { saveResultsCheckpoint, readResultsCheckpoint } from '../train/resume.js';
import { GENERATOR_DEFAULTS, type GeneratorConfig } from './scan-snap-generator.js';
import { SNAP_DEFAULTS } from '../lens/attention/index.js';
import { RunDir } from '../train/run-dir.js';
import { writeFileAtomic } from '../engine/atomic-file.js';
import { VERSION } from '../version.js';
import { nestSettings, type SettingsTable, type Setting } from './settings.js';
import { defineExperiment, stopIfAborted, formatSeconds, Interrupted } from './experiment.js';
import { additionLens, textLens, type TrainedLensResult } from './scan-snap-trained.js';
import { getThreads } from '../engine/threads.js';

export interface ScanSnapConfig {
  generator: GeneratorConfig;
  batch: number;
  iterations: number;
  momentum: number;
  /** Figure 4: the paper's run (zero init, η_Z = η_Y = 1, seed 2, 2 queries × 1 next, no per-query common tokens). */
  fig4: { numLast: number; numNextPerLast: number; numCommonPerLast: number; lrZ: number; lrY: number; init: 'zero' | 'random'; seed: number; classIndex: number; show: number[] };
  /** Figure 6: the sweep (random init, no per-query common tokens). */
  fig6: { numLast: number[]; lrZ: number[]; ratio: number[]; seeds: number[]; numCommonPerLast: number; init: 'zero' | 'random' };
}

const count = (min: number): Setting<number> => ({ type: 'int', min, max: 4096, help: '' });

export const GENERATOR_SETTINGS: SettingsTable<GeneratorConfig> = {
  numLast: { ...count(1), internal: true, help: 'query tokens K (set by Figure 4 and by the sweep)' },
  numNextPerLast: { ...count(1), max: 1000, help: 'next tokens (classes) per query token in the sweep (paper: 2)' },
  numCommon: { ...count(0), help: 'tokens common to every class (paper: 10)' },
  numCommonPerLast: { ...count(0), internal: true, help: 'tokens common within a query group (set by Figure 4 and by the sweep)' },
  numUniquePerNext: { ...count(1), help: 'tokens distinct to each class (paper: 10)' },
  commonWeight: { type: 'number', min: 0, help: 'unnormalised weight of a common token (paper: 1)' },
  uniqueMin: { type: 'number', min: 0, help: 'weight of the least frequent distinct token (paper: 0.1)' },
  uniqueMax: { type: 'number', min: 0, help: 'weight of the most frequent distinct token (paper: 1)' },
  seqLen: { type: 'int', min: 2, max: 1 << 20, arg: 'L', help: 'sequence length: L−1 context tokens and the query (paper: 128)' },
};

/** What `glassbox run scan-snap` takes: the config, and whether (and on what text) to run the lens on trained models. */
export interface ScanSnapSettings extends ScanSnapConfig {
  trained: boolean;
  corpus: string;
}

const INIT = ['zero', 'random'] as const;

export const SCAN_SNAP_SETTINGS: SettingsTable<ScanSnapSettings> = {
  ...nestSettings('generator', GENERATOR_SETTINGS, ''),
  batch: { type: 'int', min: 1, max: 1 << 16, help: 'sequences per SGD step (paper: 128)' },
  iterations: { type: 'int', min: 3, max: 1 << 20, help: 'SGD steps per run (paper: 100)' },
  momentum: { type: 'number', min: 0, max: 0.999999, help: 'SGD momentum for Y and Z (reference default: 0.9)' },
  'fig4.numLast': { ...count(1), max: 1000, help: 'Figure 4: query tokens (paper: 2)' },
  'fig4.numNextPerLast': { ...count(1), max: 1000, help: 'Figure 4: next tokens per query (paper: 1)' },
  'fig4.numCommonPerLast': { ...count(0), help: 'Figure 4: tokens common within a query group (paper: 0)' },
  'fig4.lrZ': { type: 'number', min: 0, help: 'Figure 4: η_Z (paper: 1)' },
  'fig4.lrY': { type: 'number', min: 0, help: 'Figure 4: η_Y (paper: 1)' },
  'fig4.init': { type: 'string', choices: INIT, arg: 'kind', help: 'Figure 4: initialisation of Y and Z (paper: zero)' },
  'fig4.seed': { type: 'int', min: 0, max: 2 ** 31 - 1, help: 'Figure 4: seed (paper: 2)' },
  'fig4.classIndex': { type: 'int', min: 0, flag: 'fig4-class', arg: 'i', help: 'Figure 4: the class shown (0-based)' },
  'fig4.show': { type: 'int[]', min: 0, help: 'Figure 4: iterations whose weights the report shows (and the end)' },
  'fig6.numLast': { type: 'int[]', min: 1, flag: 'num-last', help: 'Figure 6: query-token counts K (paper: 1,3,5,10)' },
  'fig6.lrZ': { type: 'number[]', min: 0, flag: 'lr-z', help: 'Figure 6: η_Z values (paper: 0.5,1,2,3)' },
  'fig6.ratio': { type: 'number[]', min: 0, flag: 'lr-ratio', help: 'Figure 6: η_Y/η_Z values (paper: 1,2,5,10)' },
  'fig6.seeds': {
    type: 'int[]', min: 0, flag: 'seeds', help: 'Figure 6: seeds 1..n per cell (paper: 10)',
    parse: (t) => {
      if (!/^\s*\d+\s*$/.test(t) || Number(t) < 1 || Number(t) > 1000) throw new Error(`expected a seed count in [1, 1000], got "${t}"`);
      return Array.from({ length: Number(t) }, (_, i) => i + 1);
    },
  },
  'fig6.numCommonPerLast': { ...count(0), flag: 'num-common-per-last', help: "Figure 6: tokens common within a query group (paper: 0; the generator's default is 5)" },
  'fig6.init': { type: 'string', choices: INIT, flag: 'init', arg: 'kind', help: 'Figure 6: initialisation of Y and Z (paper: random)' },
  trained: { type: 'boolean', help: 'also run the lens on a small trained addition GPT and a 1-layer text model' },
  corpus: { type: 'string', arg: 'file', help: 'text for the 1-layer model (with --trained)' },
};

export const SCAN_SNAP_PRESETS: Record<'default' | 'quick', ScanSnapConfig> = {
  default: {
    generator: { ...GENERATOR_DEFAULTS },
    batch: 128,
    iterations: 100,
    momentum: 0.9,
    fig4: { numLast: 2, numNextPerLast: 1, numCommonPerLast: 0, lrZ: 1, lrY: 1, init: 'zero', seed: 2, classIndex: 1, show: [0, 2, 4, 6, 8, 10] },
    fig6: { numLast: [1, 3, 5, 10], lrZ: [0.5, 1, 2, 3], ratio: [1, 2, 5, 10], seeds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], numCommonPerLast: 0, init: 'random' },
  },
  quick: {
    generator: { ...GENERATOR_DEFAULTS, seqLen: 48 },
    batch: 32,
    iterations: 30,
    momentum: 0.9,
    fig4: { numLast: 2, numNextPerLast: 1, numCommonPerLast: 0, lrZ: 1, lrY: 1, init: 'zero', seed: 2, classIndex: 1, show: [0, 2, 4, 6, 8, 10] },
    fig6: { numLast: [1, 3], lrZ: [0.5, 3], ratio: [1, 10], seeds: [1, 2], numCommonPerLast: 0, init: 'random' },
  },
};


// ------------------------------------------------------------------- Figure 4

export interface Figure4Result {
  settings: { generator: GeneratorConfig; train: TrainConfig; classIndex: number };
  /** Support token ids: common then distinct. */
  tokens: number[];
  numCommon: number;
  /** P(l|n) over the support. */
  probs: number[];
  /** Iterations shown (the paper's plus the end). */
  shown: number[];
  /** c_n at each shown iteration. */
  weights: number[][];
  /** Mass of c_n on the common tokens after every update 0..iterations. */
  commonMass: number[];
  loss: number[];
  /** Iteration at which each distinct token's c_n weight peaked (then fell), in distinct-token order (P ascending); the end = never lost weight. */
  peakIteration: number[];
  /** Distinct tokens (0-based, in P order) in the order they lost weight; kept ones last, by P. */
  dropOrder: number[];
  /** Spearman correlation between a distinct token's P(l|n) rank and its peak iteration (+1 = dropped in order of co-occurrence, low first). */
  spearman: number;
  /** Distinct tokens with at least 5% of the distinct mass at the end; > 1 means no winner took all. */
  survivors: number;
  finalDistinctEntropy: number;
}

function ranks(x: number[]): number[] {
  const idx = x.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const r = new Array<number>(x.length);
  let i = 0;
  while (i < idx.length) {
    let j = i;
    while (j + 1 < idx.length && idx[j + 1][0] === idx[i][0]) j++;
    for (let k = i; k <= j; k++) r[idx[k][1]] = (i + j) / 2;
    i = j + 1;
  }
  return r;
}

export function spearman(a: number[], b: number[]): number {
  const ra = ranks(a);
  const rb = ranks(b);
  const n = a.length;
  const ma = ra.reduce((s, v) => s + v, 0) / n;
  const mb = rb.reduce((s, v) => s + v, 0) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (ra[i] - ma) * (rb[i] - mb);
    saa += (ra[i] - ma) * (ra[i] - ma);
    sbb += (rb[i] - mb) * (rb[i] - mb);
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

export function figure4(cfg: ScanSnapConfig): Figure4Result {
  const f = cfg.fig4;
  const generator: GeneratorConfig = { ...cfg.generator, numLast: f.numLast, numNextPerLast: f.numNextPerLast, numCommonPerLast: f.numCommonPerLast };
  const train: TrainConfig = { batch: cfg.batch, iterations: cfg.iterations, lrZ: f.lrZ, lrY: f.lrY, momentum: cfg.momentum, init: f.init, seed: f.seed };
  const all: number[][] = [];
  let info0: { tokens: number[]; probs: number[]; numShared: number } | null = null;
  const r = trainRun(generator, train, (_it, model, v) => {
    if (f.classIndex < 0 || f.classIndex >= v.classes.length) throw new Error(`scan-snap: fig4 class ${f.classIndex} does not exist (${v.classes.length} classes)`);
    const info = v.classes[f.classIndex];
    info0 ??= { tokens: Array.from(info.tokens), probs: Array.from(info.probs), numShared: info.numShared };
    all.push(Array.from(model.classAttention(info)));
  });
  const { tokens, probs, numShared } = info0!;
  const shown = [...new Set([...f.show.filter((s) => s <= cfg.iterations), cfg.iterations])];
  const commonMass = all.map((c) => c.slice(0, numShared).reduce((a, x) => a + x, 0));
  const U = tokens.length - numShared;
  const peakIteration: number[] = [];
  for (let j = 0; j < U; j++) {
    let best = 0;
    for (let it = 1; it < all.length; it++) if (all[it][numShared + j] > all[best][numShared + j]) best = it;
    peakIteration.push(best);
  }
  const dropOrder = Array.from({ length: U }, (_, j) => j).sort((a, b) => peakIteration[a] - peakIteration[b] || a - b);
  const final = all[all.length - 1].slice(numShared);
  const fs = final.reduce((a, x) => a + x, 0);
  return {
    settings: { generator, train, classIndex: f.classIndex },
    tokens, numCommon: numShared, probs, shown,
    weights: shown.map((s) => all[s]),
    commonMass, loss: r.trace.loss, peakIteration, dropOrder,
    spearman: spearman(probs.slice(numShared), peakIteration),
    survivors: final.filter((x) => x / fs >= 0.05).length,
    finalDistinctEntropy: r.trace.entropy[r.trace.entropy.length - 1],
  };
}

// ---------------------------------------------------------------- experiment

export interface ScanSnapResult {
  experiment: 'scan-snap';
  glassbox_version: string;
  config: ScanSnapConfig;
  snap_rule: { threshold: number; minDrop: number; window: string };
  figure4: Figure4Result;
  figure6: Figure6Result;
  seconds: number;
  run_dir: string;
  report: string;
}

export function defaultThreads(): number {
  return Math.max(1, Math.min(2, availableParallelism()));
}

/** What a scan-snap checkpoint holds: the finished pieces, each a function of the config alone. */
export interface ScanSnapCheckpoint {
  figure4: Figure4Result | null;
  /** Finished sweep runs by index. */
  done: Array<[number, SweepRunResult]>;
  /** The trained models' lens results finished so far. */
  trained: TrainedLensResult[];
}

export interface ScanSnapRunOptions {
  outRoot?: string;
  runDir?: string;
  /** The sweep's worker-thread count (the results are the same for any). */
  workers?: number;
  signal?: AbortSignal;
  /** A checkpoint (checkpoints/scan-snap.json of a stopped run) to go on from. */
  resume?: string;
  /** Called as each sweep run finishes: how many are done (resumed ones included) of how many. */
  onSweepResult?: (done: number, total: number) => void;
  /** The config a checkpoint must match (the experiment's full settings; default cfg). */
  checkpointConfig?: unknown;
  render?: (r: ScanSnapResult) => string;
}

/** The checkpoint a stopped scan-snap run resumes from, checked against its config. */
export function readScanSnapCheckpoint(path: string, config: unknown): ScanSnapCheckpoint {
  return readResultsCheckpoint<ScanSnapCheckpoint>(path, 'scan-snap', config);
}

export async function runScanSnap(cfg: ScanSnapConfig, opts: ScanSnapRunOptions = {}): Promise<ScanSnapResult> {
  const t0 = performance.now();
  // Fail on impossible parameters before any work or any directory.
  sweepSpecs(cfg).forEach(() => undefined);
  const { buildVocabulary } = await import('./scan-snap-generator.js');
  for (const K of cfg.fig6.numLast) buildVocabulary({ ...cfg.generator, numLast: K, numCommonPerLast: cfg.fig6.numCommonPerLast });
  buildVocabulary({ ...cfg.generator, numLast: cfg.fig4.numLast, numNextPerLast: cfg.fig4.numNextPerLast, numCommonPerLast: cfg.fig4.numCommonPerLast });
  for (const [k, v] of [['batch', cfg.batch], ['iterations', cfg.iterations]] as const) if (!Number.isInteger(v) || v < 1) throw new Error(`scan-snap: ${k} must be a positive integer, got ${v}`);
  if (cfg.iterations < 3) throw new Error(`scan-snap: at least 3 iterations are needed to read a snap, got ${cfg.iterations}`);
  if (cfg.fig6.seeds.length < 1) throw new Error('scan-snap: the sweep needs at least one seed');
  const ckConfig = opts.checkpointConfig ?? cfg;
  // A resume is checked before the run directory is touched.
  const from = opts.resume ? readScanSnapCheckpoint(opts.resume, ckConfig) : null;
  const run = opts.runDir ? new RunDir(opts.runDir) : RunDir.create(opts.outRoot ?? 'runs', 'scan-snap');
  run.writeJson('config.json', { experiment: 'scan-snap', glassbox_version: VERSION, config: cfg, resumed_from: opts.resume ?? null });
  const state: ScanSnapCheckpoint = { figure4: from?.figure4 ?? null, done: [...(from?.done ?? [])], trained: [...(from?.trained ?? [])] };
  const ckPath = scanSnapCheckpointPath(run.path);
  mkdirSync(run.checkpoints, { recursive: true });
  const save = () => saveResultsCheckpoint(ckPath, { experiment: 'scan-snap', config: ckConfig, state });
  const fig4 = state.figure4 ?? figure4(cfg);
  state.figure4 = fig4;
  save();
  stopIfAborted(opts.signal, 'after Figure 4', ckPath);
  // Finished runs are checkpointed as they come, at most once a second (and always when stopped).
  let lastSave = performance.now();
  const total = sweepSpecs(cfg).length;
  let fig6: Figure6Result;
  try {
    fig6 = await figure6(cfg, opts.workers ?? defaultThreads(), {
      done: new Map(state.done),
      signal: opts.signal,
      onResult: (i, r) => {
        state.done.push([i, r]);
        opts.onSweepResult?.(state.done.length, total);
        if (performance.now() - lastSave > 1000) {
          save();
          lastSave = performance.now();
        }
      },
    });
  } catch (e) {
    save();
    if (e instanceof Interrupted) throw new Interrupted(`${e.message.replace(/^interrupted /, '')}; resume with --resume ${ckPath}`, true);
    throw e;
  }
  save();
  stopIfAborted(opts.signal, 'after the Figure 6 sweep', ckPath);
  const result: ScanSnapResult = {
    experiment: 'scan-snap',
    glassbox_version: VERSION,
    config: cfg,
    snap_rule: { threshold: SNAP_DEFAULTS.threshold, minDrop: SNAP_DEFAULTS.minDrop, window: 'least-squares slope over ±max(2, round((n−1)/12)) points' },
    figure4: fig4,
    figure6: fig6,
    seconds: (performance.now() - t0) / 1000,
    run_dir: run.path,
    report: run.file('report.html'),
  };
  run.writeJson('result.json', result);
  if (opts.render) writeFileAtomic(result.report, opts.render(result));
  return result;
}

/** Where a scan-snap run keeps its checkpoint. */
export function scanSnapCheckpointPath(runDir: string): string {
  return join(runDir, 'checkpoints', 'scan-snap.json');
}

/** A scan-snap run's result with the trained models' lens, as result.json holds it. */
export type ScanSnapFullResult = ScanSnapResult & { trained: TrainedLensResult[] };

/** `glassbox run scan-snap`. */
export const scanSnapExperiment = defineExperiment<ScanSnapSettings, ScanSnapFullResult>({
  name: 'scan-snap',
  description: 'Tian et al.\'s "Scan and Snap" (arXiv 2305.16380) on its synthetic task: Figure 4 (attention over one class\'s support through training), Figure 6 (final attention entropy over K × η_Z × η_Y/η_Z × seeds, with snap steps), and the attention lens on a trained addition GPT and a 1-layer text model',
  settings: SCAN_SNAP_SETTINGS,
  presets: {
    default: { help: "the paper's settings (640 sweep runs) and the trained models", config: { ...SCAN_SNAP_PRESETS.default, trained: true, corpus: '../shared/corpus/alice29.txt' } },
    quick: { help: 'a small sweep for tests, no trained models', config: { ...SCAN_SNAP_PRESETS.quick, trained: false, corpus: '../shared/corpus/alice29.txt' } },
  },
  defaultPreset: 'default',
  resumable: true,
  resumeCheckpoint: scanSnapCheckpointPath,
  async run(input, ctx) {
    const { trained: trainedOn, corpus, ...cfg } = input;
    // Checked when the run starts, before any directory, rather than in validate(): whether a file exists is
    // a fact of this machine, not of the settings (the presets are valid wherever the corpus lives).
    if (trainedOn && !existsSync(corpus)) throw new Error(`--corpus ${corpus} does not exist (or pass --no-trained)`);
    const runs = cfg.fig6.numLast.length * cfg.fig6.lrZ.length * cfg.fig6.ratio.length * cfg.fig6.seeds.length;
    ctx.progress.note(`scan-snap: Figure 4, then ${runs} sweep runs of ${cfg.iterations} iterations`);
    let sweepBar = false;
    const result = await runScanSnap(cfg, { outRoot: ctx.outRoot, runDir: ctx.runDir, workers: getThreads(), signal: ctx.signal, resume: ctx.resume, checkpointConfig: input,
      onSweepResult: (done, total) => {
        if (!sweepBar) {
          ctx.progress.phase('sweep', total, []);
          sweepBar = true;
        }
        ctx.progress.update(done, {});
      },
    });
    ctx.progress.note(`sweep: ${formatSeconds(result.figure6.seconds)} on ${result.figure6.threads} thread(s)`);
    // The trained models' lens: each model is one piece, kept in the checkpoint once finished.
    const ckPath = scanSnapCheckpointPath(result.run_dir);
    const state = readScanSnapCheckpoint(ckPath, input);
    const trained = state.trained;
    const keep = () => saveResultsCheckpoint(ckPath, { experiment: 'scan-snap', config: input, state });
    if (trainedOn) {
      ctx.progress.note('trained models: addition GPT with a checkpoint series, then a 1-layer text model');
      if (trained.length < 1) {
        trained.push(await additionLens(result.run_dir, {}));
        keep();
      }
      stopIfAborted(ctx.signal, 'after the trained addition model', ckPath);
      if (trained.length < 2) {
        trained.push(await textLens(corpus));
        keep();
      }
    }
    const full: ScanSnapFullResult = { ...result, trained };
    writeFileAtomic(`${result.run_dir}/result.json`, JSON.stringify(full, null, 2) + '\n');
    if (ctx.render) writeFileAtomic(result.report, ctx.render(full, trained));
    return full;
  },
  json(result) {
    const cfg = result.config;
    const grid = result.figure6.cells.map((c) => ({ K: c.K, lr_z: c.lrZ, ratio: c.ratio, entropy_mean: c.mean, entropy_sd: c.sd, support_entropy_mean: c.supportMean, paper: c.paper ?? null, snap_mean: c.snapMean, snap_sd: c.snapSd, snapped: c.snapped, snaps_of: cfg.fig6.seeds.length }));
    const out = {
      grid,
      trends: result.figure6.trends,
      paper_comparison: result.figure6.paperComparison,
      snap_rule: result.snap_rule,
      figure4: { drop_order: result.figure4.dropOrder, peak_iteration: result.figure4.peakIteration, spearman: result.figure4.spearman, survivors: result.figure4.survivors, common_mass_start: result.figure4.commonMass[0], common_mass_end: result.figure4.commonMass[result.figure4.commonMass.length - 1] },
      trained: result.trained.map((t) => ({ name: t.name, steps: t.steps, snaps: t.heads.map((h) => ({ layer: h.layer, head: h.head, snap: h.snap.step, first: h.entropy[0], last: h.entropy[h.entropy.length - 1] })), observation: t.observation, seconds: t.seconds })),
      sweep_seconds: result.figure6.seconds,
      report: result.report,
    };
    return out;
  },
  summary(result) {
    const t = result.figure6.trends;
    return [
      `Figure 4: common-token mass ${result.figure4.commonMass[0].toFixed(3)} → ${result.figure4.commonMass[result.figure4.commonMass.length - 1].toFixed(3)}; drop order ${result.figure4.dropOrder.map((j) => `d${j}`).join(' ')} (Spearman ${result.figure4.spearman.toFixed(3)}); ${result.figure4.survivors} distinct tokens keep ≥ 5%`,
      `Figure 6: larger η_Z lowers entropy in ${t.lrZHolds}/${t.lrZTotal} series; at K=1 ratio 1 → max: ${t.ratioK1.map((x) => `${x.means[0].toFixed(3)}→${x.means[x.means.length - 1].toFixed(3)}`).join(', ')}`,
      ...result.trained.map((x) => `${x.name}: ${x.observation}`),
      `report: ${result.report}`,
    ];
  },
});
