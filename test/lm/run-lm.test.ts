// `run lm --preset tiny` end to end: the weights file is a function of the
// command alone. Two runs, one at 2 threads straight through and one at
// 1 thread interrupted and resumed, must give the same SHA-256.
import test from 'node:test';
import { withThreads } from '../../src/engine/threads.js';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { LM_PRESETS, runLm } from '../../src/experiments/lm.js';
import { loadModel } from '../../src/lm/model-file.js';
import { buildCorpus } from '../../src/data/lm-corpus.js';
import { sourcesOrSkip } from './helpers.js';

test('run lm tiny: the same weights at any thread count and across an interruption', async (t) => {
  if (!sourcesOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'gb-runlm-'));
  try {
    const corpusDir = join(dir, 'corpus');
    buildCorpus(corpusDir);
    const cfg = LM_PRESETS.tiny;
    const a = await withThreads(2, () => runLm(cfg, { preset: 'tiny', corpusDir, runDir: join(dir, 'a'), baselines: false }));
    assert.equal(a.aborted, false);
    assert.equal(a.steps, cfg.steps);
    assert.ok(a.val_bpb < 8 && a.val_bpb > 2, `validation ${a.val_bpb} bits/byte`);
    assert.equal(createHash('sha256').update(readFileSync(a.model_path)).digest('hex'), a.model_sha256);
    assert.equal(a.history.length, cfg.steps / cfg.evalEvery);
    assert.ok(a.history[a.history.length - 1].val_bpb < a.history[0].val_bpb, 'validation falls');
    assert.ok(a.history.every((h) => h.sample.startsWith('The ') && h.sample.length > 100));

    const controller = new AbortController();
    const b1 = await withThreads(1, () => runLm(cfg, {
      preset: 'tiny', corpusDir, runDir: join(dir, 'b'), baselines: false, signal: controller.signal,
      onEvent: (e) => { if (e.type === 'step' && e.step === 25) controller.abort(); },
    }));
    assert.equal(b1.aborted, true);
    assert.equal(b1.steps, 25);
    assert.equal(b1.model_path, '');
    const last = join(dir, 'b', 'checkpoints', 'last.safetensors');
    assert.ok(existsSync(last));
    const b = await withThreads(1, () => runLm(cfg, { preset: 'tiny', corpusDir, runDir: join(dir, 'b'), baselines: false, resume: last }));
    assert.equal(b.model_sha256, a.model_sha256, 'the interrupted 1-thread run ends in the same bytes');
    assert.equal(b.val_bpb, a.val_bpb);
    const lm = loadModel(b.model_path);
    assert.equal(lm.card.command, 'glassbox run lm --preset tiny');
    assert.equal(lm.card.val_bpb, a.val_bpb);
    await assert.rejects(runLm({ ...cfg, steps: 41 }, { corpusDir, runDir: join(dir, 'c'), resume: last, baselines: false }), /different configuration/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
