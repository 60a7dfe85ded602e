// `glassbox run jrt` on its tiny preset: the run finishes, every point says
// its seed count, the report renders, checkpoints refuse another
// architecture, and impossible settings are refused before any directory.

import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, existsSync, readFileSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noGrad } from '../../src/engine/tensor.js';
import { runJrt, validateJrt, JRT_PRESETS, stat, jrtExperiment } from '../../src/experiments/jrt.js';
import { loadRecallModel, buildModel, saveRecallModel } from '../../src/experiments/jrt-train.js';
import { renderJrtReport } from '../../src/report/jrt-report.js';
import { overtakeLength } from '../../src/experiments/jrt-speed.js';
import { resolveConfig } from '../../src/experiments/experiment.js';

test('the tiny preset runs end to end: accuracies per test set with seed counts, JRT gains, both orders, generation timing, a report', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'jrt-'));
  try {
    const cfg = { ...JRT_PRESETS.tiny, seeds: 2, disjointSeeds: 2 };
    const r = await runJrt(cfg, { runDir: join(dir, 'run'), render: renderJrtReport });
    assert.deepEqual(r.recall.tests, ['K=2', 'K=4', 'K=2 ×2']);
    assert.deepEqual(r.recall.models.map((m) => m.spec.arch), ['attention', 'based']);
    for (const m of [...r.recall.models, ...r.order.models]) {
      assert.equal(m.runs.length, 2);
      assert.deepEqual(m.runs.map((x) => x.seed), [1, 2]);
      for (const s of Object.values(m.acc)) {
        assert.equal(s.n, 2);
        assert.ok(s.mean >= 0 && s.mean <= 1 && s.min <= s.mean && s.mean <= s.max);
      }
      for (const x of m.runs) assert.ok(existsSync(x.checkpoint));
    }
    // Attention's bytes are its KV cache at the MQAR length (plus the convolutions' inputs); Based's its fixed state.
    assert.equal(r.recall.models[0].stateBytes, 2 * 2 * 24 * 16 * 4 + 2 * 2 * 16 * 4);
    assert.equal(r.jrtPrompt.rows.length, 1);
    const row = r.jrtPrompt.rows[0];
    const m = r.recall.models[1];
    assert.ok(Math.abs(row.gain.mean - 100 * (m.acc['K=2 ×2'].mean - m.acc['K=2'].mean)) < 1e-9);
    assert.deepEqual(r.order.rows.map((o) => o.arch), ['based', 'prefix']);
    assert.equal(r.generation!.points.length, 1);
    assert.ok(r.generation!.points[0].attentionMs > 0 && r.generation!.points[0].recurrentMs > 0);
    const html = readFileSync(r.report, 'utf8');
    assert.match(html, /Recall against state size/);
    assert.match(html, /paper: \+11 pts/);
    assert.match(html, /n=2/);
    assert.equal((html.match(/<svg/g) ?? []).length, 2, 'the recall chart and the JRT gain chart');
    const saved = JSON.parse(readFileSync(join(r.run_dir, 'result.json'), 'utf8'));
    assert.equal(saved.experiment, 'jrt');
    // Deterministic: the same config gives the same accuracies.
    const again = await runJrt({ ...cfg, speedLengths: [] }, { runDir: join(dir, 'run2') });
    assert.deepEqual(again.recall.models.map((x) => x.acc), r.recall.models.map((x) => x.acc));
    assert.equal(again.generation, null);
    // With trainTwoPasses off, the two-pass shape is tested but never trained on or stopped on.
    const one = await runJrt({ ...cfg, seeds: 1, disjointSeeds: 1, trainTwoPasses: false, speedLengths: [] }, { runDir: join(dir, 'run3') });
    assert.ok('K=2 ×2' in one.recall.models[1].acc);
    const evals = readFileSync(join(one.run_dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((m) => m.kind === 'eval' && m.task === 'mqar');
    assert.ok(evals.length > 0);
    for (const e of evals) assert.deepEqual(Object.keys(e).filter((k) => k.startsWith('valid_acc_')), ['valid_acc_0', 'valid_acc_1']);
    const trainedEvals = readFileSync(join(r.run_dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((m) => m.kind === 'eval' && m.task === 'mqar');
    assert.ok('valid_acc_2' in trainedEvals[0]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a checkpoint is read back as its own architecture and refused as another', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jrt-ck-'));
  try {
    const spec = { arch: 'prefix' as const, dModel: 8, nLayers: 1, featureDim: 2, nHeads: 1 };
    const m = buildModel(spec, 12, 10, 3);
    const path = join(dir, 'm.safetensors');
    saveRecallModel(path, m, spec);
    const back = loadRecallModel(path, 'prefix');
    const batch = { inputs: Int32Array.from([1, 2, 3, 4, 5]), targets: new Int32Array(5), B: 1, T: 5, prefixLen: 3 };
    assert.deepEqual(noGrad(() => back.logits(batch)).data, noGrad(() => m.logits(batch)).data);
    assert.throws(() => loadRecallModel(path, 'attention'), /holds a "prefix" model, not a "attention" model/);
    assert.throws(() => loadRecallModel(path, 'based'), /holds a "prefix" model, not a "based" model/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('settings that cannot run are refused by name, before any directory is made', async () => {
  const tiny = JRT_PRESETS.tiny;
  assert.throws(() => validateJrt({ ...tiny, kv: [2, 5], jrtKv: [5] }), /MQAR K=5 ×2: 5 key-value pairs shown 2 time\(s\) need 2·K·passes \+ 2·K = 30 tokens, more than the sequence length 24/);
  assert.throws(() => validateJrt({ ...tiny, vocabSize: 24 }), /vocabulary \(24\) must be larger than the sequence length \(24\)/);
  assert.throws(() => validateJrt({ ...tiny, setSmall: 5 }), /setSmall \(5\) must be smaller than setLarge \(5\)/);
  assert.throws(() => validateJrt({ ...tiny, jrtKv: [3] }), /jrtKv 3 must also be in kv/);
  assert.throws(() => resolveConfig(jrtExperiment, 'tiny', { 'attn-d-model': '15' }), /attnDModel 15 is not divisible by attnHeads 2/);
  const dir = mkdtempSync(join(tmpdir(), 'jrt-bad-'));
  try {
    await assert.rejects(() => runJrt({ ...tiny, seqLen: 20, kv: [4], jrtKv: [4] }, { outRoot: dir }), /more than the sequence length 20/);
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stat: mean, sample sd and range', () => {
  const s = stat([1, 2, 3, 6]);
  assert.equal(s.mean, 3);
  assert.ok(Math.abs(s.sd - Math.sqrt(14 / 3)) < 1e-12);
  assert.deepEqual([s.min, s.max, s.n], [1, 6, 4]);
  assert.equal(stat([0.5]).sd, 0);
});

test('the recurrent form overtakes where it is faster at that and every longer length, not at a lucky short one', () => {
  const p = (length: number, attentionMs: number, recurrentMs: number) => ({ length, attentionMs, recurrentMs });
  assert.equal(overtakeLength([p(256, 1, 0.5), p(512, 0.2, 0.4), p(1024, 0.6, 0.4), p(2048, 1, 0.4)]), 1024);
  assert.equal(overtakeLength([p(1024, 0.6, 0.4), p(256, 0.1, 0.4)]), 1024);
  assert.equal(overtakeLength([p(256, 0.1, 0.4), p(512, 0.6, 0.7)]), null);
  assert.equal(overtakeLength([p(256, 0.5, 0.4)]), 256);
});

test('jrt stopped in the middle of a training resumes, at 2 threads, to the result, models and metrics of a run that never stopped; another config is refused', async () => {
  const { createHash } = await import('node:crypto');
  const { withThreads } = await import('../../src/engine/threads.js');
  const dir = mkdtempSync(join(tmpdir(), 'jrt-resume-'));
  try {
    const cfg = { ...JRT_PRESETS.tiny, seeds: 2, disjointSeeds: 1, speedLengths: [] };
    const whole = await withThreads(1, () => runJrt(cfg, { runDir: join(dir, 'whole') }));
    // Stop while the third training runs: two are finished, the third has logged steps.
    const controller = new AbortController();
    let finished = 0;
    const progress = {
      phase() {},
      note(msg: string) { if (/seed \d+: \d+ steps/.test(msg)) finished++; },
      update(step: number) { if (finished === 2 && step >= 3) controller.abort(); },
    };
    const stoppedDir = join(dir, 'stopped');
    await assert.rejects(withThreads(1, () => runJrt(cfg, { runDir: stoppedDir, signal: controller.signal, progress })), (e: Error) => e.name === 'Interrupted' && /resume with --resume .*jrt\.json/.test(e.message));
    const ck = join(stoppedDir, 'checkpoints', 'jrt.json');
    assert.equal(Object.keys(JSON.parse(readFileSync(ck, 'utf8')).state.done).length, 2);
    await assert.rejects(runJrt({ ...cfg, lr: cfg.lr * 2 }, { resume: stoppedDir }), /config/);
    const resumed = await withThreads(2, () => runJrt(cfg, { resume: stoppedDir }));
    assert.equal(resumed.run_dir, stoppedDir);
    const comparable = (r: { run_dir: string }) => JSON.parse(readFileSync(join(r.run_dir, 'result.json'), 'utf8').split(r.run_dir).join('RUN'), (k, v) => (k === 'seconds' ? undefined : v));
    assert.deepEqual(comparable(resumed), comparable(whole));
    const metrics = (r: { run_dir: string }) => readFileSync(join(r.run_dir, 'metrics.jsonl'), 'utf8').split('\n').map((l) => l.replace(/"seconds":[0-9.e+-]+,?/, ''));
    assert.deepEqual(metrics(resumed), metrics(whole), 'metrics.jsonl: the stopped training\'s lines are not doubled');
    const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
    const models = (r: { run_dir: string }) => readdirSync(join(r.run_dir, 'checkpoints')).filter((f) => f.endsWith('.safetensors')).sort();
    assert.deepEqual(models(resumed), models(whole));
    for (const f of models(whole)) assert.equal(sha(join(resumed.run_dir, 'checkpoints', f)), sha(join(whole.run_dir, 'checkpoints', f)), f);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
