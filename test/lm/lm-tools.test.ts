// generate, score and the model file, on a small random byte GPT, each
// checked against an independent computation.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GPT } from '../../src/nn/gpt.js';
import { noGrad } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/rng.js';
import { setThreads } from '../../src/engine/matmul-kernel.js';
import { generate, sampleFromLogits, checkSampling } from '../../src/lm/generate.js';
import { scoreBytes, regionBitsPerByte } from '../../src/lm/score.js';
import { saveLmModel, loadModel, type ModelCard } from '../../src/lm/model-file.js';
import { saveCheckpoint } from '../../src/train/checkpoint.js';

const model = new GPT({ vocabSize: 256, contextLength: 32, nLayers: 2, nHeads: 2, dModel: 32, seed: 7 });
model.eval();

/** -log2 p(next) from one plain forward over `ctx`, in f64 from the f32 logits. */
function bitsAfter(ctx: number[], next: number): number {
  const logits = noGrad(() => model.forward(Int32Array.from(ctx), 1, ctx.length)).data;
  const row = logits.subarray((ctx.length - 1) * 256, ctx.length * 256);
  let max = -Infinity;
  for (const v of row) max = Math.max(max, v);
  let z = 0;
  for (const v of row) z += Math.exp(v - max);
  return -(row[next] - max - Math.log(z)) / Math.LN2;
}

test('scoreBytes: each byte costs -log2 p under the window it is scored in', () => {
  const text = new TextEncoder().encode('In the beginning was the word, and the word was with the byte model. '.repeat(2));
  const s = scoreBytes(model, text, { stride: 16 });
  assert.equal(s.bits.length, text.length);
  const seq = [10, ...text];
  // Byte i is scored in the window that starts at the largest multiple of the stride
  // with i - start >= 32 - 16 (or at 0 for the first window).
  for (const i of [0, 5, 31, 32, 40, 63, 100, text.length - 1]) {
    let start = 0;
    const lastStart = seq.length - 1 - 32;
    const starts: number[] = [];
    for (let s0 = 0; ; s0 += 16) {
      const st = Math.min(s0, lastStart);
      starts.push(st);
      if (st + 32 >= text.length) break;
    }
    let scoredTo = 0;
    for (const st of starts) {
      if (i >= scoredTo && i < st + 32) {
        start = st;
        break;
      }
      scoredTo = st + 32;
    }
    const expected = bitsAfter(seq.slice(start, i + 1), seq[i + 1]);
    assert.ok(Math.abs(s.bits[i] - expected) < 1e-4, `byte ${i}: ${s.bits[i]} vs ${expected}`);
  }
  const total = s.bits.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(s.bitsPerByte - total / text.length) < 1e-12);
  const again = scoreBytes(model, text, { stride: 16, batch: 1 });
  assert.deepEqual(Array.from(again.bits), Array.from(s.bits), 'batch size does not change a bit');
  const regions = regionBitsPerByte(s.bits, 50);
  assert.equal(regions.length, Math.ceil(text.length / 50));
  assert.ok(Math.abs(regions.reduce((a, r) => a + r.bpb * (r.end - r.start), 0) - total) < 1e-9);
});

test('scoreBytes is the same at 1 and 2 threads', () => {
  const text = new Uint8Array(300).map((_, i) => 97 + ((i * 13) % 26));
  setThreads(1);
  const a = scoreBytes(model, text).bits;
  setThreads(2);
  const b = scoreBytes(model, text).bits;
  setThreads(1);
  assert.deepEqual(Array.from(a), Array.from(b));
});

