// `run sae-addition` stopped and resumed: a run aborted in the middle of an
// SAE (and one aborted while its base model trains, then again in an SAE)
// goes on from its checkpoint to the same SAE weights, result, metrics and
// dashboards as a run that never stopped, at 2 threads as at 1; another
// config is refused before anything is written.

import test from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withThreads } from '../../src/engine/threads.js';
import { decodeSafetensors } from '../../src/engine/safetensors.js';
import { runAddition } from '../../src/experiments/addition.js';
import { runSaeAddition, SAE_ADDITION_DEFAULT, type SaeAdditionConfig } from '../../src/experiments/sae-addition.js';
import type { SaeAdditionResult } from '../../src/experiments/sae-addition-result.js';

const root = mkdtempSync(join(tmpdir(), 'gb-sae-add-resume-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

const BASE = { ...SAE_ADDITION_DEFAULT.base, digits: 2, layers: 1, dModel: 16, heads: 2, steps: 30, batch: 16, warmup: 5, evalEvery: 10, evalProblems: 50 };
const SMALL = { tokens: 3000, batch: 64, evalProblems: 30, bufferRows: 2048, deadWindow: 500 };

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
/** result.json without wall-clock fields, with the run directory's path taken out. */
function comparable(r: SaeAdditionResult): unknown {
  const text = readFileSync(join(r.run_dir, 'result.json'), 'utf8').split(r.run_dir).join('RUN');
  return JSON.parse(text, (k, v) => (k === 'seconds' ? undefined : v));
}
const stopped = (re: RegExp) => (e: Error) => e.name === 'Interrupted' && re.test(e.message);

test('sae-addition stopped in an SAE resumes, at 2 threads, to the bits of a run that never stopped; another config is refused', async () => {
  const base = await runAddition(BASE, { runDir: join(root, 'base') });
  const cfg: SaeAdditionConfig = { ...SAE_ADDITION_DEFAULT, ...SMALL, model: base.checkpoint, topkKs: [2, 4], reluL1s: [0.1], primaryK: 4 };
  const whole = await withThreads(1, () => runSaeAddition(cfg, { runDir: join(root, 'whole') }));
  assert.deepEqual(whole.saes.map((s) => s.name), ['topk-k2', 'topk-k4', 'topk-k4-noauxk', 'batchtopk-k4', 'relu-l1-0.1']);

  const dir = join(root, 'stopped');
  const controller = new AbortController();
  let last = 0;
  await assert.rejects(
    withThreads(1, () => runSaeAddition(cfg, { runDir: dir, signal: controller.signal, onSaeStep: (name, r) => {
      if (name === 'batchtopk-k4' && r.step === 20) controller.abort();
      last = r.step;
    } })),
    stopped(/^interrupted at step 20 of 47 of batchtopk-k4; resume with --resume .*checkpoints\/sae-addition\.safetensors$/),
  );
  assert.equal(last, 20);
  // Three SAEs were finished when it stopped; their files stay, the fourth has none yet.
  assert.deepEqual(readdirSync(join(dir, 'saes')).sort(), ['topk-k2.safetensors', 'topk-k4-noauxk.safetensors', 'topk-k4.safetensors']);
  const metrics = readFileSync(join(dir, 'metrics.jsonl'), 'utf8');
  await assert.rejects(runSaeAddition({ ...cfg, lr: cfg.lr * 2 }, { resume: dir }), /different configuration/);
  await assert.rejects(runSaeAddition(cfg, { resume: dir, runDir: join(root, 'elsewhere') }), /goes on in its own run directory/);
  assert.equal(readFileSync(join(dir, 'metrics.jsonl'), 'utf8'), metrics, 'a refused resume wrote to the run');

  // Resumed from the run directory (the CLI's --resume RUN_DIR), on 2 threads.
  const resumed = await withThreads(2, () => runSaeAddition(cfg, { resume: dir }));
  assert.equal(resumed.run_dir, whole.run_dir.replace(/whole$/, 'stopped'));
  for (const s of whole.saes) assert.equal(sha(join(dir, 'saes', `${s.name}.safetensors`)), sha(s.file), `${s.name} weights`);
  assert.deepEqual(comparable(resumed), comparable(whole));
  assert.equal(readFileSync(join(dir, 'metrics.jsonl'), 'utf8'), readFileSync(join(whole.run_dir, 'metrics.jsonl'), 'utf8'));
  assert.equal(sha(join(dir, 'dashboards.json')), sha(join(whole.run_dir, 'dashboards.json')));
});

test('sae-addition stopped while its base model trains, then again in an SAE, ends where an uninterrupted run ends', async () => {
  const cfg: SaeAdditionConfig = { ...SAE_ADDITION_DEFAULT, ...SMALL, model: '', base: BASE, topkKs: [2], reluL1s: [], primaryK: 2, batchTopK: false, auxkAblation: false };
  const whole = await runSaeAddition(cfg, { runDir: join(root, 'whole-base') });
  const dir = join(root, 'stopped-base');
  const c1 = new AbortController();
  await assert.rejects(
    runSaeAddition(cfg, { runDir: dir, signal: c1.signal, onBaseEvent: (e) => e.type === 'step' && e.step === 12 && c1.abort() }),
    stopped(/^interrupted while training the addition model \(step 12 of 30\); resume with --resume .*sae-addition\.safetensors$/),
  );
  const c2 = new AbortController();
  let firstBaseStep = -1;
  await assert.rejects(
    runSaeAddition(cfg, { resume: join(dir, 'checkpoints', 'sae-addition.safetensors'), signal: c2.signal,
      onBaseEvent: (e) => e.type === 'step' && firstBaseStep < 0 && (firstBaseStep = e.step),
      onSaeStep: (_, r) => r.step === 9 && c2.abort() }),
    stopped(/^interrupted at step 9 of 47 of topk-k2;/),
  );
  assert.equal(firstBaseStep, 13, 'the base model did not go on from where it stopped');
  const resumed = await runSaeAddition(cfg, { resume: dir });
  assert.equal(resumed.model_exact_match, whole.model_exact_match);
  assert.deepEqual(comparable(resumed), comparable(whole));
  // The SAE file names the base model's path, which differs by run directory; everything else is the same bits.
  const open = (r: SaeAdditionResult) => {
    const t = decodeSafetensors(readFileSync(r.saes[0].file));
    return { tensors: [...t.tensors], meta: JSON.parse(JSON.stringify(t.metadata).split(r.run_dir).join('RUN')) };
  };
  assert.deepEqual(open(resumed), open(whole));
  const weights = (r: SaeAdditionResult) => [...decodeSafetensors(readFileSync(r.model_checkpoint)).tensors].filter(([n]) => !n.startsWith('optimizer.'));
  assert.deepEqual(weights(resumed), weights(whole));
  assert.equal(readFileSync(join(dir, 'metrics.jsonl'), 'utf8'), readFileSync(join(whole.run_dir, 'metrics.jsonl'), 'utf8'));
});

test('a buffer too small for two source batches is refused before anything is written', async () => {
  const out = mkdtempSync(join(tmpdir(), 'gb-sae-add-buffer-'));
  const cfg: SaeAdditionConfig = { ...SAE_ADDITION_DEFAULT, ...SMALL, base: BASE, bufferRows: 256, batch: 64 };
  // 2-digit problems are 10 positions, so two source batches of 64 need 1,280 rows.
  await assert.rejects(runSaeAddition(cfg, { outRoot: out }), /buffer rows 256 must hold two source batches of 64 problems × \d+ positions/);
  assert.deepEqual(readdirSync(out), [], 'no run directory was made');
});
