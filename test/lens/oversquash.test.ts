import test from 'node:test';
import assert from 'node:assert/strict';
import { checkPair, collapseLength, lastTokenDistances, influenceByPosition, vectorDistance, lastTokenStates, residPostHooks, type PairFamily } from '../../src/lens/oversquash.js';
import { PosGPT } from '../../src/nn/pos-gpt.js';
import { GPT } from '../../src/nn/gpt.js';
import { Hooks } from '../../src/nn/hooks.js';
import { Tensor, noGrad } from '../../src/engine/tensor.js';
import { roundBf16 } from '../../src/engine/precision.js';
import { lmFamilies, withCommas } from '../../src/experiments/oversquash-lm.js';

const I = (...x: number[]) => Int32Array.from(x);

test('checkPair accepts v* = v plus its last token (and separators), and names any other difference', () => {
  checkPair('f', 3, { v: I(5, 1, 1), vStar: I(5, 1, 1, 1) });
  checkPair('f', 3, { v: I(1, 1, 1), vStar: I(1, 1, 1, 9, 1) }, [9]);
  assert.throws(() => checkPair('f', 3, { v: I(5, 1, 1), vStar: I(5, 2, 1, 1) }), /family f at n = 3: the pair differs in more than the repeated last token: .*first difference at position 1: 1 in v, 2 in v\*/);
  assert.throws(() => checkPair('f', 3, { v: I(5, 1, 1), vStar: I(5, 1, 1, 0) }), /v\* adds \[0\] to v, expected one more 1/);
  assert.throws(() => checkPair('f', 3, { v: I(5, 1, 1), vStar: I(5, 1, 1, 1, 1) }), /adds \[1, 1\]/);
  assert.throws(() => checkPair('f', 3, { v: I(1, 1, 1), vStar: I(1, 1, 1, 9, 1) }), /adds \[9, 1\]/, 'a separator the family did not declare');
});

test('the LM families are valid pairs at every n, commas included, and withCommas groups by three from the left', () => {
  assert.equal(withCommas('1111111'), '111,111,1');
  for (const f of lmFamilies(1, 80)) for (let n = 1; n <= 80; n++) checkPair(f.name, n, f.pair(n), f.separators);
  const d = lmFamilies(1, 10).find((f) => f.name === 'digits')!.pair(6);
  assert.equal(String.fromCharCode(...d.vStar), String.fromCharCode(...d.v) + '1');
  assert.ok(String.fromCharCode(...d.v).endsWith('1'));
});

test('collapseLength: the first n of the identical tail, null when the last n differs', () => {
  assert.equal(collapseLength([1, 2, 4, 8], [false, true, false, true]), 8);
  assert.equal(collapseLength([1, 2, 4, 8], [false, true, true, true]), 2);
  assert.equal(collapseLength([1, 2, 4, 8], [true, true, true, false]), null);
  assert.equal(collapseLength([1, 2], [true, true]), 1);
});

test('vectorDistance: L∞, L1 and bit identity (−0 and 0 differ in bits)', () => {
  const d = vectorDistance(Float32Array.of(1, 2, 3), Float32Array.of(1, 2.5, 1));
  assert.deepEqual(d, { linf: 2, l1: 2.5, identical: false });
  assert.equal(vectorDistance(Float32Array.of(0, 1), Float32Array.of(0, 1)).identical, true);
  assert.equal(vectorDistance(Float32Array.of(0), Float32Array.of(-0)).identical, false);
});

const ones = (prefix: number): PairFamily => ({ name: 'ones', pair: (n) => ({ v: Int32Array.from({ length: prefix + n }, (_, i) => (i < prefix ? 2 : 1)), vStar: Int32Array.from({ length: prefix + n + 1 }, (_, i) => (i < prefix ? 2 : 1)) }) });

