import test from 'node:test';
import assert from 'node:assert/strict';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { mkdtempSync, rmSync, unlinkSync, copyFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAddition, PRESETS, type AdditionConfig } from '../../src/experiments/addition.js';
import { gptSeriesLens, seriesFiles, textLens } from '../../src/experiments/scan-snap-trained.js';
import { AdditionTask } from '../../src/data/addition.js';

const tiny: AdditionConfig = { ...PRESETS.default, digits: 1, steps: 30, warmup: 5, evalEvery: 10, evalProblems: 50, layers: 1, dModel: 16, heads: 2 };

test('addition: saving a checkpoint series does not change training, and the lens reads it; gaps and mixed runs are errors', async () => {
  const root = mkdtempSync(join(tmpdir(), 'ss-add-'));
  try {
    const a = await runAddition(tiny, { outRoot: join(root, 'a') });
    const b = await runAddition(tiny, { outRoot: join(root, 'b'), series: true });
    assert.deepEqual(b.history.map((h) => h.train_loss), a.history.map((h) => h.train_loss));
    // The files differ in wall-clock metadata; the tensors (weights and optimiser moments) must not.
    const ta = loadCheckpoint(a.checkpoint).tensors;
    const tb = loadCheckpoint(b.checkpoint).tensors;
    assert.deepEqual([...tb.keys()], [...ta.keys()]);
    for (const [k, v] of ta) assert.deepEqual(tb.get(k)!.data, v.data, k);
    const files = seriesFiles(join(b.run_dir, 'checkpoints', 'series'));
    assert.equal(files.length, 4, 'steps 0, 10, 20, 30');
    const task = new AdditionTask({ digits: 1, answerOrder: tiny.answerOrder, firstDigit: tiny.firstDigit, edgeMix: tiny.edgeMix, seed: tiny.seed });
    const { inputs } = task.heldOutBatch(0, 4);
    const s = gptSeriesLens(files, inputs, 4, task.T);
    assert.deepEqual(s.steps, [0, 10, 20, 30]);
    assert.equal(s.heads.length, 2);
    assert.notEqual(s.heads[0].entropy[0], s.heads[0].entropy[3], 'training moved the attention');
    assert.throws(() => gptSeriesLens([files[0], files[1], files[3]], inputs, 4, task.T), /has a gap: steps 10 → 30/);
    const c = await runAddition({ ...tiny, seed: 2 }, { outRoot: join(root, 'c'), series: true });
    const other = seriesFiles(join(c.run_dir, 'checkpoints', 'series'));
    const mixed = join(root, 'mixed');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(mixed);
    copyFileSync(files[0], join(mixed, 'step-0000000.safetensors'));
    copyFileSync(other[1], join(mixed, 'step-0000010.safetensors'));
    copyFileSync(files[2], join(mixed, 'step-0000020.safetensors'));
    assert.throws(() => gptSeriesLens(seriesFiles(mixed), inputs, 4, task.T), /different config/);
    unlinkSync(files[1]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('text lens: a 1-layer model on a corpus gives an entropy curve and attention maps that change with training', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ss-text-'));
  const path = join(dir, 'text.txt');
  const words = ['alice', 'was', 'beginning', 'to', 'get', 'very', 'tired', 'of', 'sitting', 'by', 'her', 'sister', 'on', 'the', 'bank'];
  writeFileSync(path, Array.from({ length: 400 }, (_, i) => words[(i * 7) % words.length]).join(' '));
  const t = await textLens(path, { steps: 20, every: 10, T: 16, batch: 4, dModel: 16 });
  rmSync(dir, { recursive: true, force: true });
  assert.deepEqual(t.steps, [0, 10, 20]);
  assert.equal(t.heads.length, 1);
  assert.ok(t.metric[2]! < t.metric[0]!, `held-out loss fell: ${t.metric}`);
  assert.ok(t.maps!.length >= 2);
  assert.equal(t.maps![0].pattern.length, 16);
  assert.ok(Math.abs(t.maps![0].pattern[5].reduce((a, v) => a + v, 0) - 1) < 1e-5, 'rows are distributions');
  assert.equal(t.maps![0].pattern[0][1], 0, 'causal');
});
