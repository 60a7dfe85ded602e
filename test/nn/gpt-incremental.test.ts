import test from 'node:test';
import assert from 'node:assert/strict';
import { GPT, type GPTConfig } from '../../src/nn/gpt.js';
import { IncrementalGPT } from '../../src/nn/gpt-incremental.js';
import { noGrad } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/rng.js';
import { getThreads, setThreads } from '../../src/engine/matmul-kernel.js';

/** A GPT whose weights are far from the small init, so every op matters to the bits. */
function scrambled(cfg: GPTConfig, seed: number): GPT {
  const m = new GPT(cfg);
  const rng = new Rng(seed);
  for (const [name, t] of m.namedParameters()) {
    const std = name.endsWith('.w') ? 0.3 : 0.5;
    for (let i = 0; i < t.size; i++) t.data[i] = (name.endsWith('.w') ? 1 : 0) + rng.normal() * std;
  }
  return m;
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

function tokensFor(n: number, V: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  return Int32Array.from({ length: n }, () => Math.floor(rng.next() * V));
}

/** Logits of the last position of forward(tokens[0..len)). */
function fullLast(m: GPT, tokens: Int32Array, len: number): Float32Array {
  const V = m.config.vocabSize;
  const logits = noGrad(() => m.forward(tokens.slice(0, len), 1, len)).data;
  return logits.slice((len - 1) * V, len * V);
}

const configs: Array<[string, GPTConfig]> = [
  ['2 layers, 2 heads', { vocabSize: 23, contextLength: 12, nLayers: 2, nHeads: 2, dModel: 16, seed: 5 }],
  ['tied weights, odd MLP width, 3 heads', { vocabSize: 17, contextLength: 9, nLayers: 1, nHeads: 3, dModel: 12, dMlp: 37, tieWeights: true, seed: 6 }],
  ['byte vocabulary', { vocabSize: 256, contextLength: 20, nLayers: 2, nHeads: 4, dModel: 32, seed: 7 }],
];

for (const [label, cfg] of configs) {
  test(`push(): logits bit-identical to GPT.forward on every prefix (${label})`, () => {
    const m = scrambled(cfg, 11);
    const inc = new IncrementalGPT(m);
    const toks = tokensFor(cfg.contextLength, cfg.vocabSize, 3);
    for (let t = 0; t < toks.length; t++) {
      const got = inc.push(toks[t]);
      assert.ok(sameBits(got, fullLast(m, toks, t + 1)), `position ${t}`);
    }
    assert.equal(inc.length, toks.length);
    assert.throws(() => inc.push(0), /full/);
  });

  test(`pushMany(): the same bits as pushing one by one (${label})`, () => {
    const m = scrambled(cfg, 12);
    const toks = tokensFor(cfg.contextLength, cfg.vocabSize, 4);
    const a = new IncrementalGPT(m);
    const b = new IncrementalGPT(m);
    const split = Math.floor(toks.length / 3);
    for (let t = 0; t < split; t++) a.push(toks[t]);
    b.pushMany(toks.subarray(0, split));
    const lastA = a.pushMany(toks.subarray(split, toks.length - 1)).slice();
    let lastB = new Float32Array(0);
    for (let t = split; t < toks.length - 1; t++) lastB = b.push(toks[t]).slice();
    assert.ok(sameBits(lastA, lastB));
    assert.ok(sameBits(a.push(toks[toks.length - 1]), b.push(toks[toks.length - 1])));
  });
}

test('forward rows inside a batch equal the incremental logits', () => {
  const cfg = configs[0][1];
  const m = scrambled(cfg, 13);
  const B = 3;
  const T = 10;
  const toks = tokensFor(B * T, cfg.vocabSize, 5);
  const V = cfg.vocabSize;
  const batch = noGrad(() => m.forward(toks, B, T)).data;
  for (let b = 0; b < B; b++) {
    const inc = new IncrementalGPT(m);
    for (let t = 0; t < T; t++) {
      const got = inc.push(toks[b * T + t]);
      assert.ok(sameBits(got, batch.slice((b * T + t) * V, (b * T + t + 1) * V)), `row ${b}, position ${t}`);
    }
  }
});

test('reset() and refresh(): after a weight change the cache recomputes with the new weights', () => {
  const cfg = configs[2][1];
  const m = scrambled(cfg, 14);
  const inc = new IncrementalGPT(m);
  const toks = tokensFor(8, 256, 6);
  inc.pushMany(toks);
  for (const t of m.parameters()) for (let i = 0; i < t.size; i += 7) t.data[i] *= 0.9;
  inc.refresh();
  inc.reset();
  assert.equal(inc.length, 0);
  assert.ok(sameBits(inc.pushMany(toks), fullLast(m, toks, toks.length)));
});

test('pushMany gives the same bits with 1 and 2 matmul threads', () => {
  const cfg: GPTConfig = { vocabSize: 256, contextLength: 96, nLayers: 1, nHeads: 4, dModel: 64, seed: 8 };
  const m = scrambled(cfg, 15);
  const toks = tokensFor(96, 256, 7);
  const prev = getThreads();
  try {
    setThreads(1);
    const one = new IncrementalGPT(m).pushMany(toks).slice();
    setThreads(2);
    const two = new IncrementalGPT(m).pushMany(toks).slice();
    assert.ok(sameBits(one, two));
    assert.ok(sameBits(one, fullLast(m, toks, 96)));
  } finally {
    setThreads(prev);
  }
});

test('capacity and token checks', () => {
  const m = new GPT(configs[0][1]);
  assert.throws(() => new IncrementalGPT(m, 13), RangeError);
  const inc = new IncrementalGPT(m, 4);
  assert.throws(() => inc.push(23), RangeError);
  assert.throws(() => inc.pushMany(new Int32Array(5)), /overflow/);
});
