import test from 'node:test';
import assert from 'node:assert/strict';
import {
  andInteractions, orInteractions, orInteractionsTranspose, mobiusSubsets, mobiusSupersets, reconstruct, popcounts,
  sparsifyAndOr, salientSummary, salientInteractions, jaccardSigned, jaccardPerOrder, interactionsOfValues,
} from '../../src/lens/interactions/index.js';
import { Rng } from '../../src/engine/rng.js';

// ---- an independent brute-force f64 implementation: direct subset sums over all pairs (O(4^n)).
const isSubset = (t: number, s: number) => (t & s) === t;
const bits = (m: number) => { let c = 0; for (; m; m &= m - 1) c++; return c; };
function bruteAnd(v: ArrayLike<number>): Float64Array {
  const size = v.length;
  const out = new Float64Array(size);
  for (let s = 0; s < size; s++) for (let t = 0; t < size; t++) if (isSubset(t, s)) out[s] += ((bits(s) - bits(t)) % 2 ? -1 : 1) * v[t]!;
  return out;
}
function bruteOr(v: ArrayLike<number>): Float64Array {
  const size = v.length;
  const full = size - 1;
  const out = new Float64Array(size);
  out[0] = v[0]!;
  for (let s = 1; s < size; s++) {
    let acc = 0;
    for (let t = 0; t < size; t++) if (isSubset(t, s)) acc += ((bits(s) - bits(t)) % 2 ? -1 : 1) * v[full & ~t]!;
    out[s] = -acc;
  }
  return out;
}
/** v̂(S) = v(∅)-free form: Σ_{T⊆S} I_and(T) + I_or(∅) + Σ_{T≠∅, T∩S≠∅} I_or(T), by direct sums. */
function bruteReconstruct(iAnd: Float64Array, iOr: Float64Array): Float64Array {
  const size = iAnd.length;
  const out = new Float64Array(size);
  for (let s = 0; s < size; s++) {
    let acc = iOr[0]!;
    for (let t = 0; t < size; t++) {
      if (isSubset(t, s)) acc += iAnd[t]!;
      if (t !== 0 && (t & s) !== 0) acc += iOr[t]!;
    }
    out[s] = acc;
  }
  return out;
}
function randomV(n: number, seed: number, scale = 5): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: 1 << n }, () => scale * rng.uniform(-1, 1));
}
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);

test('fast AND and OR transforms equal brute-force subset sums for n = 1..10 on random v', () => {
  for (let n = 1; n <= 10; n++) {
    const v = randomV(n, 100 + n);
    const scale = 1 << n; // sums of up to 2^n terms of size ≤ 5
    assert.ok(maxDiff(andInteractions(v), bruteAnd(v)) < 1e-12 * scale * 5, `AND n=${n}`);
    assert.ok(maxDiff(orInteractions(v), bruteOr(v)) < 1e-12 * scale * 5, `OR n=${n}`);
  }
});

test('reconstruction from interactions equals brute-force sums, and recovers v_and + v_or exactly (n ≤ 8)', () => {
  for (const n of [1, 3, 5, 8]) {
    const vAnd = randomV(n, 7 * n);
    const vOr = randomV(n, 7 * n + 1);
    const iAnd = andInteractions(vAnd);
    const iOr = orInteractions(vOr);
    const fast = reconstruct(iAnd, iOr);
    assert.ok(maxDiff(fast, bruteReconstruct(iAnd, iOr)) < 1e-10, `brute n=${n}`);
    const sum = vAnd.map((x, i) => x + vOr[i]!);
    assert.ok(maxDiff(fast, sum) < 1e-10, `matching n=${n}`);
  }
});

