import test from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/rng.js';
import { ScanSnapModel, trainRun, classEntropies } from '../../src/experiments/scan-snap-model.js';
import { buildVocabulary, sampleBatch, GENERATOR_DEFAULTS, type GeneratorConfig } from '../../src/experiments/scan-snap-generator.js';

const small: GeneratorConfig = { ...GENERATOR_DEFAULTS, numLast: 2, numNextPerLast: 2, numCommon: 3, numCommonPerLast: 2, numUniquePerNext: 4, seqLen: 16 };

test('vocabulary layout: M = common + K·per-query + next·distinct + K + next (34 for the paper\'s Figure 4 setting)', () => {
  const v = buildVocabulary({ ...GENERATOR_DEFAULTS, numNextPerLast: 1, numCommonPerLast: 0 });
  assert.equal(v.M, 34);
  assert.equal(v.classes.length, 2);
  assert.equal(v.classes[1].next, 33);
  assert.equal(v.classes[1].last, 31);
  assert.deepEqual(Array.from(v.classes[1].tokens.slice(10)), [20, 21, 22, 23, 24, 25, 26, 27, 28, 29]);
  // weights 1 ×10 and linspace(0.1, 1): total 15.5
  assert.ok(Math.abs(v.classes[1].probs[0] - 1 / 15.5) < 1e-12);
  assert.ok(Math.abs(v.classes[1].probs[10] - 0.1 / 15.5) < 1e-12);
  assert.equal(buildVocabulary({ ...GENERATOR_DEFAULTS, numLast: 1, numCommonPerLast: 0 }).M, 33);
});

test('impossible generator parameters give one-line errors', () => {
  assert.throws(() => buildVocabulary({ ...GENERATOR_DEFAULTS, seqLen: 20 }), /seq-len 20 is below the support: 19 context tokens cannot hold a class's 25 support tokens/);
  assert.throws(() => buildVocabulary({ ...GENERATOR_DEFAULTS, numLast: 100, numUniquePerNext: 30 }), /vocabulary does not fit: 6810 tokens/);
  assert.throws(() => buildVocabulary({ ...GENERATOR_DEFAULTS, numLast: 0 }), /num-last must be an integer ≥ 1/);
  assert.throws(() => buildVocabulary({ ...GENERATOR_DEFAULTS, uniqueMin: 0 }), /0 < unique-min ≤ unique-max/);
  assert.throws(() => buildVocabulary({ ...GENERATOR_DEFAULTS, uniqueMin: 2, uniqueMax: 1 }), /unique-min ≤ unique-max/);
});

test('samples draw only the class\'s support, with frequencies near P(l|n)', () => {
  const v = buildVocabulary(small);
  const b = sampleBatch(v, small, 400, new Rng(1));
  const hits = new Map<number, number>();
  let n1 = 0;
  for (let i = 0; i < b.B; i++) {
    const info = v.classes[b.cls[i]];
    for (let t = 0; t < b.ctx; t++) {
      const l = b.context[i * b.ctx + t];
      assert.ok(info.tokens.includes(l), `token ${l} outside class ${b.cls[i]}'s support`);
      if (b.cls[i] === 1) {
        hits.set(l, (hits.get(l) ?? 0) + 1);
        n1++;
      }
    }
  }
  const info = v.classes[1];
  for (let i = 0; i < info.tokens.length; i++) {
    const f = (hits.get(info.tokens[i]) ?? 0) / n1;
    assert.ok(Math.abs(f - info.probs[i]) < 0.03, `token ${info.tokens[i]}: ${f} vs ${info.probs[i]}`);
  }
});

test('analytic gradients of Z and Y match central finite differences', () => {
  const v = buildVocabulary(small);
  const m = new ScanSnapModel(v.M, 'random', new Rng(7));
  // Make attention and decoder non-trivial.
  const r = new Rng(9);
  for (let i = 0; i < m.Z.length; i++) m.Z[i] = 2 * r.next() - 1;
  for (let i = 0; i < m.Yt.length; i++) m.Yt[i] = 2 * r.next() - 1;
  const batch = sampleBatch(v, small, 6, new Rng(3));
  m.lossAndGrad(v, batch, true);
  const gZ = Float64Array.from(m.gZ);
  const gY = Float64Array.from(m.gYt);
  const check = (P: Float32Array, G: Float64Array, idx: number[]): void => {
    for (const i of idx) {
      const p0 = P[i];
      const h = 1e-2;
      P[i] = p0 + h;
      const lp = m.lossAndGrad(v, batch, false);
      P[i] = p0 - h;
      const lm = m.lossAndGrad(v, batch, false);
      P[i] = p0;
      const fd = (lp - lm) / (2 * h);
      assert.ok(Math.abs(fd - G[i]) < 2e-4 + 2e-3 * Math.abs(fd), `index ${i}: analytic ${G[i]} vs fd ${fd}`);
    }
  };
  const M = v.M;
  const q = v.classes[0].last;
  const zIdx = Array.from(v.classes[0].tokens, (l) => q * M + l);
  check(m.Z, gZ, zIdx);
  assert.ok(zIdx.some((i) => Math.abs(gZ[i]) > 1e-3), 'some Z gradient is non-zero');
  const yIdx = [v.classes[0].tokens[0] * M + v.classes[0].next, v.classes[1].tokens[5] * M + v.classes[1].next, 0, 3 * M + 4, 2 * M + M - 1];
  check(m.Yt, gY, yIdx);
  // Rows of Z for tokens that are never queries get no gradient.
  assert.equal(gZ[0 * M + 1], 0);
});

test('a run is bit-identical when repeated, and the seed changes it', () => {
  const t = { batch: 16, iterations: 5, lrZ: 1, lrY: 1, momentum: 0.9, init: 'random' as const, seed: 4 };
  const a = trainRun(small, t);
  const b = trainRun(small, t);
  const c = trainRun(small, { ...t, seed: 5 });
  assert.deepEqual(a.trace, b.trace);
  assert.deepEqual(Array.from(a.model.Z), Array.from(b.model.Z));
  assert.notDeepEqual(a.trace.loss, c.trace.loss);
});

test('training lowers the loss and the distinct-token entropy from its zero-init maximum', () => {
  const g = { ...GENERATOR_DEFAULTS, numNextPerLast: 1, numCommonPerLast: 0 };
  const r = trainRun(g, { batch: 32, iterations: 30, lrZ: 1, lrY: 1, momentum: 0.9, init: 'zero', seed: 2 });
  const v = r.vocab;
  assert.ok(r.trace.loss[0] > 3.4 && r.trace.loss[0] < 3.6, `initial loss ln 34 ≈ 3.526, got ${r.trace.loss[0]}`);
  assert.ok(r.trace.loss[29] < 0.2, `loss fell, got ${r.trace.loss[29]}`);
  // zero init: c_n = P(l|n), so the distinct entropy starts at that of linspace(0.1, 1) normalised
  const w = Array.from({ length: 10 }, (_, i) => 0.1 + 0.1 * i);
  const s = w.reduce((a, x) => a + x, 0);
  const h0 = -w.reduce((a, x) => a + (x / s) * Math.log(x / s), 0);
  assert.ok(Math.abs(r.trace.entropy[0] - h0) < 1e-9);
  assert.ok(classEntropies(r.model, v).distinct < h0 - 0.05);
});
