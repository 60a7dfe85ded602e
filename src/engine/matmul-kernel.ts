// Batched f32 matrix product: the deterministic WASM SIMD kernel
// (assembly/kernels.ts) behind a synchronous API, split across worker threads
// for large products.
//
// Bits: every output element is acc = 0; for p in order: acc = f32(acc +
// f32(a*b)). The kernel keeps that order per element whatever the tiling, and
// threads split the output into disjoint tiles, so the result is bit-identical
// to matmulReference below for any thread count. (NaN payloads are the one
// exception: wasm does not specify which NaN an operation returns, so a NaN
// result is a NaN but its bits may differ from the reference.)
//
// Data path per call: operands already in the wasm memory (the step arena,
// arena.ts) are read and written in place; others are copied into the shared
// memory (A, B, `out` when accumulating, the bias rows) and C back out.

import { heapF32, wasmKernels } from './wasm.js';
import { KernelOperands } from './kernel-operands.js';
import { getThreads, runParallel } from './threads.js';

export { getThreads, setThreads, withThreads, shutdownThreads, workerChunkCount } from './threads.js';

export interface MatmulSpec {
  batch: number;        // number of independent products
  m: number; n: number; k: number;
  transA: boolean;      // false: A[b] stored row-major [m,k]; true: stored [k,m]
  transB: boolean;      // false: B[b] stored row-major [k,n]; true: stored [n,k]
  aBatchStride: number; // elements between consecutive A matrices (0 = broadcast)
  bBatchStride: number; // likewise for B
  accumulate?: boolean; // true: out[i] = f32(out[i] + prod[i]) after the product is complete
  /**
   * A bias row added to every row of each product once it is complete:
   * out[b][i][j] = f32(prod + bias[b*biasBatchStride + j]). Not with accumulate or sumBatch.
   */
  bias?: Float32Array;
  biasBatchStride?: number; // elements between the bias rows of consecutive products (0 = one row for all)
  /**
   * Sum the batch's products into one [m, n] output, in batch order:
   * out = ((([out +] P_0) + P_1) + ...), each product complete and each sum
   * rounded to f32: the bits of one accumulating call per product, in one call.
   */
  sumBatch?: boolean;
}

// Products below this many flops run on the main thread only: waking workers
// costs ~25-50 µs, which is what ~1 MFLOP takes on one core at ~20 GFLOP/s.
let parallelMinFlops = 2e6;
// Products below this many flops run in plain JS (same bits): for tiny
// matrices the copies into wasm memory and the packing dominate.
const JS_MAX_FLOPS = 2 * 8 * 8 * 8;

const MR = 4; // kernel register tile rows (assembly/kernels.ts)
const NR = 8; // kernel register tile columns

function describe(s: MatmulSpec): string {
  return `batch=${s.batch} m=${s.m} n=${s.n} k=${s.k} transA=${s.transA} transB=${s.transB} ` +
    `aBatchStride=${s.aBatchStride} bBatchStride=${s.bBatchStride}`;
}

/** Elements of A and B the spec reads, after checking it; throws naming matmul and the shapes. */
function checkSpec(a: Float32Array, b: Float32Array, out: Float32Array, s: MatmulSpec): { needA: number; needB: number } {
  for (const key of ['batch', 'm', 'n', 'k', 'aBatchStride', 'bBatchStride'] as const) {
    const v = s[key];
    if (!Number.isInteger(v) || v < 0) throw new Error(`matmul: ${key} must be a non-negative integer (${describe(s)})`);
  }
  if (typeof s.transA !== 'boolean' || typeof s.transB !== 'boolean') {
    throw new Error(`matmul: transA and transB must be booleans (${describe(s)})`);
  }
  const { batch, m, n, k } = s;
  if (s.bias !== undefined && (s.accumulate === true || s.sumBatch === true)) {
    throw new Error(`matmul: bias cannot be combined with accumulate or sumBatch (${describe(s)})`);
  }
  const needA = batch === 0 || m * k === 0 ? 0 : (batch - 1) * s.aBatchStride + m * k;
  const needB = batch === 0 || k * n === 0 ? 0 : (batch - 1) * s.bBatchStride + k * n;
  const shapeA = s.transA ? `[${k},${m}]` : `[${m},${k}]`;
  const shapeB = s.transB ? `[${n},${k}]` : `[${k},${n}]`;
  if (a.length < needA) {
    throw new Error(`matmul: A has ${a.length} elements, needs ${needA} for ${batch} x ${shapeA} (${describe(s)})`);
  }
  if (b.length < needB) {
    throw new Error(`matmul: B has ${b.length} elements, needs ${needB} for ${batch} x ${shapeB} (${describe(s)})`);
  }
  const outItems = s.sumBatch === true ? 1 : batch;
  if (out.length !== outItems * m * n) {
    throw new Error(`matmul: out has ${out.length} elements, expected ${outItems * m * n} = [${outItems},${m},${n}] (${describe(s)})`);
  }
  if (s.bias !== undefined) {
    const bs = s.biasBatchStride ?? 0;
    if (!Number.isInteger(bs) || bs < 0) throw new Error(`matmul: biasBatchStride must be a non-negative integer (${describe(s)})`);
    const needBias = n === 0 ? 0 : (batch - 1) * bs + n;
    if (s.bias.length < needBias) throw new Error(`matmul: bias has ${s.bias.length} elements, needs ${needBias} (${describe(s)})`);
  }
  if (needA + needB + 2 * out.length > 2 ** 30) {
    throw new Error(`matmul: operands too large for the 4 GiB wasm memory (${describe(s)})`);
  }
  return { needA, needB };
}

