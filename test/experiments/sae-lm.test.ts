// `run sae-lm` end to end on a small LM (random weights: the lens does not
// care what the model knows), the splice that the CE score rests on, the
// multi-hook buffer, and the errors: a missing corpus split, an unknown hook,
// an SAE trained on another model. The corpus is built into a temp folder.

import test from 'node:test';
import { withThreads } from '../../src/engine/threads.js';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, existsSync, readFileSync, rmSync, cpSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GPT } from '../../src/nn/gpt.js';
import { Sae } from '../../src/lens/sae/model.js';
import { spliceMetrics, spliceMetricsMany } from '../../src/lens/sae/metrics.js';
import { MultiHookBuffer, hookActivations, type TokenBatch } from '../../src/lens/sae/buffer.js';
import { buildCorpus } from '../../src/data/lm-corpus.js';
import { saveLmModel, loadModel } from '../../src/lm/model-file.js';
import { SAE_LM_PRESETS, runSaeLm } from '../../src/experiments/sae-lm.js';
import { checkSaeModel, evalWindows } from '../../src/experiments/sae-lm-eval.js';
import type { SaeLmResult } from '../../src/experiments/sae-lm-result.js';
import { sourcesOrSkip } from '../lm/helpers.js';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const glassbox = (...args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, GLASSBOX_THREADS: '1' } });

