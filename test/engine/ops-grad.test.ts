// Every differentiable op of the engine against an independent f64 reference:
// forward values, and the analytic gradient against central differences taken
// on the reference (see gradcheck.ts for the method and the tolerances).

import test from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/engine/tensor.js';
import * as E from '../../src/engine/ops-elementwise.js';
import { sum, mean, max } from '../../src/engine/ops-reduce.js';
import { reshape, permute, transpose, slice, concat, gather, where, maskedFill, causalMask } from '../../src/engine/ops-shape.js';
import { matmul, softmax, logSoftmax, crossEntropy, layerNorm, dropout, topk, keepTopK } from '../../src/engine/ops-nn.js';
import { Rng } from '../../src/engine/rng.js';
import { gradcheck, checkForward, TestRng, size, unravel, ravel, strides, broadcastShape, bcastAt } from './gradcheck.js';

const rng = new TestRng(20240601);

// ---------------------------------------------------------------- f64 references

type Ref = (xs: number[][]) => number[];

function refBinary(aShape: number[], bShape: number[], f: (x: number, y: number) => number): Ref {
  const out = broadcastShape(aShape, bShape);
  return ([a, b]) => {
    const r: number[] = [];
    for (let i = 0; i < size(out); i++) {
      const idx = unravel(i, out);
      r.push(f(bcastAt(a, aShape, idx), bcastAt(b, bShape, idx)));
    }
    return r;
  };
}

const refUnary = (f: (x: number) => number): Ref => ([x]) => x.map(f);

/** erf by its everywhere-positive series erf(x) = 2/sqrt(pi) e^{-x^2} sum_n 2^n x^{2n+1} / (2n+1)!!: no cancellation. */
function erf64(x: number): number {
  let term = x;
  let s = x;
  for (let n = 1; n < 200 && Math.abs(term) > 1e-17 * Math.abs(s); n++) {
    term *= (2 * x * x) / (2 * n + 1);
    s += term;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * s;
}

type ReduceKind = 'sum' | 'mean' | 'max';

function refReduce(shape: number[], axes: number[] | number | undefined, kind: ReduceKind): Ref {
  const nd = shape.length;
  const list = axes === undefined ? shape.map((_, i) => i) : (Array.isArray(axes) ? axes : [axes]).map((a) => (a < 0 ? a + nd : a));
  const kept = shape.map((d, i) => (list.includes(i) ? 1 : d));
  return ([x]) => {
    const n = size(kept);
    const acc = new Array<number>(n).fill(kind === 'max' ? -Infinity : 0);
    for (let i = 0; i < x.length; i++) {
      const idx = unravel(i, shape).map((v, d) => (list.includes(d) ? 0 : v));
      const o = ravel(idx, kept);
      acc[o] = kind === 'max' ? Math.max(acc[o], x[i]) : acc[o] + x[i];
    }
    if (kind === 'mean') {
      const count = size(shape) / n;
      return acc.map((v) => v / count);
    }
    return acc;
  };
}

function refPermute(shape: number[], perm: number[]): Ref {
  const outShape = perm.map((p) => shape[p]);
  return ([x]) => {
    const r: number[] = [];
    for (let i = 0; i < x.length; i++) {
      const oi = unravel(i, outShape);
      const src = new Array<number>(shape.length);
      perm.forEach((p, d) => (src[p] = oi[d]));
      r.push(x[ravel(src, shape)]);
    }
    return r;
  };
}

function refSlice(shape: number[], axis: number, start: number, end: number): Ref {
  const a = axis < 0 ? axis + shape.length : axis;
  return ([x]) => x.filter((_, i) => {
    const c = unravel(i, shape)[a];
    return c >= start && c < end;
  });
}

function refConcat(shapes: number[][], axis: number): Ref {
  const a = axis < 0 ? axis + shapes[0].length : axis;
  const outShape = shapes[0].slice();
  outShape[a] = shapes.reduce((s, sh) => s + sh[a], 0);
  return (xs) => {
    const r: number[] = [];
    for (let i = 0; i < size(outShape); i++) {
      const idx = unravel(i, outShape);
      let k = 0;
      let c = idx[a];
      while (c >= shapes[k][a]) c -= shapes[k++][a];
      const src = idx.slice();
      src[a] = c;
      r.push(xs[k][ravel(src, shapes[k])]);
    }
    return r;
  };
}

function refMatmul(aShape: number[], bShape: number[], tA: boolean, tB: boolean): Ref {
  const m = tA ? aShape[aShape.length - 1] : aShape[aShape.length - 2];
  const k = tA ? aShape[aShape.length - 2] : aShape[aShape.length - 1];
  const n = tB ? bShape[bShape.length - 2] : bShape[bShape.length - 1];
  const aBatch = size(aShape.slice(0, -2));
  const bBatch = size(bShape.slice(0, -2));
  const nb = Math.max(aBatch, bBatch);
  return ([a, b]) => {
    const r: number[] = [];
    for (let q = 0; q < nb; q++) {
      const a0 = (aBatch === 1 ? 0 : q) * m * k;
      const b0 = (bBatch === 1 ? 0 : q) * k * n;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s += a[a0 + (tA ? p * m + i : i * k + p)] * b[b0 + (tB ? j * k + p : p * n + j)];
          r.push(s);
        }
      }
    }
    return r;
  };
}

