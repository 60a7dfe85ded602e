// Runs the AND-OR split's iteration loop in the wasm kernel
// (assembly/interactions.ts sparsifyAndOrF64): the same IEEE operations as
// sparsifyAndOrJs in the same order, so the same bits, several times faster
// (f64x2 lanes, no JS array bounds checks). The caller validates and computes
// the learning-rate schedule; this file only moves data in and out.
//
// Memory: the arrays live in the kernels' shared memory from its heap base,
// the region the matmul also uses; both are synchronous on the main thread,
// so they never overlap in time.

import { align64, ensureMemory, wasmKernels } from '../../engine/wasm.js';
import { arenaTop } from '../../engine/arena.js';

// Blocks of 2^BLOCK_BITS values (even: a power of 4) for the butterflies'
// low passes; GLASSBOX_SPARSIFY_BLOCK_BITS overrides it for tuning only (the
// bits do not depend on it).
const validBits = (b: number): boolean => Number.isInteger(b) && b >= 2 && b <= 24 && b % 2 === 0;
const envBits = Number(process.env.GLASSBOX_SPARSIFY_BLOCK_BITS);
let blockBits = validBits(envBits) ? envBits : 12;

/** Tests and tuning only: the block size's log2 (even, 2..24); returns the previous one. */
export function setSparsifyBlockBits(bits: number): number {
  if (!validBits(bits)) throw new Error(`setSparsifyBlockBits: expected an even integer in [2, 24], got ${bits}`);
  const prev = blockBits;
  blockBits = bits;
  return prev;
}

interface SparsifyExports {
  sparsifyAndOrF64(v: number, p: number, q: number, bufP: number, bufQ: number,
    a: number, r: number, lrs: number, out: number, size: number, iters: number, mu: number, bound: number, blockBits: number): void;
}

export interface SparsifyState {
  p: Float64Array;
  q: Float64Array;
  /** I_and (Möbius of v_and) and the un-negated OR transform, as the last iteration left them. */
  a: Float64Array;
  r: Float64Array;
  /** v_or(∅) of the last iteration. */
  orEmpty: number;
  l1Start: number;
}

/**
 * `iters` split iterations from p = q = 0 over v (2^n values, n ≥ 1), with
 * lrs[it] the learning rate of iteration it (length ≥ iters - 1).
 */
export function sparsifyLoopWasm(v: Float64Array, lrs: Float64Array, iters: number, mu: number, bound: number): SparsifyState {
  const size = v.length;
  if (size < 2) throw new Error(`sparsifyLoopWasm: needs at least 2 values, got ${size}`);
  const wk = wasmKernels();
  const ex = wk.exports as unknown as SparsifyExports;
  const arr = align64(size * 8);
  // Above the step arena, should this ever run inside a training step.
  let off = align64(Math.max(wk.heapBase, arenaTop()));
  const at = (bytes: number): number => { const o = off; off += align64(bytes); return o; };
  const [vo, po, qo, bpo, bqo, ao, ro] = [0, 1, 2, 3, 4, 5, 6].map(() => at(arr)) as [number, number, number, number, number, number, number];
  const lo = at(Math.max(1, lrs.length) * 8);
  const oo = at(16);
  ensureMemory(off);
  let heap = new Float64Array(wk.memory.buffer);
  heap.set(v, vo / 8);
  heap.fill(0, po / 8, ro / 8); // p, q, bufP, bufQ, a
  heap.set(lrs, lo / 8);
  ex.sparsifyAndOrF64(vo, po, qo, bpo, bqo, ao, ro, lo, oo, size, iters, mu, bound, blockBits);
  heap = new Float64Array(wk.memory.buffer);
  const view = (o: number): Float64Array => heap.slice(o / 8, o / 8 + size);
  return { p: view(po), q: view(qo), a: view(ao), r: view(ro), l1Start: heap[oo / 8]!, orEmpty: heap[oo / 8 + 1]! };
}
