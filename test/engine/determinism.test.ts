// The determinism contract: the same seed gives the same bits for any thread
// count and on every rerun. A golden hash pins the bits across machines and
// Node versions; a change that alters them must update GOLDEN on purpose and
// say so in its commit message.

import test from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { GPT } from '../../src/nn/gpt.js';
import { AdamW, clipGradNorm } from '../../src/engine/optim.js';
import { Rng } from '../../src/engine/rng.js';
import { noGrad } from '../../src/engine/tensor.js';
import { setThreads, getThreads } from '../../src/engine/matmul-kernel.js';
import { withStepArena } from '../../src/engine/arena.js';
import { setMainThreadWorks, workerChunkCounts } from '../../src/engine/threads.js';

const GOLDEN: string = '7d72f82685cbca4a8aa13362f967fd0bf2fac92b039533b061594333b25f0fd9';

/** 20 AdamW steps of a small GPT whose matmuls are large enough to be split across workers. */
function trainAndHash(threads: number, arena = false): string {
  setThreads(threads);
  const model = new GPT({ vocabSize: 14, contextLength: 16, nLayers: 2, nHeads: 4, dModel: 64, dropout: 0.1, seed: 42 });
  const params = model.parameters();
  const opt = new AdamW(params, { lr: 3e-3, weightDecay: 0.1 });
  const B = 32;
  const T = 16;
  for (let step = 0; step < 20; step++) {
    const rng = Rng.derive(42, `data/${step}`);
    const inputs = new Int32Array(B * T);
    const targets = new Int32Array(B * T);
    for (let i = 0; i < B * T; i++) {
      inputs[i] = rng.int(14);
      targets[i] = (inputs[i] + 3) % 14;
    }
    const body = (): void => {
      const loss = model.loss(inputs, targets, B, T, { dropoutRng: Rng.derive(42, `dropout/${step}`) });
      loss.backward();
      clipGradNorm(params, 1);
      noGrad(() => opt.step());
      opt.zeroGrad();
    };
    if (arena) withStepArena(body);
    else body();
  }
  const h = createHash('sha256');
  for (const [name, t] of model.namedParameters()) {
    h.update(name);
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return h.digest('hex');
}

/** Chunks each worker computed while `fn` ran (index = worker; workers not started count 0). */
function chunksDuring(fn: () => void): number[] {
  const before = workerChunkCounts();
  fn();
  return workerChunkCounts().map((c, w) => c - (before[w] ?? 0));
}

test('20 training steps give identical parameters for 1, 2 and 4 threads, and on rerun', () => {
  const before = getThreads();
  try {
    const h1 = trainAndHash(1);
    let h2 = '';
    const by2 = chunksDuring(() => (h2 = trainAndHash(2)));
    // Without this the test could pass with the main thread taking every chunk, comparing 1 thread with itself.
    assert.ok(by2[0] > 0, `at 2 threads the worker computed chunks (${by2})`);
    let h4 = '';
    const by4 = chunksDuring(() => (h4 = trainAndHash(4)));
    assert.ok(by4.slice(0, 3).reduce((a, b) => a + b, 0) > 0, `at 4 threads the workers computed chunks (${by4})`);
    const again = trainAndHash(2);
    assert.equal(h2, h1, '2 threads differ from 1');
    assert.equal(h4, h1, '4 threads differ from 1');
    assert.equal(again, h1, 'a rerun differs');
    if (GOLDEN === 'UPDATE-ME') console.log(`golden hash: ${h1}`);
    assert.equal(h1, GOLDEN, 'the bits changed: if that was intended, update GOLDEN and say so in the commit message');
  } finally {
    setThreads(before);
  }
});

test('workers alone (the main thread computes no chunk) give the golden bits', () => {
  const before = getThreads();
  const prev = setMainThreadWorks(false);
  try {
    let h = '';
    const by = chunksDuring(() => (h = trainAndHash(2)));
    assert.ok(by[0] > 1000, `the worker computed every parallel chunk (${by})`);
    assert.equal(h, GOLDEN);
  } finally {
    setMainThreadWorks(prev);
    setThreads(before);
  }
});

test('the step arena (activations in wasm memory, the trainer\'s path) gives the golden bits for 1, 2 and 4 threads', () => {
  const before = getThreads();
  try {
    for (const t of [1, 2, 4]) assert.equal(trainAndHash(t, true), GOLDEN, `arena, ${t} threads`);
  } finally {
    setThreads(before);
  }
});