/** Apply f to each last-axis row of x. */
function byRows(C: number, f: (row: number[]) => number[]): (x: number[]) => number[] {
  return (x) => {
    const r: number[] = [];
    for (let o = 0; o < x.length; o += C) r.push(...f(x.slice(o, o + C)));
    return r;
  };
}

function softmaxRow(row: number[]): number[] {
  const mx = Math.max(...row);
  const e = row.map((v) => Math.exp(v - mx));
  const s = e.reduce((p, q) => p + q, 0);
  return e.map((v) => v / s);
}

function logSoftmaxRow(row: number[]): number[] {
  const mx = Math.max(...row);
  const lse = mx + Math.log(row.reduce((p, v) => p + Math.exp(v - mx), 0));
  return row.map((v) => v - lse);
}

function refCrossEntropy(C: number, targets: Int32Array, ignore: number | undefined, reduction: 'mean' | 'sum' | 'none'): Ref {
  return ([x]) => {
    const losses: number[] = [];
    let total = 0;
    let count = 0;
    for (let r = 0; r < targets.length; r++) {
      if (ignore !== undefined && targets[r] === ignore) {
        losses.push(0);
        continue;
      }
      const ls = logSoftmaxRow(x.slice(r * C, (r + 1) * C));
      losses.push(-ls[targets[r]]);
      total += -ls[targets[r]];
      count++;
    }
    if (reduction === 'none') return losses;
    return [reduction === 'sum' ? total : total / count];
  };
}

function refLayerNorm(C: number, hasW: boolean, hasB: boolean, eps = 1e-5): Ref {
  return (xs) => {
    const x = xs[0];
    const w = hasW ? xs[1] : null;
    const b = hasB ? xs[hasW ? 2 : 1] : null;
    const r: number[] = [];
    for (let o = 0; o < x.length; o += C) {
      let mu = 0;
      for (let j = 0; j < C; j++) mu += x[o + j];
      mu /= C;
      let v = 0;
      for (let j = 0; j < C; j++) v += (x[o + j] - mu) ** 2;
      v /= C;
      for (let j = 0; j < C; j++) {
        const h = (x[o + j] - mu) / Math.sqrt(v + eps);
        r.push(h * (w ? w[j] : 1) + (b ? b[j] : 0));
      }
    }
    return r;
  };
}

// ---------------------------------------------------------------- elementwise

const binaryOps: Array<[string, (a: Tensor, b: Tensor) => Tensor, (x: number, y: number) => number]> = [
  ['add', E.add, (x, y) => x + y],
  ['sub', E.sub, (x, y) => x - y],
  ['mul', E.mul, (x, y) => x * y],
  ['div', E.div, (x, y) => x / y],
];

// The broadcasting patterns models use, plus the corner cases of the engine's fast paths.
const broadcastCases: Array<[number[], number[]]> = [
  [[3, 4], [3, 4]], // same shape
  [[4, 5], [5]], // [N,C] + [C]: a bias
  [[2, 3, 5], [3, 5]], // bias over trailing two axes
  [[2, 1, 5], [2, 3, 5]], // [B,1,C] + [B,T,C]: left side broadcast
  [[2, 3, 5], [2, 1, 5]], // [B,T,C] + [B,1,C]: right side broadcast, not a suffix
  [[3, 4], [1]], // scalar-shaped [1] on the right
  [[1], [3, 4]], // and on the left
  [[3, 4], []], // a 0-d scalar
  [[3, 1], [1, 4]], // both sides broadcast
  [[2, 3, 4], [3, 1]], // lower rank, broadcast inside
  [[5], [4, 5]], // lower rank on the left
  [[2, 3], [2, 1]], // a per-row scale
  [[3, 1], [4]], // left side broadcast, right side a suffix
];

