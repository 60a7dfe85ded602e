// linalg: Cholesky log-determinant against an independent LU with partial
// pivoting, closed forms, and the errors it must raise.

import test from 'node:test';
import assert from 'node:assert/strict';
import { cholesky, choleskyLogdet, NotPositiveDefiniteError } from '../../src/engine/linalg.js';
import { Rng } from '../../src/engine/rng.js';

/** log|det A| by Gaussian elimination with partial pivoting (Doolittle LU), written independently. */
function luLogAbsDet(a: ArrayLike<number>, n: number): number {
  const m = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => a[i * n + j]));
  let s = 0;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    [m[c], m[p]] = [m[p], m[c]];
    const piv = m[c][c];
    s += Math.log(Math.abs(piv));
    for (let r = c + 1; r < n; r++) {
      const f = m[r][c] / piv;
      for (let k = c; k < n; k++) m[r][k] -= f * m[c][k];
    }
  }
  return s;
}

/** A random SPD matrix B B^T / n + ridge*I. */
function randomSpd(rng: Rng, n: number, ridge: number): Float64Array {
  const b = new Float64Array(n * n);
  rng.fillNormal(b);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += b[i * n + k] * b[j * n + k];
      a[i * n + j] = s / n + (i === j ? ridge : 0);
    }
  }
  return a;
}

test('logdet of random SPD matrices of sizes 1..64 matches LU with partial pivoting', () => {
  const rng = Rng.derive(1, 'linalg');
  for (let n = 1; n <= 64; n++) {
    const a = randomSpd(rng, n, 0.05);
    const got = choleskyLogdet(a, n);
    const want = luLogAbsDet(a, n);
    assert.ok(Math.abs(got - want) <= 1e-11 * Math.max(1, Math.abs(want)) * n, `n = ${n}: ${got} vs ${want}`);
  }
});

test('closed forms: diagonal matrices, I + v v^T, and the 0 x 0 matrix', () => {
  const d = [2, 3, 0.5, 7, 1e-3];
  const n = d.length;
  const diag = new Float64Array(n * n);
  d.forEach((v, i) => (diag[i * n + i] = v));
  const want = d.reduce((s, v) => s + Math.log(v), 0);
  assert.ok(Math.abs(choleskyLogdet(diag, n) - want) < 1e-14);

  const rng = new Rng(5);
  for (const m of [1, 3, 10, 40]) {
    const v = Array.from({ length: m }, () => rng.normal());
    const a = new Float64Array(m * m);
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) a[i * m + j] = (i === j ? 1 : 0) + v[i] * v[j];
    const norm2 = v.reduce((s, x) => s + x * x, 0);
    assert.ok(Math.abs(choleskyLogdet(a, m) - Math.log1p(norm2)) < 1e-12 * m, `I + vv^T, m = ${m}`);
  }
  assert.equal(choleskyLogdet([], 0), 0);
  assert.equal(choleskyLogdet([4], 1), Math.log(4));
});

test('cholesky: L is lower triangular with L L^T = A; only the lower triangle of A is read', () => {
  const rng = new Rng(6);
  const n = 12;
  const a = randomSpd(rng, n, 0.1);
  const l = cholesky(a, n);
  for (let i = 0; i < n; i++) {
    assert.ok(l[i * n + i] > 0);
    for (let j = i + 1; j < n; j++) assert.equal(l[i * n + j], 0);
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += l[i * n + k] * l[j * n + k];
      assert.ok(Math.abs(s - a[i * n + j]) < 1e-13, `(L L^T)[${i}][${j}]`);
    }
  }
  const garbage = a.slice();
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) garbage[i * n + j] = 1e9;
  assert.deepEqual(cholesky(garbage, n), l);
});

test('deterministic: the same values as f32, f64 or number[] give the same bits', () => {
  const rng = new Rng(7);
  const n = 20;
  const a32 = Float32Array.from(randomSpd(rng, n, 0.2));
  const a64 = Float64Array.from(a32);
  const arr = Array.from(a32);
  const x = choleskyLogdet(a32, n);
  assert.ok(Object.is(x, choleskyLogdet(a64, n)));
  assert.ok(Object.is(x, choleskyLogdet(arr, n)));
});

test('not positive-definite: the error names the pivot index and value', () => {
  assert.throws(
    () => choleskyLogdet([1, 2, 2, 1], 2),
    (e: unknown) => e instanceof NotPositiveDefiniteError && e.pivotIndex === 1 && e.pivotValue === -3 && /pivot 1 is -3/.test(e.message),
  );
  assert.throws(() => cholesky([0], 1), /pivot 0 is 0/);
  assert.throws(() => cholesky([1, 0, 0, NaN], 2), /pivot 1 is NaN/);
  assert.throws(() => choleskyLogdet([-1, 0, 0, 1], 2), NotPositiveDefiniteError);
  assert.throws(() => choleskyLogdet([1, 2, 3], 2), /expected 2x2 = 4 entries, got 3/);
  assert.throws(() => choleskyLogdet([1], -1), RangeError);
});