test('the transposed transforms are the adjoints used for the gradient: <Ax, y> = <x, Aᵀy>', () => {
  for (const n of [1, 4, 7]) {
    const x = randomV(n, 31 + n);
    const y = randomV(n, 41 + n);
    const ax = mobiusSubsets(Float64Array.from(x));
    const aty = mobiusSupersets(Float64Array.from(y));
    assert.ok(Math.abs(dot(ax, y) - dot(x, aty)) < 1e-9);
    const ox = orInteractions(x);
    const oty = orInteractionsTranspose(y, new Float64Array(y.length), new Float64Array(y.length));
    assert.ok(Math.abs(dot(ox, y) - dot(x, oty)) < 1e-9, `OR adjoint n=${n}`);
  }
});

test('hand-computable interactions: a pure AND and a pure OR of two variables', () => {
  // n = 3; v = 1 when both x0 and x1 are kept.
  const vAnd = Float64Array.from({ length: 8 }, (_, s) => ((s & 3) === 3 ? 1 : 0));
  const iAnd = andInteractions(vAnd);
  assert.deepEqual(Array.from(iAnd, (x) => x + 0), [0, 0, 0, 1, 0, 0, 0, 0]);
  // v = 1 when x0 or x1 is kept: a single OR interaction on {0, 1}.
  const vOr = Float64Array.from({ length: 8 }, (_, s) => ((s & 3) !== 0 ? 1 : 0));
  const iOr = orInteractions(vOr);
  assert.deepEqual(Array.from(iOr, (x) => x + 0), [0, 0, 0, 1, 0, 0, 0, 0]);
  // The sparse split of the OR function finds it much sparser than its AND form.
  const r = sparsifyAndOr(vOr, { iterations: 2000, lr: 1e-2 });
  assert.ok(r.l1End < r.l1Start, `L1 ${r.l1Start} -> ${r.l1End}`);
  assert.ok(r.l1End < 1.2, `an OR of two variables costs ~1 in L1, got ${r.l1End}`);
});

test('sparsify lowers the L1 norm, keeps q in its box, and universal matching holds to float error', () => {
  for (const n of [4, 8, 10]) {
    const v = randomV(n, 900 + n);
    v[0] = 0;
    const r = interactionsOfValues(v, { iterations: 300, lr: 1e-3 });
    assert.ok(r.l1End < r.l1Start, `n=${n}: ${r.l1Start} -> ${r.l1End}`);
    const bound = 0.04 * Math.abs(v[v.length - 1]! - v[0]!);
    for (const x of r.q) assert.ok(Math.abs(x) <= bound + 1e-15);
    assert.ok(r.matchingError <= 1e-4, `matching ${r.matchingError}`);
    assert.ok(r.matchingError < 1e-10, `f64 transforms should be exact to ~1e-12, got ${r.matchingError}`);
    assert.ok(r.outputError <= 0.04 + 1e-12);
    // Independent check of matching: brute-force reconstruction against v + q.
    const hat = bruteReconstruct(r.iAnd, r.iOr);
    assert.ok(maxDiff(hat, r.v.map((x, i) => x + r.q[i]!)) < 1e-9);
  }
});

