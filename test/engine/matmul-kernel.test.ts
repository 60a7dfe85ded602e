// The matmul determinism contract: matmulF32 gives the same bits as the plain
// TypeScript reference (acc = f32(acc + f32(a*b)), p in order) for every
// shape, transpose, batch stride and thread count.

import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  getThreads, matmulF32, matmulReference, setParallelMinFlops, setThreads, shutdownThreads, type MatmulSpec,
} from '../../src/engine/matmul-kernel.js';
import { setMainThreadWorks, workerChunkCount } from '../../src/engine/threads.js';
import { wasmKernels } from '../../src/engine/wasm.js';
import { assertSameBits } from './bits.js';

/** xorshift32 values over many binades, with some signed zeros and subnormal-making tiny values. */
function randomF32(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  const next = (): number => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 2 ** 32;
  };
  for (let i = 0; i < n; i++) {
    const u = next();
    const r = next();
    if (r < 0.02) out[i] = 0;
    else if (r < 0.04) out[i] = -0;
    else if (r < 0.05) out[i] = (u - 0.5) * 2 ** -70; // products underflow to subnormals
    else out[i] = (u - 0.5) * 2 ** Math.floor(next() * 16 - 8);
  }
  return out;
}

interface Case { batch: number; m: number; n: number; k: number }

// Odd sizes around the kernel's tiles (4x8), its blocks (MC=128 rows, KC=256
// depth, NC=256 columns) and the JS fallback for tiny products.
const SHAPES: Case[] = [
  { batch: 1, m: 1, n: 1, k: 1 },
  { batch: 1, m: 2, n: 3, k: 5 },
  { batch: 1, m: 5, n: 7, k: 3 },
  { batch: 1, m: 4, n: 8, k: 16 },
  { batch: 1, m: 9, n: 17, k: 33 },
  { batch: 1, m: 13, n: 1, k: 40 },
  { batch: 1, m: 1, n: 29, k: 40 },
  { batch: 3, m: 7, n: 9, k: 11 },
  { batch: 5, m: 32, n: 32, k: 32 },
  { batch: 2, m: 33, n: 31, k: 257 },   // two depth blocks, second one 1 deep
  { batch: 1, m: 133, n: 19, k: 17 },   // two row blocks
  { batch: 1, m: 10, n: 261, k: 12 },   // two column blocks
  { batch: 1, m: 70, n: 70, k: 600 },   // three depth blocks
  { batch: 1, m: 131, n: 267, k: 259 }, // everything uneven at once
];

const BOOLS = [false, true];

function specsFor(c: Case): MatmulSpec[] {
  const specs: MatmulSpec[] = [];
  for (const transA of BOOLS) for (const transB of BOOLS) {
    const strides: Array<[number, number]> = c.batch === 1
      ? [[c.m * c.k, c.k * c.n]]
      : [[c.m * c.k, c.k * c.n], [0, c.k * c.n], [c.m * c.k, 0], [c.m * c.k + 3, 0], [0, 0]];
    for (const [aBatchStride, bBatchStride] of strides) {
      specs.push({ ...c, transA, transB, aBatchStride, bBatchStride });
    }
  }
  return specs;
}

function operands(s: MatmulSpec, seed: number): { a: Float32Array; b: Float32Array; out0: Float32Array } {
  const lenA = (s.batch - 1) * s.aBatchStride + s.m * s.k;
  const lenB = (s.batch - 1) * s.bBatchStride + s.k * s.n;
  return { a: randomF32(lenA, seed), b: randomF32(lenB, seed + 1), out0: randomF32(s.batch * s.m * s.n, seed + 2) };
}

const label = (s: MatmulSpec): string =>
  `batch=${s.batch} m=${s.m} n=${s.n} k=${s.k} tA=${s.transA} tB=${s.transB} aBS=${s.aBatchStride} bBS=${s.bBatchStride}` +
  (s.accumulate ? ' acc' : '');

test('matmul: bit-identical to the reference on odd shapes, all transposes and batch strides, 1/2/4 threads', () => {
  const savedThreads = getThreads();
  // Split even tiny products across threads, so odd splits are exercised.
  const savedMin = setParallelMinFlops(0);
  const before = workerChunkCount();
  try {
    let seed = 1;
    for (const c of SHAPES) {
      for (const base of specsFor(c)) {
        for (const accumulate of BOOLS) {
          const s: MatmulSpec = { ...base, accumulate };
          const { a, b, out0 } = operands(s, seed++);
          const want = out0.slice();
          matmulReference(a, b, want, s);
          // Threads claim chunks dynamically, so also run with the main thread
          // idle: then the workers are known to have computed every chunk.
          for (const [t, mainWorks] of [[1, true], [2, true], [2, false], [4, true], [4, false]] as const) {
            setThreads(t);
            setMainThreadWorks(mainWorks);
            const got = out0.slice();
            matmulF32(a, b, got, s);
            assertSameBits(got, want, `${label(s)} threads=${t}${mainWorks ? '' : ' (workers only)'}`, true);
          }
          setMainThreadWorks(true);
        }
      }
    }
    assert.ok(workerChunkCount() > before, 'the workers computed chunks');
  } finally {
    setMainThreadWorks(true);
    setParallelMinFlops(savedMin);
    setThreads(savedThreads);
  }
});