const root = mkdtempSync(join(tmpdir(), 'gb-sae-lm-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

function smallModel(seed: number, path: string): string {
  const m = new GPT({ vocabSize: 256, contextLength: 32, nLayers: 2, nHeads: 2, dModel: 16, seed });
  saveLmModel(path, m, { name: 'test', command: 'test', preset: 'custom', corpus_manifest_sha256: '', params: m.paramCount(), steps: 0, tokens: 0, context: 32, val_bpb: 8, precision: 'F32', tokenizer: 'bytes' });
  return path;
}
const modelA = smallModel(5, join(root, 'a.safetensors'));
const modelB = smallModel(6, join(root, 'b.safetensors'));

test('the CE-score splice: an identity SAE gives the clean loss exactly, an all-zero one the zero-ablated loss', () => {
  const { model } = loadModel(modelA);
  const d = 16, hook = 'blocks.0.hook_resid_post';
  // ReLU(x)·1 + ReLU(−x)·(−1) = x: latents 2c and 2c+1 carry +x_c and −x_c.
  const id = new Sae({ arch: 'relu', d, n: 2 * d, k: 0 });
  for (let c = 0; c < d; c++) {
    id.W_enc.data[c * 2 * d + 2 * c] = 1;
    id.W_enc.data[c * 2 * d + 2 * c + 1] = -1;
    id.W_dec.data[2 * c * d + c] = 1;
    id.W_dec.data[(2 * c + 1) * d + c] = -1;
  }
  const val = Uint8Array.from(Buffer.from('In the beginning God created the heaven and the earth. And the earth was without form, and void.', 'latin1'));
  const { batches } = evalWindows(val, 32, 3);
  const s = spliceMetrics(model, hook, id, batches);
  assert.equal(s.ce_spliced, s.ce_clean);
  assert.equal(s.ce_score, 1);
  assert.notEqual(s.ce_zero_ablation, s.ce_clean, 'zero-ablating the residual stream must change the loss, or the test proves nothing');
  const zero = new Sae({ arch: 'relu', d, n: 2 * d, k: 0 });
  const z = spliceMetrics(model, hook, zero, batches);
  assert.equal(z.ce_spliced, z.ce_zero_ablation);
  assert.ok(z.ce_score === 0, `CE score ${z.ce_score}`);
  assert.deepEqual(spliceMetricsMany(model, hook, [id, zero], batches), [s, z], 'sharing the clean and zero runs changes nothing');
});

test('the multi-hook buffer keeps each token\'s hooks together through the shuffle', () => {
  const { model } = loadModel(modelA);
  const hooks = ['blocks.0.hook_resid_post', 'blocks.1.hook_mlp_out'];
  const source = (i: number): TokenBatch => ({ tokens: Int32Array.from({ length: 64 }, (_, j) => (i * 64 + j * 7) % 256), B: 2, T: 32 });
  const buf = new MultiHookBuffer(model, hooks, source, 256, 3);
  assert.deepEqual(buf.widths, [16, 16]);
  const pairs = new Set<string>();
  for (let i = 0; i < 6; i++) {
    const a = hookActivations(model, hooks[0], source(i)).rows, b = hookActivations(model, hooks[1], source(i)).rows;
    for (let r = 0; r < 64; r++) pairs.add(`${a.subarray(r * 16, r * 16 + 16).join(',')}|${b.subarray(r * 16, r * 16 + 16).join(',')}`);
  }
  let shuffled = false;
  const first = hookActivations(model, hooks[0], source(0)).rows;
  for (let s = 0; s < 4; s++) {
    const [a, b] = buf.next(64);
    for (let r = 0; r < 64; r++) assert.ok(pairs.has(`${a.subarray(r * 16, r * 16 + 16).join(',')}|${b.subarray(r * 16, r * 16 + 16).join(',')}`), 'a row whose hooks come from different tokens');
    if (s === 0 && a[0] !== first[0]) shuffled = true;
  }
  assert.ok(shuffled, 'the first batch came out in model order');
  assert.throws(() => new MultiHookBuffer(model, ['blocks.0.hook_resid_post', 'blocks.7.hook_mlp_out'], source, 256, 1), /unknown hook point "blocks\.7\.hook_mlp_out"/);
});

let corpusDir = '';
let result: SaeLmResult | null = null;

test('run sae-lm --preset quick: metrics per SAE, the AuxK comparison, descriptions against the untrained baseline, steering, report', (t) => {
  if (!sourcesOrSkip(t)) return;
  corpusDir = join(root, 'corpus');
  buildCorpus(corpusDir);
  const r = glassbox('run', 'sae-lm', '--preset', 'quick', '--model', modelA, '--corpus', corpusDir, '--eval-windows', '48', '--out', join(root, 'runs'), '--json');
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  result = JSON.parse(readFileSync(join(s.run_dir, 'result.json'), 'utf8')) as SaeLmResult;
  const res = result;
  assert.deepEqual(res.hooks, ['blocks.0.hook_resid_post', 'blocks.1.hook_resid_post', 'blocks.0.hook_mlp_out']);
  assert.deepEqual(res.saes.map((x) => x.name), ['resid0-topk-k8-n128', 'resid0-topk-k32-n128', 'resid1-topk-k8-n128', 'resid1-topk-k32-n128', 'mlp0-topk-k8-n128', 'mlp0-topk-k32-n128', 'resid0-topk-k8-n128-noauxk']);
  for (const x of res.saes) {
    assert.ok(x.l0 <= x.k_or_l1 + 1e-9, `${x.name}: L0 ${x.l0}`);
    assert.ok(x.fvu >= 0 && x.fvu < 1, `${x.name}: FVU ${x.fvu}`);
    const compared = x.name === 'resid0-topk-k8-n128' || x.name === 'resid0-topk-k8-n128-noauxk';
    assert.equal(x.dead_over_training.length, compared ? SAE_LM_PRESETS.quick.probes + 1 : 0, x.name);
    if (compared) {
      assert.deepEqual(x.dead_over_training.map((p) => p.tokens), [0, 5120, 10240, 15360, 20480]);
      // The last probe, recounted here: latents that fire on none of the first probe_tokens evaluation tokens.
      const sae = Sae.fromSafetensors(readFileSync(x.file));
      const { batches } = evalWindows(readFileSync(join(corpusDir, 'val.bin')), 32, 48);
      const { model } = loadModel(modelA);
      const fired = new Set<number>();
      let seen = 0;
      for (const b of batches) {
        const { rows } = hookActivations(model, x.hook, b);
        const m = Math.min(b.B * b.T, res.probe_tokens - seen);
        if (m <= 0) break;
        const z = sae.encode(rows.subarray(0, m * 16), m);
        for (let r = 0; r < m; r++) for (let i = 0; i < sae.shape.n; i++) if (z[r * sae.shape.n + i] > 0) fired.add(i);
        seen += m;
      }
      assert.ok(Math.abs(x.dead_over_training[4].dead_probe - (sae.shape.n - fired.size) / sae.shape.n) <= 1 / sae.shape.n, `probe ${x.dead_over_training[4].dead_probe}, recounted ${(sae.shape.n - fired.size) / sae.shape.n}`);
    }
    assert.ok(existsSync(x.file));
    assert.equal(Sae.fromSafetensors(readFileSync(x.file)).meta.model_sha256, res.model_sha256);
  }
  assert.equal(res.auxk_comparison.length, 1);
  assert.equal(res.auxk_comparison[0].n, 128);
  // Training must beat the untrained SAE of the same shape by far.
  for (const f of res.features) {
    const trained = res.saes.find((x) => x.name === f.sae)!;
    assert.ok(trained.fvu < 0.6 * f.random.fvu, `${f.sae}: FVU ${trained.fvu} against ${f.random.fvu} untrained`);
    assert.ok(f.best.length > 0 && f.best[0].f1 >= f.worst[0].f1);
  }
  assert.equal(res.steering.length, SAE_LM_PRESETS.quick.steerFeatures * SAE_LM_PRESETS.quick.steerPrompts.length);
  assert.ok(res.steering.every((x) => x.runs.length === 2 && x.runs[0].text.length > 0));
  assert.equal(res.targets.length, 3);
  const html = readFileSync(res.report, 'utf8');
  for (const want of [/<svg/, /<mark>/, /Dead latents over training/, /untrained/]) assert.match(html, want);
  assert.equal(readdirSync(join(res.run_dir, 'dashboards')).length, 3);
});

test('sae features and sae steer work on a sae-lm run; an SAE of another model is refused', (t) => {
  if (!result) return t.skip('needs the run of the previous test');
  const dir = result.run_dir;
  const l = glassbox('sae', 'features', dir, '--top', '3');
  assert.equal(l.status, 0, l.stderr);
  assert.match(l.stdout, /resid0-topk-k8-n128 at blocks\.0\.hook_resid_post/);
  const live = result.features[0].best[0].feature;
  const one = JSON.parse(glassbox('sae', 'features', dir, '--feature', String(live), '--sae', 'mlp0-topk-k8-n128', '--json').stdout);
  assert.ok(one.top[0].highlighted.includes('['));
  const st = glassbox('sae', 'steer', dir, '--feature', String(live), '--scale', '0', '--prompt', 'The ', '--tokens', '12', '--json');
  assert.equal(st.status, 0, st.stderr);
  const zero = JSON.parse(st.stdout);
  assert.equal(zero.steered, zero.unsteered, 'scale 0 must not change the text');
  assert.equal(zero.steered.length, 12);
  const other = glassbox('sae', 'steer', dir, '--feature', '1', '--scale', '1', '--prompt', 'The ', '--model', modelB);
  assert.equal(other.status, 1);
  assert.match(other.stderr, /^glassbox: SAE resid0-topk-k8-n128 was trained on the model with sha256 [0-9a-f]{16}…, but .*b\.safetensors has sha256 [0-9a-f]{16}…: an SAE only reads the activations of the model it was trained on\n$/);
  const sae = Sae.fromSafetensors(readFileSync(result.saes[0].file));
  assert.doesNotThrow(() => checkSaeModel(sae, loadModel(modelA)));
});

test('sae-lm errors: a missing corpus split and an unknown hook fail before anything is written', async (t) => {
  if (!corpusDir) return t.skip('needs the corpus of the run test');
  const broken = join(root, 'broken');
  cpSync(corpusDir, broken, { recursive: true });
  rmSync(join(broken, 'val.bin'));
  const runDir = join(root, 'never');
  await assert.rejects(runSaeLm({ ...SAE_LM_PRESETS.quick, model: modelA, corpus: broken }, { runDir }), /val\.bin is missing/);
  await assert.rejects(runSaeLm({ ...SAE_LM_PRESETS.quick, model: modelA, corpus: corpusDir, hooks: ['blocks.0.hook_resid_post', 'blocks.5.hook_mlp_out'] }, { runDir }), /unknown hook point "blocks\.5\.hook_mlp_out"/);
  await assert.rejects(runSaeLm({ ...SAE_LM_PRESETS.quick, model: join(root, 'missing.safetensors'), corpus: corpusDir }, { runDir }), /does not exist/);
  await assert.rejects(runSaeLm({ ...SAE_LM_PRESETS.quick, model: modelA, corpus: corpusDir, hooks: ['blocks.0.attn.hook_pattern'] }, { runDir }), /hook point "blocks\.0\.attn\.hook_pattern" has shape \[16,2,32,32\], not \[B, T, \.\.\.\]/);
  assert.equal(existsSync(runDir), false);
});

test('sae-lm is the same bits at 1 and 2 threads: SAE weights, metrics and descriptions', async (t) => {
  if (!corpusDir) return t.skip('needs the corpus of the run test');
  const cfg = { ...SAE_LM_PRESETS.quick, model: modelA, corpus: corpusDir, hooks: ['blocks.1.hook_resid_post', 'blocks.1.hook_mlp_out'], ks: [8], primaryK: 8, tokens: 8192, evalWindows: 40, probes: 2, steerFeatures: 1, steerMultiples: [0, 3], steerPrompts: ['The '] };
  const a = await withThreads(1, () => runSaeLm(cfg, { runDir: join(root, 'det1') }));
  const b = await withThreads(2, () => runSaeLm(cfg, { runDir: join(root, 'det2') }));
  for (let i = 0; i < a.saes.length; i++) {
    assert.ok(readFileSync(a.saes[i].file).equals(readFileSync(b.saes[i].file)), `${a.saes[i].name} weights differ`);
    for (const key of ['l0', 'fvu', 'ce_score', 'kl_score', 'dead_fraction'] as const) assert.equal(a.saes[i][key], b.saes[i][key], key);
    assert.deepEqual(a.saes[i].dead_over_training, b.saes[i].dead_over_training);
  }
  assert.deepEqual(a.features.map((f) => [f.best, f.worst, f.random.interpretable]), b.features.map((f) => [f.best, f.worst, f.random.interpretable]));
  assert.deepEqual(a.steering, b.steering);
});

test('sae-lm stopped in training, resumed, stopped again while reading features and resumed on 2 threads, ends in the bits of a run that never stopped', async (t) => {
  if (!corpusDir) return t.skip('needs the corpus of the run test');
  const { createHash } = await import('node:crypto');
  const cfg = { ...SAE_LM_PRESETS.quick, model: modelA, corpus: corpusDir, hooks: ['blocks.1.hook_resid_post', 'blocks.0.hook_mlp_out'], ks: [8], primaryK: 8, tokens: 8192, batchTopK: true, reluL1s: [0.5], evalWindows: 20, probes: 4, steerFeatures: 1, steerMultiples: [0, 3], steerPrompts: ['The '] };
  const whole = await withThreads(1, () => runSaeLm(cfg, { runDir: join(root, 'resume-whole') }));
  const dir = join(root, 'resume-stopped');
  const stopped = (re: RegExp) => (e: Error) => e.name === 'Interrupted' && re.test(e.message);
  const c1 = new AbortController();
  await assert.rejects(
    withThreads(1, () => runSaeLm(cfg, { runDir: dir, signal: c1.signal, onStep: (s) => s === 6 && c1.abort() })),
    stopped(/^interrupted at SAE step 6 of 16; resume with --resume .*checkpoints\/sae-lm\.safetensors$/),
  );
  await assert.rejects(runSaeLm({ ...cfg, lr: cfg.lr / 2 }, { resume: dir }), /different configuration/);
  const c2 = new AbortController();
  let first = 0;
  await assert.rejects(
    withThreads(1, () => runSaeLm(cfg, { resume: join(dir, 'checkpoints', 'sae-lm.safetensors'), signal: c2.signal, onStep: (s) => (first ||= s), onProgress: (m) => m === 'reading features' && c2.abort() })),
    stopped(/^interrupted while reading the features at blocks\.1\.hook_resid_post; resume with --resume /),
  );
  assert.equal(first, 7, 'training did not go on from the step it stopped at');
  let steps = 0;
  const resumed = await withThreads(2, () => runSaeLm(cfg, { resume: dir, onStep: () => steps++ }));
  assert.equal(steps, 0, 'a run stopped after training trained again');
  const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
  assert.equal(resumed.saes.length, 5);
  for (let i = 0; i < whole.saes.length; i++) assert.equal(sha(resumed.saes[i].file), sha(whole.saes[i].file), `${whole.saes[i].name} weights`);
  // result.json without its wall-clock fields (seconds, rates, phase times), the run directory's path taken out.
  const comparable = (r: SaeLmResult) => JSON.parse(readFileSync(join(r.run_dir, 'result.json'), 'utf8').split(r.run_dir).join('RUN'), (k, v) => (/seconds|per_s$/.test(k) ? undefined : v));
  assert.deepEqual(comparable(resumed), comparable(whole));
  for (const f of ['metrics.jsonl', 'dashboards.json', ...readdirSync(join(whole.run_dir, 'dashboards')).map((x) => join('dashboards', x))]) {
    assert.equal(sha(join(dir, f)), sha(join(whole.run_dir, f)), f);
  }
});
