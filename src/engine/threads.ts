// A small pool of worker threads that run wasm kernels on the shared memory.
//
// Why this shape:
// - Every worker instantiates the same WebAssembly.Module on the same shared
//   WebAssembly.Memory, so a job is just "call kernel X with these integer
//   arguments" (pointers into that memory). No data is ever posted.
// - Signalling is Atomics.wait/notify on a control Int32Array in its own
//   SharedArrayBuffer: about 25-50 µs per round trip, where postMessage costs
//   45-75 µs and needs the main thread's event loop (matmulF32 is synchronous).
// - A job is a list of chunks (disjoint pieces of the output). The main thread
//   and the workers claim chunks from a shared counter until none are left.
//   Which thread computes a chunk never changes its bits (kernels split work by
//   output tiles), so this dynamic split is as deterministic as a static one,
//   and it degrades gracefully when a core is busy: if a worker is not
//   scheduled in time, the main thread simply takes its chunks.
// - Each worker has a state word (sequence*4 + phase). The main thread posts a
//   job by setting POSTED; a worker starts it only by compare-and-swap
//   POSTED -> RUNNING; when the main thread runs out of chunks it cancels with
//   POSTED -> CANCELLED. Exactly one of the two swaps wins, so the main thread
//   waits only for workers that really started, never for a sleeping one.
//   (A worker sleeps with Atomics.wait on the state value it last read, so a
//   job posted before it fell asleep makes the wait return at once: it can
//   never sleep through a job.)
// - Workers are unref()'d so a program that never calls shutdownThreads still
//   exits, and each worker's slot sits on its own cache line.

import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { wasmKernels } from './wasm.js';

/** Kernels a worker may be asked to run (index = id in the control block). */
export const KERNEL_NAMES = [
  'gemm', 'gemmSum', 'gemmSharedA', 'geluRange', 'mulRange', 'layerNormForwardRows', 'layerNormBackwardRows', 'columnSumsCols',
  'causalSoftmaxRows', 'causalSoftmaxBackwardRows', 'softmaxRows', 'softmaxBackwardRows',
  'binaryRange', 'affineRange', 'negRange', 'reluRange',
] as const;
export type KernelName = (typeof KERNEL_NAMES)[number];

/** Control block layout, in Int32 words. */
export const CTRL = {
  NEXT: 0, // next unclaimed chunk (its own cache line)
  NCHUNKS: 16,
  KERNEL: 17, // index into KERNEL_NAMES, or EXIT
  NARGS: 18,
  CHUNK_ARGS: 19, // arguments per chunk
  SCRATCH_BASE: 20, // last argument = SCRATCH_BASE + thread * SCRATCH_STRIDE
  SCRATCH_STRIDE: 21,
  ERRORS: 22, // chunks whose kernel call threw in a worker
  WORKER_CHUNKS: 23, // chunks computed by workers since the pool started (tests, tuning)
  ARGS: 32, MAX_ARGS: 32,
  STATES: 64, STATE_STRIDE: 16, // worker w's state word: STATES + w * STATE_STRIDE
  MAX_WORKERS: 63,
  CHUNK_TABLE: 64 + 16 * 63, MAX_CHUNKS: 1024, MAX_CHUNK_ARGS: 8,
  EXIT: -1,
} as const;
/** State phases (low two bits of a worker's state word). */
export const PHASE = { POSTED: 0, RUNNING: 1, DONE: 2, CANCELLED: 3 } as const;
const CTRL_WORDS = CTRL.CHUNK_TABLE + CTRL.MAX_CHUNKS * CTRL.MAX_CHUNK_ARGS;

/** Passed to each worker at start (see matmul-worker.ts). */
export interface WorkerStart {
  module: object;
  memory: object;
  ctrl: SharedArrayBuffer;
  worker: number; // thread index is worker + 1; the main thread is 0
  spin: number;
}

// How long to busy-wait before sleeping, in Atomics.load polls (a few ns each).
// A worker is usually asked again within microseconds during a training step,
// and the main thread usually finishes at about the same time as the workers,
// so a short spin saves a futex round trip (~10-30 µs) for a few µs of a core.
const MAIN_SPIN = 20000;
const WORKER_SPIN = 20000;

function defaultThreads(): number {
  const env = process.env['GLASSBOX_THREADS'];
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1 || n > CTRL.MAX_WORKERS + 1) {
      throw new Error(`GLASSBOX_THREADS must be an integer in [1, ${CTRL.MAX_WORKERS + 1}], got "${env}"`);
    }
    return n;
  }
  return Math.min(availableParallelism(), 4);
}

let threads: number | undefined;
let mainWorks = true;