test('matmul: GPT-sized products, same bits for 1, 2 and 4 threads and the reference', () => {
  const saved = getThreads();
  try {
    const cases: MatmulSpec[] = [
      { batch: 1, m: 256, n: 128, k: 128, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 },
      { batch: 1, m: 128, n: 96, k: 512, transA: true, transB: false, aBatchStride: 0, bBatchStride: 0 },
      { batch: 1, m: 256, n: 130, k: 64, transA: false, transB: true, aBatchStride: 0, bBatchStride: 0 },
      { batch: 64, m: 32, n: 32, k: 32, transA: false, transB: true, aBatchStride: 1024, bBatchStride: 1024 },
      { batch: 64, m: 32, n: 32, k: 32, transA: true, transB: false, aBatchStride: 1024, bBatchStride: 1024, accumulate: true },
    ];
    let seed = 1000;
    for (const s of cases) {
      const { a, b, out0 } = operands(s, seed++);
      const want = out0.slice();
      matmulReference(a, b, want, s);
      for (const t of [1, 2, 4]) {
        setThreads(t);
        const got = out0.slice();
        matmulF32(a, b, got, s);
        assertSameBits(got, want, `${label(s)} threads=${t}`, true);
      }
    }
  } finally {
    setThreads(saved);
  }
});

// The bias and sumBatch epilogues, checked two ways: the reference against
// its definition (a product without them, then one f32 addition per element
// in the stated order), and the kernel against the reference for 1/2/4 threads.
test('matmul: bias rows and summed batches give the bits of the separate additions, any thread count', () => {
  const savedThreads = getThreads();
  const savedMin = setParallelMinFlops(0);
  const fr = Math.fround;
  try {
    let seed = 5000;
    const cases: Case[] = [
      { batch: 3, m: 7, n: 9, k: 11 }, { batch: 4, m: 33, n: 31, k: 257 }, { batch: 2, m: 133, n: 19, k: 17 },
      { batch: 4, m: 64, n: 32, k: 128 }, { batch: 1, m: 10, n: 261, k: 12 }, { batch: 2, m: 2, n: 3, k: 2 },
      { batch: 2, m: 9, n: 261, k: 300 }, // column and depth blocks in every product of a batch
    ];
    for (const c of cases) {
      for (const base of specsFor(c)) {
        const { a, b, out0 } = operands(base, seed++);
        // Bias: one row for all products, and one row per product.
        for (const biasBatchStride of c.batch > 1 ? [0, c.n + 1] : [0]) {
          const bias = randomF32((c.batch - 1) * biasBatchStride + c.n, seed++);
          const s: MatmulSpec = { ...base, bias, biasBatchStride };
          const plain = new Float32Array(c.batch * c.m * c.n);
          matmulReference(a, b, plain, base);
          const want = plain.map((v, i) => fr(v + bias[Math.floor(i / (c.m * c.n)) * biasBatchStride + (i % c.n)]!));
          const ref = new Float32Array(plain.length);
          matmulReference(a, b, ref, s);
          assertSameBits(ref, want, `reference ${label(s)} bias stride ${biasBatchStride}`, true);
          for (const t of [1, 2, 4]) {
            setThreads(t);
            const got = out0.slice();
            matmulF32(a, b, got, s);
            assertSameBits(got, want, `${label(s)} bias stride ${biasBatchStride} threads=${t}`, true);
          }
        }
        // Summed batch, into a fresh output and accumulating onto one.
        for (const accumulate of BOOLS) {
          const s: MatmulSpec = { ...base, accumulate, sumBatch: true };
          const start = randomF32(c.m * c.n, seed++);
          const want = accumulate ? start.slice() : new Float32Array(c.m * c.n);
          for (let bi = 0; bi < c.batch; bi++) {
            const one: MatmulSpec = { ...base, batch: 1, accumulate: true };
            matmulReference(a.subarray(bi * base.aBatchStride), b.subarray(bi * base.bBatchStride), want, one);
          }
          const ref = start.slice();
          matmulReference(a, b, ref, s);
          assertSameBits(ref, want, `reference ${label(s)} sumBatch`, true);
          for (const t of [1, 2, 4]) {
            setThreads(t);
            const got = start.slice();
            matmulF32(a, b, got, s);
            assertSameBits(got, want, `${label(s)} sumBatch threads=${t}`, true);
          }
        }
      }
    }
    const spec: MatmulSpec = { batch: 2, m: 3, n: 4, k: 5, transA: false, transB: false, aBatchStride: 15, bBatchStride: 20 };
    const a = new Float32Array(30), b = new Float32Array(40);
    assert.throws(() => matmulF32(a, b, new Float32Array(24), { ...spec, bias: new Float32Array(4), accumulate: true }), /matmul: bias cannot be combined/);
    assert.throws(() => matmulF32(a, b, new Float32Array(24), { ...spec, bias: new Float32Array(7), biasBatchStride: 4 }), /matmul: bias has 7 elements, needs 8/);
    assert.throws(() => matmulF32(a, b, new Float32Array(24), { ...spec, sumBatch: true }), /matmul: out has 24 elements, expected 12 = \[1,3,4\]/);
  } finally {
    setParallelMinFlops(savedMin);
    setThreads(savedThreads);
  }
});

