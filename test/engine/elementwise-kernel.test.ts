// The wasm elementwise kernels (assembly/elementwise.ts) against their
// TypeScript references: GELU (fastmath.geluInto), layer norm forward and
// backward, and the column sums behind bias and weight gradients. The kernels
// do the references' IEEE operations in the same order, so the tests ask for
// the same bits (any NaN counts as equal to any NaN), on odd sizes, special
// values, and twice over for determinism.

import test from 'node:test';
import assert from 'node:assert/strict';
import {
  columnSumsWasm, geluWasm, layerNormBackwardWasm, layerNormForwardWasm, mulWasm, setElementwiseWasmMin,
} from '../../src/engine/elementwise-kernel.js';
import { geluInto } from '../../src/engine/fastmath.js';
import { Tensor } from '../../src/engine/tensor.js';
import { gelu } from '../../src/engine/ops-elementwise.js';
import { layerNorm, matmulBias } from '../../src/engine/ops-nn.js';
import { Rng } from '../../src/engine/rng.js';
import { getThreads, setThreads, shutdownThreads } from '../../src/engine/matmul-kernel.js';
import { setMainThreadWorks } from '../../src/engine/threads.js';
import { assertSameBits } from './bits.js';

/** Values over many scales: mostly moderate, some large, tiny and signed zeros. */
function values(n: number, seed: number, scale = 4): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    const u = rng.next() * 2 - 1;
    if (r < 0.02) out[i] = 0;
    else if (r < 0.04) out[i] = -0;
    else if (r < 0.06) out[i] = u * 1e-30;
    else if (r < 0.1) out[i] = u * 60;
    else out[i] = u * scale;
  }
  return out;
}

const SPECIALS = [0, -0, 1, -1, 1e-45, -1e-45, 1e-38, 5, -5, 13.2, -13.2, 13.3, -13.3, 26.5, -26.5, 37, -37, 38.5, -38.5,
  38.6, -38.6, 38.7, -38.7, 40, -40, 1e5, -1e5, 3.4e38, -3.4e38, Infinity, -Infinity, NaN];

function geluReference(x: Float32Array): { out: Float32Array; deriv: Float32Array } {
  const out = new Float32Array(x.length);
  const deriv = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) geluInto(x[i]!, out, deriv, i);
  return { out, deriv };
}

test('geluWasm: the bits of fastmath.geluInto, on odd sizes, special values and a dense sweep', () => {
  const sweep = new Float32Array(200001);
  for (let i = 0; i < sweep.length; i++) sweep[i] = -50 + i * 0.0005; // through the exp underflow near |x| = 38.6
  const cases: Float32Array[] = [Float32Array.from(SPECIALS), sweep];
  for (const n of [1, 2, 3, 5, 7, 8, 13, 1023, 4097]) cases.push(values(n, n));
  for (const x of cases) {
    const want = geluReference(x);
    const out = new Float32Array(x.length);
    const deriv = new Float32Array(x.length);
    geluWasm(x, out, deriv);
    assertSameBits(out, want.out, `gelu n=${x.length}`);
    assertSameBits(deriv, want.deriv, `gelu' n=${x.length}`);
    const outOnly = new Float32Array(x.length);
    geluWasm(x, outOnly, null);
    assertSameBits(outOnly, want.out, `gelu without derivative n=${x.length}`);
  }
  const nan = new Float32Array(1);
  geluWasm(Float32Array.of(NaN), nan, null);
  assert.ok(Number.isNaN(nan[0]), 'NaN passes through');
});

test('geluWasm: within 2e-7 of the exact erf GELU (x·Φ(x)) relative to max(1, |x|)', () => {
  // erf by its Taylor series (|z| <= 3) or continued fraction, in f64: accurate to ~1e-15 here.
  const erf = (z: number): number => {
    const a = Math.abs(z);
    let r: number;
    if (a < 3) {
      let term = a, sum = a;
      for (let k = 1; k < 80; k++) {
        term *= (-a * a) / k;
        sum += term / (2 * k + 1);
      }
      r = (2 / Math.sqrt(Math.PI)) * sum;
    } else {
      let f = 0;
      for (let k = 60; k >= 1; k--) f = (k / 2) / (a + f);
      let e = 1; // e^{-a^2} by repeated squaring of a series would need exp; use the identity through a product
      const s = a * a;
      // e^{-s} = (e^{-s/64})^64 with a Taylor series for the small argument.
      let t = 1, u = 1;
      for (let k = 1; k < 30; k++) { u *= -(s / 64) / k; t += u; }
      e = t;
      for (let k = 0; k < 6; k++) e *= e;
      r = 1 - e / Math.sqrt(Math.PI) / (a + f);
    }
    return z < 0 ? -r : r;
  };
  const x = values(20001, 3, 6);
  const out = new Float32Array(x.length);
  geluWasm(x, out, null);
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    // Past |x| = 8, Φ is 0 or 1 to far below f32 resolution.
    const exact = Math.abs(v) > 8 ? (v > 0 ? v : 0) : 0.5 * v * (1 + erf(v / Math.SQRT2));
    worst = Math.max(worst, Math.abs(out[i]! - exact) / Math.max(1, Math.abs(v)));
  }
  assert.ok(worst < 2e-7, `worst error ${worst}`);
});