/**
 * Tests only: with false, the main thread leaves every chunk to the workers
 * (and waits for them to claim all of them), so that a test knows which
 * threads computed what. Returns the previous setting.
 */
export function setMainThreadWorks(on: boolean): boolean {
  const prev = mainWorks;
  mainWorks = on;
  return prev;
}

/** Total threads used by parallel kernels, including the main thread. */
export function getThreads(): number {
  if (threads === undefined) threads = defaultThreads();
  return threads;
}

/** Set the total thread count (1 = main thread only). Workers start lazily. */
export function setThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > CTRL.MAX_WORKERS + 1) {
    throw new Error(`setThreads: expected an integer in [1, ${CTRL.MAX_WORKERS + 1}], got ${n}`);
  }
  threads = n;
}

/**
 * Run `fn` with `n` threads, then put the previous count back. Library code
 * never changes the count behind its caller's back; a caller that wants a
 * count for one computation (a test comparing 1 and 2 threads) says so here.
 */
export async function withThreads<T>(n: number, fn: () => T | Promise<T>): Promise<T> {
  const before = threads;
  setThreads(n);
  try {
    return await fn();
  } finally {
    threads = before;
  }
}

interface Pool {
  ctrl: Int32Array;
  workers: Worker[];
  seq: number[]; // sequence number of the last job posted to each worker
}
let pool: Pool | undefined;

/** Per-worker word: 1 once the kernels are instantiated, -1 if that failed. */
export const readyWord = (w: number): number => CTRL.STATES + w * CTRL.STATE_STRIDE + 1;
/** Per-worker word: chunks this worker has computed since the pool started (tests). */
export const chunksWord = (w: number): number => CTRL.STATES + w * CTRL.STATE_STRIDE + 2;
export const stateWord = (w: number): number => CTRL.STATES + w * CTRL.STATE_STRIDE;

function getPool(): Pool {
  if (!pool) {
    const ctrl = new Int32Array(new SharedArrayBuffer(4 * CTRL_WORDS));
    for (let w = 0; w < CTRL.MAX_WORKERS; w++) ctrl[stateWord(w)] = PHASE.DONE; // seq 0, idle
    pool = { ctrl, workers: [], seq: [] };
  }
  return pool;
}

function spawnWorkers(p: Pool, count: number): void {
  const { module, memory } = wasmKernels();
  while (p.workers.length < count) {
    const w = p.workers.length;
    const start: WorkerStart = { module, memory, ctrl: p.ctrl.buffer as SharedArrayBuffer, worker: w, spin: WORKER_SPIN };
    // execArgv: [] so the worker does not inherit flags meant for the main
    // script (with `node --input-type=module -e ...` the worker never started).
    const worker = new Worker(new URL('./matmul-worker.js', import.meta.url), { workerData: start, execArgv: [] });
    worker.unref();
    // Failures are reported through the control block; this keeps an
    // unhandled 'error' event from also crashing the process.
    worker.on('error', () => { Atomics.store(p.ctrl, readyWord(w), -1); });
    p.workers.push(worker);
    p.seq.push(0);
  }
}

// A worker that is still starting is not waited for: it is posted the job like
// the others and is simply cancelled if the other threads finish first. Only a
// worker that failed to instantiate is an error.
function checkWorkers(p: Pool, count: number): void {
  for (let w = 0; w < count; w++) {
    if (Atomics.load(p.ctrl, readyWord(w)) < 0) {
      throw new Error(`glassbox threads: worker ${w} failed to start or instantiate the wasm kernels`);
    }
  }
}

/** One parallel kernel launch. */
export interface ParallelJob {
  kernel: KernelName;
  /** Leading i32 arguments, the same for every chunk (pointers are byte offsets; they travel as their bits). */
  args: number[];
  /** Per-chunk i32 arguments, appended after `args`; every entry the same length. */
  chunks: number[][];
  /** The last argument is scratchBase + thread * scratchStride (thread 0 = main). */
  scratchBase: number;
  scratchStride: number;
  /** Threads to use, including the main thread (1 = run everything here). */
  threads: number;
}

/**
 * Run job.kernel once per chunk, spread over the main thread and up to
 * threads-1 workers; returns when every chunk is done.
 */
