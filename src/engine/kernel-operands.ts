// Where a kernel call's operands sit in the wasm memory.
//
// An operand already in the wasm memory (a step-arena buffer, arena.ts) is
// used in place. Any other operand gets a temporary region, laid out from the
// call's base upwards: inputs are copied in by `ready()`, outputs copied back
// by `finish()`. Temporaries start above the arena's top, so they never
// overwrite a live tensor; calls are synchronous, so they never overlap in time.

import { align64, ensureMemory, heapF32 } from './wasm.js';
import { arenaTop, wasmOffset } from './arena.js';

export class KernelOperands {
  private end: number;
  private readonly copyIn: Array<[Float32Array, number]> = [];
  private readonly copyOut: Array<[Float32Array, number]> = [];

  /** `base`: the first byte past the per-thread scratch of the threads that will run. */
  constructor(base: number) {
    this.end = align64(Math.max(base, arenaTop()));
  }

  /** A temporary region of `bytes` (64-aligned); returns its byte offset. */
  temp(bytes: number): number {
    const off = this.end;
    this.end += align64(bytes);
    return off;
  }

  /** Byte offset of an input the kernel reads (its first `n` elements). */
  input(a: Float32Array, n = a.length): number {
    const at = wasmOffset(a);
    if (at >= 0) return at;
    const off = this.temp(n * 4);
    this.copyIn.push([n === a.length ? a : a.subarray(0, n), off]);
    return off;
  }

  /** Byte offset of an output the kernel overwrites completely. */
  output(a: Float32Array): number {
    const at = wasmOffset(a);
    if (at >= 0) return at;
    const off = this.temp(a.length * 4);
    this.copyOut.push([a, off]);
    return off;
  }

  /** Byte offset of an operand the kernel reads and then overwrites (in place, or copied in and back out). */
  inout(a: Float32Array): number {
    const at = wasmOffset(a);
    if (at >= 0) return at;
    const off = this.temp(a.length * 4);
    this.copyIn.push([a, off]);
    this.copyOut.push([a, off]);
    return off;
  }

  /** Grow the memory to fit, and copy the inputs in; returns a view of the whole memory for any extra writes. */
  ready(): Float32Array {
    ensureMemory(this.end);
    const heap = heapF32();
    for (const [a, off] of this.copyIn) heap.set(a, off >> 2);
    return heap;
  }

  /** Copy the outputs back out. */
  finish(): void {
    const heap = heapF32();
    for (const [a, off] of this.copyOut) a.set(heap.subarray(off >> 2, (off >> 2) + a.length));
  }
}