test('matmul: workers write into memory grown after they started', () => {
  const saved = getThreads();
  const savedMin = setParallelMinFlops(0);
  try {
    setThreads(2);
    setMainThreadWorks(false);
    // Start the worker on a small product, then ask for an output bigger
    // than the whole current memory, so that it must grow.
    const small = randomF32(64, 7);
    matmulF32(small, small, new Float32Array(64), { batch: 1, m: 8, n: 8, k: 8, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 });
    const have = wasmKernels().memory.buffer.byteLength;
    const m = 1024, k = 3, n = 8 * Math.ceil(have / (4 * m * 8)) + 8;
    const s: MatmulSpec = { batch: 1, m, n, k, transA: true, transB: true, aBatchStride: 0, bBatchStride: 0 };
    const { a, b, out0 } = operands(s, 77);
    const want = out0.slice();
    matmulReference(a, b, want, s);
    const before = workerChunkCount();
    const got = out0.slice();
    matmulF32(a, b, got, s);
    assert.ok(wasmKernels().memory.buffer.byteLength > have, 'memory grew');
    assert.ok(workerChunkCount() > before, 'the worker computed chunks');
    assertSameBits(got, want, label(s), true);
  } finally {
    setMainThreadWorks(true);
    setParallelMinFlops(savedMin);
    setThreads(saved);
  }
});

test('matmul: empty dimensions', () => {
  const s = (batch: number, m: number, n: number, k: number, accumulate = false): MatmulSpec =>
    ({ batch, m, n, k, transA: false, transB: false, aBatchStride: m * k, bBatchStride: k * n, accumulate });
  // k = 0: the empty sum is +0 (and accumulating it turns -0 into +0).
  const out = new Float32Array([1, -2, 3, 4, 5, 6]);
  matmulF32(new Float32Array(0), new Float32Array(0), out, s(1, 2, 3, 0));
  assertSameBits(out, new Float32Array(6), 'k=0', true);
  const acc = new Float32Array([-0, 1.5]);
  matmulF32(new Float32Array(0), new Float32Array(0), acc, s(1, 1, 2, 0, true));
  assertSameBits(acc, new Float32Array([0, 1.5]), 'k=0 accumulate', true);
  matmulF32(new Float32Array(0), new Float32Array(12), new Float32Array(0), s(1, 0, 3, 4));
  matmulF32(new Float32Array(0), new Float32Array(0), new Float32Array(0), s(0, 5, 5, 5));
});

test('matmul: shape mismatches throw an error naming matmul and the shapes', () => {
  const spec: MatmulSpec = { batch: 2, m: 3, n: 4, k: 5, transA: false, transB: true, aBatchStride: 15, bBatchStride: 0 };
  const a = new Float32Array(30), b = new Float32Array(20), out = new Float32Array(24);
  matmulF32(a, b, out, spec); // fits
  assert.throws(() => matmulF32(a.subarray(0, 29), b, out, spec), /matmul.*A has 29 elements, needs 30.*\[3,5\].*m=3 n=4 k=5/);
  assert.throws(() => matmulF32(a, b.subarray(0, 19), out, spec), /matmul.*B has 19.*\[4,5\]/);
  assert.throws(() => matmulF32(a, b, new Float32Array(23), spec), /matmul.*out has 23 elements, expected 24 = \[2,3,4\]/);
  assert.throws(() => matmulF32(a, b, out, { ...spec, m: 2.5 }), /matmul: m must be a non-negative integer/);
  assert.throws(() => matmulReference(a, b, out, { ...spec, bBatchStride: -1 }), /matmul: bBatchStride/);
  assert.throws(() => setThreads(0), /setThreads/);
});

test('matmul: GLASSBOX_THREADS sets the default, and a process that never shuts the workers down still exits', () => {
  const url = new URL('../../src/engine/matmul-kernel.js', import.meta.url).href;
  const script = `
    import { matmulF32, getThreads } from ${JSON.stringify(url)};
    const n = 256, a = new Float32Array(n * n).fill(1), out = new Float32Array(n * n);
    matmulF32(a, a, out, { batch: 1, m: n, n, k: n, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 });
    console.log(getThreads(), out[0], out[n * n - 1]);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, GLASSBOX_THREADS: '3' }, encoding: 'utf8', timeout: 15000,
  });
  assert.equal(r.error, undefined, String(r.error));
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), '3 256 256');
});

test.after(async () => {
  await shutdownThreads();
});