test('binary ops with broadcasting: add, sub, mul, div', () => {
  for (const [name, op, f] of binaryOps) {
    for (const [sa, sb] of broadcastCases) {
      const nb = size(sb);
      const bData = name === 'div' ? rng.awayFromZero(nb, 0.5, 2) : rng.array(nb);
      gradcheck(`${name} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`, {
        inputs: [{ shape: sa }, { shape: sb, data: bData }],
        engine: ([a, b]) => op(a, b),
        reference: refBinary(sa, sb, f),
        outShape: broadcastShape(sa, sb),
      }, rng);
    }
  }
});

test('binary ops with one side not requiring grad', () => {
  gradcheck('mul, constant right', {
    inputs: [{ shape: [3, 4] }, { shape: [4], grad: false }],
    engine: ([a, b]) => E.mul(a, b),
    reference: refBinary([3, 4], [4], (x, y) => x * y),
  }, rng);
  gradcheck('div, constant left', {
    inputs: [{ shape: [3, 4], grad: false }, { shape: [3, 1], data: rng.awayFromZero(3, 0.5, 2) }],
    engine: ([a, b]) => E.div(a, b),
    reference: refBinary([3, 4], [3, 1], (x, y) => x / y),
  }, rng);
});

test('scalar ops: affine, addScalar, mulScalar, neg', () => {
  const cases: Array<[string, (x: Tensor) => Tensor, (v: number) => number]> = [
    ['affine', (x) => E.affine(x, 2.5, -0.75), (v) => v * 2.5 - 0.75],
    ['addScalar', (x) => E.addScalar(x, 3.25), (v) => v + 3.25],
    ['mulScalar', (x) => E.mulScalar(x, -1.5), (v) => v * -1.5],
    ['neg', (x) => E.neg(x), (v) => -v],
  ];
  for (const [name, op, f] of cases) {
    for (const shape of [[7], [3, 4], [2, 3, 2]]) {
      gradcheck(`${name} ${JSON.stringify(shape)}`, { inputs: [{ shape }], engine: ([x]) => op(x), reference: refUnary(f) }, rng);
    }
  }
});

test('unary functions: exp, log, sqrt, rsqrt, square, abs, relu, tanh, sigmoid, gelu', () => {
  const cases: Array<[string, (x: Tensor) => Tensor, (v: number) => number, (n: number) => number[]]> = [
    ['exp', E.exp, Math.exp, (n) => rng.array(n, -3, 3)],
    ['log', E.log, Math.log, (n) => rng.array(n, 0.2, 4)],
    ['sqrt', E.sqrt, Math.sqrt, (n) => rng.array(n, 0.2, 4)],
    ['rsqrt', E.rsqrt, (v) => 1 / Math.sqrt(v), (n) => rng.array(n, 0.2, 4)],
    ['square', E.square, (v) => v * v, (n) => rng.array(n, -2, 2)],
    ['abs', E.abs, Math.abs, (n) => rng.awayFromZero(n, 0.01, 2)],
    ['relu', E.relu, (v) => Math.max(v, 0), (n) => rng.awayFromZero(n, 0.01, 2)],
    ['tanh', E.tanh, Math.tanh, (n) => rng.array(n, -3, 3)],
    ['sigmoid', E.sigmoid, (v) => 1 / (1 + Math.exp(-v)), (n) => rng.array(n, -6, 6)],
    ['gelu', E.gelu, (v) => 0.5 * v * (1 + erf64(v / Math.SQRT2)), (n) => rng.array(n, -4, 4)],
  ];
  for (const [name, op, f, gen] of cases) {
    for (const shape of [[9], [4, 5], [2, 3, 4]]) {
      gradcheck(`${name} ${JSON.stringify(shape)}`, {
        inputs: [{ shape, data: gen(size(shape)) }],
        engine: ([x]) => op(x),
        reference: refUnary(f),
        outShape: shape,
      }, rng);
    }
  }
});

test('gelu: the exact erf form at known points (not the tanh approximation)', () => {
  // Values of x * Phi(x) from the normal CDF tables: Phi(1) = 0.8413447460685429, Phi(-2) = 0.022750131948179195.
  const x = Tensor.from([0, 1, -2, 3]);
  const y = E.gelu(x).toArray();
  const expect = [0, 0.8413447460685429, -2 * 0.022750131948179195, 3 * 0.9986501019683699];
  checkForward(y, expect, 1e-6, 'gelu table');
  // The tanh approximation gives 0.8411919906082768 at 1: far outside 1e-6.
  assert.ok(Math.abs(y[1] - 0.8411919906082768) > 1e-4);
});

// ---------------------------------------------------------------- reductions