test('lastTokenDistances on an ALiBi model: per-layer curves per precision, bf16 states are bf16 values, and the distances match a direct computation', () => {
  const m = new PosGPT({ vocabSize: 4, contextLength: 64, nLayers: 2, nHeads: 2, dModel: 16, pe: 'alibi', seed: 5 });
  const ns = [1, 2, 4, 8, 16, 32];
  const r = lastTokenDistances(m, ones(2), ns, { precisions: ['fp32', 'bf16', 'fp16'], contextLength: 64 });
  assert.deepEqual(r.layers, ['blocks.0.hook_resid_post', 'blocks.1.hook_resid_post']);
  assert.deepEqual(r.curves.map((c) => c.precision), ['fp32', 'bf16', 'fp16']);
  for (const c of r.curves) {
    assert.equal(c.linf.length, 2);
    assert.equal(c.linf[1].length, ns.length);
    c.linf[1].forEach((x, k) => assert.equal(x === 0, c.identical[1][k]));
  }
  // Direct: the last row after the last block for v and v* at n = 8, fp32.
  const p = ones(2).pair(8);
  const a = lastTokenStates(m, p.v, 'fp32', residPostHooks(m))[1];
  const b = lastTokenStates(m, p.vStar, 'fp32', residPostHooks(m))[1];
  assert.equal(r.curves[0].linf[1][3], Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i]))));
  const bf = lastTokenStates(m, p.v, 'bf16', residPostHooks(m))[1];
  assert.ok(Array.from(bf).every((x) => roundBf16(x) === x));
  // The theorem's direction at fp32 with ALiBi: the distance shrinks from n = 1 to n = 32.
  assert.ok(r.curves[0].linf[1][5] < r.curves[0].linf[1][0], `fp32 L∞ ${r.curves[0].linf[1].join(', ')}`);
});

test('errors: an n beyond the context, an unknown precision, a bad pair, a model without the hooks', () => {
  const m = new PosGPT({ vocabSize: 4, contextLength: 10, nLayers: 1, nHeads: 1, dModel: 8, pe: 'none', seed: 1 });
  assert.throws(() => lastTokenDistances(m, ones(2), [4, 8], { precisions: ['fp32'], contextLength: 10 }), /family ones: n = 8 needs 11 tokens for v\*, beyond the model's context of 10/);
  assert.throws(() => lastTokenDistances(m, ones(2), [4], { precisions: ['fp32', 'fp8'], contextLength: 10 }), /unknown precision "fp8"/);
  const bad: PairFamily = { name: 'bad', pair: (n) => ({ v: Int32Array.from({ length: n }, () => 1), vStar: Int32Array.from({ length: n + 1 }, (_, i) => (i === n ? 0 : 1)) }) };
  assert.throws(() => lastTokenDistances(m, bad, [3], { precisions: ['fp32'], contextLength: 10 }), /family bad at n = 3: the pair differs in more than the repeated last token/);
  const noHooks = { hookNames: () => ['hook_embed'], forward: () => Tensor.zeros([1]) };
  assert.throws(() => lastTokenDistances(noHooks, ones(1), [1], { precisions: ['fp32'], contextLength: 10 }), /no blocks\.\{i\}\.hook_resid_post; it offers hook_embed/);
});

test('influenceByPosition equals finite differences of the last state w.r.t. each embedding, and leaves parameter gradients alone', () => {
  const m = new GPT({ vocabSize: 8, contextLength: 6, nLayers: 1, nHeads: 2, dModel: 8, seed: 2 });
  const tokens = I(1, 3, 5, 7, 2, 4);
  const inf = influenceByPosition(m, tokens);
  assert.equal(inf.length, 6);
  assert.ok(m.parameters().every((p) => p.grad === null && p.requiresGrad));
  // FD: perturb coordinate c of the embedding at position i by ±eps, read the last state.
  const state = (i: number, c: number, eps: number) => noGrad(() => {
    const hooks = new Hooks({ cache: ['blocks.0.hook_resid_post'], replace: { hook_embed: (e) => { const d = new Float32Array(e.data); d[i * 8 + c] += eps; return new Tensor(d, e.shape); } } });
    m.forward(tokens, 1, 6, { hooks });
    return hooks.cache.get('blocks.0.hook_resid_post')!.data.slice(5 * 8);
  });
  const eps = 1e-2;
  for (const i of [0, 3, 5]) {
    let sq = 0;
    for (let c = 0; c < 8; c++) {
      const p = state(i, c, eps);
      const q = state(i, c, -eps);
      for (let k = 0; k < 8; k++) sq += ((p[k] - q[k]) / (2 * eps)) ** 2;
    }
    assert.ok(Math.abs(Math.sqrt(sq) - inf[i]) < 0.02 * (1 + inf[i]), `position ${i}: FD ${Math.sqrt(sq)}, lens ${inf[i]}`);
  }
});
