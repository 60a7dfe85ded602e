// The pointwise kernels (assembly/pointwise.ts) that run same-shape
// arithmetic, scalar affine maps, ReLU and gradient accumulation on step-arena
// buffers: the bits of the TypeScript loops, special values included, for odd
// lengths (the scalar tail) and 1, 2 and 3 threads.

import test from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/engine/tensor.js';
import { add, sub, mul, div, affine, relu } from '../../src/engine/index.js';
import { allocF32, inWasmMemory, withStepArena } from '../../src/engine/arena.js';
import { affineWasm, binaryWasm, negWasm, reluWasm, setElementwiseWasmMin } from '../../src/engine/elementwise-kernel.js';
import { getThreads, setThreads } from '../../src/engine/matmul-kernel.js';
import { TestRng } from './gradcheck.js';
import { assertSameBits } from './bits.js';

const SPECIALS = [0, -0, NaN, Infinity, -Infinity, 3e38, -3e38, 1e-40, -1e-45, 1, -1, 0.1];

function values(n: number, seed: number): Float32Array {
  const rng = new TestRng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    out[i] = r < 0.15 ? SPECIALS[Math.floor(rng.next() * SPECIALS.length)]! : (rng.next() - 0.5) * 10 ** Math.floor(rng.next() * 8 - 4);
  }
  return out;
}

type Case = { name: string; run: (a: Tensor, b: Tensor) => Tensor };
const CASES: Case[] = [
  { name: 'add', run: (a, b) => add(a, b) },
  { name: 'sub', run: (a, b) => sub(a, b) },
  { name: 'mul', run: (a, b) => mul(a, b) },
  { name: 'div', run: (a, b) => div(a, b) },
  { name: 'affine', run: (a) => affine(a, -0.37, 0.1) },
  { name: 'affine, no shift', run: (a) => affine(a, 3, 0) },
  { name: 'relu', run: (a) => relu(a) },
  // The same input used twice: the second gradient is accumulated into the first.
  { name: 'accumulate', run: (a, b) => add(mul(a, b), mul(a, a)) },
];

/** Forward value and both input gradients of one case, with the inputs made in the arena or not. */
function evaluate(c: Case, x: Float32Array, y: Float32Array, g: Float32Array, arena: boolean): Float32Array[] {
  const body = (): Float32Array[] => {
    // Inputs that are op results (so they live in the arena when it is on), with gradients flowing back to leaves.
    const lx = Tensor.param(x.slice(), [x.length]), ly = Tensor.param(y.slice(), [y.length]);
    const a = affine(lx, 1, -0), b = affine(ly, 1, -0);
    if (arena && x.length >= 1024) assert.ok(inWasmMemory(a.data) && inWasmMemory(b.data), 'inputs in the arena');
    const out = c.run(a, b);
    const seed = arena ? allocF32(g.length) : new Float32Array(g.length);
    seed.set(g);
    out.backward(seed);
    return [new Float32Array(out.data), new Float32Array(lx.grad ?? new Float32Array(0)), new Float32Array(ly.grad ?? new Float32Array(0))];
  };
  return arena ? withStepArena(body) : body();
}

test('pointwise kernels give the TypeScript loops\' bits, forward and backward, special values and odd lengths included', () => {
  const saved = getThreads();
  const prevMin = setElementwiseWasmMin(0);
  try {
    let seed = 1;
    for (const n of [1, 3, 1029, 70001]) {
      const x = values(n, seed++), y = values(n, seed++), g = values(n, seed++).map((v) => (Number.isFinite(v) ? v : 1));
      for (const c of CASES) {
        setElementwiseWasmMin(Infinity);
        const want = evaluate(c, x, y, g, false);
        setElementwiseWasmMin(0);
        for (const t of [1, 2, 3]) {
          setThreads(t);
          const got = evaluate(c, x, y, g, true);
          for (let i = 0; i < 3; i++) assertSameBits(got[i]!, want[i]!, `${c.name} n=${n} threads=${t} ${['forward', 'grad a', 'grad b'][i]}`);
        }
      }
    }
  } finally {
    setThreads(saved);
    setElementwiseWasmMin(prevMin);
  }
});

test('pointwise kernels never write past the end of their output', () => {
  withStepArena(() => {
    for (const n of [1025, 1030, 1027]) {
      const a = allocF32(n), b = allocF32(n);
      a.set(values(n, 9));
      b.set(values(n, 10));
      // Outputs are padded to 64 bytes; mark the padding and check every kernel leaves it alone.
      const out = allocF32(n);
      const padLen = (16 - (n % 16)) % 16;
      const pad = new Float32Array(out.buffer, out.byteOffset + n * 4, padLen);
      const marked = (): boolean => pad.every((v) => v === 42);
      pad.fill(42);
      binaryWasm(a, b, out, 'add');
      binaryWasm(a, null, out, 'accumulate');
      affineWasm(a, out, 2, 1);
      negWasm(a, out);
      reluWasm(a, null, out);
      reluWasm(a, b, out);
      assert.ok(padLen === 0 || marked(), `n=${n}: padding overwritten`);
      assert.equal(out[n - 1], Math.fround(b[n - 1]! * (a[n - 1]! > 0 ? 1 : 0)), `n=${n}: last element computed`);
    }
  });
});
