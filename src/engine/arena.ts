// The step arena: where one training step's intermediate tensors live.
//
// Why: tensors are ordinary Float32Arrays, while the kernels run on the shared
// wasm memory. Outside the arena every kernel call copies its operands into
// that memory and its results back out (for the reference GPT, ~157 MiB a
// step, on the main thread while the workers wait), and every op's fresh
// output is new memory for the OS to fault in and the GC to reclaim. Inside
// `withStepArena`, op outputs and activation gradients are instead cut,
// zeroed, from one region of the wasm memory, so kernels read and write them
// in place; the whole region is reused when the step ends.
//
// Safety: a tensor whose data lives in the arena remembers the arena's
// generation, and reading its data after its step has ended throws (naming
// the op) rather than handing back bytes a later step has overwritten.
// Parameters, leaf gradients and optimiser state never live here.
//
// Bits: where a buffer lives changes no arithmetic, so results are identical
// with and without the arena (the golden-hash test checks this).
//
// Layout of the wasm memory: [static data][64 threads' kernel scratch]
// [arena, growing up][a kernel call's temporaries, above the arena's top].

import { align64, ensureMemory, wasmKernels } from './wasm.js';
import { CTRL } from './threads.js';

/** Threads whose kernel scratch sits below the arena: the most threads.ts allows. */
const MAX_THREADS = CTRL.MAX_WORKERS + 1;
/** Buffers smaller than this stay in JS: their copies cost less than a call. */
const MIN_ELEMENTS = 1024;
/** The arena stops here (bytes); beyond it buffers fall back to JS memory, leaving room for temporaries. */
const CAP_BYTES = 2.5 * 2 ** 30;

let active = false;
let generation = 1;
let top = 0;
let buffer: ArrayBufferLike | null = null;
// Earlier buffer objects of the same (grown) memory: views made from them are still arena views.
const older = new WeakSet<ArrayBufferLike>();

/**
 * Run one training step with its intermediate buffers in the arena. Nested
 * calls run inside the outer step. Everything allocated inside is released
 * when the outermost call returns or throws.
 */
export function withStepArena<T>(fn: () => T): T {
  if (active) return fn();
  const wk = wasmKernels();
  top = align64(wk.heapBase + MAX_THREADS * wk.scratchBytes);
  active = true;
  try {
    return fn();
  } finally {
    active = false;
    top = 0;
    generation++;
  }
}

/** True inside withStepArena. */
export function arenaActive(): boolean {
  return active;
}

/**
 * A zeroed f32 buffer of n elements: in the arena inside a step (when large
 * enough and there is room), otherwise an ordinary Float32Array.
 */
export function allocF32(n: number): Float32Array {
  const off = carve(n);
  if (off < 0) return new Float32Array(n);
  // The region held an earlier step's values.
  zeroBytes(off, align64(n * 4));
  return new Float32Array(buffer!, off, n);
}

/**
 * Like allocF32, for an output the op is about to write in full: an arena
 * buffer is not zeroed first (zeroing measured ~10% of a CRATE step).
 */
export function allocOutput(n: number): Float32Array {
  const off = carve(n);
  return off < 0 ? new Float32Array(n) : new Float32Array(buffer!, off, n);
}

/** Reserve n elements in the arena; the byte offset, or -1 for a JS buffer. */
function carve(n: number): number {
  if (!active || n < MIN_ELEMENTS) return -1;
  const bytes = align64(n * 4);
  if (top + bytes > CAP_BYTES) return -1;
  const off = top;
  top += bytes;
  if (buffer === null || buffer.byteLength < top) {
    ensureMemory(top);
    const next = wasmKernels().memory.buffer;
    if (buffer !== null && buffer !== next) older.add(buffer);
    buffer = next;
  }
  return off;
}

function zeroBytes(off: number, bytes: number): void {
  (wasmKernels().exports as unknown as { zeroRange(p: number, b0: number, b1: number, ws: number): void }).zeroRange(off, 0, bytes, 0);
}

/** True when `a` is a view of the wasm memory (an arena buffer). */
export function inWasmMemory(a: Float32Array): boolean {
  const b = a.buffer;
  return b === buffer || older.has(b);
}

/** The byte offset of `a` in the wasm memory, or -1 when it is ordinary JS memory. */
export function wasmOffset(a: Float32Array): number {
  return inWasmMemory(a) ? a.byteOffset : -1;
}

/** The generation a tensor over `data` belongs to: the current one for arena data, 0 (forever valid) otherwise. */
export function generationOf(data: Float32Array): number {
  return active && inWasmMemory(data) ? generation : 0;
}

/** True when data stamped with generation `g` has been released. */
export function released(g: number): boolean {
  return g !== 0 && g !== generation;
}

/** First byte past the arena's top (0 outside a step): kernel temporaries start at or above it. */
export function arenaTop(): number {
  return active ? top : 0;
}

/** An f32 copy of f64 values (each rounded to nearest, as Float32Array.from does), allocated like allocF32. */
export function f32From(values: Float64Array): Float32Array {
  const out = allocOutput(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i];
  return out;
}