test('sparsify is deterministic and matches a brute-force momentum-SGD on explicit matrices (n = 3)', () => {
  const n = 3;
  const size = 1 << n;
  const v = randomV(n, 5);
  v[0] = 0;
  const o = { iterations: 50, lr: 1e-2, momentum: 0.9, qBound: 0.04 };
  const a = sparsifyAndOr(v, o);
  const b = sparsifyAndOr(v, o);
  assert.deepEqual(a.p, b.p);
  // Reference loop: build the 2^n × 2^n matrices from bruteAnd/bruteOr columns.
  const col = (f: (x: Float64Array) => Float64Array, j: number) => f(Float64Array.from({ length: size }, (_, i) => (i === j ? 1 : 0)));
  const A = Array.from({ length: size }, (_, j) => col(bruteAnd, j)); // A[j][i] = (A e_j)_i
  const O = Array.from({ length: size }, (_, j) => col(bruteOr, j));
  const apply = (M: Float64Array[], x: Float64Array) => { const y = new Float64Array(size); for (let j = 0; j < size; j++) for (let i = 0; i < size; i++) y[i] += M[j]![i]! * x[j]!; return y; };
  const applyT = (M: Float64Array[], g: Float64Array) => Float64Array.from({ length: size }, (_, j) => dot(M[j]!, g));
  const p = new Float64Array(size), q = new Float64Array(size), bp = new Float64Array(size), bq = new Float64Array(size);
  const bound = 0.04 * Math.abs(v[size - 1]!);
  for (let it = 0; it < o.iterations; it++) {
    for (let i = 0; i < size; i++) q[i] = Math.min(bound, Math.max(-bound, q[i]!));
    if (it + 1 === o.iterations) break;
    const ia = apply(A, v.map((x, i) => 0.5 * (x + q[i]!) + p[i]!));
    const io = apply(O, v.map((x, i) => 0.5 * (x + q[i]!) - p[i]!));
    const ga = applyT(A, ia.map(Math.sign));
    const go = applyT(O, io.map(Math.sign));
    const lr = o.lr * 10 ** (-it / (o.iterations - 1));
    for (let i = 0; i < size; i++) {
      bp[i] = 0.9 * bp[i]! + ga[i]! - go[i]!;
      bq[i] = 0.9 * bq[i]! + 0.5 * (ga[i]! + go[i]!);
      p[i] -= lr * bp[i]!;
      q[i] -= lr * bq[i]!;
    }
  }
  assert.ok(maxDiff(a.p, p) < 1e-9, `p differs by ${maxDiff(a.p, p)}`);
  assert.ok(maxDiff(a.q, q) < 1e-9);
});

test('salient summary, per-order strengths and signed Jaccard on hand-computed cases', () => {
  // n = 2: masks 1 = {0}, 2 = {1}, 3 = {0,1}.
  const iAnd = Float64Array.from([9, 1, 0.04, -0.5]); // ∅ is ignored; max|I| = 1 → threshold 0.05
  const iOr = Float64Array.from([0, 0, 0.2, 0.05]); // 0.05 is not > 0.05
  const s = salientSummary(iAnd, iOr);
  assert.equal(s.maxAbs, 1);
  assert.equal(s.count, 3); // 1, -0.5, 0.2
  assert.equal(s.share, 3 / 6);
  assert.deepEqual(s.strength.pos, [1.2, 0]);
  assert.deepEqual(s.strength.neg, [0, 0.5]);
  assert.deepEqual(s.and.neg, [0, 0.5]);
  const list = salientInteractions(iAnd, iOr);
  assert.deepEqual(list.map((x) => [x.kind, x.set, x.value]), [['and', [0], 1], ['and', [0, 1], -0.5], ['or', [1], 0.2]]);
  assert.equal(jaccardSigned([1, -1], [1, 1]), 1 / 3);
  assert.equal(jaccardSigned([2, 0], [1, 0]), 0.5);
  assert.equal(jaccardSigned([0, 0], [0, 0]), 1);
  assert.equal(jaccardSigned([1], [-1]), 0);
  // Per order: order 1 holds masks 1, 2 (AND and OR side by side), order 2 mask 3.
  const a = { iAnd: Float64Array.from([0, 1, 0, 1]), iOr: Float64Array.from([0, 0, 0, 0]) };
  const b = { iAnd: Float64Array.from([0, 1, 0, -1]), iOr: Float64Array.from([0, 0, 0, 0]) };
  assert.deepEqual(jaccardPerOrder([a], [a, b]), [1, 0]); // order-2 means: 1 vs 0 → 0
  assert.deepEqual(jaccardPerOrder([a], [a]), [1, 1]);
  assert.equal(popcounts(3)[7], 3);
});

test('bad inputs fail with one clear line', () => {
  assert.throws(() => andInteractions(new Float64Array(6)), /2\^n entries/);
  assert.throws(() => sparsifyAndOr(Float64Array.from([0, NaN]), {}), /not finite at subset mask 1/);
  assert.throws(() => sparsifyAndOr(new Float64Array(2), { lr: -1 }), /lr must be a positive/);
  assert.throws(() => jaccardSigned([1], [1, 2]), /differ in length/);
});
