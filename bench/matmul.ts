// Matmul throughput, GFLOP/s (2*batch*m*n*k / time), copies in and out of the
// wasm memory included. Thread counts alternate inside each round so that they
// are compared under the same machine conditions (figures on shared 2-core
// machines drift 10-30% run to run; ratios within one run are what to trust).

import { performance } from 'node:perf_hooks';
import { getThreads, matmulF32, setThreads, type MatmulSpec } from '../src/engine/matmul-kernel.js';

export interface MatmulBenchRow {
  m: number; k: number; n: number;
  threads: number;
  gflops: number;
  transA?: boolean; transB?: boolean;
  batch?: number;
}

interface Shape { batch: number; m: number; k: number; n: number; transA: boolean; transB: boolean }

const both = [false, true];
function shapes(): Shape[] {
  const list: Shape[] = [];
  // The two reference shapes, in all four transpose cases.
  for (const [m, k, n] of [[2048, 128, 512], [512, 512, 512]] as const) {
    for (const transA of both) for (const transB of both) list.push({ batch: 1, m, k, n, transA, transB });
  }
  // The tiny GPT's training step (d_model 128, MLP 512, 64x32 = 2048 tokens):
  list.push({ batch: 1, m: 2048, k: 512, n: 128, transA: false, transB: false }); // MLP down-projection
  list.push({ batch: 1, m: 2048, k: 512, n: 128, transA: false, transB: true });  // dX of the up-projection: dY W^T
  list.push({ batch: 1, m: 128, k: 2048, n: 512, transA: true, transB: false });  // dW = X^T dY (up)
  list.push({ batch: 1, m: 512, k: 2048, n: 128, transA: true, transB: false });  // dW = H^T dY (down)
  // Attention: 256 = batch 64 x 4 heads, seq 32, head dim 32.
  list.push({ batch: 256, m: 32, k: 32, n: 32, transA: false, transB: true });  // Q K^T
  list.push({ batch: 256, m: 32, k: 32, n: 32, transA: false, transB: false }); // P V
  list.push({ batch: 256, m: 32, k: 32, n: 32, transA: true, transB: false });  // dK-style P^T dS
  return list;
}

function fill(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 32 - 0.5;
  }
  return a;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
};

/**
 * Median GFLOP/s of each benchmark shape for each thread count in
 * `threadsList`, alternating thread counts within every round. Restores the
 * thread count it found.
 */
export async function benchMatmul(threadsList: number[], opts: { rounds?: number; sampleMs?: number } = {}): Promise<MatmulBenchRow[]> {
  const rounds = opts.rounds ?? 7;
  const sampleMs = opts.sampleMs ?? 25;
  const saved = getThreads();
  const rows: MatmulBenchRow[] = [];
  try {
    for (const sh of shapes()) {
      const { batch, m, k, n, transA, transB } = sh;
      const spec: MatmulSpec = { batch, m, n, k, transA, transB, aBatchStride: m * k, bBatchStride: k * n };
      const a = fill(batch * m * k, 1), b = fill(batch * k * n, 2), out = new Float32Array(batch * m * n);
      const flop = 2 * batch * m * n * k;
      // Calibrate the calls per sample on one thread (also warms up V8's tiers).
      setThreads(1);
      let t0 = performance.now(), calls = 0;
      while (performance.now() - t0 < sampleMs) { matmulF32(a, b, out, spec); calls++; }
      const iters = Math.max(1, Math.round(calls * 0.8));
      for (const t of threadsList) { setThreads(t); matmulF32(a, b, out, spec); matmulF32(a, b, out, spec); }
      const samples = new Map<number, number[]>(threadsList.map((t) => [t, []]));
      for (let r = 0; r < rounds; r++) {
        for (const t of threadsList) {
          setThreads(t);
          t0 = performance.now();
          for (let i = 0; i < iters; i++) matmulF32(a, b, out, spec);
          const sec = (performance.now() - t0) / 1000;
          samples.get(t)!.push((flop * iters) / sec / 1e9);
        }
        // Yield so a caller's progress output or timers can run.
        await new Promise((resolve) => setImmediate(resolve));
      }
      for (const t of threadsList) {
        rows.push({ m, k, n, threads: t, gflops: median(samples.get(t)!), transA, transB, ...(batch > 1 ? { batch } : {}) });
      }
    }
  } finally {
    setThreads(saved);
  }
  return rows;
}
