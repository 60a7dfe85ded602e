// The one-row kernel of matvec-wasm.ts gives the bits of matmulReference
// (acc = f32(acc + f32(a*b)), p in order) for widths on and off its 16- and
// 4-column blocks, for strided weights and for the empty sum.

import test from 'node:test';
import assert from 'node:assert/strict';
import { MatvecMemory } from '../../src/engine/matvec-wasm.js';
import { matmulReference } from '../../src/engine/matmul-kernel.js';
import { Rng } from '../../src/engine/rng.js';
import { assertSameBits } from './bits.js';

/** Values over many binades, with signed zeros, so that rounding order shows. */
function values(n: number, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    out[i] = r < 0.03 ? 0 : r < 0.06 ? -0 : (rng.next() - 0.5) * 2 ** Math.floor(rng.next() * 16 - 8);
  }
  return out;
}

const CASES: Array<{ K: number; N: number; stride: number }> = [
  { K: 1, N: 1, stride: 1 },
  { K: 3, N: 3, stride: 3 },
  { K: 5, N: 4, stride: 4 },
  { K: 7, N: 17, stride: 17 },
  { K: 16, N: 16, stride: 16 },
  { K: 33, N: 36, stride: 40 }, // a view of the first 36 columns of a wider matrix
  { K: 64, N: 99, stride: 128 },
  { K: 0, N: 8, stride: 8 }, // the empty sum is +0
];

for (const { K, N, stride } of CASES) {
  test(`matvec K=${K} N=${N} stride=${stride}: the bits of matmulReference`, () => {
    const rng = Rng.derive(1, `matvec/${K}/${N}/${stride}`);
    const x = values(K, rng);
    const w = values(K * stride, rng);
    // The reference on the N columns actually read, gathered out of the strided layout.
    const wDense = new Float32Array(K * N);
    for (let p = 0; p < K; p++) for (let j = 0; j < N; j++) wDense[p * N + j] = w[p * stride + j];
    const want = new Float32Array(N);
    matmulReference(x, wDense, want, { batch: 1, m: 1, n: N, k: K, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 });
    // Operands at odd (but 16-byte aligned) offsets, the output poisoned first.
    const mem = new MatvecMemory(8 + K + 4 + K * stride + 4 + N + 4);
    const xo = 8, wo = ((xo + K + 3) & ~3) + 4, oo = ((wo + K * stride + 3) & ~3) + 4;
    mem.f.set(x, xo);
    mem.f.set(w, wo);
    mem.f.fill(NaN, oo, oo + N);
    mem.matvec(xo, wo, oo, K, N, stride);
    assertSameBits(mem.f.slice(oo, oo + N), want, `K=${K} N=${N}`);
  });
}

test('matvec memory: a bad size is refused by name', () => {
  assert.throws(() => new MatvecMemory(-1), /MatvecMemory: size must be a non-negative integer of floats, got -1/);
  assert.throws(() => new MatvecMemory(2.5), /got 2\.5/);
});

test('matvec memory: large enough for more than one wasm page', () => {
  const mem = new MatvecMemory(70000);
  assert.ok(mem.f.length >= 70000);
});
