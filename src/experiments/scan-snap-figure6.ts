// Figure 6 of Tian et al., "Scan and Snap" (arXiv 2305.16380): the final
// attention entropy over a sweep of query-token counts K and learning rates
// η_Z, η_Y/η_Z, several seeds each, run over worker threads (each run whole on
// one worker, so the result does not depend on their number), with when the
// attention snaps and whether the paper's trends hold.

import { Worker } from 'node:worker_threads';
import { trainRun, type TrainConfig } from './scan-snap-model.js';
import type { GeneratorConfig } from './scan-snap-generator.js';
import { detectSnap } from '../lens/attention/index.js';
import type { ScanSnapConfig } from './scan-snap.js';
import { Interrupted } from './experiment.js';

/**
 * The paper's Figure 6 means (figure_6_data.pkl in github.com/facebookresearch/luckmatters,
 * read and averaged over its 10 seeds): entropy of c_n over the distinct tokens, at
 * η_Y/η_Z = 1, 2, 5, 10. Only these rows are quoted.
 */
export const PAPER_FIG6: Array<{ K: number; lrZ: number; values: [number, number, number, number] }> = [
  { K: 1, lrZ: 0.5, values: [1.971, 2.007, 2.066, 2.092] },
  { K: 1, lrZ: 2, values: [1.699, 1.81, 1.934, 1.9] },
  { K: 1, lrZ: 3, values: [1.551, 1.708, 1.786, 1.825] },
  { K: 10, lrZ: 0.5, values: [2.033, 2.012, 2.018, 2.051] },
  { K: 10, lrZ: 3, values: [1.94, 1.805, 1.829, 1.875] },
];
export const PAPER_RATIOS = [1, 2, 5, 10];

export interface SweepRunSpec {
  generator: GeneratorConfig;
  train: TrainConfig;
}

export interface SweepRunResult {
  entropy: number;
  supportEntropy: number;
  snap: number | null;
  finalLoss: number;
  curve: number[];
}

/** One run of the sweep: final entropies, and the snap step of its distinct-entropy curve. */
export function sweepRun(spec: SweepRunSpec): SweepRunResult {
  const r = trainRun(spec.generator, spec.train);
  const steps = r.trace.entropy.map((_, i) => i);
  const e = r.trace.entropy;
  return { entropy: e[e.length - 1], supportEntropy: r.trace.supportEntropy[e.length - 1], snap: detectSnap(steps, e).step, finalLoss: r.trace.loss[r.trace.loss.length - 1], curve: e.map((x) => Math.round(x * 1e4) / 1e4) };
}

export interface Figure6Cell {
  K: number;
  lrZ: number;
  ratio: number;
  /** Distinct-token entropy (the paper's metric): mean and sample standard deviation (ddof 1) over seeds. */
  mean: number;
  sd: number;
  supportMean: number;
  supportSd: number;
  /** Snap steps over the seeds that snapped. */
  snapMean: number | null;
  snapSd: number | null;
  snapped: number;
  values: number[];
  /** The mean entropy curve over seeds (for the report). */
  curve: number[];
  paper?: number;
}

function meanSd(x: number[]): [number, number] {
  const n = x.length;
  if (n === 0) return [NaN, NaN];
  const m = x.reduce((a, v) => a + v, 0) / n;
  if (n < 2) return [m, 0];
  let s = 0;
  for (const v of x) s += (v - m) * (v - m);
  return [m, Math.sqrt(s / (n - 1))];
}

export function sweepSpecs(cfg: ScanSnapConfig): Array<{ K: number; lrZ: number; ratio: number; seed: number; spec: SweepRunSpec }> {
  const out: Array<{ K: number; lrZ: number; ratio: number; seed: number; spec: SweepRunSpec }> = [];
  for (const K of cfg.fig6.numLast) for (const lrZ of cfg.fig6.lrZ) for (const ratio of cfg.fig6.ratio) for (const seed of cfg.fig6.seeds) {
    out.push({
      K, lrZ, ratio, seed,
      spec: {
        generator: { ...cfg.generator, numLast: K, numCommonPerLast: cfg.fig6.numCommonPerLast },
        train: { batch: cfg.batch, iterations: cfg.iterations, lrZ, lrY: lrZ * ratio, momentum: cfg.momentum, init: cfg.fig6.init, seed },
      },
    });
  }
  return out;
}

export interface SweepOptions {
  /** Results already computed, by index (a resumed run's); only the others run. */
  done?: ReadonlyMap<number, SweepRunResult>;
  /** Called as each run finishes (to checkpoint it). */
  onResult?: (index: number, result: SweepRunResult) => void;
  /** Stops between runs; the runs finished so far have been reported to onResult. */
  signal?: AbortSignal;
}

/**
 * Runs the specs over `threads` workers (1 = in this thread); each run is
 * computed whole by one worker, results kept by index, so the numbers do not
 * depend on the worker count or on which runs a resumed sweep had already done.
 */
