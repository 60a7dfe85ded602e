// `glassbox run oversquash`: Barbero et al., "Transformers need glasses!
// Information over-squashing in language tasks" (arXiv 2406.04267), checked
// at our scale. Four parts, each a file of its own:
// - the synthetic one-layer experiments of its appendix C.3-C.4 (oversquash-synthetic.ts);
// - the precision mode's cost against the fp32 forward (oversquash-lm.ts);
// - tasks trained here: copy the last bit, copy the first, count the ones,
//   with ALiBi, at fp32/bf16/fp16, with and without separators (oversquash-tasks.ts);
// - the shipped byte LM under the lens: Figure 5's four prompt families and
//   the influence of each position (oversquash-lm.ts, src/lens/oversquash.ts).
// The verdicts on the paper's claims are rules in oversquash-claims.ts.

import { existsSync, statSync, truncateSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { RunDir } from '../train/run-dir.js';
import { saveResultsCheckpoint, readResultsCheckpoint, resumePath } from '../train/resume.js';
import { writeFileAtomic } from '../engine/atomic-file.js';
import { PRECISIONS, type Precision } from '../engine/precision.js';
import { VERSION } from '../version.js';
import { POSITION_ENCODINGS, type PositionEncoding } from '../nn/pos-gpt.js';
import { loadModel } from '../lm/model-file.js';
import type { SettingsTable } from './settings.js';
import { SEED } from './settings.js';
import { defineExperiment, stopIfAborted, formatSeconds } from './experiment.js';
import { runSynthetic, checkSyntheticConfig, type SyntheticResult } from './oversquash-synthetic.js';
import { runTask, TASKS, taskModelConfig, type TaskAccuracy, type TaskName, type TaskTrainConfig } from './oversquash-tasks.js';
import { lmOversquash, precisionCost, lmFamilies, type LmOversquash, type PrecisionCost } from './oversquash-lm.js';
import { syntheticClaims, lmClaims, taskClaims, influenceClaim, type Claim } from './oversquash-claims.js';
import type { TrainEvent } from '../train/trainer.js';

export type WeightScale = 'inv-d' | 'unit';

export interface OversquashConfig {
  precisions: Precision[];
  synthetic: { d: number; ns: number[]; seeds: number; encodings: PositionEncoding[]; scales: WeightScale[]; tvNs: number[]; tvPerturbed: number };
  tasks: { tasks: TaskName[]; trainMax: number; evalNs: number[]; evalSamples: number; steps: number; batch: number; lr: number; nLayers: number; nHeads: number; dModel: number };
  lm: { model: string; nMax: number; nStep: number; influence: boolean };
  cost: { batch: number; reps: number };
  seed: number;
}

const len = (help: string, max = 1 << 20) => ({ type: 'int[]' as const, min: 1, max, help });

export const OVERSQUASH_SETTINGS: SettingsTable<OversquashConfig> = {
  precisions: { type: 'string[]', choices: PRECISIONS, help: 'precisions every op output is rounded to (fp32 is always measured too)' },
  'synthetic.d': { type: 'int', min: 2, max: 1024, help: 'C.3: model width of the one attention layer (paper: 64)' },
  'synthetic.ns': len('C.3: sequence lengths n', 8192),
  'synthetic.seeds': { type: 'int', min: 1, max: 100, help: 'C.3/C.4: seeds per curve (paper: 5)' },
  'synthetic.encodings': { type: 'string[]', choices: POSITION_ENCODINGS, help: 'C.3: position encodings' },
  'synthetic.scales': { type: 'string[]', choices: ['inv-d', 'unit'], help: 'C.3: weight variances, 1/d (inv-d) and 1 (unit)' },
  'synthetic.tvNs': len('C.4: lengths n of the softmax TV curve', 1 << 22),
  'synthetic.tvPerturbed': { type: 'int', min: 1, max: 1 << 20, help: 'C.4: entries perturbed by U[0, 0.1] (paper: 200)' },
  'tasks.tasks': { type: 'string[]', choices: TASKS, allowEmpty: true, help: 'trained tasks ("" for none)' },
  'tasks.trainMax': { type: 'int', min: 1, max: 4096, help: 'longest training string (digits)' },
  'tasks.evalNs': len('evaluation lengths (digits)', 4096),
  'tasks.evalSamples': { type: 'int', min: 1, max: 100000, help: 'strings per length, format and precision' },
  'tasks.steps': { type: 'int', min: 1, max: 1 << 20, help: 'training steps per task' },
  'tasks.batch': { type: 'int', min: 1, max: 4096, help: 'strings per step' },
  'tasks.lr': { type: 'number', min: 0, max: 1, help: 'AdamW peak learning rate' },
  'tasks.nLayers': { type: 'int', min: 1, max: 32, help: 'layers of the ALiBi model' },
  'tasks.nHeads': { type: 'int', min: 1, max: 64, help: 'heads of the ALiBi model' },
  'tasks.dModel': { type: 'int', min: 2, max: 4096, help: 'width of the ALiBi model' },
  'lm.model': { type: 'string', arg: 'file', help: 'LM for the prompt families: builtin (the shipped model), a model file, or none' },
  'lm.nMax': { type: 'int', min: 1, max: 1 << 16, help: 'largest n (digits) of the prompt families; v* must fit the LM\'s context' },
  'lm.nStep': { type: 'int', min: 1, max: 1 << 16, help: 'n runs 1, 1+step, … up to the largest' },
  'lm.influence': { type: 'boolean', help: 'the influence-by-position curve on the LM (one backward pass per state coordinate)' },
  'cost.batch': { type: 'int', min: 1, max: 1024, help: 'sequences per timed forward of the precision cost' },
  'cost.reps': { type: 'int', min: 1, max: 1000, help: 'timed forwards per precision (median kept)' },
  seed: SEED,
};

const ALL: Precision[] = ['fp32', 'bf16', 'fp16'];

export const OVERSQUASH_PRESETS: Record<'default' | 'quick', OversquashConfig> = {
  default: {
    precisions: ALL,
    synthetic: { d: 64, ns: [2, 4, 8, 16, 32, 64, 128, 256, 512, 1024], seeds: 5, encodings: [...POSITION_ENCODINGS], scales: ['inv-d', 'unit'], tvNs: [200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 102400], tvPerturbed: 200 },
    tasks: { tasks: [...TASKS], trainMax: 64, evalNs: [8, 16, 32, 64, 128, 256, 512], evalSamples: 32, steps: 800, batch: 32, lr: 3e-3, nLayers: 2, nHeads: 8, dModel: 64 },
    lm: { model: 'builtin', nMax: 72, nStep: 1, influence: true },
    cost: { batch: 8, reps: 7 },
    seed: 1,
  },
  quick: {
    precisions: ALL,
    synthetic: { d: 64, ns: [2, 8, 32, 128, 512], seeds: 2, encodings: [...POSITION_ENCODINGS], scales: ['inv-d', 'unit'], tvNs: [200, 800, 3200, 12800], tvPerturbed: 200 },
    tasks: { tasks: ['copy-last', 'count'], trainMax: 16, evalNs: [8, 16, 32, 64], evalSamples: 16, steps: 80, batch: 16, lr: 1e-2, nLayers: 1, nHeads: 4, dModel: 32 },
    lm: { model: 'builtin', nMax: 72, nStep: 6, influence: true },
    cost: { batch: 4, reps: 3 },
    seed: 1,
  },
};

export interface OversquashResult {
  experiment: 'oversquash';
  glassbox_version: string;
  config: OversquashConfig;
  /** fp32 first, then the others asked for. */
  precisions: Precision[];
  synthetic: SyntheticResult;
  cost: PrecisionCost | null;
  tasks: TaskAccuracy[];
  lm: LmOversquash | null;
  claims: Claim[];
  seconds: number;
  run_dir: string;
  report: string;
}

export function lmNs(cfg: OversquashConfig['lm']): number[] {
  const ns: number[] = [];
  for (let n = 1; n <= cfg.nMax; n += cfg.nStep) ns.push(n);
  if (ns[ns.length - 1] !== cfg.nMax) ns.push(cfg.nMax);
  return ns;
}

function syntheticOf(cfg: OversquashConfig) {
  const s = cfg.synthetic;
  return { d: s.d, ns: s.ns, seeds: Array.from({ length: s.seeds }, (_, i) => cfg.seed + i), encodings: s.encodings, scales: s.scales, tvNs: s.tvNs, tvPerturbed: s.tvPerturbed };
}

function tasksOf(cfg: OversquashConfig): TaskTrainConfig {
  return { ...cfg.tasks, seed: cfg.seed };
}

export function validateOversquash(cfg: OversquashConfig): void {
  checkSyntheticConfig(syntheticOf(cfg));
  if (cfg.tasks.tasks.length) {
    if (cfg.tasks.dModel % cfg.tasks.nHeads !== 0) throw new Error(`oversquash: tasks.dModel ${cfg.tasks.dModel} is not divisible by tasks.nHeads ${cfg.tasks.nHeads}`);
    taskModelConfig(tasksOf(cfg));
  }
}

export interface OversquashRunOptions {
  outRoot?: string;
  runDir?: string;
  /** A stopped run's checkpoint (checkpoints/oversquash.json) or its run directory. */
  resume?: string;
  signal?: AbortSignal;
  onPhase?: (name: string, total: number) => void;
  onProgress?: (done: number, values?: Record<string, string | number>) => void;
  onNote?: (message: string) => void;
  render?: (r: OversquashResult) => string;
}

/** The file a stopped run resumes from, in its run directory's checkpoints/. */
export const OVERSQUASH_CHECKPOINT = 'oversquash.json';

/**
 * What a stopped run keeps (a results checkpoint, with the config check of
 * src/train/resume.ts): the trained tasks' results, the only costly part,
 * and the length of metrics.jsonl then. The synthetic part and the LM part
 * train nothing and are recomputed, to the same numbers. A resumed run cuts
 * metrics.jsonl back (dropping a half-trained task's lines) and trains the
 * tasks that were not finished.
 */
interface OversquashCheckpoint {
  tasks: unknown;
  metricsBytes: number;
}

/** JSON turns NaN and ±Infinity into null, which would change a claim's verdict on resume: keep them as tagged strings. */
const encodeNumbers = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? { $number: String(x) } : x)));
const decodeNumbers = <T>(v: unknown): T => JSON.parse(JSON.stringify(v), (_k, x) => (x && typeof x === 'object' && typeof x.$number === 'string' && Object.keys(x).length === 1 ? Number(x.$number) : x)) as T;

