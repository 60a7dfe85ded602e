// `glassbox run scan-snap`: flags → config → the scan-and-snap experiment → report.

import { Command, Option, InvalidArgumentError } from 'commander';
import { existsSync } from 'node:fs';
import { intArg, floatArg } from './args.js';
import { formatSeconds } from './progress.js';
import { SCAN_SNAP_PRESETS, runScanSnap, type ScanSnapConfig } from '../experiments/scan-snap.js';
import { additionLens, textLens, lmLens, type TrainedLensResult } from '../experiments/scan-snap-trained.js';
import { renderScanSnapReport, renderTrainedLensPage } from '../report/scan-snap-report.js';
import { loadCorpus } from '../data/lm-corpus.js';
import { VERSION } from '../version.js';
import { writeFileAtomic } from '../engine/atomic-file.js';

function numberList(integer: boolean, min: number) {
  return (v: string): number[] => {
    const xs = v.split(',').map((s) => Number(s.trim()));
    if (xs.length === 0 || xs.some((x) => !Number.isFinite(x) || x < min || (integer && !Number.isInteger(x)))) throw new InvalidArgumentError(`expected a comma-separated list of ${integer ? 'integers' : 'numbers'} ≥ ${min}`);
    return xs;
  };
}

interface Flags {
  preset: 'default' | 'quick';
  numNextPerLast?: number; numCommon?: number; numUniquePerNext?: number; commonWeight?: number; uniqueMin?: number; uniqueMax?: number; seqLen?: number;
  batch?: number; iterations?: number; momentum?: number;
  fig4NumLast?: number; fig4NumNextPerLast?: number; fig4NumCommonPerLast?: number; fig4LrZ?: number; fig4LrY?: number; fig4Init?: 'zero' | 'random'; fig4Seed?: number; fig4Class?: number;
  numLast?: number[]; lrZ?: number[]; lrRatio?: number[]; seeds?: number; numCommonPerLast?: number; init?: 'zero' | 'random';
  trained?: boolean; corpus: string; threads?: number; out: string; json?: boolean; quiet?: boolean;
}

export function scanSnapConfigFromFlags(f: Flags): ScanSnapConfig {
  const b = SCAN_SNAP_PRESETS[f.preset];
  const c: ScanSnapConfig = { ...b, generator: { ...b.generator }, fig4: { ...b.fig4 }, fig6: { ...b.fig6 } };
  const g = c.generator;
  if (f.numNextPerLast !== undefined) g.numNextPerLast = f.numNextPerLast;
  if (f.numCommon !== undefined) g.numCommon = f.numCommon;
  if (f.numUniquePerNext !== undefined) g.numUniquePerNext = f.numUniquePerNext;
  if (f.commonWeight !== undefined) g.commonWeight = f.commonWeight;
  if (f.uniqueMin !== undefined) g.uniqueMin = f.uniqueMin;
  if (f.uniqueMax !== undefined) g.uniqueMax = f.uniqueMax;
  if (f.seqLen !== undefined) g.seqLen = f.seqLen;
  if (f.batch !== undefined) c.batch = f.batch;
  if (f.iterations !== undefined) c.iterations = f.iterations;
  if (f.momentum !== undefined) c.momentum = f.momentum;
  if (f.fig4NumLast !== undefined) c.fig4.numLast = f.fig4NumLast;
  if (f.fig4NumNextPerLast !== undefined) c.fig4.numNextPerLast = f.fig4NumNextPerLast;
  if (f.fig4NumCommonPerLast !== undefined) c.fig4.numCommonPerLast = f.fig4NumCommonPerLast;
  if (f.fig4LrZ !== undefined) c.fig4.lrZ = f.fig4LrZ;
  if (f.fig4LrY !== undefined) c.fig4.lrY = f.fig4LrY;
  if (f.fig4Init) c.fig4.init = f.fig4Init;
  if (f.fig4Seed !== undefined) c.fig4.seed = f.fig4Seed;
  if (f.fig4Class !== undefined) c.fig4.classIndex = f.fig4Class;
  if (f.numLast) c.fig6.numLast = f.numLast;
  if (f.lrZ) c.fig6.lrZ = f.lrZ;
  if (f.lrRatio) c.fig6.ratio = f.lrRatio;
  if (f.seeds !== undefined) c.fig6.seeds = Array.from({ length: f.seeds }, (_, i) => i + 1);
  if (f.numCommonPerLast !== undefined) c.fig6.numCommonPerLast = f.numCommonPerLast;
  if (f.init) c.fig6.init = f.init;
  return c;
}

