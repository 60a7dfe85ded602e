// The attention lens on trained transformers, the "Scan and Snap" questions
// (Tian et al., arXiv 2305.16380) asked of real training runs: does a head's
// attention entropy fall and then freeze, and when, relative to the loss?
// - any GPT checkpoint series (gptSeriesLens): the entry point for other
//   models, e.g. a byte-level LM's pretraining checkpoints;
// - the addition GPT, over checkpoints saved at each evaluation;
// - a 1-layer transformer on text (the paper's Figure 7 analogue).

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { GPT, type GPTConfig } from '../nn/gpt.js';
import { noGrad } from '../engine/tensor.js';
import { AdamW } from '../engine/optim.js';
import { Rng } from '../engine/rng.js';
import { loadCheckpoint, modelTensors } from '../train/checkpoint.js';
import { trainLoop } from '../train/trainer.js';
import { attentionLens, seriesCurves, type AttentionStats, type HeadCurve } from '../lens/attention/index.js';
import { runAddition, PRESETS, type AdditionConfig } from './addition.js';
import { AdditionTask } from '../data/addition.js';

export interface TrainedLensResult {
  name: string;
  description: string;
  steps: number[];
  heads: HeadCurve[];
  metricName: string;
  /** One value per step; null where the run did not measure it (the addition run does not evaluate at step 0). */
  metric: Array<number | null>;
  /** Attention maps (one head, one example) at some steps. */
  maps?: Array<{ step: number; pattern: number[][] }>;
  observation: string;
  seconds: number;
}

/** The first example's pattern of one layer and head, as rows. */
function mapOf(model: GPT, inputs: Int32Array, B: number, T: number, layer: number, head: number): number[][] {
  const name = `blocks.${layer}.attn.hook_pattern`;
  const { cache } = noGrad(() => model.runWithCache(inputs, B, T, [name]));
  const p = cache.get(name)!;
  const H = p.shape[1];
  const rows: number[][] = [];
  for (let q = 0; q < T; q++) rows.push(Array.from(p.data.subarray((head * T + q) * T, (head * T + q + 1) * T)));
  void H;
  return rows;
}

/**
 * The lens over a series of GPT checkpoints (glassbox safetensors with
 * model_config and step in their metadata), on fixed inputs [B, T]. The
 * series is checked (evenly spaced steps, one config) before any is loaded.
 */
export function gptSeriesLens(paths: string[], inputs: Int32Array, B: number, T: number, opts: { queries?: number[] } = {}): { steps: number[]; heads: HeadCurve[] } {
  const cks = paths.map((p) => {
    const ck = loadCheckpoint(p);
    const step = ck.meta.step;
    if (typeof step !== 'number') throw new Error(`${p}: checkpoint has no step in its metadata, so it cannot be placed in a series`);
    if (!ck.meta.model_config) throw new Error(`${p}: checkpoint has no model_config`);
    return { path: p, ck, step, config: { model: ck.meta.model_config, experiment: ck.meta.experiment_config ?? null } };
  });
  return seriesCurves(cks.map((c) => ({ step: c.step, config: c.config })), (i) => {
    const model = new GPT(cks[i].ck.meta.model_config as GPTConfig);
    model.loadStateDict(modelTensors(cks[i].ck));
    model.eval();
    return noGrad(() => attentionLens(model, (hooks) => model.forward(inputs, B, T, { hooks }), { queries: opts.queries }));
  });
}

/** The checkpoints of a series folder, in step order. */
export function seriesFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => /^step-\d+\.safetensors$/.test(f)).sort().map((f) => join(dir, f));
}

function describeSnaps(heads: HeadCurve[], steps: number[], metric: Array<number | null>, metricName: string, rising: boolean, target: number): string {
  const reach = steps.find((_, i) => { const m = metric[i]; return m !== null && (rising ? m >= target : m <= target); });
  const snapped = heads.filter((h) => h.snap.step !== null);
  const parts = heads.map((h) => `L${h.layer}H${h.head}: ${h.entropy[0].toFixed(2)} → ${h.entropy[h.entropy.length - 1].toFixed(2)} nats, ${h.snap.step === null ? `no snap (${h.snap.reason})` : `snap at step ${h.snap.step}`}`);
  const before = reach === undefined ? [] : snapped.filter((h) => h.snap.step! < reach);
  return `${parts.join('; ')}. ${metricName} first reached ${target} at ${reach === undefined ? 'no checkpoint' : `step ${reach}`}; ${snapped.length} of ${heads.length} heads snapped${reach === undefined ? '' : `, ${before.length} of them before that`}.`;
}

