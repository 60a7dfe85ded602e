// The addition experiment end to end on a tiny configuration: the run
// directory, resume bit-identity, the result's bookkeeping, and eval.

import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAddition, PRESETS, type AdditionConfig } from '../../src/experiments/addition.js';
import { loadAdditionModel, solveProblem } from '../../src/experiments/addition-model.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/engine/safetensors.js';
import { lossFloor } from '../../src/data/addition.js';

const tiny: AdditionConfig = { ...PRESETS.default, digits: 2, steps: 24, batch: 16, layers: 1, dModel: 32, heads: 2, warmup: 4, evalEvery: 6, evalProblems: 64, seed: 5 };

function tensorsOf(path: string): Map<string, Float32Array> {
  return new Map([...loadCheckpoint(path).tensors].map(([n, t]) => [n, t.data]));
}

test('a run writes its directory, and its bits add up', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gb-add-'));
  const r = await runAddition(tiny, { runDir: join(dir, 'run'), render: () => '<html></html>' });
  for (const f of ['config.json', 'metrics.jsonl', 'result.json', 'report.html', 'checkpoints/last.safetensors']) assert.ok(existsSync(join(r.run_dir, f)), f);
  assert.equal(r.steps, 24);
  assert.equal(r.digits, 2);
  assert.equal(r.answer_order, 'msf');
  assert.ok(Math.abs(r.loss_floor - lossFloor(2, 'uniform')) < 1e-12);
  // The area under the loss curve is the sum over steps of loss × tokens × log2 e.
  const lines = readFileSync(join(r.run_dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const train = lines.filter((l) => l.kind === 'train');
  assert.equal(train.length, 24);
  const T = 3 * 2 + 4;
  const area = train.reduce((s, l) => s + l.train_loss * 16 * T * 1.4426950408889634, 0);
  assert.ok(Math.abs(area - r.bits.area_under_loss_bits) < 1e-6 * area);
  assert.equal(r.bits.problems_seen, 24 * 16);
  assert.equal(r.bits.raw_bits, 24 * 16 * (T + 1) * 8);
  assert.ok(r.bits.area_under_loss_bits < r.bits.uniform_bits, 'a learning model codes below uniform');
  assert.equal(r.per_position.length, T);
  assert.equal(r.attention.layers.length, 1);
  assert.equal(r.attention.layers[0].heads.length, 2);
  assert.equal(r.carry_cases.length > 3, true);
  const saved = JSON.parse(readFileSync(join(r.run_dir, 'result.json'), 'utf8'));
  assert.equal(saved.bits.area_under_loss_bits, r.bits.area_under_loss_bits);
});

test('an interrupted run resumed from its checkpoint gives the same bits as an uninterrupted one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gb-resume-'));
  const full = await runAddition(tiny, { runDir: join(dir, 'full') });
  const controller = new AbortController();
  const part = await runAddition(tiny, {
    runDir: join(dir, 'part'),
    signal: controller.signal,
    onEvent: (e) => {
      if (e.type === 'step' && e.step === 10) controller.abort();
    },
  });
  assert.equal(part.steps, 10);
  const resumed = await runAddition(tiny, { runDir: join(dir, 'resumed'), resume: part.checkpoint });
  assert.equal(resumed.steps, 24);
  const a = tensorsOf(full.checkpoint);
  const b = tensorsOf(resumed.checkpoint);
  assert.deepEqual([...a.keys()], [...b.keys()]);
  for (const [name, t] of a) assert.deepEqual(b.get(name), t, `${name} differs after resume`);
  assert.equal(resumed.bits.area_under_loss_bits, full.bits.area_under_loss_bits);
  assert.equal(resumed.eval_loss, full.eval_loss);
  assert.equal(resumed.steps_to_99, full.steps_to_99);
  assert.equal(resumed.tokens_to_99, full.tokens_to_99);
  assert.equal(resumed.seconds_to_99 === null, full.seconds_to_99 === null);
});

test('resume refuses a checkpoint trained with other flags', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gb-resume2-'));
  const r = await runAddition({ ...tiny, steps: 4 }, { runDir: join(dir, 'a') });
  await assert.rejects(runAddition({ ...tiny, steps: 4, lr: 1e-3 }, { runDir: join(dir, 'b'), resume: r.checkpoint }), /different configuration/);
});

