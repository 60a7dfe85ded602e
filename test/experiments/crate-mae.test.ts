// CRATE-MAE: the encoder really sees only the visible patches, the loss only
// counts hidden ones, and a tiny run on a fake Fashion-MNIST writes its report.

import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CrateMAE, randomPatchMask, maskedPatches } from '../../src/nn/crate-mae.js';
import { maskedMse, runCrateMAE, CRATE_MAE_PRESETS } from '../../src/experiments/crate-mae.js';
import { renderCrateMAEReport } from '../../src/report/crate-mae-report.js';
import { Rng } from '../../src/engine/rng.js';
import { Tensor, noGrad } from '../../src/engine/tensor.js';
import { TestRng } from '../engine/gradcheck.js';
import { fakeDataset } from '../data/fake-fashion-mnist.js';

const cfg = { channels: 1, height: 8, width: 8, patch: 2, dModel: 8, nHeads: 2, nLayers: 2, seed: 3 };

test('masks keep 25% of patches per image, sorted; the prediction ignores the hidden pixels entirely', () => {
  const m = new CrateMAE(cfg);
  assert.equal(m.config.lambda, 0.5);
  assert.equal(m.blocks[0].ista.lambda, 0.5);
  const B = 2;
  const mask = randomPatchMask(B, 16, 0.75, Rng.derive(1, 'test'));
  assert.equal(mask.nVisible, 4);
  for (let b = 0; b < B; b++) {
    const v = Array.from(mask.visible.subarray(b * 4, b * 4 + 4));
    assert.deepEqual(v, v.slice().sort((a, c) => a - c));
  }
  const r = new TestRng(2);
  const px = Float32Array.from(r.array(B * 64));
  const a = noGrad(() => m.forward(px, B, mask));
  assert.deepEqual(a.shape, [B, 16, 4]);
  // Scramble every pixel of every hidden patch: the output must not move.
  const hidden = maskedPatches(mask, B, 16);
  const px2 = px.slice();
  for (let b = 0; b < B; b++) for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) {
    if (hidden[b * 16 + Math.floor(y / 2) * 4 + Math.floor(x / 2)]) px2[b * 64 + y * 8 + x] = r.uniform(-3, 3);
  }
  assert.deepEqual(noGrad(() => m.forward(px2, B, mask)).data, a.data);
  // ...while changing a visible pixel does.
  const px3 = px.slice();
  const vis = mask.visible[0];
  px3[Math.floor(vis / 4) * 2 * 8 + (vis % 4) * 2] += 1;
  assert.notDeepEqual(noGrad(() => m.forward(px3, B, mask)).data, a.data);
});

test('maskedMse counts hidden patches only and matches a direct sum; its gradient reaches the decoder and encoder', () => {
  const pred = new Tensor(Float32Array.from([1, 2, 3, 4, 5, 6]), [1, 3, 2], { requiresGrad: true });
  const target = new Tensor(Float32Array.from([0, 0, 3, 3, 0, 1]), [1, 3, 2]);
  const hidden = Uint8Array.from([1, 0, 1]);
  const l = maskedMse(pred, target, hidden);
  assert.ok(Math.abs(l.item() - (1 + 4 + 25 + 25) / 4) < 1e-6);
  l.backward();
  assert.deepEqual(Array.from(pred.grad!), [0.5, 1, 0, 0, 2.5, 2.5]);
  const m = new CrateMAE(cfg);
  const mask = randomPatchMask(1, 16, 0.75, Rng.derive(2, 'x'));
  const px = Float32Array.from(new TestRng(4).array(64));
  const loss = maskedMse(m.forward(px, 1, mask), new Tensor(new Float32Array(64), [1, 16, 4]), maskedPatches(mask, 1, 16));
  loss.backward();
  for (const t of [m.blocks[0].attn.U, m.blocks[1].ista.D, m.decoder[0].D, m.decoder[1].attn.U, m.maskToken]) assert.ok(t.grad && t.grad.some((v) => v !== 0), t.name ?? 'param');
});

test('a tiny crate-mae run learns something and writes reconstructions and a report', async () => {
  const data = mkdtempSync(join(tmpdir(), 'gb-mae-data-'));
  const out = mkdtempSync(join(tmpdir(), 'gb-mae-run-'));
  try {
    fakeDataset(data, 160);
    const r = await runCrateMAE(CRATE_MAE_PRESETS.tiny, { dataDir: data, outRoot: out, render: renderCrateMAEReport });
    assert.ok(Number.isFinite(r.test_mse_masked) && r.test_mse_masked > 0);
    assert.ok(r.test_mse_masked < r.baseline_mse_masked, `MSE ${r.test_mse_masked} vs mean-image ${r.baseline_mse_masked}`);
    assert.equal(r.examples.length, 2);
    const e = r.examples[0];
    assert.equal(e.original.length, 784);
    // Visible patches of the reconstruction are the original's.
    const same = e.reconstruction.filter((v, i) => v === e.original[i]).length;
    assert.ok(same >= 784 * 0.25 - 1);
    for (const f of ['config.json', 'metrics.jsonl', 'result.json', 'report.html', 'checkpoints/crate-mae.safetensors']) assert.ok(existsSync(join(r.run_dir, f)), f);
    assert.match(readFileSync(r.report, 'utf8'), /Reconstructions/);
  } finally {
    rmSync(data, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  }
});

test('crate-mae interrupted and resumed from its checkpoint ends in the same weights and figures as an uninterrupted run', async () => {
  const data = mkdtempSync(join(tmpdir(), 'gb-mae-data-'));
  const out = mkdtempSync(join(tmpdir(), 'gb-mae-resume-'));
  try {
    fakeDataset(data, 160);
    const cfg = CRATE_MAE_PRESETS.tiny;
    const a = await runCrateMAE(cfg, { dataDir: data, runDir: join(out, 'a') });
    const controller = new AbortController();
    const b1 = await runCrateMAE(cfg, { dataDir: data, runDir: join(out, 'b'), signal: controller.signal, onEvent: (e) => { if (e.type === 'step' && e.step === 7) controller.abort(); } });
    assert.equal(b1.aborted, true);
    assert.equal(b1.steps, 7);
    await assert.rejects(runCrateMAE({ ...cfg, lr: cfg.lr * 2 }, { dataDir: data, runDir: join(out, 'c'), resume: b1.checkpoint }), /different configuration/);
    const b = await runCrateMAE(cfg, { dataDir: data, runDir: join(out, 'b'), resume: b1.checkpoint });
    assert.equal(b.aborted, false);
    assert.equal(b.steps, a.steps);
    assert.equal(b.test_mse_masked, a.test_mse_masked);
    assert.deepEqual(b.history, a.history);
    const { decodeSafetensors } = await import('../../src/engine/safetensors.js');
    const ta = decodeSafetensors(readFileSync(a.checkpoint)).tensors, tb = decodeSafetensors(readFileSync(b.checkpoint)).tensors;
    for (const [name, t] of ta) assert.deepEqual(tb.get(name)!.data, t.data, name);
  } finally {
    rmSync(data, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  }
});