test('mulWasm: f32 products', () => {
  for (const n of [1, 3, 6, 1001]) {
    const a = values(n, 10 + n), b = values(n, 20 + n);
    const got = new Float32Array(n);
    mulWasm(a, b, got);
    const want = new Float32Array(n);
    for (let i = 0; i < n; i++) want[i] = a[i]! * b[i]!;
    assertSameBits(got, want, `mul n=${n}`);
  }
});

/** Run f with the wasm kernels forced on (min 0) and forced off (min Infinity). */
function bothPaths<T>(f: () => T): { wasm: T; js: T } {
  const prev = setElementwiseWasmMin(0);
  try {
    const wasm = f();
    setElementwiseWasmMin(Infinity);
    const js = f();
    return { wasm, js };
  } finally {
    setElementwiseWasmMin(prev);
  }
}

test('layerNorm: wasm and TypeScript paths give the same bits forward and backward', () => {
  const shapes: Array<[number, number]> = [[1, 1], [3, 1], [1, 5], [7, 3], [5, 13], [33, 128], [4, 257]];
  for (const [R, C] of shapes) {
    for (const [hasW, hasB] of [[true, true], [true, false], [false, true], [false, false]] as const) {
      const run = (): Float32Array[] => {
        const x = new Tensor(values(R * C, R * 31 + C), [R, C], { requiresGrad: true });
        // A row with a large mean and a tiny spread, where the f64 statistics matter.
        if (R > 2) for (let j = 0; j < C; j++) x.data[C + j] = 1000 + j * 1e-3;
        const w = hasW ? new Tensor(values(C, C + 1, 2), [C], { requiresGrad: true }) : null;
        const b = hasB ? new Tensor(values(C, C + 2, 2), [C], { requiresGrad: true }) : null;
        const y = layerNorm(x, w, b);
        y.backward(values(R * C, 77 + C));
        return [y.data.slice(), x.grad!.slice(), ...(w ? [w.grad!.slice()] : []), ...(b ? [b.grad!.slice()] : [])];
      };
      const { wasm, js } = bothPaths(run);
      const names = ['out', 'dx', ...(hasW ? ['dw'] : []), ...(hasB ? ['db'] : [])];
      wasm.forEach((a, i) => assertSameBits(a, js[i]!, `layerNorm [${R},${C}] w=${hasW} b=${hasB} ${names[i]}`));
    }
  }
});

test('layerNorm kernels directly: odd rows, determinism (same bits twice)', () => {
  for (const [R, C] of [[9, 7], [2, 3], [16, 129]] as Array<[number, number]>) {
    const x = values(R * C, C, 3);
    const w = values(C, 5, 1), b = values(C, 6, 1);
    const outs = [0, 1].map(() => {
      const xhat = new Float32Array(R * C), out = new Float32Array(R * C), rstd = new Float32Array(R);
      layerNormForwardWasm(x, w, b, xhat, out, rstd, R, C, 1e-5);
      const g = values(R * C, 9, 1);
      const gx = new Float32Array(R * C);
      layerNormBackwardWasm(g, w, xhat, rstd, gx, R, C);
      return [xhat, out, rstd, gx];
    });
    outs[0]!.forEach((a, i) => assertSameBits(a, outs[1]![i]!, `layerNorm rerun [${R},${C}] #${i}`));
  }
});

test('columnSumsWasm: f64 column sums in row order, with and without a second factor', () => {
  for (const [R, C] of [[1, 1], [3, 5], [17, 2], [100, 33], [0, 4]] as Array<[number, number]>) {
    const g = values(R * C, R + C), x = values(R * C, R * C + 1);
    const sg = new Float32Array(C), sgx = new Float32Array(C);
    columnSumsWasm(g, x, sg, sgx, R, C);
    const ag = new Float64Array(C), agx = new Float64Array(C);
    for (let r = 0; r < R; r++) for (let j = 0; j < C; j++) {
      ag[j] += g[r * C + j]!;
      agx[j] += g[r * C + j]! * x[r * C + j]!;
    }
    assertSameBits(sg, Float32Array.from(ag), `sum g [${R},${C}]`);
    assertSameBits(sgx, Float32Array.from(agx), `sum g*x [${R},${C}]`);
    const only = new Float32Array(C);
    columnSumsWasm(g, null, only, null, R, C);
    assertSameBits(only, sg, `sum g alone [${R},${C}]`);
  }
});

