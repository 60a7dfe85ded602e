// The tape itself: accumulation, noGrad, shared nodes, deep graphs, the
// finite check, and misuse of backward.

import test from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, ShapeError, NonFiniteError, noGrad, isGradEnabled, setFiniteCheck } from '../../src/engine/tensor.js';
import { add, mul, exp, log, sqrt, addScalar } from '../../src/engine/ops-elementwise.js';
import { sum } from '../../src/engine/ops-reduce.js';
import { matmul, softmax } from '../../src/engine/ops-nn.js';

const param = (values: number[], shape?: number[]) => Tensor.param(Float32Array.from(values), shape ?? [values.length]);
const constant = (values: number[], shape?: number[]) => Tensor.from(values, shape);

test('two backward calls accumulate into leaf gradients', () => {
  const x = param([1, -2, 3]);
  sum(mul(x, constant([0.5, 1, 2]))).backward();
  assert.deepEqual(Array.from(x.grad!), [0.5, 1, 2]);
  sum(mul(x, constant([1, 1, -1]))).backward();
  assert.deepEqual(Array.from(x.grad!), [1.5, 2, 1]);
  // Leaves not on the path keep a null gradient; constants never get one.
  const unused = param([1]);
  const c = constant([4, 5, 6]);
  sum(mul(x, c)).backward();
  assert.equal(unused.grad, null);
  assert.equal(c.grad, null);
});

test('intermediate gradients are released after the sweep, leaf gradients kept', () => {
  const x = param([1, 2]);
  const y = mul(x, x);
  const loss = sum(y);
  loss.backward();
  assert.equal(y.grad, null);
  assert.deepEqual(Array.from(x.grad!), [2, 4]);
});

test('noGrad builds no graph, nests, and restores the mode even when fn throws', () => {
  const w = param([1, 2, 3]);
  const y = noGrad(() => {
    assert.equal(isGradEnabled(), false);
    const inner = noGrad(() => add(w, w));
    assert.equal(isGradEnabled(), false, 'inner noGrad restores the outer (off) state');
    return mul(inner, w);
  });
  assert.equal(isGradEnabled(), true);
  assert.equal(y.requiresGrad, false);
  assert.deepEqual(y.parents, []);
  assert.equal(y.backwardFn, null);
  assert.deepEqual(y.toArray(), [2, 8, 18]);
  assert.throws(() => y.backward(new Float32Array(3)), /does not require grad/);
  assert.throws(() => noGrad(() => {
    throw new Error('boom');
  }), /boom/);
  assert.equal(isGradEnabled(), true);
  // detach cuts the graph too.
  const z = sum(mul(w.detach(), w));
  z.backward();
  assert.deepEqual(Array.from(w.grad!), [1, 2, 3]);
});

test('a tensor used twice (diamond graph) receives both contributions', () => {
  // z = sum(y*y + y) with y = exp(x): dz/dx = (2y + 1) y.
  const xs = [-0.5, 0.25, 1];
  const x = param(xs);
  const y = exp(x);
  sum(add(mul(y, y), y)).backward();
  xs.forEach((v, i) => {
    const yy = Math.exp(v);
    assert.ok(Math.abs(x.grad![i] - (2 * yy + 1) * yy) < 1e-5 * (1 + (2 * yy + 1) * yy), `index ${i}: ${x.grad![i]}`);
  });
  // The same tensor as both operands of one op.
  const a = param([3, -4]);
  sum(mul(a, a)).backward();
  assert.deepEqual(Array.from(a.grad!), [6, -8]);
  // Both operands of a matmul.
  const m = param([1, 2, 3, 4], [2, 2]);
  sum(matmul(m, m)).backward();
  // d sum(M M) / dM[a][b] = (row sum b of M) + (column sum a of M): rows sum to [3, 7], columns to [4, 6].
  assert.deepEqual(Array.from(m.grad!), [3 + 4, 7 + 4, 3 + 6, 7 + 6]);
});

test('a deep chain (20,000 adds) does not overflow the stack', () => {
  const x = param([1, 2]);
  let y = x;
  for (let i = 0; i < 20000; i++) y = add(y, x);
  const loss = sum(y);
  loss.backward();
  assert.deepEqual(Array.from(x.grad!), [20001, 20001]);
  // And a chain of unary ops.
  const z = param([0.5]);
  let u = z;
  for (let i = 0; i < 20000; i++) u = addScalar(u, 1e-4);
  u.backward();
  assert.deepEqual(Array.from(z.grad!), [1]);
});

test('backward is deterministic: the same graph twice gives the same bits', () => {
  const run = () => {
    const a = param(Array.from({ length: 48 }, (_, i) => Math.sin(i)), [4, 12]);
    const b = param(Array.from({ length: 60 }, (_, i) => Math.cos(i)), [12, 5]);
    sum(mul(softmax(matmul(a, b)), constant([1, -2, 3, -4, 5], [5]))).backward();
    return [...Array.from(a.grad!), ...Array.from(b.grad!)];
  };
  assert.deepEqual(run(), run());
});

test('setFiniteCheck names the op where a non-finite value first appears', () => {
  setFiniteCheck(true);
  try {
    const x = param([1, -1]);
    assert.throws(() => log(x), (e: unknown) => {
      assert.ok(e instanceof NonFiniteError);
      assert.equal(e.op, 'log');
      assert.equal(e.phase, 'forward');
      assert.equal(e.index, 1);
      assert.ok(e.message.includes('log'));
      return true;
    });
    // Backward: sqrt(0) is finite, its derivative 0.5/0 is not.
    const z = param([4, 0]);
    const s = sum(sqrt(z));
    assert.throws(() => s.backward(), (e: unknown) => {
      assert.ok(e instanceof NonFiniteError);
      assert.equal(e.op, 'sqrt');
      assert.equal(e.phase, 'backward');
      return true;
    });
  } finally {
    setFiniteCheck(false);
  }
  // Off again: the same op returns NaN quietly.
  const y = log(param([-1]));
  assert.ok(Number.isNaN(y.item()));
});

test('backward misuse throws', () => {
  const x = param([1, 2, 3]);
  const y = mul(x, x);
  assert.throws(() => y.backward(), ShapeError, 'a non-scalar root needs an explicit gradient');
  assert.throws(() => y.backward(new Float32Array(2)), ShapeError, 'a gradient of the wrong size');
  assert.throws(() => constant([1]).backward(), /does not require grad/);
  // An explicit output gradient seeds the sweep.
  y.backward(Float32Array.of(1, 0, -1));
  assert.deepEqual(Array.from(x.grad!), [2, 0, -6]);
});

test('a second backward through an already-freed graph throws instead of dropping gradients', () => {
  const x = param([1, 2, 3]);
  const h = mul(x, x);
  sum(h).backward();
  assert.deepEqual(Array.from(x.grad!), [2, 4, 6]);
  assert.throws(() => sum(mul(h, h)).backward(), /already used by an earlier backward\(\) and freed/);
  const loss = sum(x);
  loss.backward();
  assert.throws(() => loss.backward(), /already backpropagated/);
  // Detaching the reused activation is the way to build on it.
  const y = param([1, 1, 1]);
  sum(mul(h.detach(), y)).backward();
  assert.deepEqual(Array.from(y.grad!), [1, 4, 9]);
});