test('sampling: greedy is the argmax, top-k 1 is greedy, and draws follow the softmax', () => {
  const logits = Float32Array.from([0.5, 2, -1, 2, 1.25]);
  const rng = new Rng(3);
  assert.equal(sampleFromLogits(logits, 0, 0, rng), 1, 'ties go to the lower index');
  assert.equal(sampleFromLogits(logits, 1, 1, rng), 1);
  const counts = new Array(5).fill(0);
  const N = 40000;
  for (let i = 0; i < N; i++) counts[sampleFromLogits(logits, 1, 0, rng)]++;
  const z = Array.from(logits).reduce((a, v) => a + Math.exp(v), 0);
  for (let j = 0; j < 5; j++) {
    const p = Math.exp(logits[j]) / z;
    const sd = Math.sqrt((p * (1 - p)) / N);
    assert.ok(Math.abs(counts[j] / N - p) < 5 * sd, `byte ${j}: ${counts[j] / N} vs ${p}`);
  }
  const top2 = new Array(5).fill(0);
  for (let i = 0; i < 2000; i++) top2[sampleFromLogits(logits, 1, 2, rng)]++;
  assert.equal(top2[0] + top2[2] + top2[4], 0, 'top-k 2 draws only the two largest');
  assert.throws(() => checkSampling(-0.1, 0), /temperature must be in \[0, 10\]/);
  assert.throws(() => checkSampling(1, 257), /top-k must be an integer in \[0, 256\]/);
  assert.throws(() => checkSampling(1, 1.5), /top-k/);
});

test('generate: the same seed gives the same bytes, greedy follows the full forward, the context wraps', () => {
  const a = generate(model, 'abc', { maxBytes: 80, temperature: 0.9, topK: 20, seed: 5 });
  const b = generate(model, 'abc', { maxBytes: 80, temperature: 0.9, topK: 20, seed: 5 });
  const c = generate(model, 'abc', { maxBytes: 80, temperature: 0.9, topK: 20, seed: 6 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  const streamed: number[] = [];
  const g = generate(model, 'abc', { maxBytes: 20, temperature: 0, onByte: (x) => streamed.push(x) });
  assert.deepEqual(streamed, Array.from(g));
  const ctx = [...new TextEncoder().encode('abc')];
  for (let i = 0; i < 20; i++) {
    const logits = noGrad(() => model.forward(Int32Array.from(ctx), 1, ctx.length)).data.subarray((ctx.length - 1) * 256, ctx.length * 256);
    let best = 0;
    for (let j = 1; j < 256; j++) if (logits[j] > logits[best]) best = j;
    assert.equal(g[i], best, `greedy byte ${i}`);
    ctx.push(best);
  }
  assert.equal(generate(model, '', { maxBytes: 100, seed: 1 }).length, 100, 'an empty prompt and more bytes than the context both work');
});

test('model file: round trip, and clear errors for files that are not glassbox LMs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gb-lm-'));
  try {
    const card: ModelCard = { name: 'test', command: 'test', preset: 'tiny', corpus_manifest_sha256: 'x', params: model.paramCount(), steps: 0, tokens: 0, context: 32, val_bpb: 8, precision: 'F32', tokenizer: 'bytes' };
    const p = join(dir, 'm.safetensors');
    const sha = saveLmModel(p, model, card);
    const back = loadModel(p);
    assert.equal(back.sha256, sha);
    assert.deepEqual(back.card, card);
    const text = new TextEncoder().encode('hello world');
    assert.deepEqual(Array.from(scoreBytes(back.model, text).bits), Array.from(scoreBytes(model, text).bits));
    assert.equal(saveLmModel(join(dir, 'm2.safetensors'), model, card), sha, 'the same model and card give the same bytes');
    const ck = join(dir, 'ck.safetensors');
    saveCheckpoint(ck, model, { meta: {} });
    assert.throws(() => loadModel(ck), /is not a glassbox LM: it is a training checkpoint/);
    writeFileSync(join(dir, 'junk'), 'not safetensors at all');
    assert.throws(() => loadModel(join(dir, 'junk')), /is not a glassbox LM: not a valid safetensors file/);
    assert.throws(() => loadModel(join(dir, 'absent')), /does not exist/);
    const small = new GPT({ vocabSize: 14, contextLength: 8, nLayers: 1, nHeads: 1, dModel: 8, seed: 1 });
    saveLmModel(join(dir, 'v14'), small, card);
    assert.throws(() => loadModel(join(dir, 'v14')), /vocabulary has 14 tokens/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
