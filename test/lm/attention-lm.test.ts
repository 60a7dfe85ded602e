// The attention lens over a run lm's pretraining snapshots (`glassbox
// attention RUN`): the series, the metric beside it, and each head's entropy
// recomputed independently from the last snapshot's patterns.
import test from 'node:test';
import { withThreads } from '../../src/engine/threads.js';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LM_PRESETS, runLm } from '../../src/experiments/lm.js';
import { lmLens, seriesFiles } from '../../src/experiments/scan-snap-trained.js';
import { buildCorpus, loadCorpus } from '../../src/data/lm-corpus.js';
import { loadModel } from '../../src/lm/model-file.js';
import { noGrad } from '../../src/engine/tensor.js';
import { Hooks } from '../../src/nn/hooks.js';
import { sourcesOrSkip } from './helpers.js';

test('attention lens on an LM run: entropy curves per head, the validation metric, clear errors', async (t) => {
  if (!sourcesOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'gb-attlm-'));
  try {
    const corpusDir = join(dir, 'corpus');
    buildCorpus(corpusDir);
    const cfg = { ...LM_PRESETS.tiny, steps: 24, evalEvery: 6 };
    const r = await withThreads(1, () => runLm(cfg, { corpusDir, runDir: join(dir, 'run'), baselines: false }));
    const { val } = loadCorpus(corpusDir);
    const lens = lmLens(r.run_dir, val, { windows: 4 });
    assert.deepEqual(lens.steps, [6, 12, 18, 24]);
    assert.equal(lens.heads.length, cfg.layers * cfg.heads);
    assert.deepEqual(lens.metric, r.history.map((h) => h.val_bpb));
    // Independent: the final snapshot is the shipped model's weights; capture its patterns and average row entropies by hand.
    const T = cfg.context;
    const inputs = new Int32Array(4 * T);
    for (let b = 0; b < 4; b++) { const s = Math.floor((b * (val.length - T)) / 4); for (let i = 0; i < T; i++) inputs[b * T + i] = val[s + i]; }
    const { model } = loadModel(r.model_path);
    model.eval();
    const hooks = new Hooks();
    const seen = new Map<string, Float32Array>();
    for (let l = 0; l < cfg.layers; l++) hooks.add(`blocks.${l}.attn.hook_pattern`, (x) => { seen.set(`${l}`, Float32Array.from(x.data)); return x; });
    noGrad(() => model.forward(inputs, 4, T, { hooks }));
    for (const h of lens.heads) {
      const p = seen.get(`${h.layer}`)!;
      let sum = 0;
      for (let b = 0; b < 4; b++) for (let q = 0; q < T; q++) {
        let e = 0;
        for (let k = 0; k <= q; k++) { const v = p[((b * cfg.heads + h.head) * T + q) * T + k]; if (v > 0) e -= v * Math.log(v); }
        sum += e;
      }
      const want = sum / (4 * T);
      assert.ok(Math.abs(h.entropy[h.entropy.length - 1] - want) < 1e-4, `L${h.layer}H${h.head}: ${h.entropy[h.entropy.length - 1]} vs ${want}`);
    }
    assert.match(lens.observation, /heads snapped/);
    assert.equal(seriesFiles(join(r.run_dir, 'checkpoints')).length, 4);
    // A run with fewer than three snapshots, and a folder that is not a run, are clear errors.
    const short = await withThreads(1, () => runLm({ ...LM_PRESETS.tiny, steps: 4, evalEvery: 2 }, { corpusDir, runDir: join(dir, 'short'), baselines: false }));
    assert.throws(() => lmLens(short.run_dir, val), /needs a series of at least 3/);
    assert.throws(() => lmLens(corpusDir, val), /step-\*\.safetensors|no such file|ENOENT/);
    void readFileSync;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