test('reductions: sum, mean, max over one axis, several axes, all axes, keepdim', () => {
  const shape = [3, 4, 5];
  const axesCases: Array<number[] | number | undefined> = [0, 1, 2, -1, [0, 2], [1, 2], [2, 1], [-2, -1], [0, 1], [2, 0], [0, 1, 2], undefined];
  const kinds: Array<[ReduceKind, typeof sum]> = [['sum', sum], ['mean', mean], ['max', max]];
  for (const [kind, op] of kinds) {
    for (const axes of axesCases) {
      for (const keepdim of [false, true]) {
        const nd = shape.length;
        const list = axes === undefined ? [0, 1, 2] : (Array.isArray(axes) ? axes : [axes]).map((a) => (a < 0 ? a + nd : a));
        const outShape = keepdim ? shape.map((d, i) => (list.includes(i) ? 1 : d)) : shape.filter((_, i) => !list.includes(i));
        gradcheck(`${kind} axes=${JSON.stringify(axes)} keepdim=${keepdim}`, {
          // Distinct, well-separated values so max has a unique, stable argmax.
          inputs: [{ shape, data: kind === 'max' ? rng.distinct(size(shape), 2) : undefined }],
          engine: ([x]) => op(x, axes, keepdim),
          reference: refReduce(shape, axes, kind),
          outShape,
        }, rng);
      }
    }
  }
  // max on ties (not differentiable there): the whole gradient goes to the first maximal element.
  const t = Tensor.param(Float32Array.of(1, 3, 3, 2, 5, 5), [2, 3]);
  max(t, 1).backward(Float32Array.of(1, 2));
  assert.deepEqual(Array.from(t.grad!), [0, 1, 0, 0, 2, 0]);
  // A 2-D and a 1-D input through both of sum's paths.
  gradcheck('sum [6] all', { inputs: [{ shape: [6] }], engine: ([x]) => sum(x), reference: refReduce([6], undefined, 'sum'), outShape: [] }, rng);
  gradcheck('mean [4,6] axis 0', { inputs: [{ shape: [4, 6] }], engine: ([x]) => mean(x, 0), reference: refReduce([4, 6], 0, 'mean'), outShape: [6] }, rng);
});

// ---------------------------------------------------------------- shape ops

test('reshape (including -1)', () => {
  for (const [from, to, expect] of [
    [[3, 4], [2, 6], [2, 6]],
    [[2, 3, 4], [4, -1], [4, 6]],
    [[12], [2, -1, 3], [2, 2, 3]],
  ] as Array<[number[], number[], number[]]>) {
    gradcheck(`reshape ${JSON.stringify(from)} -> ${JSON.stringify(to)}`, {
      inputs: [{ shape: from }],
      engine: ([x]) => E.mul(reshape(x, to), reshape(x, to)), // used twice: gradients must add
      reference: ([x]) => x.map((v) => v * v),
      outShape: expect,
    }, rng);
  }
});

test('permute and transpose', () => {
  for (const [shape, perm] of [
    [[2, 3, 4], [2, 0, 1]],
    [[2, 3, 4], [1, 0, 2]],
    [[2, 3, 4, 5], [0, 2, 1, 3]], // the attention head split
    [[3, 2, 4, 5], [1, 2, 0, 3]], // attention's heads-first layout back to [B, T, H, dh]
    [[2, 3, 4], [0, 1, 2]], // identity: one run
    [[3, 5], [1, 0]],
  ] as Array<[number[], number[]]>) {
    gradcheck(`permute ${JSON.stringify(shape)} ${JSON.stringify(perm)}`, {
      inputs: [{ shape }],
      engine: ([x]) => permute(x, perm),
      reference: refPermute(shape, perm),
      outShape: perm.map((p) => shape[p]),
    }, rng);
  }
  gradcheck('transpose default (last two)', {
    inputs: [{ shape: [2, 3, 4] }],
    engine: ([x]) => transpose(x),
    reference: refPermute([2, 3, 4], [0, 2, 1]),
    outShape: [2, 4, 3],
  }, rng);
  gradcheck('transpose(0, 2)', {
    inputs: [{ shape: [2, 3, 4] }],
    engine: ([x]) => transpose(x, 0, 2),
    reference: refPermute([2, 3, 4], [2, 1, 0]),
    outShape: [4, 3, 2],
  }, rng);
});

test('slice along each axis', () => {
  const shape = [3, 4, 5];
  for (const [axis, start, end] of [[0, 1, 3], [1, 0, 2], [2, 1, 4], [-1, 4, 5], [1, 2, 2], [0, 0, 3]] as Array<[number, number, number]>) {
    const outShape = shape.slice();
    outShape[axis < 0 ? axis + 3 : axis] = end - start;
    gradcheck(`slice axis ${axis} [${start}, ${end})`, {
      inputs: [{ shape }],
      engine: ([x]) => slice(x, axis, start, end),
      reference: refSlice(shape, axis, start, end),
      outShape,
    }, rng);
  }
  // Two slices of the same tensor: gradients land in their own ranges and add where they overlap.
  gradcheck('two overlapping slices', {
    inputs: [{ shape: [4, 6] }],
    engine: ([x]) => E.add(slice(x, 1, 0, 4), slice(x, 1, 2, 6)),
    reference: ([x]) => {
      const r: number[] = [];
      for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) r.push(x[i * 6 + j] + x[i * 6 + j + 2]);
      return r;
    },
  }, rng);
});

