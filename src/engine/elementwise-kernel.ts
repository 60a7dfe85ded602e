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
// Data path per call: copy the operands into the shared wasm memory, run the
// kernel, copy the results out. Large tensors are cut into pieces (elements,
// rows or columns) that the main thread and the worker pool (threads.ts)
// share, exactly like a matmul; every piece does the same operations per
// element as one call over everything would, so the bits do not depend on the
// split or the thread count. The regions start after the per-thread scratch
// at the kernels' heap base, which the matmul also uses; that is safe because
// both are synchronous and never overlap in time (workers only touch the
// memory inside a parallel call).

import { align64, ensureMemory, heapF32, wasmKernels } from './wasm.js';
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

const region = (n: number): number => align64(n * 4);

/** Lay out consecutive regions of the given element counts from `base`; returns their byte offsets and the end. */
function layout(base: number, counts: number[]): { offs: number[]; end: number } {
  const offs: number[] = [];
  let p = base;
  for (const c of counts) {
    offs.push(p);
    p += region(c);
  }
  return { offs, end: p };
}

/** out = GELU(x) and, when deriv is given, deriv = GELU'(x): fastmath.geluInto's bits. */
export function geluWasm(x: Float32Array, out: Float32Array, deriv: Float32Array | null): void {
  const n = x.length;
  if (out.length !== n || (deriv && deriv.length !== n)) throw new Error('geluWasm: lengths differ');
  if (n === 0) return;
  const { base } = kernels();
  const { offs: [xo, oo, dO], end } = layout(base, [n, n, deriv ? n : 0]);
  ensureMemory(end);
  const heap = heapF32();
  heap.set(x, xo! >> 2);
  runRanges('geluRange', [xo!, oo!, deriv ? dO! : 0], n, 64, n);
  out.set(heap.subarray(oo! >> 2, (oo! >> 2) + n));
  if (deriv) deriv.set(heap.subarray(dO! >> 2, (dO! >> 2) + n));
}

/** out[i] = f32(a[i] * b[i]). */
export function mulWasm(a: Float32Array, b: Float32Array, out: Float32Array): void {
  const n = out.length;
  if (a.length !== n || b.length !== n) throw new Error('mulWasm: lengths differ');
  if (n === 0) return;
  const { base } = kernels();
  const { offs: [ao, bo, oo], end } = layout(base, [n, n, n]);
  ensureMemory(end);
  const heap = heapF32();
  heap.set(a, ao! >> 2);
  heap.set(b, bo! >> 2);
  runRanges('mulRange', [ao!, bo!, oo!], n, 64, n);
  out.set(heap.subarray(oo! >> 2, (oo! >> 2) + n));
}

/** Layer norm forward of R rows of C (ops-nn.ts layerNorm's bits): fills xhat, out and rstd. */
export function layerNormForwardWasm(x: Float32Array, w: Float32Array | null, b: Float32Array | null,
  xhat: Float32Array, out: Float32Array, rstd: Float32Array, R: number, C: number, eps: number): void {
  const n = R * C;
  if (x.length !== n || xhat.length !== n || out.length !== n || rstd.length !== R) throw new Error('layerNormForwardWasm: lengths differ');
  if ((w && w.length !== C) || (b && b.length !== C)) throw new Error('layerNormForwardWasm: weight or bias length differs from C');
  if (n === 0) return;
  const { base } = kernels();
  const { offs: [epsAt, xo, wo, bo, ho, oo, ro], end } = layout(base, [2, n, w ? C : 0, b ? C : 0, n, n, R]);
  ensureMemory(end);
  const heap = heapF32();
  new Float64Array(heap.buffer, epsAt!, 1)[0] = eps;
  heap.set(x, xo! >> 2);
  if (w) heap.set(w, wo! >> 2);
  if (b) heap.set(b, bo! >> 2);
  runRanges('layerNormForwardRows', [xo!, w ? wo! : 0, b ? bo! : 0, ho!, oo!, ro!, C, epsAt!], R, 1, n);
  xhat.set(heap.subarray(ho! >> 2, (ho! >> 2) + n));
  out.set(heap.subarray(oo! >> 2, (oo! >> 2) + n));
  rstd.set(heap.subarray(ro! >> 2, (ro! >> 2) + R));
}