/**
 * out[b] = op(A[b]) @ op(B[b]) (or out[b] += ... with accumulate), out is
 * [batch, m, n] contiguous. Synchronous; bit-identical to matmulReference.
 */
export function matmulF32(a: Float32Array, b: Float32Array, out: Float32Array, spec: MatmulSpec): void {
  const { needA, needB } = checkSpec(a, b, out, spec);
  const { batch, m, n, k, transA, transB } = spec;
  const acc = spec.accumulate === true;
  const sumBatch = spec.sumBatch === true && batch > 1;
  const bias = spec.bias;
  const len = out.length;
  if (len === 0) return;
  const flops = 2 * batch * m * n * k;
  if (k === 0 || flops <= JS_MAX_FLOPS) {
    // Tiny products, and the empty sum (+0; accumulating adds it, turning -0
    // into +0, like the kernel).
    matmulReference(a, b, out, spec);
    return;
  }

  const wk = wasmKernels();
  const threads = flops < parallelMinFlops ? 1 : Math.min(getThreads(), 64);
  // A batch sharing one A (one input times a weight per head) packs each
  // block of A once for all items; chunks are then rows of one product.
  const sharedA = !sumBatch && batch > 1 && spec.aBatchStride === 0;
  const chunks = plan(sumBatch || sharedA ? { ...spec, batch: 1 } : spec, threads);
  const T = Math.min(threads, chunks.length);
  const biasLen = bias ? (batch - 1) * (spec.biasBatchStride ?? 0) + n : 0;
  // Operands in the step arena are used where they are; the rest are copied
  // into temporaries: [A][B][C][D = old out, when accumulating][E = bias rows]
  // [P = one product of a summed batch]. An accumulating call keeps C and D
  // apart (copying out) so the kernel never reads what it has just written.
  const ops = new KernelOperands(wk.heapBase + T * wk.scratchBytes);
  const aOff = ops.input(a, needA);
  const bOff = ops.input(b, needB);
  const cOff = acc ? ops.temp(len * 4) : ops.output(out);
  const dOff = acc ? ops.input(out) : 0;
  const eOff = bias ? ops.input(bias, biasLen) : 0;
  const pOff = sumBatch ? ops.temp(len * 4) : 0;
  ops.ready();

  // op(A)[i][p] = A[i*ars + p*acs]; op(B)[p][j] = B[p*brs + j*bcs] (elements).
  const ars = transA ? 1 : k, acs = transA ? m : 1;
  const brs = transB ? 1 : n, bcs = transB ? k : 1;
  const strides = [m, n, k, ars, acs, brs, bcs, spec.aBatchStride, spec.bBatchStride];
  const eBS = spec.biasBatchStride ?? 0;
  runParallel({
    kernel: sumBatch ? 'gemmSum' : sharedA ? 'gemmSharedA' : 'gemm',
    args: sumBatch ? [aOff, bOff, cOff, dOff, pOff, batch, ...strides]
      : sharedA ? [aOff, bOff, cOff, dOff, eOff, eBS, batch, m, n, k, ars, acs, brs, bcs, spec.bBatchStride]
      : [aOff, bOff, cOff, dOff, eOff, eBS, ...strides],
    chunks,
    scratchBase: wk.heapBase,
    scratchStride: wk.scratchBytes,
    threads: T,
  });
  if (acc) {
    const heap = heapF32();
    out.set(heap.subarray(cOff >> 2, (cOff >> 2) + len));
  }
  ops.finish();
}

