// Reading an LM's SAE features: the primary SAE at each hook is described by
// the bytes its latents fire on, against an untrained SAE of the same shape
// (the baseline that says how much of "interpretable" is the method, not the
// training), with a dashboard per feature.

import type { GPT } from '../nn/gpt.js';
import type { RunDir } from '../train/run-dir.js';
import { SaeTrainer } from '../lens/sae/train.js';
import type { SaeTrainConfig } from '../lens/sae/config.js';
import { reconstructionMetrics } from '../lens/sae/metrics.js';
import { featureDashboards } from '../lens/sae/features.js';
import { describeLatents, countInterpretable, type LatentDescription } from '../lens/sae/describe.js';
import type { Sae } from '../lens/sae/model.js';
import { transposeEmbedding, BYTE_VOCAB } from './sae-lm-eval.js';
import type { HookFeatures } from './sae-lm-result.js';
import type { DashboardsFile } from './sae-addition-result.js';

export interface FeatureInputs {
  model: GPT;
  run: RunDir;
  hooks: string[];
  /** Activation width at each hook. */
  widths: number[];
  /** The evaluation activations at each hook, N rows each. */
  evalX: Float32Array[];
  /** The evaluation windows' bytes, N = windows × T. */
  evalBytes: Uint8Array;
  N: number;
  T: number;
  /** The name of the primary SAE (TopK at the primary k) at each hook. */
  primaryNames: string[];
  seed: number;
  /** The trained SAEs by name. */
  trained: Map<string, Sae>;
  /** b_pre's sample at each hook (the untrained baseline starts from it too). */
  samples: Float32Array[];
  planCfg: (name: string) => SaeTrainConfig;
  /** Awaited before each hook's features are read; throws to stop the run there. */
  stopIfAborted?: (hook: string) => Promise<void>;
}

export async function readFeatures(inp: FeatureInputs): Promise<{ features: HookFeatures[]; primaryDash: DashboardsFile; describedPrimary: LatentDescription[][] }> {
  const { model, run, hooks, widths, evalX, evalBytes, N, T, primaryNames, seed, trained, samples, planCfg } = inp;
  const W_U = model.W_U ? model.W_U.data : transposeEmbedding(model.W_E.data, 256, widths[0]);
  const examples = Array.from({ length: N / T }, (_, s) => Buffer.from(evalBytes.subarray(s * T, (s + 1) * T)).toString('latin1'));
  const thresholds = [0.5, 0.7, 0.9];
  const features: HookFeatures[] = [];
  let primaryDash: DashboardsFile | null = null;
  const describedPrimary: LatentDescription[][] = [];
  for (const [h, hook] of hooks.entries()) {
    await inp.stopIfAborted?.(hook);
    const name = primaryNames[h];
    const sae = trained.get(name)!;
    const z = sae.encode(evalX[h], N);
    const descs = describeLatents(z, sae.shape.n, { bytes: evalBytes, T });
    const rnd = new SaeTrainer({ ...planCfg(name), seed: seed + 1 }, widths[h], samples[h]).finish().sae;
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
  }

  return { features, primaryDash: primaryDash!, describedPrimary };
}