export async function runOversquash(cfg: OversquashConfig, opts: OversquashRunOptions = {}): Promise<OversquashResult> {
  const t0 = performance.now();
  validateOversquash(cfg);
  const precisions: Precision[] = ['fp32', ...cfg.precisions.filter((p) => p !== 'fp32')];
  // The LM and its families are checked before any directory or any work: a missing file, or an n beyond the context, fails first.
  const lm = cfg.lm.model === 'none' ? null : loadModel(cfg.lm.model);
  if (lm) {
    const C = lm.model.config.contextLength;
    for (const f of lmFamilies(cfg.seed, cfg.lm.nMax)) {
      const need = f.pair(cfg.lm.nMax).vStar.length;
      if (need > C) throw new Error(`oversquash: family ${f.name} at n = ${cfg.lm.nMax} needs ${need} bytes, beyond the LM's context of ${C}; lower --lm-n-max`);
    }
  }
  // A resume is checked before anything is written; it goes on in the run directory it stopped in.
  const resumeFrom = opts.resume ? resumePath(opts.resume, OVERSQUASH_CHECKPOINT) : null;
  const from = resumeFrom ? readResultsCheckpoint<OversquashCheckpoint>(resumeFrom, 'oversquash', cfg) : null;
  const stoppedIn = resumeFrom ? dirname(dirname(resumeFrom)) : null;
  if (stoppedIn && opts.runDir && resolve(opts.runDir) !== resolve(stoppedIn)) throw new Error(`oversquash: --resume ${opts.resume} continues the run in ${stoppedIn}, not in ${opts.runDir}`);
  const run = stoppedIn ? new RunDir(stoppedIn) : opts.runDir ? new RunDir(opts.runDir) : RunDir.create(opts.outRoot ?? 'runs', 'oversquash');
  run.writeJson('config.json', { experiment: 'oversquash', glassbox_version: VERSION, config: cfg, lm: lm ? { path: lm.path, sha256: lm.sha256 } : null });
  const metricsFile = run.file('metrics.jsonl');
  if (from && existsSync(metricsFile)) truncateSync(metricsFile, from.metricsBytes);
  const ckPath = run.file(`checkpoints/${OVERSQUASH_CHECKPOINT}`);
  const tasks: TaskAccuracy[] = from ? decodeNumbers<TaskAccuracy[]>(from.tasks) : [];
  const keep = () => {
    const metricsBytes = existsSync(metricsFile) ? statSync(metricsFile).size : 0;
    saveResultsCheckpoint<OversquashCheckpoint>(ckPath, { experiment: 'oversquash', config: cfg, state: { tasks: encodeNumbers(tasks), metricsBytes } });
  };
  keep();

  opts.onNote?.('synthetic: one attention layer (C.3) and the softmax TV (C.4)');
  const synthetic = runSynthetic(syntheticOf(cfg));
  stopIfAborted(opts.signal, 'after the synthetic experiments', ckPath);

  for (const task of cfg.tasks.tasks) {
    if (tasks.some((t) => t.task === task)) {
      opts.onNote?.(`${task}: trained before the stop`);
      continue;
    }
    opts.onPhase?.(`train ${task}`, cfg.tasks.steps);
    let evalPhase = false;
    const r = await runTask(task, tasksOf(cfg), precisions, (e: TrainEvent) => {
      if (e.type === 'step') opts.onProgress?.(e.step, { loss: e.loss.toFixed(4) });
    }, opts.signal, (done, total) => {
      if (!evalPhase) opts.onPhase?.(`evaluate ${task}`, total);
      evalPhase = true;
      opts.onProgress?.(done);
    }, (m) => run.appendMetric({ ...m, task }));
    stopIfAborted(opts.signal, `while training ${task}`, ckPath);
    run.appendMetric({ kind: 'task', task, final_loss: r.finalLoss, train_seconds: r.trainSeconds, eval_seconds: r.evalSeconds });
    tasks.push(r);
    keep();
  }

  let cost: PrecisionCost | null = null;
  let lmResult: LmOversquash | null = null;
  if (lm) {
    opts.onNote?.(`precision cost: ${cfg.cost.reps} forwards of [${cfg.cost.batch}, ${lm.model.config.contextLength}] per precision`);
    cost = precisionCost(lm.model, cfg.cost.batch, lm.model.config.contextLength, cfg.cost.reps, precisions);
    opts.onNote?.('LM: the four prompt families at each precision');
    const t1 = performance.now();
    const r = lmOversquash(lm.model, lmNs(cfg.lm), precisions, cfg.seed, cfg.lm.influence);
    lmResult = { model: lm.path, sha256: lm.sha256, context: lm.model.config.contextLength, ...r, seconds: (performance.now() - t1) / 1000 };
  }
  const taskInfluence = tasks.map((t) => ({ family: `${t.task} model (ALiBi)`, n: t.trainMax, text: 'BOS, random bits, QUERY', values: t.influence }));
  const claims = [...syntheticClaims(synthetic), ...(lmResult ? lmClaims(lmResult.families) : []), ...(tasks.length ? taskClaims(tasks) : []),
    influenceClaim(lmResult?.influence ?? [], 'influence-early-lm', 'the shipped LM, learned positions'), influenceClaim(taskInfluence, 'influence-early-alibi', 'the trained ALiBi models, whose attention decays with distance')];
  const result: OversquashResult = {
    experiment: 'oversquash', glassbox_version: VERSION, config: cfg, precisions, synthetic, cost, tasks, lm: lmResult, claims,
    seconds: (performance.now() - t0) / 1000, run_dir: run.path, report: run.file('report.html'),
  };
  run.writeJson('result.json', result);
  if (opts.render) writeFileAtomic(result.report, opts.render(result));
  return result;
}

