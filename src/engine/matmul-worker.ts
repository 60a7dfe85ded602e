// Worker thread body for threads.ts: instantiate the kernels on the shared
// memory, then loop forever: sleep until our state word says POSTED, claim the
// job with a compare-and-swap (the main thread may have cancelled it), take
// chunks from the shared counter until none are left, mark DONE. The loop
// never returns to the event loop, so everything, exit included, goes through
// the control block.

import { workerData } from 'node:worker_threads';
import { instantiateKernels, type WasmMemory, type WasmModule } from './wasm.js';
import { CTRL, KERNEL_NAMES, PHASE, chunksWord, readyWord, stateWord, type WorkerStart } from './threads.js';

const start = workerData as WorkerStart;
const ctrl = new Int32Array(start.ctrl);
const stateIdx = stateWord(start.worker);
const chunksIdx = chunksWord(start.worker);
const thread = start.worker + 1; // the main thread is thread 0

let kernels: Record<string, (...args: number[]) => void>;
try {
  kernels = instantiateKernels(start.module as WasmModule, start.memory as WasmMemory) as unknown as typeof kernels;
  Atomics.store(ctrl, readyWord(start.worker), 1);
} catch (e) {
  Atomics.store(ctrl, readyWord(start.worker), -1);
  throw e;
}

const args: number[] = [];
for (;;) {
  // Wait for a posted job: spin a little, then sleep on the state word.
  let v = Atomics.load(ctrl, stateIdx);
  for (let i = 0; (v & 3) !== PHASE.POSTED && i < start.spin; i++) v = Atomics.load(ctrl, stateIdx);
  while ((v & 3) !== PHASE.POSTED) {
    Atomics.wait(ctrl, stateIdx, v);
    v = Atomics.load(ctrl, stateIdx);
  }
  if (Atomics.compareExchange(ctrl, stateIdx, v, v - PHASE.POSTED + PHASE.RUNNING) !== v) continue; // cancelled
  const id = ctrl[CTRL.KERNEL]!;
  if (id === CTRL.EXIT) break;

  const fn = kernels[KERNEL_NAMES[id]!]!;
  const nargs = ctrl[CTRL.NARGS]!, nca = ctrl[CTRL.CHUNK_ARGS]!, nchunks = ctrl[CTRL.NCHUNKS]!;
  args.length = nargs + nca + 1;
  for (let i = 0; i < nargs; i++) args[i] = ctrl[CTRL.ARGS + i]!;
  args[nargs + nca] = ctrl[CTRL.SCRATCH_BASE]! + thread * ctrl[CTRL.SCRATCH_STRIDE]!;
  let c: number;
  while ((c = Atomics.add(ctrl, CTRL.NEXT, 1)) < nchunks) {
    const base = CTRL.CHUNK_TABLE + c * CTRL.MAX_CHUNK_ARGS;
    for (let i = 0; i < nca; i++) args[nargs + i] = ctrl[base + i]!;
    try {
      fn(...args);
    } catch {
      Atomics.add(ctrl, CTRL.ERRORS, 1);
    }
    Atomics.add(ctrl, CTRL.WORKER_CHUNKS, 1);
    Atomics.add(ctrl, chunksIdx, 1);
  }
  Atomics.store(ctrl, stateIdx, v - PHASE.POSTED + PHASE.DONE);
  Atomics.notify(ctrl, stateIdx);
}