export async function runSweep(specs: SweepRunSpec[], threads: number, opts: SweepOptions = {}): Promise<SweepRunResult[]> {
  const results = new Array<SweepRunResult>(specs.length);
  const todo: number[] = [];
  specs.forEach((_, i) => {
    const r = opts.done?.get(i);
    if (r) results[i] = r;
    else todo.push(i);
  });
  const finish = (index: number, result: SweepRunResult) => {
    results[index] = result;
    opts.onResult?.(index, result);
  };
  const stopped = () => new Interrupted(`during the Figure 6 sweep (${results.filter(Boolean).length} of ${specs.length} runs done)`, true);
  const n = Math.max(1, Math.min(threads, todo.length));
  if (n === 1) {
    for (const i of todo) {
      // Let the event loop run between runs, so Ctrl-C (or any abort) is seen.
      await new Promise<void>((r) => setImmediate(r));
      if (opts.signal?.aborted) throw stopped();
      finish(i, sweepRun(specs[i]));
    }
    return results;
  }
  // Interleaved split: expensive (large-K) runs are spread over the workers.
  const parts = Array.from({ length: n }, (_, w) => todo.filter((_, j) => j % n === w).map((index) => ({ index, spec: specs[index] })));
  const workers: Worker[] = [];
  const onAbort = () => { for (const w of workers) void w.terminate(); };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await Promise.all(parts.map((part) => new Promise<void>((resolve, reject) => {
      const worker = new Worker(new URL('./scan-snap-worker.js', import.meta.url), { workerData: { specs: part } });
      workers.push(worker);
      worker.on('message', (msg: { index: number; result: SweepRunResult }) => finish(msg.index, msg.result));
      worker.once('error', reject);
      worker.once('exit', (code) => {
        if (opts.signal?.aborted) reject(stopped());
        else if (code !== 0) reject(new Error(`scan-snap worker exited with code ${code}`));
        else resolve();
      });
    })));
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
  if (opts.signal?.aborted) throw stopped();
  return results;
}

export interface TrendCheck {
  /** At every (K, ratio): entropy strictly falls as η_Z grows. */
  lrZ: Array<{ K: number; ratio: number; means: number[]; holds: boolean }>;
  lrZHolds: number;
  lrZTotal: number;
  /** At K = 1, per η_Z: entropy at the largest ratio above that at ratio 1 (end to end, as the paper's holds), and whether it rises at every step. */
  ratioK1: Array<{ lrZ: number; means: number[]; endToEnd: boolean; everyStep: boolean }>;
}

export function checkTrends(cells: Figure6Cell[], cfg: ScanSnapConfig): TrendCheck {
  const at = (K: number, lrZ: number, ratio: number) => cells.find((c) => c.K === K && c.lrZ === lrZ && c.ratio === ratio)!;
  const lrZ: TrendCheck['lrZ'] = [];
  for (const K of cfg.fig6.numLast) for (const ratio of cfg.fig6.ratio) {
    const means = cfg.fig6.lrZ.map((z) => at(K, z, ratio).mean);
    lrZ.push({ K, ratio, means, holds: means.every((m, i) => i === 0 || m < means[i - 1]) });
  }
  const ratioK1: TrendCheck['ratioK1'] = [];
  if (cfg.fig6.numLast.includes(1)) {
    for (const z of cfg.fig6.lrZ) {
      const means = cfg.fig6.ratio.map((r) => at(1, z, r).mean);
      ratioK1.push({ lrZ: z, means, endToEnd: means[means.length - 1] > means[0], everyStep: means.every((m, i) => i === 0 || m > means[i - 1]) });
    }
  }
  return { lrZ, lrZHolds: lrZ.filter((t) => t.holds).length, lrZTotal: lrZ.length, ratioK1 };
}

export interface Figure6Result {
  cells: Figure6Cell[];
  trends: TrendCheck;
  /** Largest |ours − paper| over the quoted cells, and the mean signed difference. */
  paperComparison: { cells: number; maxAbsDiff: number; meanDiff: number } | null;
  runs: number;
  seconds: number;
  threads: number;
}

export async function figure6(cfg: ScanSnapConfig, threads: number, opts: SweepOptions = {}): Promise<Figure6Result> {
  const t0 = performance.now();
  const list = sweepSpecs(cfg);
  const results = await runSweep(list.map((l) => l.spec), threads, opts);
  const cells: Figure6Cell[] = [];
  for (const K of cfg.fig6.numLast) for (const lrZ of cfg.fig6.lrZ) for (const ratio of cfg.fig6.ratio) {
    const rs = list.map((l, i) => ({ l, r: results[i] })).filter(({ l }) => l.K === K && l.lrZ === lrZ && l.ratio === ratio).map(({ r }) => r);
    const [mean, sd] = meanSd(rs.map((r) => r.entropy));
    const [supportMean, supportSd] = meanSd(rs.map((r) => r.supportEntropy));
    const snaps = rs.map((r) => r.snap).filter((s): s is number => s !== null);
    const [sm, ss] = meanSd(snaps);
    const curve = rs[0].curve.map((_, i) => Math.round((rs.reduce((a, r) => a + r.curve[i], 0) / rs.length) * 1e4) / 1e4);
    const p = PAPER_FIG6.find((q) => q.K === K && q.lrZ === lrZ);
    const pi = PAPER_RATIOS.indexOf(ratio);
    cells.push({ K, lrZ, ratio, mean, sd, supportMean, supportSd, snapMean: snaps.length ? sm : null, snapSd: snaps.length ? ss : null, snapped: snaps.length, values: rs.map((r) => r.entropy), curve, paper: p && pi >= 0 ? p.values[pi] : undefined });
  }
  const withPaper = cells.filter((c) => c.paper !== undefined);
  const paperComparison = withPaper.length
    ? { cells: withPaper.length, maxAbsDiff: Math.max(...withPaper.map((c) => Math.abs(c.mean - c.paper!))), meanDiff: withPaper.reduce((a, c) => a + (c.mean - c.paper!), 0) / withPaper.length }
    : null;
  return { cells, trends: checkTrends(cells, cfg), paperComparison, runs: list.length, seconds: (performance.now() - t0) / 1000, threads };
}
