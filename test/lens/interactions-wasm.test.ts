import test from 'node:test';
import assert from 'node:assert/strict';
import { sparsifyAndOr, sparsifyAndOrJs, type SparsifyOptions } from '../../src/lens/interactions/index.js';
import { Rng } from '../../src/engine/rng.js';
import { setSparsifyBlockBits } from '../../src/lens/interactions/sparsify-wasm.js';

// The wasm split must be the TypeScript reference bit for bit: compare the raw
// bytes (so -0 vs +0 counts as a difference), not the values.
function sameBits(a: Float64Array, b: Float64Array, what: string): void {
  assert.equal(a.length, b.length, `${what}: lengths`);
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < x.length; i++) {
    if (x[i] !== y[i]) assert.fail(`${what}: element ${i >> 3} differs: wasm ${a[i >> 3]} vs js ${b[i >> 3]}`);
  }
}

function check(v: Float64Array, o: SparsifyOptions, label: string): void {
  const w = sparsifyAndOr(v, o);
  const j = sparsifyAndOrJs(v, o);
  sameBits(w.p, j.p, `${label} p`);
  sameBits(w.q, j.q, `${label} q`);
  sameBits(w.iAnd, j.iAnd, `${label} iAnd`);
  sameBits(w.iOr, j.iOr, `${label} iOr`);
  assert.ok(Object.is(w.l1Start, j.l1Start) && Object.is(w.l1End, j.l1End), `${label} L1 ${w.l1Start}/${w.l1End} vs ${j.l1Start}/${j.l1End}`);
}

test('the wasm AND-OR split gives the same bits as the TypeScript reference (n = 1..12)', () => {
  const rng = Rng.derive(11, 'interactions-wasm-test');
  for (let n = 1; n <= 12; n++) {
    const size = 1 << n;
    const v = Float64Array.from({ length: size }, () => rng.normal(0, 3));
    v[0] = 0;
    const iterations = n <= 8 ? 120 : 25;
    // A large lr drives q into its box (exercises the clip) and flips signs.
    check(v, { iterations, lr: 0.05 }, `n=${n} lr=0.05`);
    if (n <= 10) check(v, { iterations, lr: 1e-3, momentum: 0, qBound: 0 }, `n=${n} no q`);
    // Integer values: many interactions exactly 0, so the sign(0) = 0 path and
    // signed zeros matter.
    const vi = Float64Array.from({ length: size }, (_, s) => (s & 3) !== 0 ? 1 : (s % 5 === 0 ? 2 : 0));
    check(vi, { iterations, lr: 0.01 }, `n=${n} integer v`);
  }
  // One iteration (no update) and the defaults' schedule on a short run.
  const v = Float64Array.from({ length: 64 }, () => rng.uniform(-1, 1));
  check(v, { iterations: 1 }, 'n=6 one iteration');
  check(v, { iterations: 2 }, 'n=6 two iterations');
});

test('cache blocking changes no bits: blocks of 4 and 16 values, even and odd n', () => {
  const rng = Rng.derive(12, 'interactions-wasm-blocks');
  for (const bits of [2, 4]) {
    const prev = setSparsifyBlockBits(bits);
    try {
      for (const n of [3, 4, 5, 6, 7, 9, 10]) {
        const v = Float64Array.from({ length: 1 << n }, () => rng.normal(0, 2));
        check(v, { iterations: 40, lr: 0.05 }, `blocks 2^${bits} n=${n}`);
        const vi = Float64Array.from({ length: 1 << n }, (_, s) => ((s & 5) === 5 ? 1 : 0) + (s % 3 === 0 ? 1 : 0));
        check(vi, { iterations: 40, lr: 0.01 }, `blocks 2^${bits} n=${n} integer v`);
      }
    } finally {
      setSparsifyBlockBits(prev);
    }
  }
  assert.throws(() => setSparsifyBlockBits(3), /even integer/);
});

test('the wasm split rejects what the reference rejects', () => {
  assert.throws(() => sparsifyAndOr(Float64Array.from([0, Infinity]), {}), /not finite at subset mask 1/);
  assert.throws(() => sparsifyAndOr(new Float64Array(3), {}), /expected 2\^n entries/);
});
