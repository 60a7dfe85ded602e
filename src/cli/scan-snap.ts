// `glassbox attention RUN`: the scan-and-snap attention lens over a language model's pretraining snapshots.
// (`run scan-snap` is on the experiment shell.)

import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { intArg } from './args.js';
import { lmLens } from '../experiments/scan-snap-trained.js';
import { renderTrainedLensPage } from '../report/scan-snap-report.js';
import { loadCorpus } from '../data/lm-corpus.js';
import { VERSION } from '../version.js';
import { writeFileAtomic } from '../engine/atomic-file.js';

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
