import test from 'node:test';
import assert from 'node:assert/strict';
import { GeometricMixer, expApprox, lnApprox, confidenceBucket } from '../../src/codec/gpt-mixer.js';
import { HighOrderContexts } from '../../src/codec/gpt-contexts.js';
import { rng, utf8 } from './helpers.js';

test('lnApprox and expApprox: accurate where the mixer uses them', () => {
  const r = rng(1);
  for (let i = 0; i < 20000; i++) {
    const x = Math.fround(r() ** 8 + 1e-30); // probabilities down to ~1e-30
    assert.ok(Math.abs(lnApprox(x) - Math.log(x)) < 3e-7, `ln ${x}`);
    const y = -60 * r();
    assert.ok(Math.abs(expApprox(y) / Math.exp(y) - 1) < 1e-9, `exp ${y}`);
  }
  assert.equal(expApprox(0), 1);
  assert.equal(expApprox(-800), 0);
  assert.equal(lnApprox(1), 0);
  assert.ok(Number.isFinite(lnApprox(0)), 'zero is clamped to the smallest normal f32');
  assert.deepEqual([0.9, 0.5, 0.2, 0.05].map(confidenceBucket), [0, 1, 2, 3]);
});

function uniformLog(): Float64Array {
  return new Float64Array(256).fill(-Math.log(256));
}

test('GeometricMixer: output sums to 1 and the weights move toward the expert that predicts well', () => {
  const good = new Float64Array(256).fill(Math.log(0.5 / 255));
  const bad = uniformLog();
  const mixer = new GeometricMixer(2, 1, [0.5, 0.5], 0.02);
  const out = new Float32Array(256);
  let first = 0;
  let last = 0;
  for (let t = 0; t < 300; t++) {
    const y = 65;
    good.fill(Math.log(0.5 / 255));
    good[y] = Math.log(0.5);
    mixer.mix([good, bad], 0, out);
    let s = 0;
    for (const v of out) s += v;
    assert.ok(Math.abs(s - 1) < 1e-5);
    if (t === 0) first = out[y];
    last = out[y];
    mixer.update(y);
  }
  const [wGood, wBad] = mixer.weights(0);
  assert.ok(wGood > 0.5 && wGood > wBad, `weights ${wGood}, ${wBad}`);
  assert.ok(last > first, 'the mix got better at the repeated symbol');
});

test('GeometricMixer: logOut is the log of the output', () => {
  const a = Float64Array.from({ length: 256 }, (_, i) => -Math.log(256) + Math.sin(i) * 0.3);
  const mixer = new GeometricMixer(1, 1, [1.3], 0.01);
  const out = new Float32Array(256);
  const lg = new Float64Array(256);
  mixer.mix([a], 0, out, lg);
  for (let s = 0; s < 256; s++) assert.ok(Math.abs(Math.exp(lg[s]) - out[s]) < 1e-7 * Math.max(1, out[s] * 1e3));
});

test('HighOrderContexts: a long context seen before sharpens the prediction; identical streams give identical bits', () => {
  const text = utf8.encode('the mock turtle sighed deeply, and the mock turtle sang. '.repeat(4));
  const run = () => {
    const ctx = new HighOrderContexts({ orders: [4, 6, 8], hashBits: 12, limit: 255, escape16: 32 });
    const out: number[] = [];
    for (let i = 0; i < text.length; i++) {
      ctx.predict(uniformLog());
      out.push(ctx.logp[2][text[i]], ctx.found);
      ctx.observe(text[i]);
    }
    return out;
  };
  const a = run();
  assert.deepEqual(a, run());
  // In the last repetition every byte's order-8 context has been seen: p(next) is far above uniform.
  const lastRep = a.slice(2 * (text.length - 40));
  for (let i = 0; i < lastRep.length; i += 2) {
    assert.equal(lastRep[i + 1], 2, 'the order-8 context is found');
    assert.ok(lastRep[i] > Math.log(0.25), `ln p = ${lastRep[i]}`);
  }
});