test('concat along each axis', () => {
  for (const [shapes, axis] of [
    [[[2, 3], [1, 3], [3, 3]], 0],
    [[[2, 3, 4], [2, 1, 4], [2, 2, 4]], 1],
    [[[2, 3, 1], [2, 3, 4]], -1],
  ] as Array<[number[][], number]>) {
    const outShape = shapes[0].slice();
    const a = axis < 0 ? axis + outShape.length : axis;
    outShape[a] = shapes.reduce((s, sh) => s + sh[a], 0);
    gradcheck(`concat axis ${axis}`, {
      inputs: shapes.map((shape) => ({ shape })),
      engine: (xs) => concat(xs, axis),
      reference: refConcat(shapes, axis),
      outShape,
    }, rng);
  }
  gradcheck('concat with a constant piece', {
    inputs: [{ shape: [2, 2] }, { shape: [2, 3], grad: false }],
    engine: (xs) => concat(xs, 1),
    reference: refConcat([[2, 2], [2, 3]], 1),
  }, rng);
});

test('gather (embedding) with repeated ids: the gradient scatter-adds', () => {
  const V = 6;
  const D = 4;
  for (const [ids, idsShape] of [
    [Int32Array.of(0, 3, 3, 5, 0, 3), [2, 3]],
    [Int32Array.of(2, 2, 2, 2), [4]],
    [Int32Array.of(5, 1, 4, 1, 1, 0, 2, 3), [2, 2, 2]],
  ] as Array<[Int32Array, number[]]>) {
    gradcheck(`gather ids=${Array.from(ids)}`, {
      inputs: [{ shape: [V, D] }],
      engine: ([t]) => gather(t, ids, idsShape),
      reference: ([t]) => Array.from(ids).flatMap((id) => t.slice(id * D, (id + 1) * D)),
      outShape: [...idsShape, D],
    }, rng);
  }
});

test('where and maskedFill', () => {
  const shape = [3, 4];
  const full = Uint8Array.from({ length: 12 }, () => (rng.next() < 0.5 ? 1 : 0));
  const tiled = Uint8Array.of(1, 0, 0, 1);
  for (const [name, cond] of [['full mask', full], ['tiled mask', tiled]] as Array<[string, Uint8Array]>) {
    gradcheck(`where ${name}`, {
      inputs: [{ shape }, { shape }],
      engine: ([a, b]) => where(cond, a, b),
      reference: ([a, b]) => a.map((v, i) => (cond[i % cond.length] ? v : b[i])),
    }, rng);
    gradcheck(`maskedFill ${name}`, {
      inputs: [{ shape }],
      engine: ([x]) => maskedFill(x, cond, -2.5),
      reference: ([x]) => x.map((v, i) => (cond[i % cond.length] ? -2.5 : v)),
    }, rng);
  }
});

// ---------------------------------------------------------------- matmul

interface MatmulCase {
  label: string;
  a: number[];
  b: number[];
  transA: boolean;
  transB: boolean;
  out: number[];
  sample?: number;
}

