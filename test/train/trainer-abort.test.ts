// A stop has to reach a training loop that is running: Node delivers a
// signal (Ctrl-C) or a timer only on a turn of the event loop, so a loop that
// never yields would notice an abort fired that way only after its last step.
// Both tests fire the abort from outside the loop's own callbacks.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GPT } from '../../src/nn/gpt.js';
import { AdamW } from '../../src/engine/optim.js';
import { trainLoop } from '../../src/train/trainer.js';
import { repoRoot } from '../skip.js';

test('an AbortSignal fired by a timer stops trainLoop between steps', { timeout: 60_000 }, async () => {
  const model = new GPT({ vocabSize: 8, contextLength: 4, nLayers: 1, nHeads: 2, dModel: 8, seed: 1 });
  const params = model.parameters();
  const inputs = Int32Array.from([1, 2, 3, 4]);
  const targets = Int32Array.from([2, 3, 4, 5]);
  const controller = new AbortController();
  const steps = 200_000; // minutes of work: without the stop, this test would time out
  setTimeout(() => controller.abort(), 200);
  const r = await trainLoop({
    steps, params, optimizer: new AdamW(params, { lr: 1e-3 }), lrAt: () => 1e-3,
    batchAt: () => ({ inputs, targets, B: 1, T: 4 }),
    lossOf: (b) => model.loss(b.inputs, b.targets, b.B, b.T),
    signal: controller.signal,
  });
  assert.equal(r.aborted, true);
  assert.ok(r.step > 0 && r.step < steps, `stopped at step ${r.step}`);
});

test('Ctrl-C (SIGINT) stops `glassbox run addition` mid-training with a checkpoint to resume from', { timeout: 180_000 }, async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'gb-sigint-'));
  const cli = join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
  const child = spawn(process.execPath, [cli, 'run', 'addition', '--digits', '2', '--steps', '100000', '--batch', '8', '--layers', '1', '--d-model', '16', '--heads', '2', '--eval-every', '50000', '--eval-problems', '50', '--threads', '1', '--quiet', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL'); // a loop that ignores the signal would otherwise run on
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // Wait until training has logged steps, then press Ctrl-C.
  const metricsLines = (): number => {
    const runs = existsSync(out) ? readdirSync(out) : [];
    const m = runs.length ? join(out, runs[0], 'metrics.jsonl') : '';
    return m && existsSync(m) ? readFileSync(m, 'utf8').split('\n').filter((l) => l.includes('"train"')).length : 0;
  };
  const deadline = Date.now() + 120_000;
  while (metricsLines() < 5 && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
  assert.ok(metricsLines() >= 5, `training never started: ${stderr}`);
  child.kill('SIGINT');
  const code = await exited;
  assert.equal(code, 0, stderr);
  const m = /interrupted; resume with --resume (\S+)/.exec(stdout);
  assert.ok(m, `no resume line in: ${stdout}`);
  assert.ok(existsSync(m[1]), `checkpoint ${m[1]} exists`);
  const trained = metricsLines();
  assert.ok(trained < 100_000, `stopped after ${trained} of 100,000 steps`);
});
