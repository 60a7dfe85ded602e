// The elementwise and row-wise kernels of assembly/elementwise.ts (GELU, layer
// norm forward and backward, column sums, elementwise product) behind
// synchronous functions over Float32Arrays.
//
// Bits: each kernel performs the IEEE operations of the plain TypeScript code
// in ops-elementwise.ts / ops-nn.ts / fastmath.ts, in the same order per
// element, so the results are the same bits as that code (NaN payloads
// aside). The TypeScript code stays the path for small tensors, where copying
// into wasm memory costs more than it saves, and the reference for tests.
//
// Data path per call: operands in the step arena (arena.ts) are used in place;
// others are copied into the shared wasm memory and the results back out
// (kernel-operands.ts). Large tensors are cut into pieces (elements,
// rows or columns) that the main thread and the worker pool (threads.ts)
// share, exactly like a matmul; every piece does the same operations per
// element as one call over everything would, so the bits do not depend on the
// split or the thread count. The regions start after the per-thread scratch
// at the kernels' heap base, which the matmul also uses; that is safe because
// both are synchronous and never overlap in time (workers only touch the
// memory inside a parallel call).

import { wasmKernels } from './wasm.js';
import { KernelOperands } from './kernel-operands.js';
import { getThreads, runParallel, type KernelName } from './threads.js';

interface ElementwiseExports {
  geluForward(x: number, out: number, deriv: number, n: number, tmp: number): void;
  geluScratchBytes(): number;
  mulF32(a: number, b: number, out: number, n: number): void;
  layerNormForward(x: number, w: number, b: number, xhat: number, out: number, rstd: number, R: number, C: number, eps: number): void;
  layerNormBackward(g: number, w: number, xhat: number, rstd: number, gx: number, R: number, C: number): void;
  columnSums(g: number, x: number, sumG: number, sumGX: number, R: number, C: number, acc: number): void;
}

// Below this many elements the TypeScript path is used (measured on the
// reference GPT step: a copy into wasm memory and back costs ~1 ns/element,
// the call itself ~1 µs).
let minElements = 4096;

/** True when an op over n elements should use the wasm kernel. */
export function useElementwiseWasm(n: number): boolean {
  return n >= minElements;
}

/**
 * Tensors with fewer elements than this stay in TypeScript. Tests and tuning
 * only (0 = always wasm, Infinity = never); returns the previous value.
 */
export function setElementwiseWasmMin(n: number): number {
  const prev = minElements;
  minElements = n;
  return prev;
}

// Per-thread scratch (GELU's blocks, column sums' f64 accumulators) is the
// matmul's per-thread scratch at the heap base; data regions start after the
// scratch of every thread that may run.
function kernels(): { ex: ElementwiseExports; base: number; scratchBase: number; scratchStride: number } {
  const wk = wasmKernels();
  return {
    ex: wk.exports as unknown as ElementwiseExports,
    base: wk.heapBase + Math.max(1, getThreads()) * wk.scratchBytes,
    scratchBase: wk.heapBase,
    scratchStride: wk.scratchBytes,
  };
}

// Pieces smaller than this many elements are not worth waking a worker for
// (~25-50 µs; GELU does ~4096 elements in that time).
const PARALLEL_MIN_ELEMENTS = 32768;

/**
 * Run a range kernel over [0, total) units (elements, rows or columns) of
 * `elements` values in all: one piece per thread and a few more, cut on
 * multiples of `align` units, on the main thread alone when small.
 */
function runRanges(kernel: KernelName, args: number[], total: number, align: number, elements: number): void {
  const { scratchBase, scratchStride } = kernels();
  const threads = elements >= PARALLEL_MIN_ELEMENTS ? getThreads() : 1;
  const pieces = threads <= 1 ? 1 : Math.min(4 * threads, Math.ceil(total / align));
  const chunks: number[][] = [];
  for (let i = 0; i < pieces; i++) {
    const u0 = Math.min(total, Math.ceil((i * total) / pieces / align) * align);
    const u1 = i === pieces - 1 ? total : Math.min(total, Math.ceil(((i + 1) * total) / pieces / align) * align);
    if (u1 > u0) chunks.push([u0, u1]);
  }
  runParallel({ kernel, args, chunks, scratchBase, scratchStride, threads });
}

/** out = GELU(x) and, when deriv is given, deriv = GELU'(x): fastmath.geluInto's bits. */
export function geluWasm(x: Float32Array, out: Float32Array, deriv: Float32Array | null): void {
  const n = x.length;
  if (out.length !== n || (deriv && deriv.length !== n)) throw new Error('geluWasm: lengths differ');
  if (n === 0) return;
  const ops = new KernelOperands(kernels().base);
  const xo = ops.input(x), oo = ops.output(out), dO = deriv ? ops.output(deriv) : 0;
  ops.ready();
  runRanges('geluRange', [xo, oo, dO], n, 64, n);
  ops.finish();
}