function matmulCases(): MatmulCase[] {
  const cs: MatmulCase[] = [];
  // Stored shapes for C[m,n] = op(A) op(B), given m, k, n and the transposes.
  const sa = (m: number, k: number, t: boolean) => (t ? [k, m] : [m, k]);
  const sb = (k: number, n: number, t: boolean) => (t ? [n, k] : [k, n]);
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      const tag = `transA=${transA} transB=${transB}`;
      // Small (plain-JS path of the kernel) and larger (the wasm kernel, ragged edge tiles).
      cs.push({ label: `2-D 3x5x4 ${tag}`, a: sa(3, 5, transA), b: sb(5, 4, transB), transA, transB, out: [3, 4] });
      cs.push({ label: `2-D 7x9x6 ${tag}`, a: sa(7, 9, transA), b: sb(9, 6, transB), transA, transB, out: [7, 6] });
      cs.push({ label: `2-D 13x17x11 ${tag}`, a: sa(13, 17, transA), b: sb(17, 11, transB), transA, transB, out: [13, 11] });
      // Batched on both sides.
      cs.push({ label: `batched [2,3] ${tag}`, a: [2, 3, ...sa(5, 4, transA)], b: [2, 3, ...sb(4, 6, transB)], transA, transB, out: [2, 3, 5, 6] });
      // A shared 2-D right operand: folded into one tall product when transA is false, per batch when true.
      cs.push({ label: `shared right ${tag}`, a: [2, 3, ...sa(5, 8, transA)], b: sb(8, 6, transB), transA, transB, out: [2, 3, 5, 6] });
      // A shared 2-D left operand with a batched right side.
      cs.push({ label: `shared left ${tag}`, a: sa(5, 8, transA), b: [3, ...sb(8, 6, transB)], transA, transB, out: [3, 5, 6] });
    }
  }
  // Large enough to be split across worker threads (>= 2 MFLOP); FD on a sample of coordinates.
  cs.push({ label: 'threaded fold [2,64,128]@[128,96]', a: [2, 64, 128], b: [128, 96], transA: false, transB: false, out: [2, 64, 96], sample: 10 });
  cs.push({ label: 'threaded batched [2,64,128]@[2,96,128]ᵀ', a: [2, 64, 128], b: [2, 96, 128], transA: false, transB: true, out: [2, 64, 96], sample: 10 });
  return cs;
}

test('matmul: all transpose combinations, batched, shared operands on either side', () => {
  for (const c of matmulCases()) {
    const k = c.transA ? c.a[c.a.length - 2] : c.a[c.a.length - 1];
    gradcheck(`matmul ${c.label}`, {
      inputs: [{ shape: c.a }, { shape: c.b }],
      engine: ([a, b]) => matmul(a, b, { transA: c.transA, transB: c.transB }),
      reference: refMatmul(c.a, c.b, c.transA, c.transB),
      outShape: c.out,
      // The kernel sums k f32 products in order, rounding each product and each partial sum
      // (<= 2^-24 relative). With inputs in [-1, 1) the partial sums stay within a few times
      // 1 + |ref|, so the error is a small multiple of k * 2^-24 * (1 + |ref|): allow 4k ulps.
      fwdTol: Math.max(1e-5, 4 * k * 2 ** -24),
      sample: c.sample,
    }, rng);
  }
});

test('matmul with one constant operand (a frozen weight, fixed inputs)', () => {
  for (const [ga, gb] of [[true, false], [false, true]]) {
    for (const [a, b, transA, transB] of [
      [[2, 5, 8], [8, 6], false, false],
      [[2, 8, 5], [6, 8], true, true],
      [[5, 8], [3, 8, 6], false, false],
    ] as Array<[number[], number[], boolean, boolean]>) {
      gradcheck(`matmul ${JSON.stringify(a)}@${JSON.stringify(b)} grads=${ga},${gb}`, {
        inputs: [{ shape: a, grad: ga }, { shape: b, grad: gb }],
        engine: ([x, y]) => matmul(x, y, { transA, transB }),
        reference: refMatmul(a, b, transA, transB),
      }, rng);
    }
  }
});

test('matmul: gradients accumulate into an operand used on both sides (x @ xᵀ)', () => {
  gradcheck('x @ xᵀ', {
    inputs: [{ shape: [4, 6] }],
    engine: ([x]) => matmul(x, x, { transB: true }),
    reference: ([x]) => refMatmul([4, 6], [4, 6], false, true)([x, x]),
  }, rng);
});

// ---------------------------------------------------------------- softmax family

test('softmax and logSoftmax over the last axis', () => {
  for (const shape of [[4, 7], [2, 3, 5], [6], [3, 1]]) {
    const C = shape[shape.length - 1];
    gradcheck(`softmax ${JSON.stringify(shape)}`, {
      inputs: [{ shape, data: rng.array(size(shape), -3, 3) }],
      engine: ([x]) => softmax(x),
      reference: ([x]) => byRows(C, softmaxRow)(x),
    }, rng);
    gradcheck(`logSoftmax ${JSON.stringify(shape)}`, {
      inputs: [{ shape, data: rng.array(size(shape), -3, 3) }],
      engine: ([x]) => logSoftmax(x),
      reference: ([x]) => byRows(C, logSoftmaxRow)(x),
    }, rng);
  }
});

test('softmax and logSoftmax forward with masked (-Infinity) entries', () => {
  const C = 5;
  const data = rng.array(15, -2, 2);
  data[5] = -Infinity; // row 1: two masked entries
  data[8] = -Infinity;
  data[14] = -Infinity; // row 2: one
  const x = Tensor.from(data, [3, C]);
  checkForward(softmax(x).data, byRows(C, softmaxRow)(data), 1e-5, 'softmax masked');
  checkForward(logSoftmax(x).data, byRows(C, logSoftmaxRow)(data), 1e-5, 'logSoftmax masked');
  assert.equal(softmax(x).data[5], 0);
  assert.equal(logSoftmax(x).data[8], -Infinity);
});

