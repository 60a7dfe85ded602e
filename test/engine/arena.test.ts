// The step arena: intermediates live in wasm memory during a step, kernels
// use them in place with the same bits, and nothing stale can be read after.

import test from 'node:test';
import assert from 'node:assert/strict';
import { allocF32, arenaActive, inWasmMemory, withStepArena } from '../../src/engine/arena.js';
import { Tensor, noGrad } from '../../src/engine/tensor.js';
import { matmul, layerNorm, softmax, causalSoftmax } from '../../src/engine/ops-nn.js';
import { add, gelu, mul, sum } from '../../src/engine/index.js';
import { matmulF32, matmulReference, setThreads, getThreads } from '../../src/engine/matmul-kernel.js';
import { setElementwiseWasmMin } from '../../src/engine/elementwise-kernel.js';
import { Rng } from '../../src/engine/rng.js';
import { GPT } from '../../src/nn/gpt.js';
import { AdamW } from '../../src/engine/optim.js';

function randomF32(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

test('allocF32 gives zeroed wasm memory inside a step and ordinary arrays outside, small buffers included', () => {
  assert.equal(arenaActive(), false);
  assert.equal(inWasmMemory(allocF32(4096)), false);
  withStepArena(() => {
    assert.equal(arenaActive(), true);
    const a = allocF32(4096);
    assert.equal(inWasmMemory(a), true);
    assert.equal(a.byteOffset % 64, 0);
    a.fill(7);
    assert.equal(inWasmMemory(allocF32(8)), false, 'tiny buffers stay in JS');
  });
  // The next step reuses the same memory, and must see zeros.
  withStepArena(() => {
    const b = allocF32(4096);
    assert.ok(b.every((v) => v === 0));
  });
});

test('reading a step intermediate after the step throws a clear error; parameters and their gradients survive', () => {
  const w = Tensor.param(randomF32(64 * 64, 1), [64, 64], 'w');
  let kept: Tensor | undefined;
  withStepArena(() => {
    const x = new Tensor(randomF32(64 * 64, 2), [64, 64]);
    kept = matmul(x, w);
    assert.equal(inWasmMemory(kept.data), true);
    sum(kept).backward();
  });
  assert.throws(() => kept!.data, /intermediate of a training step that has ended/);
  assert.ok(w.grad !== null && !inWasmMemory(w.grad), 'a leaf gradient lives in JS memory');
  assert.ok(w.data.length === 64 * 64);
  // Gradients accumulate across two steps exactly as without the arena.
  const g1 = new Float32Array(w.grad!);
  withStepArena(() => sum(matmul(new Tensor(randomF32(64 * 64, 2), [64, 64]), w)).backward());
  const want = g1.map((v) => Math.fround(v + v));
  assert.deepEqual(bits(w.grad!), bits(want));
});

test('kernels read and write arena operands in place with the bits of the copying path', () => {
  const prevThreads = getThreads();
  const prevMin = setElementwiseWasmMin(0);
  try {
    for (const threads of [1, 3]) {
      setThreads(threads);
      const run = (): Float32Array[] => {
        const x = Tensor.param(randomF32(96 * 80, 3), [96, 80], 'x');
        const y = Tensor.param(randomF32(80 * 72, 4), [80, 72], 'y');
        const lw = Tensor.param(randomF32(72, 5), [72], 'lw');
        const lb = Tensor.param(randomF32(72, 6), [72], 'lb');
        let out: Float32Array[] = [];
        const body = (): void => {
          const h = matmul(x, y); // [96, 72]
          const n = layerNorm(h, lw, lb);
          const g = gelu(n);
          const s = softmax(mul(g, h));
          const c = causalSoftmax(matmul(s, s, { transB: true }), 0.5); // [96, 96]
          const loss = sum(add(matmul(c, h), g));
          loss.backward();
          out = [new Float32Array(c.data), new Float32Array(loss.data)];
        };
        withStepArena(body);
        return [...out, x.grad!, y.grad!, lw.grad!, lb.grad!];
      };
      const plain = (): Float32Array[] => {
        const x = Tensor.param(randomF32(96 * 80, 3), [96, 80], 'x');
        const y = Tensor.param(randomF32(80 * 72, 4), [80, 72], 'y');
        const lw = Tensor.param(randomF32(72, 5), [72], 'lw');
        const lb = Tensor.param(randomF32(72, 6), [72], 'lb');
        const h = matmul(x, y);
        const n = layerNorm(h, lw, lb);
        const g = gelu(n);
        const s = softmax(mul(g, h));
        const c = causalSoftmax(matmul(s, s, { transB: true }), 0.5);
        const loss = sum(add(matmul(c, h), g));
        loss.backward();
        return [c.data, loss.data, x.grad!, y.grad!, lw.grad!, lb.grad!];
      };
      const a = run();
      const b = plain();
      for (let i = 0; i < a.length; i++) assert.deepEqual(bits(a[i]!), bits(b[i]!), `output ${i}, ${threads} threads`);
    }
  } finally {
    setThreads(prevThreads);
    setElementwiseWasmMin(prevMin);
  }
});

test('matmulF32 in place: arena A, B, out and bias, with accumulate and a summed batch, equals the reference', () => {
  const m = 37, k = 45, n = 29, batch = 3;
  const a = randomF32(batch * m * k, 7), b = randomF32(batch * k * n, 8), bias = randomF32(n, 9);
  const start = randomF32(m * n, 10);
  for (const mode of ['plain', 'bias', 'accumulate', 'sumBatch'] as const) {
    const items = mode === 'sumBatch' || mode === 'accumulate' ? 1 : batch;
    const spec = { batch: mode === 'accumulate' ? 1 : batch, m, n, k, transA: false, transB: true, aBatchStride: m * k, bBatchStride: k * n,
      ...(mode === 'bias' ? { bias } : {}), accumulate: mode === 'accumulate' || mode === 'sumBatch', sumBatch: mode === 'sumBatch' };
    const want = mode === 'plain' || mode === 'bias' ? new Float32Array(items * m * n) : new Float32Array(start);
    matmulReference(a, b, want, spec);
    withStepArena(() => {
      const wa = allocF32(a.length); wa.set(a);
      const wb = allocF32(b.length); wb.set(b);
      const out = allocF32(items * m * n);
      if (spec.accumulate) out.set(start);
      const s = mode === 'bias' ? { ...spec, bias: (() => { const e = allocF32(1024); e.set(bias); return e; })() } : spec;
      matmulF32(wa, wb, out, s);
      assert.deepEqual(bits(out), bits(want), mode);
    });
  }
});

test('a GPT trained in the arena matches one trained without it, bit for bit', () => {
  const train = (arena: boolean): Float32Array[] => {
    const model = new GPT({ vocabSize: 12, contextLength: 8, nLayers: 1, nHeads: 2, dModel: 32, seed: 3 });
    const opt = new AdamW(model.parameters(), { lr: 1e-2 });
    const rng = new Rng(5);
    for (let step = 0; step < 3; step++) {
      const inputs = new Int32Array(16 * 8).map(() => rng.int(12));
      const targets = new Int32Array(16 * 8).map(() => rng.int(12));
      const body = (): void => {
        model.loss(inputs, targets, 16, 8).backward();
        noGrad(() => opt.step());
        opt.zeroGrad();
      };
      if (arena) withStepArena(body);
      else body();
    }
    return model.parameters().map((p) => p.data);
  };
  const a = train(true), b = train(false);
  a.forEach((p, i) => assert.deepEqual(bits(p), bits(b[i]!), `parameter ${i}`));
});

test('poisoned arena: CRATE, ViT and a GPT with dropout train to the same bits in a step arena full of NaNs from an earlier step', async () => {
  const { Crate } = await import('../../src/nn/crate.js');
  const { ViT } = await import('../../src/nn/vit.js');
  const { allocOutput } = await import('../../src/engine/arena.js');
  // Leave NaN in every byte the next steps will reuse: an output an op forgot to write would carry it.
  const poison = (): void => withStepArena(() => { allocOutput(8e6).fill(NaN); });
  const image = { channels: 1, height: 28, width: 28, patch: 7, classes: 10, dModel: 32, nHeads: 4, nLayers: 2, seed: 4 };
  const B = 24;
  const pixels = randomF32(B * 784, 11), labels = new Int32Array(B).map((_, i) => i % 10);
  const models: Array<() => { params: Tensor[]; step: () => void }> = [
    () => { const m = new Crate(image); return { params: m.parameters(), step: () => m.loss(pixels, labels, B).backward() }; },
    () => { const m = new ViT(image); return { params: m.parameters(), step: () => m.loss(pixels, labels, B).backward() }; },
    () => {
      const m = new GPT({ vocabSize: 12, contextLength: 16, nLayers: 2, nHeads: 2, dModel: 64, dropout: 0.2, seed: 3 });
      const rng = new Rng(8);
      const ids = new Int32Array(32 * 16).map(() => rng.int(12));
      return { params: m.parameters(), step: () => m.loss(ids, ids, 32, 16, { dropoutRng: Rng.derive(1, 'd') }).backward() };
    },
  ];
  for (const [i, make] of models.entries()) {
    const run = (arena: boolean): Float32Array[] => {
      const { params, step } = make();
      const opt = new AdamW(params, { lr: 1e-2 });
      for (let s = 0; s < 2; s++) {
        const body = (): void => { step(); noGrad(() => opt.step()); opt.zeroGrad(); };
        if (arena) { poison(); withStepArena(body); } else body();
      }
      return params.map((p) => p.data);
    };
    const a = run(true), b = run(false);
    a.forEach((p, j) => {
      assert.ok(p.every(Number.isFinite), `model ${i}, parameter ${j}: non-finite after training in a poisoned arena`);
      assert.deepEqual(bits(p), bits(b[j]!), `model ${i}, parameter ${j}`);
    });
  }
});