test('gelu and matmulBias ops: wasm and TypeScript paths give the same bits forward and backward', () => {
  for (const [rows, n] of [[3, 5], [64, 37], [16, 128]] as Array<[number, number]>) {
    const { wasm, js } = bothPaths(() => {
      const a = new Tensor(values(rows * 24, rows, 1), [rows, 24], { requiresGrad: true });
      const w = new Tensor(values(24 * n, n, 0.3), [24, n], { requiresGrad: true });
      const bias = new Tensor(values(n, n + 3, 1), [n], { requiresGrad: true });
      const h = gelu(matmulBias(a, w, bias));
      h.backward(values(rows * n, 5, 1));
      return [h.data.slice(), a.grad!.slice(), w.grad!.slice(), bias.grad!.slice()];
    });
    wasm.forEach((v, i) => assertSameBits(v, js[i]!, `linear+gelu [${rows},${n}] #${i}`));
  }
  // A per-batch bias row ([batch, 1, n]).
  const { wasm, js } = bothPaths(() => {
    const a = new Tensor(values(3 * 5 * 8, 1, 1), [3, 5, 8], { requiresGrad: true });
    const w = new Tensor(values(3 * 8 * 6, 2, 1), [3, 8, 6], { requiresGrad: true });
    const bias = new Tensor(values(3 * 6, 4, 1), [3, 1, 6], { requiresGrad: true });
    const y = matmulBias(a, w, bias);
    y.backward(values(y.size, 6, 1));
    return [y.data.slice(), bias.grad!.slice()];
  });
  wasm.forEach((v, i) => assertSameBits(v, js[i]!, `batched bias #${i}`));
});

test('elementwise kernels split across threads: the bits of the TypeScript references for 1, 2 and 4 threads', () => {
  const saved = getThreads();
  try {
    const n = 70001; // large enough to be split; not a multiple of 4
    const x = values(n, 3), y = values(n, 4);
    const { out: geluOut, deriv: geluDeriv } = geluReference(x);
    const mulWant = new Float32Array(n);
    for (let i = 0; i < n; i++) mulWant[i] = x[i]! * y[i]!;
    const R = 300, C = 130; // 39000 elements
    const lx = values(R * C, 5), lw = values(C, 6, 1), lb = values(C, 7, 1), lg = values(R * C, 8, 1);
    const lnRef = (): Float32Array[] => {
      const prev = setElementwiseWasmMin(Infinity);
      try {
        const xt = new Tensor(lx.slice(), [R, C], { requiresGrad: true });
        const wt = new Tensor(lw.slice(), [C], { requiresGrad: true }), bt = new Tensor(lb.slice(), [C], { requiresGrad: true });
        const out = layerNorm(xt, wt, bt);
        out.backward(lg.slice());
        return [out.data, xt.grad!, wt.grad!, bt.grad!];
      } finally {
        setElementwiseWasmMin(prev);
      }
    };
    const lnWant = lnRef();
    for (const [t, mainWorks] of [[1, true], [2, true], [2, false], [4, true]] as const) {
      setThreads(t);
      setMainThreadWorks(mainWorks);
      const what = `threads=${t}${mainWorks ? '' : ' (workers only)'}`;
      const out = new Float32Array(n), deriv = new Float32Array(n), prod = new Float32Array(n);
      geluWasm(x, out, deriv);
      assertSameBits(out, geluOut, `gelu ${what}`);
      assertSameBits(deriv, geluDeriv, `gelu' ${what}`);
      mulWasm(x, y, prod);
      assertSameBits(prod, mulWant, `mul ${what}`);
      const xt = new Tensor(lx.slice(), [R, C], { requiresGrad: true });
      const wt = new Tensor(lw.slice(), [C], { requiresGrad: true }), bt = new Tensor(lb.slice(), [C], { requiresGrad: true });
      const lo = layerNorm(xt, wt, bt);
      lo.backward(lg.slice());
      [lo.data, xt.grad!, wt.grad!, bt.grad!].forEach((v, i) => assertSameBits(v, lnWant[i]!, `layerNorm #${i} ${what}`));
    }
  } finally {
    setMainThreadWorks(true);
    setThreads(saved);
  }
});

test.after(async () => {
  await shutdownThreads();
});