/** A small addition GPT trained with a checkpoint at every evaluation, then the lens over its series. */
export async function additionLens(outRoot: string, cfgOver: Partial<AdditionConfig> = {}): Promise<TrainedLensResult> {
  const t0 = performance.now();
  const cfg: AdditionConfig = { ...PRESETS.default, digits: 2, steps: 800, evalEvery: 40, evalProblems: 500, layers: 2, dModel: 64, heads: 4, ...cfgOver };
  cfg.warmup = Math.min(cfg.warmup, cfg.steps);
  const r = await runAddition(cfg, { outRoot, series: true });
  const files = seriesFiles(join(r.run_dir, 'checkpoints', 'series'));
  const task = new AdditionTask({ digits: cfg.digits, answerOrder: cfg.answerOrder, firstDigit: cfg.firstDigit, edgeMix: cfg.edgeMix, seed: cfg.seed });
  const B = 32;
  const { inputs } = task.heldOutBatch(0, B);
  const s = gptSeriesLens(files, inputs, B, task.T);
  const evals = readFileSync(join(r.run_dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number | string>).filter((m) => m.kind === 'eval');
  const metric = s.steps.map((st) => { const e = evals.find((x) => x.step === st); return e ? Number(e.exact_match) : null; });
  return {
    name: `Addition GPT (${cfg.digits}-digit, ${cfg.layers} layers × ${cfg.heads} heads, d${cfg.dModel})`,
    description: `Trained by glassbox run addition's code for up to ${cfg.steps} steps with a checkpoint at every evaluation (every ${cfg.evalEvery} steps). Entropy of each head's pattern, averaged over all query positions of ${B} held-out problems, at each checkpoint; held-out exact match from the same evaluations.`,
    steps: s.steps,
    heads: s.heads,
    metricName: 'held-out exact match',
    metric,
    observation: describeSnaps(s.heads, s.steps, metric, 'Held-out exact match', true, 0.9),
    seconds: (performance.now() - t0) / 1000,
  };
}

/** A 1-layer, 1-head byte-level transformer on a text file, with the lens at every evaluation (the paper's Figure 7 analogue). */
export async function textLens(path: string, opts: { steps?: number; every?: number; T?: number; batch?: number; dModel?: number; seed?: number } = {}): Promise<TrainedLensResult> {
  const t0 = performance.now();
  const steps = opts.steps ?? 400;
  const every = opts.every ?? 20;
  const T = opts.T ?? 32;
  const batch = opts.batch ?? 16;
  const dModel = opts.dModel ?? 64;
  const seed = opts.seed ?? 1;
  const bytes = readFileSync(path);
  if (bytes.length < 4 * (T + 1)) throw new Error(`${path} is too short for sequences of ${T + 1} bytes`);
  // Hold out the last tenth for the lens's inputs; train on the rest.
  const cut = Math.floor(bytes.length * 0.9);
  const cfg: GPTConfig = { vocabSize: 256, contextLength: T, nLayers: 1, nHeads: 1, dModel, seed };
  const model = new GPT(cfg);
  const params = model.parameters();
  const opt = new AdamW(params, { lr: 3e-3, betas: [0.9, 0.95], weightDecay: 0.01 });
  const windowAt = (starts: number[]): { inputs: Int32Array; targets: Int32Array } => {
    const inputs = new Int32Array(starts.length * T);
    const targets = new Int32Array(starts.length * T);
    starts.forEach((s, b) => {
      for (let t = 0; t < T; t++) {
        inputs[b * T + t] = bytes[s + t];
        targets[b * T + t] = bytes[s + t + 1];
      }
    });
    return { inputs, targets };
  };
  const LB = 16;
  const lensStarts = Array.from({ length: LB }, (_, i) => cut + Math.floor((i * (bytes.length - cut - T - 1)) / LB));
  const lensIn = windowAt(lensStarts);
  const statsNow = (): AttentionStats[] => noGrad(() => attentionLens(model, (hooks) => model.forward(lensIn.inputs, LB, T, { hooks })));
  const heldLoss = (): number => noGrad(() => model.loss(lensIn.inputs, lensIn.targets, LB, T).item());
  const points: Array<{ step: number; stats: AttentionStats[]; loss: number }> = [{ step: 0, stats: statsNow(), loss: heldLoss() }];
  const maps: Array<{ step: number; pattern: number[][] }> = [{ step: 0, pattern: mapOf(model, lensIn.inputs, LB, T, 0, 0) }];
  const mapSteps = new Set([Math.round(steps / 8 / every) * every, Math.round(steps / 4 / every) * every, Math.round(steps / 2 / every) * every, steps]);
  await trainLoop({
    steps, params, optimizer: opt,
    lrAt: () => 3e-3,
    batchAt: (step) => {
      const r = Rng.derive(seed, `text/step/${step}`);
      const starts = Array.from({ length: batch }, () => Math.floor(r.next() * (cut - T - 1)));
      return { ...windowAt(starts), B: batch, T };
    },
    lossOf: (b) => model.loss(b.inputs, b.targets, b.B, b.T),
    evalEvery: every,
    evaluate: (step) => {
      const loss = heldLoss();
      points.push({ step, stats: statsNow(), loss });
      if (mapSteps.has(step)) maps.push({ step, pattern: mapOf(model, lensIn.inputs, LB, T, 0, 0) });
      return { eval_loss: loss };
    },
  });
  const s = seriesCurves(points.map((p) => ({ step: p.step, config: cfg })), (i) => points[i].stats);
  const metric = points.map((p) => p.loss);
  const h = s.heads[0];
  return {
    name: `1-layer transformer on ${path.split('/').pop()} (bytes, 1 head, d${dModel}, context ${T})`,
    description: `A GPT with one block and one head trained with AdamW (lr 3e-3) for ${steps} steps of ${batch} windows of ${T} bytes from the first 90% of the file; the lens reads ${LB} fixed windows from the last 10% every ${every} steps. Unlike the paper's Figure 7 (WikiText-2, word tokens, SGD) it has positional embeddings and a causal mask, as our GPT does.`,
    steps: s.steps,
    heads: s.heads,
    metricName: 'held-out loss (nats/byte)',
    metric,
    maps,
    observation: `Entropy ${h.entropy[0].toFixed(2)} → ${h.entropy[h.entropy.length - 1].toFixed(2)} nats (minimum ${Math.min(...h.entropy).toFixed(2)}); ${h.snap.step === null ? `no snap (${h.snap.reason})` : `snap at step ${h.snap.step}`}; held-out loss ${metric[0].toFixed(2)} → ${metric[metric.length - 1].toFixed(2)} nats/byte.`,
    seconds: (performance.now() - t0) / 1000,
  };
}

/**
 * The lens over a `glassbox run lm` run's pretraining checkpoints (one
 * model-only snapshot per evaluation), on fixed windows of the corpus's
 * validation split, next to the run's validation bits per byte. The paper
 * studies one layer trained by SGD; this asks whether a multi-layer byte LM
 * trained by AdamW shows the same fall-then-freeze in its heads' entropy.
 */
export function lmLens(runDir: string, val: Uint8Array, opts: { windows?: number } = {}): TrainedLensResult {
  const t0 = performance.now();
  const files = seriesFiles(join(runDir, 'checkpoints'));
  if (files.length < 3) throw new Error(`${runDir}/checkpoints holds ${files.length} step-*.safetensors snapshot(s); the lens needs a series of at least 3 (is this a glassbox run lm directory?)`);
  const first = loadCheckpoint(files[0]);
  if (first.meta.experiment !== 'lm') throw new Error(`${files[0]} is a checkpoint of ${String(first.meta.experiment)}, not of run lm`);
  const T = (first.meta.model_config as GPTConfig).contextLength;
  const B = opts.windows ?? 16;
  if (val.length < B * T) throw new Error(`the validation split (${val.length} bytes) is too short for ${B} windows of ${T} bytes`);
  // Evenly spaced windows across the split, so every source is represented.
  const inputs = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const s = Math.floor((b * (val.length - T)) / B);
    for (let t = 0; t < T; t++) inputs[b * T + t] = val[s + t];
  }
  const s = gptSeriesLens(files, inputs, B, T);
  const evals = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number | string>).filter((m) => m.kind === 'eval');
  const metric = s.steps.map((st) => { const e = evals.find((x) => x.step === st); return e ? Number(e.val_bpb) : null; });
  const mc = first.meta.model_config as GPTConfig;
  // The reference line: the best classical compressor on the same split, when the run measured it.
  let target = 2.5;
  try {
    const r = JSON.parse(readFileSync(join(runDir, 'result.json'), 'utf8')) as { baselines?: Array<{ bpb: number | null }> };
    const bs = (r.baselines ?? []).map((b) => b.bpb).filter((x): x is number => x !== null);
    if (bs.length) target = Math.min(...bs);
  } catch { /* an unfinished run has no result.json; keep the default line */ }
  return {
    name: `Language model (${mc.nLayers} layers × ${mc.nHeads} heads, d${mc.dModel}, context ${T})`,
    description: `The pretraining snapshots of ${runDir} (one per evaluation). Entropy of each head's pattern, averaged over all query positions of ${B} evenly spaced ${T}-byte windows of the validation split, at each snapshot; validation bits per byte from the same evaluations. A causal head's uniform entropy grows with the query position, so these numbers are not comparable with the one-layer model's.`,
    steps: s.steps,
    heads: s.heads,
    metricName: 'validation bits per byte',
    metric,
    observation: describeSnaps(s.heads, s.steps, metric, 'Validation bits per byte', false, Number(target.toFixed(3))),
    seconds: (performance.now() - t0) / 1000,
  };
}