const verdict = (h: boolean | null): string => (h === null ? 'not measured' : h ? 'holds' : 'does not hold');

/** `glassbox run oversquash`. */
export const oversquashExperiment = defineExperiment<OversquashConfig, OversquashResult>({
  name: 'oversquash',
  description: 'Barbero et al.\'s "Transformers need glasses!" (arXiv 2406.04267): representational collapse of the last token at fp32/bf16/fp16, the synthetic one-layer experiments (C.3-C.4), copy and count tasks trained with ALiBi with and without separators, and the shipped LM on the four prompt families of Figure 5',
  settings: OVERSQUASH_SETTINGS,
  presets: {
    default: { help: 'the paper\'s synthetic settings, three trained tasks, the LM at every n', config: OVERSQUASH_PRESETS.default },
    quick: { help: 'fewer lengths and seeds, two small tasks, the LM every 6th n', config: OVERSQUASH_PRESETS.quick },
  },
  defaultPreset: 'default',
  resumable: true,
  resumeCheckpoint: (runDir) => join(runDir, 'checkpoints', OVERSQUASH_CHECKPOINT),
  validate: validateOversquash,
  async run(cfg, ctx) {
    return runOversquash(cfg, {
      outRoot: ctx.outRoot, runDir: ctx.runDir, resume: ctx.resume, signal: ctx.signal, render: ctx.render,
      onPhase: (name, total) => ctx.progress.phase(name, total, ['loss']),
      onProgress: (done, values) => ctx.progress.update(done, values),
      onNote: (m) => ctx.progress.note(m),
    });
  },
  summary(r) {
    const lines = r.claims.map((c) => `${c.id}: ${verdict(c.holds)} (${c.evidence})`);
    if (r.cost) lines.unshift(`precision mode cost: bf16 ${r.cost.ratio.bf16?.toFixed(2) ?? '–'}×, fp16 ${r.cost.ratio.fp16?.toFixed(2) ?? '–'}× the fp32 forward ${r.cost.shape}`);
    lines.push(`${formatSeconds(r.seconds)}; report: ${r.report}`);
    return lines;
  },
  json(r) {
    return {
      claims: r.claims,
      cost: r.cost,
      collapse: r.lm?.families.map((f) => ({ family: f.family, ...Object.fromEntries(f.curves.map((c) => [c.precision, c.collapse[c.collapse.length - 1]])) })) ?? [],
      tasks: r.tasks.map((t) => ({ task: t.task, train_max: t.trainMax, final_loss: t.finalLoss, eval_ns: t.evalNs, accuracy: t.accuracy, paper_strings_accuracy: t.patternAccuracy, collapse: Object.fromEntries(t.distances.curves.map((c) => [c.precision, c.collapse[c.collapse.length - 1]])) })),
      synthetic: { ns: r.synthetic.ns, curves: r.synthetic.curves.map((c) => ({ encoding: c.encoding, scale: c.scale, mean: c.mean })), tv_ns: r.synthetic.tvNs, tv: r.synthetic.tv.mean },
      seconds: r.seconds,
      report: r.report,
    };
  },
});