export function registerScanSnapRun(run: Command): void {
  run
    .command('scan-snap')
    .description('Tian et al.\'s "Scan and Snap" (arXiv 2305.16380) on its synthetic task: Figure 4 (attention over one class\'s support through training), Figure 6 (final attention entropy over K × η_Z × η_Y/η_Z × seeds, with snap steps), and the attention lens on a trained addition GPT and a 1-layer text model')
    .addOption(new Option('--preset <name>', 'default: the paper\'s settings (640 sweep runs) and the trained models; quick: a small sweep for tests').choices(['default', 'quick']).default('default'))
    .option('--num-next-per-last <n>', 'next tokens (classes) per query token in the sweep (paper: 2)', intArg(1, 1000))
    .option('--num-common <n>', 'tokens common to every class (paper: 10)', intArg(0, 4096))
    .option('--num-unique-per-next <n>', 'tokens distinct to each class (paper: 10)', intArg(1, 4096))
    .option('--common-weight <w>', 'unnormalised weight of a common token (paper: 1)', floatArg(0))
    .option('--unique-min <w>', 'weight of the least frequent distinct token (paper: 0.1)', floatArg(0))
    .option('--unique-max <w>', 'weight of the most frequent distinct token (paper: 1)', floatArg(0))
    .option('--seq-len <L>', 'sequence length: L−1 context tokens and the query (paper: 128)', intArg(2, 1 << 20))
    .option('--batch <n>', 'sequences per SGD step (paper: 128)', intArg(1, 1 << 16))
    .option('--iterations <n>', 'SGD steps per run (paper: 100)', intArg(3, 1 << 20))
    .option('--momentum <m>', 'SGD momentum for Y and Z (reference default: 0.9)', floatArg(0, 0.999999))
    .option('--fig4-num-last <n>', 'Figure 4: query tokens (paper: 2)', intArg(1, 1000))
    .option('--fig4-num-next-per-last <n>', 'Figure 4: next tokens per query (paper: 1)', intArg(1, 1000))
    .option('--fig4-num-common-per-last <n>', 'Figure 4: tokens common within a query group (paper: 0)', intArg(0, 4096))
    .option('--fig4-lr-z <x>', 'Figure 4: η_Z (paper: 1)', floatArg(0))
    .option('--fig4-lr-y <x>', 'Figure 4: η_Y (paper: 1)', floatArg(0))
    .addOption(new Option('--fig4-init <kind>', 'Figure 4: initialisation of Y and Z (paper: zero)').choices(['zero', 'random']))
    .option('--fig4-seed <n>', 'Figure 4: seed (paper: 2)', intArg(0, 2 ** 31 - 1))
    .option('--fig4-class <i>', 'Figure 4: the class shown (0-based)', intArg(0))
    .option('--num-last <list>', 'Figure 6: query-token counts K (paper: 1,3,5,10)', numberList(true, 1))
    .option('--lr-z <list>', 'Figure 6: η_Z values (paper: 0.5,1,2,3)', numberList(false, 0))
    .option('--lr-ratio <list>', 'Figure 6: η_Y/η_Z values (paper: 1,2,5,10)', numberList(false, 0))
    .option('--seeds <n>', 'Figure 6: seeds 1..n per cell (paper: 10)', intArg(1, 1000))
    .option('--num-common-per-last <n>', 'Figure 6: tokens common within a query group (paper: 0; the generator\'s default is 5)', intArg(0, 4096))
    .addOption(new Option('--init <kind>', 'Figure 6: initialisation of Y and Z (paper: random)').choices(['zero', 'random']))
    .option('--trained', 'also run the lens on a small trained addition GPT and a 1-layer text model (on by default with the default preset)')
    .option('--no-trained', 'skip the trained models')
    .option('--corpus <file>', 'text for the 1-layer model', '../shared/corpus/alice29.txt')
    .option('--threads <n>', 'worker threads for the sweep (results are identical for any count)', intArg(1, 64))
    .option('--out <dir>', 'parent folder of run directories', 'runs')
    .option('--json', 'print the Figure 6 grid, snap steps and Figure 4\'s drop order as JSON')
    .option('--quiet', 'no progress messages')
    .action(async (flags: Flags) => {
      const cfg = scanSnapConfigFromFlags(flags);
      const say = (s: string) => { if (!flags.quiet && !flags.json) process.stderr.write(s + '\n'); };
      const trainedOn = flags.trained ?? flags.preset === 'default';
      if (trainedOn && !existsSync(flags.corpus)) throw new Error(`--corpus ${flags.corpus} does not exist (or pass --no-trained)`);
      say(`scan-snap: Figure 4, then ${cfg.fig6.numLast.length * cfg.fig6.lrZ.length * cfg.fig6.ratio.length * cfg.fig6.seeds.length} sweep runs of ${cfg.iterations} iterations`);
      const result = await runScanSnap(cfg, { outRoot: flags.out, threads: flags.threads });
      say(`sweep: ${formatSeconds(result.figure6.seconds)} on ${result.figure6.threads} thread(s)`);
      const trained: TrainedLensResult[] = [];
      if (trainedOn) {
        say('trained models: addition GPT with a checkpoint series, then a 1-layer text model');
        trained.push(await additionLens(result.run_dir, {}));
        trained.push(textLens(flags.corpus));
      }
      const full = { ...result, trained };
      writeFileAtomic(`${result.run_dir}/result.json`, JSON.stringify(full, null, 2) + '\n');
      writeFileAtomic(result.report, renderScanSnapReport(result, trained));
      if (flags.json) {
        const grid = result.figure6.cells.map((c) => ({ K: c.K, lr_z: c.lrZ, ratio: c.ratio, entropy_mean: c.mean, entropy_sd: c.sd, support_entropy_mean: c.supportMean, paper: c.paper ?? null, snap_mean: c.snapMean, snap_sd: c.snapSd, snapped: c.snapped, snaps_of: cfg.fig6.seeds.length }));
        const out = {
          grid,
          trends: result.figure6.trends,
          paper_comparison: result.figure6.paperComparison,
          snap_rule: result.snap_rule,
          figure4: { drop_order: result.figure4.dropOrder, peak_iteration: result.figure4.peakIteration, spearman: result.figure4.spearman, survivors: result.figure4.survivors, common_mass_start: result.figure4.commonMass[0], common_mass_end: result.figure4.commonMass[result.figure4.commonMass.length - 1] },
          trained: trained.map((t) => ({ name: t.name, steps: t.steps, snaps: t.heads.map((h) => ({ layer: h.layer, head: h.head, snap: h.snap.step, first: h.entropy[0], last: h.entropy[h.entropy.length - 1] })), observation: t.observation, seconds: t.seconds })),
          sweep_seconds: result.figure6.seconds,
          report: result.report,
        };
        process.stdout.write(JSON.stringify(out, null, 2) + '\n');
      } else {
        const t = result.figure6.trends;
        process.stdout.write([
          `Figure 4: common-token mass ${result.figure4.commonMass[0].toFixed(3)} → ${result.figure4.commonMass[result.figure4.commonMass.length - 1].toFixed(3)}; drop order ${result.figure4.dropOrder.map((j) => `d${j}`).join(' ')} (Spearman ${result.figure4.spearman.toFixed(3)}); ${result.figure4.survivors} distinct tokens keep ≥ 5%`,
          `Figure 6: larger η_Z lowers entropy in ${t.lrZHolds}/${t.lrZTotal} series; at K=1 ratio 1 → max: ${t.ratioK1.map((x) => `${x.means[0].toFixed(3)}→${x.means[x.means.length - 1].toFixed(3)}`).join(', ')}`,
          ...trained.map((x) => `${x.name}: ${x.observation}`),
          `report: ${result.report}`,
        ].join('\n') + '\n');
      }
    });
}