test('softmax after causalMask: gradient flows only to unmasked scores', () => {
  const T = 4;
  gradcheck('softmax(causalMask(x)) [2,4,4]', {
    inputs: [{ shape: [2, T, T], data: rng.array(2 * T * T, -2, 2) }],
    engine: ([x]) => softmax(causalMask(x)),
    reference: ([x]) => byRows(T, softmaxRow)(x.map((v, i) => ((i % T) > Math.floor(i / T) % T ? -Infinity : v))),
  }, rng);
});

test('crossEntropy: ignoreIndex and reductions mean, sum, none', () => {
  const C = 5;
  const IGN = -100;
  const targets2d = Int32Array.of(0, 4, IGN, 2, 1, IGN);
  const targets3d = Int32Array.of(3, 3, 0, IGN, 1, 4);
  for (const reduction of ['mean', 'sum', 'none'] as const) {
    for (const [shape, targets, ignore] of [
      [[6, C], targets2d, IGN],
      [[2, 3, C], targets3d, IGN],
      [[4, C], Int32Array.of(1, 0, 2, 0), 0], // ignoreIndex that is also a valid class
      [[3, C], Int32Array.of(1, 2, 3), undefined],
    ] as Array<[number[], Int32Array, number | undefined]>) {
      gradcheck(`crossEntropy ${reduction} ${JSON.stringify(shape)} ignore=${ignore}`, {
        inputs: [{ shape, data: rng.array(size(shape), -3, 3) }],
        engine: ([x]) => crossEntropy(x, targets, { ignoreIndex: ignore, reduction }),
        reference: refCrossEntropy(C, targets, ignore, reduction),
        outShape: reduction === 'none' ? shape.slice(0, -1) : [],
      }, rng);
    }
  }
});

test('crossEntropy: ignored rows get exactly zero gradient', () => {
  const x = Tensor.param(Float32Array.from(rng.array(12)), [3, 4]);
  crossEntropy(x, Int32Array.of(1, -1, 2), { ignoreIndex: -1 }).backward();
  assert.deepEqual(Array.from(x.grad!.subarray(4, 8)), [0, 0, 0, 0]);
});

// ---------------------------------------------------------------- layer norm

test('layerNorm with and without weight and bias', () => {
  for (const shape of [[4, 6], [2, 3, 8]]) {
    const C = shape[shape.length - 1];
    for (const [hasW, hasB] of [[true, true], [true, false], [false, true], [false, false]]) {
      const inputs = [{ shape, data: rng.array(size(shape), -2, 2) }];
      if (hasW) inputs.push({ shape: [C], data: rng.array(C, 0.5, 1.5) });
      if (hasB) inputs.push({ shape: [C], data: rng.array(C) });
      gradcheck(`layerNorm ${JSON.stringify(shape)} weight=${hasW} bias=${hasB}`, {
        inputs,
        engine: (xs) => layerNorm(xs[0], hasW ? xs[1] : null, hasB ? xs[hasW ? 2 : 1] : null),
        reference: refLayerNorm(C, hasW, hasB),
      }, rng);
    }
  }
  // A row of nearly equal values: the variance is tiny next to eps, the gradient must stay right.
  gradcheck('layerNorm near-constant row', {
    inputs: [{ shape: [2, 4], data: [1, 1.001, 0.999, 1.0005, -1, 2, 0.5, 0] }, { shape: [4] }, { shape: [4] }],
    engine: ([x, w, b]) => layerNorm(x, w, b),
    reference: refLayerNorm(4, true, true),
  }, rng);
});

// ---------------------------------------------------------------- dropout

