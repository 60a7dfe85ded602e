// Forward-only checks: integer-valued ops, masks, numerical stability, and
// the error messages a user sees when shapes don't fit.

import test from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, ShapeError } from '../../src/engine/tensor.js';
import { add, sub, mul, div } from '../../src/engine/ops-elementwise.js';
import { sum, mean, max, argmax } from '../../src/engine/ops-reduce.js';
import { reshape, permute, slice, concat, gather, oneHot, where, maskedFill, causalMask, causalMaskBits } from '../../src/engine/ops-shape.js';
import { matmul, softmax, logSoftmax, crossEntropy, layerNorm, dropout, topk, topkIndices, keepTopK } from '../../src/engine/ops-nn.js';
import { TestRng, unravel, ravel } from './gradcheck.js';

const rng = new TestRng(7);

/** Assert fn throws a ShapeError whose message contains every fragment. */
function throwsShape(fn: () => unknown, ...fragments: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ShapeError, `expected a ShapeError, got ${String(e)}`);
    for (const f of fragments) assert.ok(e.message.includes(f), `message "${e.message}" lacks "${f}"`);
    return true;
  });
}

// ---------------------------------------------------------------- argmax, oneHot

test('argmax along each axis against a loop, first index on ties', () => {
  const shape = [3, 4, 5];
  // Values from a small set so ties are common.
  const data = Array.from({ length: 60 }, () => rng.int(4));
  const x = Tensor.from(data, shape);
  for (const axis of [0, 1, 2, -1, -3]) {
    const a = axis < 0 ? axis + 3 : axis;
    const r = argmax(x, axis);
    const outShape = shape.filter((_, i) => i !== a);
    assert.deepEqual(r.shape, outShape);
    for (let o = 0; o < r.data.length; o++) {
      const idx = unravel(o, outShape);
      let best = -1;
      let bv = -Infinity;
      for (let k = 0; k < shape[a]; k++) {
        const full = [...idx.slice(0, a), k, ...idx.slice(a)];
        const v = data[ravel(full, shape)];
        if (v > bv) {
          bv = v;
          best = k;
        }
      }
      assert.equal(r.data[o], best, `argmax axis ${axis} at ${idx}`);
    }
  }
  assert.deepEqual(Array.from(argmax(Tensor.from([2, 7, 7, 1])).data), [1]);
  assert.deepEqual(argmax(Tensor.from([2, 7, 7, 1])).shape, []);
});

test('oneHot', () => {
  const t = oneHot(Int32Array.of(2, 0, 1, 2), 3, [2, 2]);
  assert.deepEqual(t.shape, [2, 2, 3]);
  assert.deepEqual(t.toArray(), [0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1]);
  assert.equal(t.requiresGrad, false);
  throwsShape(() => oneHot(Int32Array.of(0, 3), 3), 'oneHot', '3');
  throwsShape(() => oneHot(Int32Array.of(-1), 3), 'oneHot');
});

// ---------------------------------------------------------------- masks

test('causalMask: -Infinity strictly above the diagonal, scores kept elsewhere', () => {
  assert.deepEqual(Array.from(causalMaskBits(3)), [0, 1, 1, 0, 0, 1, 0, 0, 0]);
  const T = 4;
  const data = rng.array(2 * T * T);
  const y = causalMask(Tensor.from(data, [2, T, T]));
  assert.deepEqual(y.shape, [2, T, T]);
  for (let i = 0; i < data.length; i++) {
    const q = Math.floor(i / T) % T;
    const k = i % T;
    assert.equal(y.data[i], k > q ? -Infinity : data[i], `position q=${q} k=${k}`);
  }
  throwsShape(() => causalMask(Tensor.zeros([2, 3, 4])), 'causalMask', '[2,3,4]');
});

test('where and maskedFill tile a mask over leading axes', () => {
  const a = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]);
  const b = Tensor.from([-1, -2, -3, -4, -5, -6], [2, 3]);
  assert.deepEqual(where(Uint8Array.of(1, 0, 1), a, b).toArray(), [1, -2, 3, 4, -5, 6]);
  assert.deepEqual(maskedFill(a, Uint8Array.of(0, 1, 0, 0, 0, 1), 9).toArray(), [1, 9, 3, 4, 5, 9]);
  throwsShape(() => where(Uint8Array.of(1, 0, 1, 1), a, b), 'where', '[2,3]');
  throwsShape(() => where(Uint8Array.of(1), a, Tensor.zeros([5])), 'where', '[2,3]', '[5]');
  throwsShape(() => maskedFill(a, Uint8Array.of(1, 0, 1, 1), 0), 'maskedFill', '[2,3]');
});

// ---------------------------------------------------------------- softmax family