/** `glassbox attention RUN`: the attention lens over a `run lm` run's pretraining snapshots. */
export function registerAttentionCommand(program: Command): void {
  program
    .command('attention')
    .argument('<run>', 'a glassbox run lm directory (its checkpoints/step-*.safetensors are the series)')
    .description('attention entropy per head over a language model\'s pretraining checkpoints, with each head\'s snap step (Tian et al., "Scan and Snap", arXiv 2305.16380)')
    .option('--corpus <dir>', 'the built corpus whose validation split gives the inputs', 'lm-corpus')
    .option('--windows <n>', 'validation windows the entropy is averaged over', intArg(1, 4096), 16)
    .option('--html <file>', 'also write a page with the entropy curves')
    .option('--json', 'print the curves and snap steps as JSON')
    .action((run: string, o: { corpus: string; windows: number; html?: string; json?: boolean }) => {
      if (!existsSync(run)) throw new Error(`${run} does not exist`);
      const { val } = loadCorpus(o.corpus);
      const t = lmLens(run, val, { windows: o.windows });
      if (o.html) writeFileAtomic(o.html, renderTrainedLensPage(t, VERSION));
      if (o.json) {
        process.stdout.write(JSON.stringify({ name: t.name, steps: t.steps, metric: t.metricName, values: t.metric, heads: t.heads.map((h) => ({ layer: h.layer, head: h.head, entropy: h.entropy, snap: h.snap.step, reason: h.snap.step === null ? h.snap.reason : undefined })), observation: t.observation }, null, 2) + '\n');
      } else {
        process.stdout.write(`${t.name}\n${t.observation}\n${o.html ? `page: ${o.html}\n` : ''}`);
      }
    });
}