test('dropout with a fixed mask: forward is x*mask*scale, gradient is mask*scale', () => {
  const draws = [0.9, 0.1, 0.5, 0.29, 0.31, 0.7, 0.05, 0.99, 0.3, 0.6, 0.2, 0.8];
  const p = 0.3;
  const makeRng = () => {
    let i = 0;
    return { next: () => draws[i++ % draws.length] } as unknown as Parameters<typeof dropout>[2];
  };
  const keep = draws.map((d) => (d >= p ? 1 : 0));
  const scale = 1 / (1 - p);
  gradcheck('dropout p=0.3', {
    inputs: [{ shape: [3, 4] }],
    engine: ([x]) => dropout(x, p, makeRng(), true),
    reference: ([x]) => x.map((v, i) => v * keep[i] * scale),
  }, rng);
  const x = Tensor.param(Float32Array.from(rng.array(12)), [3, 4]);
  const y = dropout(x, p, makeRng(), true);
  y.backward(new Float32Array(12).fill(1));
  assert.deepEqual(Array.from(x.grad!), keep.map((k) => (k ? Math.fround(scale) : 0)));
  // With the engine's generator: the same seed gives the same mask, and about p of the units drop.
  const big = Tensor.param(new Float32Array(20000).fill(1), [100, 200]);
  const y1 = dropout(big, p, new Rng(42), true);
  const y2 = dropout(big, p, new Rng(42), true);
  assert.deepEqual(y1.data, y2.data);
  const dropped = y1.toArray().filter((v) => v === 0).length / 20000;
  assert.ok(Math.abs(dropped - p) < 0.015, `dropped fraction ${dropped}`);
  assert.ok(y1.toArray().every((v) => v === 0 || v === Math.fround(scale)));
  // Evaluation and p = 0 are the identity (the same tensor, no rng draws).
  assert.equal(dropout(x, p, makeRng(), false), x);
  assert.equal(dropout(x, 0, makeRng(), true), x);
});

// ---------------------------------------------------------------- top-k

test('topk and keepTopK (distinct values: no ties)', () => {
  for (const [shape, k] of [[[3, 8], 3], [[2, 2, 6], 1], [[4, 5], 5], [[2, 7], 0]] as Array<[number[], number]>) {
    const C = shape[shape.length - 1];
    const sortedIdx = (row: number[]) => row.map((v, j) => [v, j]).sort((p, q) => q[0] - p[0]).slice(0, k).map((e) => e[1]);
    gradcheck(`topk ${JSON.stringify(shape)} k=${k}`, {
      inputs: [{ shape, data: rng.distinct(size(shape), 3) }],
      engine: ([x]) => topk(x, k).values,
      reference: ([x]) => byRows(C, (row) => sortedIdx(row).map((j) => row[j]))(x),
      outShape: [...shape.slice(0, -1), k],
    }, rng);
    if (k === 0) continue;
    gradcheck(`keepTopK ${JSON.stringify(shape)} k=${k}`, {
      inputs: [{ shape, data: rng.distinct(size(shape), 3) }],
      engine: ([x]) => keepTopK(x, k),
      reference: ([x]) => byRows(C, (row) => {
        const keep = new Set(sortedIdx(row));
        return row.map((v, j) => (keep.has(j) ? v : 0));
      })(x),
      outShape: shape,
    }, rng);
  }
  const x = Tensor.from([0.5, 3, -1, 2, 7, 1], [1, 6]);
  assert.deepEqual(Array.from(topk(x, 3).indices), [4, 1, 3]);
});

// ---------------------------------------------------------------- composition

test('a small MLP end to end: layerNorm, matmul, gelu, matmul, crossEntropy', () => {
  const B = 3, T = 2, D = 4, H = 6, V = 5;
  const targets = Int32Array.of(0, 4, 2, -1, 1, 3);
  const lnRef = refLayerNorm(D, true, true);
  const mm = (x: number[], w: number[], rows: number, k: number, n: number) => refMatmul([rows, k], [k, n], false, false)([x, w]);
  gradcheck('mlp', {
    inputs: [{ shape: [B, T, D] }, { shape: [D] }, { shape: [D] }, { shape: [D, H] }, { shape: [H] }, { shape: [H, V] }],
    engine: ([x, g, b, w1, b1, w2]) => {
      const h = E.gelu(E.add(matmul(layerNorm(x, g, b), w1), b1));
      return crossEntropy(matmul(h, w2), targets, { ignoreIndex: -1 });
    },
    reference: ([x, g, b, w1, b1, w2]) => {
      const n = lnRef([x, g, b]);
      const pre = mm(n, w1, B * T, D, H).map((v, i) => v + b1[i % H]);
      const h = pre.map((v) => 0.5 * v * (1 + erf64(v / Math.SQRT2)));
      return refCrossEntropy(V, targets, -1, 'mean')([mm(h, w2, B * T, H, V)]);
    },
    outShape: [],
  }, rng);
});

// Keep the helper's own pieces honest: its reference broadcasting agrees with a hand-written case.
test('gradcheck helpers: broadcasting reference and strides', () => {
  assert.deepEqual(broadcastShape([3, 1], [1, 4]), [3, 4]);
  assert.deepEqual(strides([2, 3, 4]), [12, 4, 1]);
  assert.equal(bcastAt([10, 20, 30], [3, 1], [2, 3]), 30);
  assert.deepEqual(refBinary([3, 1], [1, 2], (x, y) => x * 10 + y)([[1, 2, 3], [4, 5]]), [14, 15, 24, 25, 34, 35]);
});
