// causalSoftmax: its gradient against finite differences of an f64
// reference (TypeScript and wasm paths), and the wasm kernels
// (assembly/softmax.ts) against the TypeScript path bit for bit, including
// NaN, infinities, signed zeros and huge scores, for 1, 2 and 4 threads.

import test from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/engine/tensor.js';
import { causalSoftmax, softmax } from '../../src/engine/ops-nn.js';
import { expFast } from '../../src/engine/fastmath.js';
import { setElementwiseWasmMin } from '../../src/engine/elementwise-kernel.js';
import { getThreads, setThreads, shutdownThreads } from '../../src/engine/matmul-kernel.js';
import { setMainThreadWorks } from '../../src/engine/threads.js';
import { wasmKernels } from '../../src/engine/wasm.js';
import { gradcheck, TestRng } from './gradcheck.js';
import { assertSameBits } from './bits.js';

function withWasmMin<T>(min: number, f: () => T): T {
  const prev = setElementwiseWasmMin(min);
  try {
    return f();
  } finally {
    setElementwiseWasmMin(prev);
  }
}

/** f64 causal softmax of scale*x over [..., T, T] rows (keys past the query are 0). */
function reference(T: number, scale: number): (xs: number[][]) => number[] {
  return ([x]) => {
    const out = new Array<number>(x!.length).fill(0);
    for (let o = 0; o < x!.length; o += T) {
      const q = (o / T) % T;
      let mx = -Infinity;
      for (let j = 0; j <= q; j++) mx = Math.max(mx, scale * x![o + j]!);
      let s = 0;
      for (let j = 0; j <= q; j++) s += Math.exp(scale * x![o + j]! - mx);
      for (let j = 0; j <= q; j++) out[o + j] = Math.exp(scale * x![o + j]! - mx) / s;
    }
    return out;
  };
}

test('causalSoftmax: gradient vs finite differences of an f64 reference, TypeScript and wasm paths', () => {
  const rng = new TestRng(99);
  for (const [path, min] of [['ts', Infinity], ['wasm', 0]] as const) {
    for (const [shape, scale] of [[[2, 4, 4], 0.7], [[3, 5, 5], 1.3], [[1, 1], 2]] as Array<[number[], number]>) {
      const T = shape[shape.length - 1]!;
      withWasmMin(min, () => gradcheck(`causalSoftmax ${path} ${JSON.stringify(shape)} scale ${scale}`, {
        inputs: [{ shape, data: rng.array(shape.reduce((a, b) => a * b, 1), -3, 3) }],
        engine: ([x]) => causalSoftmax(x!, scale),
        reference: reference(T, scale),
      }, rng));
    }
  }
});

/** Scores over many scales with special values sprinkled in. */
function scores(n: number, seed: number): Float32Array {
  const rng = new TestRng(seed);
  const specials = [0, -0, NaN, Infinity, -Infinity, 3e38, -3e38, 1e-40, 88, -104];
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    if (r < 0.01) out[i] = specials[Math.floor(rng.next() * specials.length)]!;
    else if (r < 0.05) out[i] = (rng.next() - 0.5) * 2000;
    else out[i] = (rng.next() - 0.5) * 12;
  }
  return out;
}

/** Forward output and input gradient of an op on x with output gradient g. */
function runOp(op: (t: Tensor) => Tensor, x: Float32Array, shape: number[], g: Float32Array): Float32Array[] {
  const t = new Tensor(x.slice(), shape, { requiresGrad: true });
  const y = op(t);
  y.backward(g.slice());
  return [y.data, t.grad!];
}

/** The wasm path must give the TypeScript path's bits for 1, 2 (with and without the main thread) and 4 threads. */
function assertKernelsMatchTs(op: (t: Tensor) => Tensor, x: Float32Array, shape: number[], g: Float32Array): void {
  const want = withWasmMin(Infinity, () => runOp(op, x, shape, g));
  for (const [t, mainWorks] of [[1, true], [2, true], [2, false], [4, true]] as const) {
    setThreads(t);
    setMainThreadWorks(mainWorks);
    const got = withWasmMin(0, () => runOp(op, x, shape, g));
    const what = `${JSON.stringify(shape)} threads=${t}${mainWorks ? '' : ' (workers only)'}`;
    assertSameBits(got[0]!, want[0]!, `forward ${what}`);
    assertSameBits(got[1]!, want[1]!, `backward ${what}`);
  }
}

