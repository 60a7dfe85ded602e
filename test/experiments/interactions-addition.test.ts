// The interactions-addition experiment on a tiny config: its run directory,
// its checks, determinism, the carry-chain rule, the CLI, and its errors.

import test from 'node:test';
import { withThreads } from '../../src/engine/threads.js';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runInteractionsAddition, carryChainPlaces, operandVariables, validateInteractionsConfig, INTERACTIONS_DEFAULTS } from '../../src/experiments/interactions-addition.js';
import type { InteractionsAdditionConfig } from '../../src/experiments/interactions-addition-result.js';
import { renderInteractionsReport } from '../../src/report/interactions-report.js';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const tiny: InteractionsAdditionConfig = {
  ...INTERACTIONS_DEFAULTS, digits: 2, trainSize: 40, steps: 6, batch: 8, layers: 1, dModel: 16, heads: 2, warmup: 2,
  answerDigit: 2, checkpoints: [0, 3, 6], samples: 2, lossProblems: 20, sparsifyIterations: 200, sparsifyLr: 1e-3,
};

test('carry chain places: own place, the place below, and further down through 9-sums', () => {
  // k = 4, a = 1234, b = 5765: places 0: 4+5 = 9, 1: 3+6 = 9, 2: 2+7 = 9, 3: 1+5 = 6.
  assert.deepEqual(carryChainPlaces({ a: 1234, b: 5765 }, 4, 3), [3, 2, 1, 0]);
  // a = 1200, b = 3400: place 1 sums to 0, so the chain of place 2 stops there.
  assert.deepEqual(carryChainPlaces({ a: 1200, b: 3400 }, 4, 2), [2, 1]);
  // The carry out (place 4 = k) has no operand digits of its own.
  assert.deepEqual(carryChainPlaces({ a: 1200, b: 3400 }, 4, 4), [3]);
  assert.deepEqual(carryChainPlaces({ a: 1200, b: 3400 }, 4, 0), [0]);
  const v = operandVariables(3);
  assert.deepEqual(v.names, ['a1', 'a2', 'a3', 'b1', 'b2', 'b3']);
  assert.deepEqual(v.positions, [1, 2, 3, 5, 6, 7]); // s a1 a2 a3 + b1 b2 b3 =
  assert.deepEqual(v.places, [2, 1, 0, 2, 1, 0]);
});

test('a tiny run writes its run directory, matches universally, and repeats bit for bit', async () => {
  const out = mkdtempSync(join(tmpdir(), 'gb-inter-'));
  const a = await withThreads(1, () => runInteractionsAddition(tiny, { runDir: join(out, 'a'), render: renderInteractionsReport }));
  const b = await withThreads(2, () => runInteractionsAddition(tiny, { runDir: join(out, 'b') }));
  assert.deepEqual(a.checkpoints.map((c) => c.step), [0, 3, 6]);
  for (const c of a.checkpoints) {
    assert.ok(c.matching_error <= 1e-4, `matching ${c.matching_error}`);
    assert.equal(c.order_strength_pos.length, 4);
    assert.equal(c.jaccard.length, 4);
    assert.ok(existsSync(c.checkpoint));
  }
  for (const f of ['config.json', 'metrics.jsonl', 'result.json', 'report.html']) assert.ok(existsSync(join(out, 'a', f)), f);
  assert.deepEqual(b.checkpoints.map((c) => [c.train_loss, c.order_strength_pos, c.order_strength_neg, c.jaccard]), a.checkpoints.map((c) => [c.train_loss, c.order_strength_pos, c.order_strength_neg, c.jaccard]));
  assert.equal(a.carry_chain.samples.length, 4);
  assert.equal(a.carry_chain.dependence.length, 4);
  const html = readFileSync(join(out, 'a', 'report.html'), 'utf8');
  assert.ok(html.startsWith('<!doctype html>') && !/<script/i.test(html));
  for (const id of ['carry-chain', 'dynamics', 'checkpoints']) assert.match(html, new RegExp(`<section id="${id}">`));
  const metrics = readFileSync(join(out, 'a', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(metrics.filter((m) => m.kind === 'interactions').length, 3);
  assert.equal(metrics.filter((m) => m.kind === 'train').length, 6);
});

test('interrupted mid-segment and resumed from last.safetensors, the analyses and the carry chain equal an uninterrupted run\'s', async () => {
  const out = mkdtempSync(join(tmpdir(), 'gb-inter-resume-'));
  const a = await runInteractionsAddition(tiny, { runDir: join(out, 'a') });
  const controller = new AbortController();
  await assert.rejects(
    runInteractionsAddition(tiny, { runDir: join(out, 'b'), signal: controller.signal, onEvent: (e) => { if (e.type === 'step' && e.step === 4) controller.abort(); } }),
    /interrupted at step 4; resume with --resume .*last\.safetensors/,
  );
  const last = join(out, 'b', 'checkpoints', 'last.safetensors');
  await assert.rejects(runInteractionsAddition({ ...tiny, lr: 5e-3 }, { runDir: join(out, 'c'), resume: last }), /different configuration/);
  const b = await runInteractionsAddition(tiny, { runDir: join(out, 'b'), resume: last });
  const strip = (r: typeof a) => ({ cps: r.checkpoints.map((c) => ({ ...c, seconds: 0, checkpoint: '' })), carry: r.carry_chain, two: r.two_phase });
  assert.deepEqual(strip(b), strip(a));
});

test('config errors name what is wrong', () => {
  assert.throws(() => validateInteractionsConfig({ ...tiny, digits: 9 }), /digits must be at most 8.*at most 16 \(2\^n masked forwards\)/);
  assert.throws(() => validateInteractionsConfig({ ...tiny, answerDigit: 4 }), /answer digit must be 1\.\.3/);
  assert.throws(() => validateInteractionsConfig({ ...tiny, checkpoints: [0, 6, 3] }), /checkpoints must be increasing/);
  assert.throws(() => validateInteractionsConfig({ ...tiny, checkpoints: [0, 7] }), /steps in 0\.\.6/);
});

test('CLI: --json prints per-checkpoint figures and the carry chain; bad flags fail in one line', () => {
  const out = mkdtempSync(join(tmpdir(), 'gb-inter-cli-'));
  const r = spawnSync(process.execPath, [MAIN, 'run', 'interactions-addition', '--digits', '2', '--train-size', '40', '--steps', '4', '--batch', '8', '--layers', '1', '--d-model', '16', '--heads', '2',
    '--checkpoints', '0,4', '--samples', '1', '--loss-problems', '10', '--sparsify-iterations', '50', '--out', out, '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout);
  for (const c of res.checkpoints) for (const k of ['step', 'train_loss', 'test_loss', 'order_strength_pos', 'order_strength_neg', 'salient', 'matching_error']) assert.ok(k in c, k);
  assert.ok(Array.isArray(res.carry_chain.dependence));
  const bad = spawnSync(process.execPath, [MAIN, 'run', 'interactions-addition', '--digits', '2', '--answer-digit', '5', '--out', out], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /answer digit must be 1\.\.3/);
  assert.equal(bad.stderr.trim().split('\n').length, 1);
});