export function runParallel(job: ParallelJob): void {
  const { kernel, args, chunks } = job;
  const fn = (wasmKernels().exports as unknown as Record<KernelName, (...a: number[]) => void>)[kernel];
  const nw = Math.min(job.threads, chunks.length) - 1;
  if (nw <= 0) {
    for (const c of chunks) fn(...args, ...c, job.scratchBase);
    return;
  }
  const nca = chunks[0]!.length;
  if (nw > CTRL.MAX_WORKERS || args.length > CTRL.MAX_ARGS || nca > CTRL.MAX_CHUNK_ARGS || chunks.length > CTRL.MAX_CHUNKS) {
    throw new Error(`runParallel: job for ${kernel} exceeds the control block (threads/args/chunks)`);
  }
  const p = getPool();
  spawnWorkers(p, nw);
  checkWorkers(p, nw);
  const { ctrl } = p;

  ctrl[CTRL.NCHUNKS] = chunks.length;
  ctrl[CTRL.KERNEL] = KERNEL_NAMES.indexOf(kernel);
  ctrl[CTRL.NARGS] = args.length;
  ctrl[CTRL.CHUNK_ARGS] = nca;
  ctrl[CTRL.SCRATCH_BASE] = job.scratchBase | 0;
  ctrl[CTRL.SCRATCH_STRIDE] = job.scratchStride | 0;
  ctrl[CTRL.ERRORS] = 0;
  for (let i = 0; i < args.length; i++) ctrl[CTRL.ARGS + i] = args[i]! | 0;
  for (let c = 0; c < chunks.length; c++) {
    const ch = chunks[c]!, base = CTRL.CHUNK_TABLE + c * CTRL.MAX_CHUNK_ARGS;
    for (let i = 0; i < nca; i++) ctrl[base + i] = ch[i]! | 0;
  }
  Atomics.store(ctrl, CTRL.NEXT, 0);
  // Post: the Atomics.store of the state is a full barrier after the plain
  // stores above, so a worker that sees POSTED sees the whole job.
  for (let w = 0; w < nw; w++) {
    const seq = ++p.seq[w]!;
    Atomics.store(ctrl, stateWord(w), seq * 4 + PHASE.POSTED);
    Atomics.notify(ctrl, stateWord(w), 1);
  }

  let mainError: unknown;
  try {
    const callArgs = [...args, ...chunks[0]!, job.scratchBase];
    let c: number;
    if (!mainWorks) {
      while ((c = Atomics.load(ctrl, CTRL.NEXT)) < chunks.length) Atomics.wait(ctrl, CTRL.NEXT, c, 1);
    }
    while ((c = Atomics.add(ctrl, CTRL.NEXT, 1)) < chunks.length) {
      const ch = chunks[c]!;
      for (let i = 0; i < nca; i++) callArgs[args.length + i] = ch[i]!;
      fn(...callArgs);
    }
  } catch (e) {
    mainError = e;
    Atomics.store(ctrl, CTRL.NEXT, chunks.length); // stop the workers claiming more
  }

  // Cancel workers that have not started; wait for those that have (they are
  // still writing into the shared memory).
  for (let w = 0; w < nw; w++) {
    const idx = stateWord(w), seq = p.seq[w]!;
    const posted = seq * 4 + PHASE.POSTED, running = seq * 4 + PHASE.RUNNING;
    if (Atomics.compareExchange(ctrl, idx, posted, seq * 4 + PHASE.CANCELLED) === posted) continue;
    let spins = 0;
    while (Atomics.load(ctrl, idx) === running) {
      if (spins < MAIN_SPIN) spins++;
      else Atomics.wait(ctrl, idx, running);
    }
  }
  if (mainError !== undefined) throw mainError;
  if (Atomics.load(ctrl, CTRL.ERRORS) > 0) throw new Error(`glassbox threads: a worker failed while running ${kernel}`);
}

/** Chunks computed by worker threads (not the main thread) since the pool started. */
export function workerChunkCount(): number {
  return pool ? Atomics.load(pool.ctrl, CTRL.WORKER_CHUNKS) : 0;
}

/** Tests only: chunks computed by each started worker since the pool started (index = worker, thread = index + 1). */
export function workerChunkCounts(): number[] {
  const p = pool;
  return p ? p.workers.map((_, w) => Atomics.load(p.ctrl, chunksWord(w))) : [];
}

/** Stop all workers and wait for them to exit. The pool restarts on next use. */
export async function shutdownThreads(): Promise<void> {
  const p = pool;
  if (!p) return;
  pool = undefined;
  p.ctrl[CTRL.KERNEL] = CTRL.EXIT;
  const exits = p.workers.map((worker, w) => {
    // ref() while we wait, or an otherwise idle process could exit (code 13,
    // unsettled top-level await) before the 'exit' events arrive.
    worker.ref();
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    Atomics.store(p.ctrl, stateWord(w), ++p.seq[w]! * 4 + PHASE.POSTED);
    Atomics.notify(p.ctrl, stateWord(w), 1);
    return exited;
  });
  await Promise.all(exits);
}