test('causalSoftmax kernels: the bits of the TypeScript path on special values, odd T, 1/2/4 threads', () => {
  const saved = getThreads();
  try {
    let seed = 1;
    for (const [shape, scale] of [[[7, 1, 1], 1], [[5, 3, 3], 0.5], [[2, 9, 9], 0.35355339059327373], [[40, 32, 32], 0.17677669529663687]] as Array<[number[], number]>) {
      const n = shape.reduce((a, b) => a * b, 1);
      const x = scores(n, seed++), g = scores(n, seed++).map((v) => (Number.isFinite(v) ? v : 1));
      assertKernelsMatchTs((t) => causalSoftmax(t, scale), x, shape, g);
    }
  } finally {
    setMainThreadWorks(true);
    setThreads(saved);
  }
});

test('the kernels\' expFast is fastmath.expFast bit for bit, subnormal results and edges included', () => {
  const wasmExp = (wasmKernels().exports as unknown as { expFast(x: number): number }).expFast;
  const xs = [0, -0, 1, -1, 709, 709.1, 710, -708, -708.4, -720, -740, -744.4, -744.5, -745, -745.1, -1e5, 1e5,
    Infinity, -Infinity, NaN, 1e-300, -1e-300];
  const rng = new TestRng(5);
  for (let i = 0; i < 20000; i++) xs.push((rng.next() - 0.5) * 1500, -700 - rng.next() * 46, (rng.next() - 0.5) * 2);
  for (const x of xs) {
    const got = wasmExp(x), want = expFast(x);
    assert.ok(Object.is(got, want) || (Number.isNaN(got) && Number.isNaN(want)), `expFast(${x}): wasm ${got}, fastmath ${want}`);
  }
});

test('softmax kernels (the plain softmax over the last axis): the bits of the TypeScript path on special values and fully masked rows, 1/2/4 threads', () => {
  const saved = getThreads();
  try {
    let seed = 100;
    for (const shape of [[7, 1], [5, 3], [2, 9, 17], [64, 17, 17], [40, 50]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const x = scores(n, seed++), g = scores(n, seed++).map((v) => (Number.isFinite(v) ? v : 1));
      const C = shape[shape.length - 1]!;
      if (n >= 2 * C) x.fill(-Infinity, C, 2 * C); // a fully masked row comes out as zeros on both paths
      if (n >= 2 * C) assert.ok(withWasmMin(0, () => runOp(softmax, x, shape, g))[0]!.subarray(C, 2 * C).every((v) => v === 0));
      assertKernelsMatchTs(softmax, x, shape, g);
    }
  } finally {
    setMainThreadWorks(true);
    setThreads(saved);
  }
});

test('softmax: gradient vs finite differences of an f64 reference on the wasm path', () => {
  const rng = new TestRng(7);
  for (const shape of [[3, 5], [2, 2, 7]]) {
    const C = shape[shape.length - 1]!;
    withWasmMin(0, () => gradcheck(`softmax wasm ${JSON.stringify(shape)}`, {
      inputs: [{ shape, data: rng.array(shape.reduce((a, b) => a * b, 1), -3, 3) }],
      engine: ([x]) => softmax(x!),
      reference: ([x]) => {
        const out = new Array<number>(x!.length).fill(0);
        for (let o = 0; o < x!.length; o += C) {
          let mx = -Infinity;
          for (let j = 0; j < C; j++) mx = Math.max(mx, x![o + j]!);
          let s = 0;
          for (let j = 0; j < C; j++) s += Math.exp(x![o + j]! - mx);
          for (let j = 0; j < C; j++) out[o + j] = Math.exp(x![o + j]! - mx) / s;
        }
        return out;
      },
    }, rng));
  }
});

test.after(async () => {
  await shutdownThreads();
});