test('eval answers from a checkpoint; bad checkpoints and bad problems get clear errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gb-eval-'));
  const r = await runAddition({ ...tiny, steps: 4 }, { runDir: join(dir, 'a') });
  const { model, task } = loadAdditionModel(r.checkpoint);
  const s = solveProblem(model, task, '12+34=');
  assert.equal(s.expected, '046');
  assert.equal(s.answer.length, 3);
  assert.equal(s.tokens.length, 3);
  for (const t of s.tokens) assert.ok(t.prob > 0 && t.prob <= 1);
  assert.throws(() => solveProblem(model, task, '123+4='), /expected 2-digit operands/);
  assert.throws(() => solveProblem(model, task, '1a+34='), /unexpected character/);
  const truncated = join(dir, 'trunc.safetensors');
  writeFileSync(truncated, readFileSync(r.checkpoint).subarray(0, 100));
  assert.throws(() => loadAdditionModel(truncated), /not a valid safetensors checkpoint/);
  const foreign = join(dir, 'foreign.safetensors');
  writeFileSync(foreign, 'hello, this is not a checkpoint at all');
  assert.throws(() => loadAdditionModel(foreign), /not a valid safetensors checkpoint/);
  assert.throws(() => loadAdditionModel(join(dir, 'missing.safetensors')), /cannot read checkpoint .*ENOENT/);
});

test('config errors name the field', async () => {
  await assert.rejects(runAddition({ ...tiny, dModel: 30, heads: 4 }), /d-model 30 is not divisible by heads 4/);
  await assert.rejects(runAddition({ ...tiny, digits: 0 }), /digits must be a positive integer/);
});

test('--preset seed is the seed\'s task exactly: 8 digits, most-significant first, uniform digits, no edge mix, floor 1.3157', () => {
  const s = PRESETS.seed;
  assert.equal(s.digits, 8);
  assert.equal(s.answerOrder, 'msf');
  assert.equal(s.firstDigit, 'uniform');
  assert.equal(s.edgeMix, 0);
  assert.ok(Math.abs(lossFloor(s.digits, s.firstDigit) - (16 * Math.LN10) / 28) < 1e-12);
  assert.ok(Math.abs(lossFloor(s.digits, s.firstDigit) - 1.3157) < 1e-4);
});

test('the first-99% mark survives --resume: a mark in the checkpoint is reported by the resumed run and saved again', async () => {
  // The tiny run never reaches 99% itself (and a configuration that does takes minutes), so the mark is written
  // into an interrupted run's checkpoint as a run that had reached it would have saved it.
  const dir = mkdtempSync(join(tmpdir(), 'gb-resume99-'));
  const controller = new AbortController();
  const part = await runAddition(tiny, {
    runDir: join(dir, 'part'),
    signal: controller.signal,
    onEvent: (e) => {
      if (e.type === 'step' && e.step === 10) controller.abort();
    },
  });
  assert.equal(part.steps_to_99, null);
  const decoded = decodeSafetensors(new Uint8Array(readFileSync(part.checkpoint)));
  assert.equal(decoded.metadata.to_99, 'null', 'an unreached mark is saved as null');
  const mark = { steps: 6, tokens: 6 * tiny.batch * 11, seconds: 1.25 };
  const tensors = [...decoded.tensors].map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape, data: t.data }));
  const edited = join(dir, 'reached.safetensors');
  writeFileSync(edited, encodeSafetensors(tensors, { ...decoded.metadata, to_99: JSON.stringify(mark) }));
  const resumed = await runAddition(tiny, { runDir: join(dir, 'resumed'), resume: edited });
  assert.equal(resumed.steps, 24);
  assert.deepEqual({ steps: resumed.steps_to_99, tokens: resumed.tokens_to_99, seconds: resumed.seconds_to_99 }, mark, 'the mark from before the interruption');
  assert.deepEqual(loadCheckpoint(resumed.checkpoint).meta.to_99, mark, 'and it is saved again for the next resume');
});
