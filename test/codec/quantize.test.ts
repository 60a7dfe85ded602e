import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { cumulative, findSymbol, quantizeProbs } from '../../src/codec/quantize.js';
import { log2Int } from '../../src/codec/log2.js';

const arbProb = fc.oneof(
  { weight: 4, arbitrary: fc.float({ min: 0, max: 1, noNaN: true }) },
  { weight: 1, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.float({ min: 0, max: Math.fround(1e-6), noNaN: true }) },
  { weight: 1, arbitrary: fc.constantFrom(Number.NaN, -1, Infinity, -0) },
);

test('quantizeProbs: exact total, every entry >= 1, near-proportional, monotone except the largest (fast-check)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 8, max: 24 }), fc.array(arbProb, { minLength: 1, maxLength: 256 }), (totalBits, raw) => {
      const probs = Float32Array.from(raw);
      const n = probs.length;
      const total = 2 ** totalBits;
      const f = new Uint32Array(n);
      quantizeProbs(probs, totalBits, f);
      let sum = 0;
      for (const x of f) {
        assert.ok(x >= 1);
        sum += x;
      }
      assert.equal(sum, total);
      // The largest entry absorbs the rounding; every other entry is within 1 of
      // its share, provided the largest can pay for all minimum bumps (n^2 <= T).
      const valid = Array.from(probs, (p) => (p > 0 && p < Infinity ? p : 0));
      const psum = valid.reduce((a, b) => a + b, 0);
      if (psum > 0 && n * n <= total) {
        const target = valid.map((v) => Math.max(1, (v * total) / psum));
        const off = [...f].map((x, i) => Math.abs(x - target[i]) > 1 + 1e-6);
        assert.ok(off.filter(Boolean).length <= 1, `more than one entry off its share: ${[...f]} vs ${target}`);
        // Exclude the entry that absorbed the adjustment (off, or any candidate for "largest").
        const maxT = Math.max(...target);
        const skip = target.map((t, i) => off[i] || t >= maxT - 1 - 1e-6);
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < n; j++) {
            if (!skip[i] && !skip[j] && valid[i] > valid[j]) assert.ok(f[i] >= f[j], `not monotone at ${i}, ${j}`);
          }
        }
      }
      // Deterministic: same input, same output.
      const g = new Uint32Array(n);
      quantizeProbs(probs, totalBits, g);
      assert.deepEqual(g, f);
    }),
    { numRuns: 500 },
  );
});

test('quantizeProbs: edge cases', () => {
  const f = new Uint32Array(256);
  quantizeProbs(new Float32Array(256), 16, f); // all zero -> uniform
  assert.ok(f.every((x) => x === 256));
  const one = new Float32Array(256);
  one[7] = 1; // one certain symbol: everything else at the minimum of 1
  quantizeProbs(one, 16, f);
  assert.equal(f[7], 65536 - 255);
  assert.equal(f[0], 1);
  quantizeProbs(Float32Array.from({ length: 256 }, (_, i) => i), 8, f); // n = total: all ones
  assert.ok(f.every((x) => x === 1));
  const ties = new Float32Array(3).fill(1 / 3);
  const g = new Uint32Array(3);
  quantizeProbs(ties, 16, g); // remainder to the lowest index among the largest
  assert.deepEqual([...g], [21846, 21845, 21845]);
  assert.throws(() => quantizeProbs(new Float32Array(300), 8, new Uint32Array(300)), RangeError);
});

test('cumulative and findSymbol agree with a linear scan (fast-check)', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 300 }), fc.nat(), (fs, r) => {
      const freqs = Uint32Array.from(fs);
      const cum = cumulative(freqs);
      const total = cum[freqs.length];
      for (const v of [0, total - 1, r % total]) {
        let s = 0;
        while (cum[s + 1] <= v) s++;
        assert.equal(findSymbol(cum, v), s);
      }
    }),
    { numRuns: 300 },
  );
});

test('log2Int: within 1e-13 of Math.log2 over [1, 2^32)', () => {
  for (let x = 1; x <= 70000; x++) assert.ok(Math.abs(log2Int(x) - Math.log2(x)) < 1e-13, `x=${x}`);
  for (const x of [2 ** 24, 2 ** 31, 2 ** 32 - 1, 3 * 2 ** 30]) assert.ok(Math.abs(log2Int(x) - Math.log2(x)) < 1e-13);
  for (let k = 0; k < 32; k++) assert.equal(log2Int(2 ** k), k);
  assert.throws(() => log2Int(0), RangeError);
  assert.throws(() => log2Int(1.5), RangeError);
});

test('quantisation overhead: KL(p || f/T) is small for model-like distributions', (t) => {
  // A peaked softmax over 256 symbols, like a trained byte model's.
  const p = new Float32Array(256);
  let z = 0;
  for (let i = 0; i < 256; i++) z += p[i] = Math.exp(-0.15 * i);
  for (let i = 0; i < 256; i++) p[i] /= z;
  const f = new Uint32Array(256);
  quantizeProbs(p, 16, f);
  let kl = 0;
  for (let i = 0; i < 256; i++) kl += p[i] * Math.log2(p[i] / (f[i] / 65536));
  t.diagnostic(`KL = ${kl.toFixed(5)} bits/symbol`);
  assert.ok(kl >= 0 && kl < 0.01);
});