test('softmax rows sum to 1 and lie in [0, 1]', () => {
  const x = Tensor.from(rng.array(5 * 9, -10, 10), [5, 9]);
  const y = softmax(x);
  for (let r = 0; r < 5; r++) {
    let s = 0;
    for (let j = 0; j < 9; j++) {
      const v = y.data[r * 9 + j];
      assert.ok(v >= 0 && v <= 1);
      s += v;
    }
    assert.ok(Math.abs(s - 1) <= 1e-6, `row ${r} sums to ${s}`);
  }
  // A fully masked row is all zeros (by design), not NaN.
  const masked = softmax(Tensor.from([-Infinity, -Infinity, -Infinity, 0, 0, 0], [2, 3]));
  assert.deepEqual(masked.toArray().slice(0, 3), [0, 0, 0]);
  assert.ok(masked.toArray().slice(3).every((v) => Math.abs(v - 1 / 3) < 1e-7));
});

test('softmax, logSoftmax and crossEntropy are stable for huge logits (1e4)', () => {
  const big = Tensor.param(Float32Array.of(1e4, 0, -1e4, -1e4, 1e4, 1e4, -1e4, -1e4, -1e4), [3, 3]);
  const p = softmax(big).toArray();
  assert.deepEqual(p.slice(0, 3), [1, 0, 0]);
  assert.deepEqual(p.slice(3, 6), [0, 0.5, 0.5]);
  assert.ok(p.slice(6).every((v) => Math.abs(v - 1 / 3) < 1e-7));
  const lp = logSoftmax(big).toArray();
  assert.ok(lp.every(Number.isFinite), `logSoftmax: ${lp}`);
  assert.deepEqual(lp.slice(0, 3), [0, -1e4, -2e4]);
  assert.ok(Math.abs(lp[4] - -Math.LN2) < 1e-6);
  const ce = crossEntropy(big, Int32Array.of(0, 0, 2), { reduction: 'none' });
  const l = ce.toArray();
  assert.equal(l[0], 0);
  assert.equal(l[1], Math.fround(2e4 + Math.LN2));
  assert.ok(Math.abs(l[2] - Math.log(3)) < 1e-6);
  const meanLoss = crossEntropy(big, Int32Array.of(0, 0, 2));
  meanLoss.backward();
  assert.ok(Number.isFinite(meanLoss.item()));
  assert.ok(Array.from(big.grad!).every(Number.isFinite), `gradient ${Array.from(big.grad!)}`);
  // The gradient of the mean loss is (softmax - onehot) / 3: row 1 is [-1, 0.5, 0.5] / 3.
  assert.ok(Math.abs(big.grad![3] + 1 / 3) < 1e-7 && Math.abs(big.grad![4] - 1 / 6) < 1e-7);
});

test('crossEntropy: a batch with every row ignored has loss 0 and zero gradient', () => {
  const x = Tensor.param(Float32Array.from(rng.array(6)), [2, 3]);
  const l = crossEntropy(x, Int32Array.of(-100, -100), { ignoreIndex: -100 });
  assert.equal(l.item(), 0);
  l.backward();
  assert.deepEqual(Array.from(x.grad!), [0, 0, 0, 0, 0, 0]);
});

// ---------------------------------------------------------------- shape errors

