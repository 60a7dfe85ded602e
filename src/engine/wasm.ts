// Loads the AssemblyScript kernels (build/kernels.wasm) over one shared
// WebAssembly.Memory, which worker threads instantiate the same module on.
//
// Loading is lazy and synchronous (readFileSync + new WebAssembly.Module) so
// that importing the engine costs nothing until a kernel is first used, and
// so that synchronous APIs such as matmulF32 can use it.
//
// @types/node does not declare the WebAssembly namespace and lib "dom" is not
// in this project, so we describe the little we use locally instead of adding
// global declarations that could clash with someone else's.

import { readFileSync } from 'node:fs';

export interface WasmMemory {
  readonly buffer: SharedArrayBuffer;
  grow(deltaPages: number): number;
}
export type WasmModule = object;
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: Record<string, unknown> };
  Memory: new (desc: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The functions exported by assembly/kernels.ts (pointers are byte offsets). */
export interface KernelExports {
  scratchBytes(): number;
  heapBase(): number;
  gemm(a: number, b: number, c: number, d: number, e: number, eBS: number, m: number, n: number, k: number,
    ars: number, acs: number, brs: number, bcs: number, aBS: number, bBS: number,
    row0: number, row1: number, col0: number, col1: number, ws: number): void;
  gemmSharedA(a: number, b: number, c: number, d: number, e: number, eBS: number, batch: number, m: number, n: number, k: number,
    ars: number, acs: number, brs: number, bcs: number, bBS: number,
    row0: number, row1: number, col0: number, col1: number, ws: number): void;
  gemmSum(a: number, b: number, c: number, d: number, tmp: number, batch: number, m: number, n: number, k: number,
    ars: number, acs: number, brs: number, bcs: number, aBS: number, bBS: number,
    row0: number, row1: number, col0: number, col1: number, ws: number): void;
}

export const WASM_PAGE = 65536;
// Must match build:wasm's --initialMemory / --maximumMemory (in pages). An
// imported shared memory needs a maximum; V8 reserves it as address space
// only, committing pages as the memory grows.
const INITIAL_PAGES = 64;
const MAXIMUM_PAGES = 65536;

export interface WasmKernels {
  readonly module: WasmModule;
  readonly memory: WasmMemory;
  readonly exports: KernelExports;
  /** First byte the JS side may use (after the module's static data), 64-aligned. */
  readonly heapBase: number;
  /** Per-thread scratch bytes for gemm, 64-aligned. */
  readonly scratchBytes: number;
}

let kernels: WasmKernels | undefined;
let f32View: Float32Array | undefined;

/** dist/src/engine/wasm.js -> <package root>/build/kernels.wasm */
export const KERNELS_URL = new URL('../../../build/kernels.wasm', import.meta.url);

export function instantiateKernels(module: WasmModule, memory: WasmMemory): KernelExports {
  const instance = new WA.Instance(module, {
    env: {
      memory,
      // Only reachable if the module was built with assertions on.
      abort(): never { throw new Error('glassbox wasm kernel aborted'); },
    },
  });
  return instance.exports as unknown as KernelExports;
}

export const align64 = (x: number): number => Math.ceil(x / 64) * 64;

/** The kernels on the main thread, loaded on first call. */
export function wasmKernels(): WasmKernels {
  if (kernels) return kernels;
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(KERNELS_URL);
  } catch (e) {
    throw new Error(`glassbox: cannot read ${KERNELS_URL.pathname} (run "npm run build:wasm"): ${String(e)}`);
  }
  const module = new WA.Module(bytes);
  const memory = new WA.Memory({ initial: INITIAL_PAGES, maximum: MAXIMUM_PAGES, shared: true });
  const exports = instantiateKernels(module, memory);
  kernels = {
    module,
    memory,
    exports,
    heapBase: align64(exports.heapBase()),
    scratchBytes: align64(exports.scratchBytes()),
  };
  return kernels;
}

/**
 * Make the shared memory at least `bytes` long. Grows geometrically (x1.5) so
 * a run of slowly increasing sizes does not grow on every call. Views of the
 * old buffer keep the old length, so heapF32() must be re-read after this.
 */
export function ensureMemory(bytes: number): void {
  const { memory } = wasmKernels();
  const have = memory.buffer.byteLength;
  if (bytes <= have) return;
  if (bytes > MAXIMUM_PAGES * WASM_PAGE) {
    throw new Error(`glassbox wasm: needs ${bytes} bytes, more than the 4 GiB a wasm32 memory can hold`);
  }
  const havePages = have / WASM_PAGE;
  const needPages = Math.ceil(bytes / WASM_PAGE);
  const target = Math.min(MAXIMUM_PAGES, Math.max(needPages, Math.ceil(havePages * 1.5)));
  memory.grow(target - havePages);
  f32View = undefined;
}

/** A Float32Array over the whole current memory (re-created after growth). */
export function heapF32(): Float32Array {
  const { memory } = wasmKernels();
  // memory.buffer may hand back a fresh SharedArrayBuffer object on each read;
  // only its length tells whether our view still covers all of it.
  const buf = memory.buffer;
  if (!f32View || f32View.length * 4 !== buf.byteLength) f32View = new Float32Array(buf);
  return f32View;
}