/** out[i] = f32(a[i] * b[i]). */
export function mulWasm(a: Float32Array, b: Float32Array, out: Float32Array): void {
  const n = out.length;
  if (a.length !== n || b.length !== n) throw new Error('mulWasm: lengths differ');
  if (n === 0) return;
  const ops = new KernelOperands(kernels().base);
  const ao = ops.input(a), bo = ops.input(b), oo = ops.output(out);
  ops.ready();
  runRanges('mulRange', [ao, bo, oo], n, 64, n);
  ops.finish();
}

/** Layer norm forward of R rows of C (ops-nn.ts layerNorm's bits): fills xhat, out and rstd. */
export function layerNormForwardWasm(x: Float32Array, w: Float32Array | null, b: Float32Array | null,
  xhat: Float32Array, out: Float32Array, rstd: Float32Array, R: number, C: number, eps: number): void {
  const n = R * C;
  if (x.length !== n || xhat.length !== n || out.length !== n || rstd.length !== R) throw new Error('layerNormForwardWasm: lengths differ');
  if ((w && w.length !== C) || (b && b.length !== C)) throw new Error('layerNormForwardWasm: weight or bias length differs from C');
  if (n === 0) return;
  const ops = new KernelOperands(kernels().base);
  const epsAt = ops.temp(8);
  const xo = ops.input(x), wo = w ? ops.input(w) : 0, bo = b ? ops.input(b) : 0;
  const ho = ops.output(xhat), oo = ops.output(out), ro = ops.output(rstd);
  new Float64Array(ops.ready().buffer, epsAt, 1)[0] = eps;
  runRanges('layerNormForwardRows', [xo, wo, bo, ho, oo, ro, C, epsAt], R, 1, n);
  ops.finish();
}

/** dx of layer norm (ops-nn.ts layerNorm's backward bits) into gx. */
export function layerNormBackwardWasm(g: Float32Array, w: Float32Array | null, xhat: Float32Array, rstd: Float32Array,
  gx: Float32Array, R: number, C: number): void {
  const n = R * C;
  if (g.length !== n || xhat.length !== n || gx.length !== n || rstd.length !== R) throw new Error('layerNormBackwardWasm: lengths differ');
  if (w && w.length !== C) throw new Error('layerNormBackwardWasm: weight length differs from C');
  if (n === 0) return;
  const ops = new KernelOperands(kernels().base);
  const go = ops.input(g), wo = w ? ops.input(w) : 0, ho = ops.input(xhat), ro = ops.input(rstd), xo = ops.output(gx);
  ops.ready();
  runRanges('layerNormBackwardRows', [go, wo, ho, ro, xo, C], R, 1, n);
  ops.finish();
}

/**
 * Column sums of g [R, C] in f64, rows in order, rounded to f32: sumG[j] =
 * sum_r g[r][j] and, when x and sumGX are given, sumGX[j] = sum_r g[r][j]*x[r][j].
 * The bias and weight gradients of matmulBias and layerNorm, with their bits.
 */
export function columnSumsWasm(g: Float32Array, x: Float32Array | null, sumG: Float32Array | null, sumGX: Float32Array | null,
  R: number, C: number): void {
  const n = R * C;
  if (g.length !== n || (x && x.length !== n)) throw new Error('columnSumsWasm: lengths differ');
  if ((sumG && sumG.length !== C) || (sumGX && sumGX.length !== C)) throw new Error('columnSumsWasm: output length differs from C');
  const withX = x !== null && sumGX !== null;
  const { ex, base, scratchStride } = kernels();
  const ops = new KernelOperands(base);
  const acc = ops.temp(16 * C);
  const go = ops.input(g), xo = withX ? ops.input(x!) : 0;
  // The kernel always writes both sums; an unwanted one goes to a temporary.
  const so = sumG ? ops.output(sumG) : ops.temp(4 * C);
  const sxo = withX ? ops.output(sumGX!) : ops.temp(4 * C);
  ops.ready();
  // Each thread's f64 accumulators (16 bytes a column) must fit its scratch.
  if (16 * C <= scratchStride) runRanges('columnSumsCols', [go, xo, so, withX ? sxo : 0, R, C], C, 2, n);
  else ex.columnSums(go, xo, so, withX ? sxo : 0, R, C, acc);
  ops.finish();
}

/** causalSoftmax forward (ops-nn.ts's bits) of x [R, T] rows into out; keys past the query get 0. */
export function causalSoftmaxWasm(x: Float32Array, out: Float32Array, T: number, scale: number): void {
  const n = x.length;
  if (out.length !== n || T <= 0 || n % T !== 0) throw new Error('causalSoftmaxWasm: lengths differ or are not rows of T');
  if (n === 0) return;
  const ops = new KernelOperands(kernels().base);
  const scaleAt = ops.temp(8);
  const xo = ops.input(x), oo = ops.output(out);
  new Float64Array(ops.ready().buffer, scaleAt, 1)[0] = scale;
  runRanges('causalSoftmaxRows', [xo, oo, T, scaleAt], n / T, 1, n);
  ops.finish();
}