test('shape errors name the op and both shapes', () => {
  const a = Tensor.zeros([2, 3]);
  const b = Tensor.zeros([4]);
  for (const [name, op] of [['add', add], ['sub', sub], ['mul', mul], ['div', div]] as const) {
    throwsShape(() => op(a, b), name, '[2,3]', '[4]');
    throwsShape(() => op(b, a), name, '[2,3]', '[4]');
  }
  throwsShape(() => add(Tensor.zeros([2, 3, 4]), Tensor.zeros([3, 3])), 'add', '[2,3,4]', '[3,3]');
  // matmul: inner mismatch, with and without transposes, and batch mismatch.
  throwsShape(() => matmul(Tensor.zeros([2, 3]), Tensor.zeros([4, 5])), 'matmul', '[2,3]', '[4,5]', '3 vs 4');
  throwsShape(() => matmul(Tensor.zeros([2, 3]), Tensor.zeros([5, 4]), { transB: true }), 'matmul', '[2,3]', '[5,4]');
  throwsShape(() => matmul(Tensor.zeros([3, 2]), Tensor.zeros([2, 5]), { transA: true }), 'matmul', '[3,2]', '[2,5]');
  throwsShape(() => matmul(Tensor.zeros([2, 3, 4]), Tensor.zeros([3, 4, 5])), 'matmul', '[2,3,4]', '[3,4,5]');
  throwsShape(() => matmul(Tensor.zeros([4]), Tensor.zeros([4, 5])), 'matmul', '[4]', '[4,5]');
  // The others.
  throwsShape(() => reshape(Tensor.zeros([2, 3]), [4, 2]), 'reshape', '[2,3]', '[4,2]');
  throwsShape(() => reshape(Tensor.zeros([2, 3]), [-1, 4]), 'reshape', '[2,3]', '[-1,4]');
  throwsShape(() => reshape(Tensor.zeros([2, 3]), [-1, -1]), 'reshape');
  throwsShape(() => permute(Tensor.zeros([2, 3]), [0, 0]), 'permute');
  throwsShape(() => permute(Tensor.zeros([2, 3]), [0]), 'permute', '[2,3]');
  throwsShape(() => slice(Tensor.zeros([2, 3]), 1, 1, 4), 'slice', '[2,3]');
  throwsShape(() => concat([Tensor.zeros([2, 3]), Tensor.zeros([3, 2])], 0), 'concat', '[2,3]', '[3,2]');
  throwsShape(() => gather(Tensor.zeros([4, 2]), Int32Array.of(1, 4)), 'gather', '4');
  throwsShape(() => sum(Tensor.zeros([2, 3]), 2), 'sum', 'axis 2');
  throwsShape(() => mean(Tensor.zeros([2, 3]), [0, 0]), 'sum');
  throwsShape(() => max(Tensor.zeros([2, 3]), -3), 'max');
  throwsShape(() => argmax(Tensor.zeros([2, 3]), 2), 'argmax');
  throwsShape(() => crossEntropy(Tensor.zeros([2, 3]), Int32Array.of(0)), 'crossEntropy', '[2,3]');
  throwsShape(() => crossEntropy(Tensor.zeros([2, 3]), Int32Array.of(0, 3)), 'crossEntropy', '3');
  throwsShape(() => layerNorm(Tensor.zeros([2, 3]), Tensor.zeros([4]), null), 'layerNorm', '[4]', '[2,3]');
  throwsShape(() => topk(Tensor.zeros([2, 3]), 4), 'topk', '[2,3]');
  assert.throws(() => dropout(Tensor.zeros([2]), 1, { next: () => 0 } as unknown as Parameters<typeof dropout>[2], true), RangeError);
  throwsShape(() => new Tensor(new Float32Array(5), [2, 3]), '[2,3]');
});

// ---------------------------------------------------------------- reshape

test('reshape with -1 infers the free axis and shares the buffer', () => {
  const x = Tensor.from(Array.from({ length: 24 }, (_, i) => i), [2, 3, 4]);
  const cases: Array<[number[], number[]]> = [
    [[-1, 4], [6, 4]],
    [[2, -1], [2, 12]],
    [[-1], [24]],
    [[2, -1, 2, 3], [2, 2, 2, 3]],
    [[1, -1, 1], [1, 24, 1]],
  ];
  for (const [to, expect] of cases) {
    const y = reshape(x, to);
    assert.deepEqual(y.shape, expect);
    assert.equal(y.data, x.data, 'reshape is a free view: same buffer');
  }
});

// ---------------------------------------------------------------- top-k

test('topk and keepTopK break ties by the lower index', () => {
  // Indices are column positions within each row.
  const x = Tensor.from([1, 3, 3, 2, 3, 0, 5, 5, 5, 5], [2, 5]);
  assert.deepEqual(Array.from(topkIndices(x, 2)), [1, 2, 1, 2]);
  assert.deepEqual(Array.from(topkIndices(x, 4)), [1, 2, 4, 3, 1, 2, 3, 4]);
  const t = topk(x, 3);
  assert.deepEqual(Array.from(t.indices), [1, 2, 4, 1, 2, 3]);
  assert.deepEqual(t.values.toArray(), [3, 3, 3, 5, 5, 5]);
  assert.deepEqual(t.values.shape, [2, 3]);
  assert.deepEqual(keepTopK(x, 2).toArray(), [0, 3, 3, 0, 0, 0, 5, 5, 0, 0]);
  // A row sorted in every order: descending values, then ascending index.
  for (let trial = 0; trial < 20; trial++) {
    const row = Array.from({ length: 9 }, () => rng.int(4));
    const got = Array.from(topkIndices(Tensor.from(row, [1, 9]), 5));
    const want = row.map((v, j) => [v, j]).sort((p, q) => q[0] - p[0] || p[1] - q[1]).slice(0, 5).map((e) => e[1]);
    assert.deepEqual(got, want, `row ${row}`);
  }
});

// ---------------------------------------------------------------- misc forward facts

test('max propagates NaN; sum and mean of all elements', () => {
  const x = Tensor.from([1, NaN, 3, 2], [2, 2]);
  const m = max(x, 1).toArray();
  assert.ok(Number.isNaN(m[0]));
  assert.equal(m[1], 3);
  const y = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]);
  assert.equal(sum(y).item(), 21);
  assert.equal(mean(y).item(), 3.5);
  assert.deepEqual(sum(y, 0, true).shape, [1, 3]);
  assert.deepEqual(mean(y, [0, 1], true).shape, [1, 1]);
});
