// crate-fashion end to end on a tiny fake Fashion-MNIST (so it runs without the
// Debian package): the result's shape, the run directory, the report, the
// CLI's --json contract and its one-line errors.

import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCrateFashion, CRATE_FASHION_PRESETS } from '../../src/experiments/crate-fashion.js';
import { renderCrateReport } from '../../src/report/crate-report.js';
import { decodeSafetensors } from '../../src/engine/safetensors.js';
import { fakeDataset } from '../data/fake-fashion-mnist.js';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const dataDir = mkdtempSync(join(tmpdir(), 'gb-crate-data-'));
fakeDataset(dataDir, 300);
process.on('exit', () => rmSync(dataDir, { recursive: true, force: true }));

test('a tiny crate-fashion run returns both models, layerwise rates before and after, attention maps, and writes its run directory', async () => {
  const out = mkdtempSync(join(tmpdir(), 'gb-crate-run-'));
  try {
    const cfg = CRATE_FASHION_PRESETS.tiny;
    const r = await runCrateFashion(cfg, { dataDir, outRoot: out, render: renderCrateReport });
    assert.ok(r.crate && r.vit);
    assert.equal(r.train_images, 256);
    assert.equal(r.crate.steps, 48); // 3 epochs of 256/16
    assert.ok(r.crate.params < r.vit.params / 2, `CRATE ${r.crate.params} vs ViT ${r.vit.params}`);
    assert.equal(r.crate.rc_per_layer.length, 2);
    assert.equal(r.crate.layers_init.length, 2);
    for (const l of [...r.crate.layers_init, ...r.crate.layers_trained]) {
      assert.ok(l.Rc > 0 && l.R > 0 && l.zeroFraction > 0 && l.zeroFraction < 1 && Number.isFinite(l.l1OverL2));
    }
    // The fake classes are bands of rows: learnable well above chance (10%) in three tiny epochs.
    assert.ok(r.crate.test_acc > 0.3, `CRATE accuracy ${r.crate.test_acc}`);
    assert.equal(r.attention.length, 2);
    assert.equal(r.attention[0].maps.length, 2); // layers
    assert.equal(r.attention[0].maps[0].length, 2); // heads
    assert.equal(r.attention[0].maps[0][0].length, 16); // 4×4 patches
    assert.ok(Math.abs(r.attention[0].maps[1][1].reduce((a, b) => a + b, 0) - 1) < 0.5, 'the class token spends its attention on patches and itself');
    assert.deepEqual(r.image.grid, [4, 4]);
    for (const f of ['config.json', 'metrics.jsonl', 'result.json', 'report.html', 'checkpoints/crate.safetensors', 'checkpoints/vit.safetensors']) assert.ok(existsSync(join(r.run_dir, f)), f);
    const ck = decodeSafetensors(readFileSync(join(r.run_dir, 'checkpoints/crate.safetensors')));
    assert.deepEqual(ck.tensors.get('blocks.0.attn.U')!.shape, [2, 16, 8]);
    const html = readFileSync(r.report, 'utf8');
    assert.match(html, /CRATE test accuracy/);
    assert.match(html, /<svg/);
    assert.ok(!/<script/i.test(html));
    // Deterministic: the same config gives the same numbers.
    const again = await runCrateFashion({ ...cfg, models: 'crate' }, { dataDir, outRoot: out });
    assert.equal(again.crate!.test_acc, r.crate.test_acc);
    assert.deepEqual(again.crate!.rc_per_layer, r.crate.rc_per_layer);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

function glassbox(...args: string[]) {
  return spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, GLASSBOX_THREADS: '1' } });
}

test('glassbox run crate-fashion --json prints the promised keys; bad patch sizes and a missing dataset are one-line errors', () => {
  const out = mkdtempSync(join(tmpdir(), 'gb-crate-cli-'));
  try {
    const r = glassbox('run', 'crate-fashion', '--preset', 'tiny', '--data', dataDir, '--out', out, '--json', '--train-images', '64', '--epochs', '1');
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout);
    for (const k of ['params', 'test_acc', 'rc_per_layer', 'sparsity_per_layer']) assert.ok(k in res.crate, `crate.${k}`);
    for (const k of ['params', 'test_acc']) assert.ok(k in res.vit, `vit.${k}`);
    const bad = glassbox('run', 'crate-fashion', '--preset', 'tiny', '--data', dataDir, '--out', out, '--patch', '5');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^glassbox: .*not divisible by the patch size 5/);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
    const missing = glassbox('run', 'crate-fashion', '--preset', 'tiny', '--data', join(out, 'nowhere'), '--out', out);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /Fashion-MNIST not found.*apt-get install dataset-fashion-mnist/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('oneCycle follows PyTorch OneCycleLR: lr/25 at the start, the peak at 30% of the steps, lr/25e4 at the end', async () => {
  const { oneCycle } = await import('../../src/engine/schedule.js');
  const f = oneCycle(1e-3, 100);
  assert.ok(Math.abs(f(0) - 4e-5) < 1e-12);
  assert.ok(Math.abs(f(29) - 1e-3) < 1e-12);
  assert.ok(Math.abs(f(99) - 4e-9) < 1e-15);
  for (let s = 1; s < 100; s++) assert.ok(s <= 29 ? f(s) > f(s - 1) : f(s) < f(s - 1), `monotone pieces at step ${s}`);
});

test('crate-fashion resumes bit-identically when stopped during CRATE and when stopped during the ViT', async () => {
  const out = mkdtempSync(join(tmpdir(), 'gb-crate-resume-'));
  try {
    const cfg = { ...CRATE_FASHION_PRESETS.tiny, epochs: 2 };
    const a = await runCrateFashion(cfg, { dataDir, runDir: join(out, 'a') });
    const strip = (r: typeof a) => ({ crate: { ...r.crate!, seconds: 0, history: r.crate!.history.map((h) => ({ ...h, seconds: 0 })) }, vit: { ...r.vit!, seconds: 0, history: r.vit!.history.map((h) => ({ ...h, seconds: 0 })) }, attention: r.attention });
    for (const [phase, at] of [['crate', 21], ['vit', 5]] as const) {
      const controller = new AbortController();
      const first = await runCrateFashion(cfg, {
        dataDir, runDir: join(out, `stop-${phase}`), signal: controller.signal,
        onEvent: (m, e) => { if (m === phase && e.type === 'step' && e.step === at) controller.abort(); },
      });
      assert.equal(first.aborted, true, phase);
      assert.equal(first.checkpoint, join(out, `stop-${phase}`, 'checkpoints', `${phase}.safetensors`));
      const b = await runCrateFashion(cfg, { dataDir, runDir: join(out, `stop-${phase}`), resume: first.checkpoint! });
      assert.equal(b.aborted, false);
      assert.deepEqual(strip(b), strip(a), `stopped during ${phase}`);
      for (const m of ['crate', 'vit']) {
        const ta = decodeSafetensors(readFileSync(join(a.run_dir, `checkpoints/${m}.safetensors`))).tensors;
        const tb = decodeSafetensors(readFileSync(join(b.run_dir, `checkpoints/${m}.safetensors`))).tensors;
        for (const [name, t] of ta) assert.deepEqual(tb.get(name)!.data, t.data, `${phase}: ${m} ${name}`);
      }
    }
    await assert.rejects(runCrateFashion({ ...cfg, lr: 0.5 }, { dataDir, runDir: join(out, 'x'), resume: join(out, 'stop-vit', 'checkpoints', 'vit.safetensors') }), /different configuration/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