/** dx of layer norm (ops-nn.ts layerNorm's backward bits) into gx. */
export function layerNormBackwardWasm(g: Float32Array, w: Float32Array | null, xhat: Float32Array, rstd: Float32Array,
  gx: Float32Array, R: number, C: number): void {
  const n = R * C;
  if (g.length !== n || xhat.length !== n || gx.length !== n || rstd.length !== R) throw new Error('layerNormBackwardWasm: lengths differ');
  if (w && w.length !== C) throw new Error('layerNormBackwardWasm: weight length differs from C');
  if (n === 0) return;
  const { base } = kernels();
  const { offs: [go, wo, ho, ro, xo], end } = layout(base, [n, w ? C : 0, n, R, n]);
  ensureMemory(end);
  const heap = heapF32();
  heap.set(g, go! >> 2);
  if (w) heap.set(w, wo! >> 2);
  heap.set(xhat, ho! >> 2);
  heap.set(rstd, ro! >> 2);
  runRanges('layerNormBackwardRows', [go!, w ? wo! : 0, ho!, ro!, xo!, C], R, 1, n);
  gx.set(heap.subarray(xo! >> 2, (xo! >> 2) + n));
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
  const { offs: [acc, go, xo, so, sxo], end } = layout(base, [4 * C, n, withX ? n : 0, C, C]);
  ensureMemory(end);
  const heap = heapF32();
  heap.set(g, go! >> 2);
  if (withX) heap.set(x!, xo! >> 2);
  // Each thread's f64 accumulators (16 bytes a column) must fit its scratch.
  if (16 * C <= scratchStride) runRanges('columnSumsCols', [go!, withX ? xo! : 0, so!, withX ? sxo! : 0, R, C], C, 2, n);
  else ex.columnSums(go!, withX ? xo! : 0, so!, withX ? sxo! : 0, R, C, acc!);
  if (sumG) sumG.set(heap.subarray(so! >> 2, (so! >> 2) + C));
  if (withX) sumGX!.set(heap.subarray(sxo! >> 2, (sxo! >> 2) + C));
}

/** causalSoftmax forward (ops-nn.ts's bits) of x [R, T] rows into out; keys past the query get 0. */
export function causalSoftmaxWasm(x: Float32Array, out: Float32Array, T: number, scale: number): void {
  const n = x.length;
  if (out.length !== n || T <= 0 || n % T !== 0) throw new Error('causalSoftmaxWasm: lengths differ or are not rows of T');
  if (n === 0) return;
  const { base } = kernels();
  const { offs: [scaleAt, xo, oo], end } = layout(base, [2, n, n]);
  ensureMemory(end);
  const heap = heapF32();
  new Float64Array(heap.buffer, scaleAt!, 1)[0] = scale;
  heap.set(x, xo! >> 2);
  runRanges('causalSoftmaxRows', [xo!, oo!, T, scaleAt!], n / T, 1, n);
  out.set(heap.subarray(oo! >> 2, (oo! >> 2) + n));
}

/** causalSoftmax backward (ops-nn.ts's bits): gx from the output gradient g and the output y. */
export function causalSoftmaxBackwardWasm(g: Float32Array, y: Float32Array, gx: Float32Array, T: number, scale: number): void {
  const n = g.length;
  if (y.length !== n || gx.length !== n || T <= 0 || n % T !== 0) throw new Error('causalSoftmaxBackwardWasm: lengths differ or are not rows of T');
  if (n === 0) return;
  const { base } = kernels();
  const { offs: [scaleAt, go, yo, xo], end } = layout(base, [2, n, n, n]);
  ensureMemory(end);
  const heap = heapF32();
  new Float64Array(heap.buffer, scaleAt!, 1)[0] = scale;
  heap.set(g, go! >> 2);
  heap.set(y, yo! >> 2);
  runRanges('causalSoftmaxBackwardRows', [go!, yo!, xo!, T, scaleAt!], n / T, 1, n);
  gx.set(heap.subarray(xo! >> 2, (xo! >> 2) + n));
}