/**
 * Products smaller than this (in flops, 2*batch*m*n*k) stay on the main
 * thread. Tuning and tests only (tests set 0 to split even tiny products);
 * returns the previous value.
 */
export function setParallelMinFlops(flops: number): number {
  const prev = parallelMinFlops;
  parallelMinFlops = flops;
  return prev;
}

/**
 * Cut the output of a batched product into chunks [row0, row1, col0, col1),
 * rows counted over the whole batch (batch*m), for threads to claim one at a
 * time (threads.ts). Boundaries fall on kernel tiles (MR rows within a
 * product, NR columns), so no cut creates extra edge tiles.
 *
 * Rows or columns: whichever makes the threads re-pack less. Each chunk of
 * rows packs all of B for its batch items; each chunk of columns packs all of
 * A. Up to 4 chunks per thread, so a thread that starts late or runs slowly
 * (a busy core) costs at most a small piece; but each chunk keeps >= 128 rows
 * (or columns) where it can, so re-packing costs <= ~3% (measured: 512^3 cut
 * in 4 row chunks runs 2% slower than whole, in 16 chunks 10% slower).
 */
function plan(s: MatmulSpec, threads: number): number[][] {
  const { batch, m, n, k } = s;
  const rows = batch * m;
  if (threads <= 1) return [[0, rows, 0, n]];
  const tilesPerItem = Math.ceil(m / MR);
  const rowUnits = batch * tilesPerItem;
  const colUnits = Math.ceil(n / NR);
  // Elements each chunk packs beyond its share, if split by rows or by columns.
  const bShared = s.bBatchStride === 0 && batch > 1;
  const rowRepack = bShared ? k * n : k * n * Math.min(batch, 1 + Math.ceil(batch / threads));
  const colRepack = batch * m * k;
  const byCols = rowUnits < threads || (colUnits >= threads && colRepack < rowRepack);
  const units = byCols ? colUnits : rowUnits;
  const extent = byCols ? n : rows;
  const count = Math.min(units, Math.max(threads, Math.min(4 * threads, Math.floor(extent / 128))));
  const chunks: number[][] = [];
  for (let i = 0; i < count; i++) {
    const u0 = Math.floor((i * units) / count), u1 = Math.floor(((i + 1) * units) / count);
    if (byCols) {
      chunks.push([0, rows, Math.min(u0 * NR, n), Math.min(u1 * NR, n)]);
    } else {
      const row = (u: number): number =>
        u === rowUnits ? rows : Math.floor(u / tilesPerItem) * m + (u % tilesPerItem) * MR;
      chunks.push([row(u0), row(u1), 0, n]);
    }
  }
  return chunks;
}

/**
 * The same product in plain TypeScript, with the same bits: each element is
 * a sum over p in order, each product and each sum rounded to f32.
 * (Math.fround of a double sum of two f32 values equals the f32 sum: double
 * rounding is harmless when the wider format has >= 2*24+2 bits.)
 */
export function matmulReference(a: Float32Array, b: Float32Array, out: Float32Array, spec: MatmulSpec): void {
  checkSpec(a, b, out, spec);
  const { batch, m, n, k, transA, transB, aBatchStride, bBatchStride } = spec;
  const acc = spec.accumulate === true;
  const sumBatch = spec.sumBatch === true;
  const bias = spec.bias;
  const biasStride = spec.biasBatchStride ?? 0;
  const ars = transA ? 1 : k, acs = transA ? m : 1;
  const brs = transB ? 1 : n, bcs = transB ? k : 1;
  const fr = Math.fround;
  if (sumBatch && batch === 0 && !acc) out.fill(0);
  for (let bi = 0; bi < batch; bi++) {
    const a0 = bi * aBatchStride, b0 = bi * bBatchStride, o0 = sumBatch ? 0 : bi * m * n;
    // In a summed batch, item 0 starts the sum (or adds to out when accumulating).
    const add = acc || (sumBatch && bi > 0);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        let ai = a0 + i * ars, bj = b0 + j * bcs;
        for (let p = 0; p < k; p++, ai += acs, bj += brs) s = fr(s + fr(a[ai]! * b[bj]!));
        const o = o0 + i * n + j;
        if (bias) s = fr(s + bias[bi * biasStride + j]!);
        out[o] = add ? fr(out[o]! + s) : s;
      }
    }
  }
}