/** causalSoftmax backward (ops-nn.ts's bits): gx from the output gradient g and the output y. */
export function causalSoftmaxBackwardWasm(g: Float32Array, y: Float32Array, gx: Float32Array, T: number, scale: number): void {
  const n = g.length;
  if (y.length !== n || gx.length !== n || T <= 0 || n % T !== 0) throw new Error('causalSoftmaxBackwardWasm: lengths differ or are not rows of T');
  if (n === 0) return;
  const ops = new KernelOperands(kernels().base);
  const scaleAt = ops.temp(8);
  const go = ops.input(g), yo = ops.input(y), xo = ops.output(gx);
  new Float64Array(ops.ready().buffer, scaleAt, 1)[0] = scale;
  runRanges('causalSoftmaxBackwardRows', [go, yo, xo, T, scaleAt], n / T, 1, n);
  ops.finish();
}

/** softmax forward (ops-nn.ts's bits) of x [R, C] rows into out. */
export function softmaxWasm(x: Float32Array, out: Float32Array, C: number): void {
  const n = x.length;
  if (out.length !== n || C <= 0 || n % C !== 0) throw new Error('softmaxWasm: lengths differ or are not rows of C');
  if (n === 0) return;
  const ops = new KernelOperands(kernels().base);
  const xo = ops.input(x), oo = ops.output(out);
  ops.ready();
  runRanges('softmaxRows', [xo, oo, C], n / C, 1, n);
  ops.finish();
}

/** softmax backward (ops-nn.ts's bits): gx from the output gradient g and the output y. */
export function softmaxBackwardWasm(g: Float32Array, y: Float32Array, gx: Float32Array, C: number): void {
  const n = g.length;
  if (y.length !== n || gx.length !== n || C <= 0 || n % C !== 0) throw new Error('softmaxBackwardWasm: lengths differ or are not rows of C');
  if (n === 0) return;
  const ops = new KernelOperands(kernels().base);
  const go = ops.input(g), yo = ops.input(y), xo = ops.output(gx);
  ops.ready();
  runRanges('softmaxBackwardRows', [go, yo, xo, C], n / C, 1, n);
  ops.finish();
}

// ---------------------------------------------------------------- pointwise (assembly/pointwise.ts)
// For operands that already live in the wasm memory (the step arena): there
// the kernel saves the JS loop's time without adding copies. The callers in
// ops-elementwise.ts check that before choosing this path.

const BINARY_OP = { add: 0, sub: 1, mul: 2, div: 3, accumulate: 4 } as const;

/** out = a op b elementwise (same lengths); 'accumulate' is out += a (b ignored). */
export function binaryWasm(a: Float32Array, b: Float32Array | null, out: Float32Array, op: keyof typeof BINARY_OP): void {
  const n = out.length;
  if (a.length !== n || (b && b.length !== n)) throw new Error('binaryWasm: lengths differ');
  if (n === 0) return;
  const ops = new KernelOperands(kernels().base);
  const ao = ops.input(a), bo = b ? ops.input(b) : 0;
  const oo = op === 'accumulate' ? ops.inout(out) : ops.output(out);
  ops.ready();
  runRanges('binaryRange', [ao, bo, oo, BINARY_OP[op]], n, 64, n);
  ops.finish();
}

/** out = f32(x * scale + shift) in f64 (shift -0 leaves every product, -0 included, as it is). */
export function affineWasm(x: Float32Array, out: Float32Array, scale: number, shift: number): void {
  const n = out.length;
  if (x.length !== n) throw new Error('affineWasm: lengths differ');
  if (n === 0) return;
  const ops = new KernelOperands(kernels().base);
  const params = ops.temp(16);
  const xo = ops.input(x), oo = ops.output(out);
  const f64 = new Float64Array(ops.ready().buffer, params, 2);
  f64[0] = scale;
  f64[1] = shift;
  runRanges('affineRange', [xo, oo, params], n, 64, n);
  ops.finish();
}

/** out = -x. */
export function negWasm(x: Float32Array, out: Float32Array): void {
  const n = out.length;
  if (x.length !== n) throw new Error('negWasm: lengths differ');
  if (n === 0) return;
  const ops = new KernelOperands(kernels().base);
  const xo = ops.input(x), oo = ops.output(out);
  ops.ready();
  runRanges('negRange', [xo, oo], n, 64, n);
  ops.finish();
}

/** out = relu(x), or with g the gradient out = g * (x > 0 ? 1 : 0). */
export function reluWasm(x: Float32Array, g: Float32Array | null, out: Float32Array): void {
  const n = out.length;
  if (x.length !== n || (g && g.length !== n)) throw new Error('reluWasm: lengths differ');
  if (n === 0) return;
  const ops = new KernelOperands(kernels().base);
  const xo = ops.input(x), go = g ? ops.input(g) : 0, oo = ops.output(out);
  ops.ready();
  runRanges('reluRange', [xo, go, oo], n, 64, n);
  ops.finish();
}
