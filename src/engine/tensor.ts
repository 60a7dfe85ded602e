// The Tensor and its tape: reverse-mode autograd in the micrograd spirit.
//
// A Tensor is an f32 buffer in row-major order plus a shape. An op builds its
// output with `result(...)`, handing over the parents and a closure that turns
// the output's gradient into the parents' gradients. `backward()` sorts the
// graph once (depth-first, parents before children, a fixed order) and runs
// those closures in reverse. Nothing here depends on thread count or timing,
// so gradients are as deterministic as the ops themselves.

import { allocF32, generationOf, inWasmMemory, released as arenaReleased } from './arena.js';
import { binaryWasm } from './elementwise-kernel.js';
import { getPrecision, roundInPlace } from './precision.js';

// Gradients at least this long, both in the step arena, are summed by a SIMD kernel (the loop's bits).
const ACCUMULATE_WASM_MIN = 4096;

export type Shape = readonly number[];

export class ShapeError extends Error {
  constructor(op: string, detail: string) {
    super(`${op}: ${detail}`);
    this.name = 'ShapeError';
  }
}

export class NonFiniteError extends Error {
  constructor(
    readonly op: string,
    readonly phase: 'forward' | 'backward',
    readonly index: number,
    readonly value: number,
  ) {
    super(`${op}: ${phase} produced ${value} at flat index ${index} (first non-finite value in the graph)`);
    this.name = 'NonFiniteError';
  }
}

let gradEnabled = true;
let finiteCheck = false;

/** Run `fn` without recording a graph (evaluation, optimiser updates). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** When on, every op scans its output (and every backward its gradients) and names the op where NaN or Inf first appears. Off by default: it costs a pass over each buffer. */
export function setFiniteCheck(on: boolean): void {
  finiteCheck = on;
}

export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeStr(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

function checkShape(shape: Shape, op: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(op, `invalid shape ${shapeStr(shape)}`);
  }
}

function firstNonFinite(a: Float32Array): number {
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (v !== v || v === Infinity || v === -Infinity) return i;
  }
  return -1;
}

export class Tensor {
  readonly #data: Float32Array;
  /** The step arena's generation when the data lives there (arena.ts), else 0. */
  readonly #gen: number;
  readonly shape: number[];
  grad: Float32Array | null = null;
  requiresGrad: boolean;
  /** Graph links; empty for leaves and for tensors made without grad. */
  parents: Tensor[];
  backwardFn: ((grad: Float32Array) => void) | null;
  readonly op: string;
  /** Optional human name (parameters carry their module path). */
  name?: string;
  /** Set once a backward sweep has freed this node's closure: a second sweep through it would silently lose gradients. */
  released = false;

  constructor(
    data: Float32Array,
    shape: Shape,
    opts: { requiresGrad?: boolean; op?: string; parents?: Tensor[]; backwardFn?: ((g: Float32Array) => void) | null; name?: string } = {},
  ) {
    const op = opts.op ?? 'tensor';
    checkShape(shape, op);
    if (data.length !== shapeSize(shape)) {
      throw new ShapeError(op, `data has ${data.length} elements but shape ${shapeStr(shape)} needs ${shapeSize(shape)}`);
    }
    this.#data = data;
    this.#gen = generationOf(data);
    this.shape = shape.slice();
    this.requiresGrad = opts.requiresGrad ?? false;
    this.parents = opts.parents ?? [];
    this.backwardFn = opts.backwardFn ?? null;
    this.op = op;
    if (opts.name !== undefined) this.name = opts.name;
  }

  /** The values, row-major. Throws for a step's intermediate once that step has ended (arena.ts). */
  get data(): Float32Array {
    if (this.#gen !== 0 && arenaReleased(this.#gen)) {
      throw new Error(`${this.op}: this tensor was an intermediate of a training step that has ended, and its memory has been reused; copy what you need (new Float32Array(t.data)) inside the step`);
    }
    return this.#data;
  }

  get size(): number {
    return this.#data.length;
  }
  get ndim(): number {
    return this.shape.length;
  }

  /** The size of one axis; negative axes count from the end. */
  dim(axis: number): number {
    return this.shape[normAxis(axis, this.ndim, 'dim')];
  }

  item(): number {
    if (this.size !== 1) throw new ShapeError('item', `tensor of shape ${shapeStr(this.shape)} is not a scalar`);
    return this.data[0];
  }

  toArray(): number[] {
    return Array.from(this.data);
  }

  /** A tensor sharing this one's data but cut from the graph. */
  detach(): Tensor {
    return new Tensor(this.data, this.shape, { op: 'detach' });
  }

  /** A leaf parameter-style tensor that records gradients. */
  static param(data: Float32Array, shape: Shape, name?: string): Tensor {
    return new Tensor(data, shape, { requiresGrad: true, op: 'param', name });
  }

  static zeros(shape: Shape): Tensor {
    return new Tensor(new Float32Array(shapeSize(shape)), shape, { op: 'zeros' });
  }

  static full(shape: Shape, value: number): Tensor {
    return new Tensor(new Float32Array(shapeSize(shape)).fill(value), shape, { op: 'full' });
  }

  static from(values: ArrayLike<number>, shape?: Shape): Tensor {
    const data = Float32Array.from(values);
    return new Tensor(data, shape ?? [data.length], { op: 'from' });
  }

  static scalar(value: number): Tensor {
    return new Tensor(Float32Array.of(value), [], { op: 'scalar' });
  }

  /**
   * Reverse-mode sweep from this tensor. A non-scalar root needs an explicit
   * output gradient. Leaves accumulate into `.grad` (so several backward
   * calls add up: gradient accumulation); intermediate gradients and the
   * graph's closures are released as the sweep passes them.
   */
  backward(outGrad?: Float32Array): void {
    if (!this.requiresGrad) throw new Error('backward: this tensor does not require grad (no parameter contributed to it, or it was made under noGrad)');
    if (this.released) throw new Error(`backward: this ${this.op} result was already backpropagated and its graph freed`);
    let seed: Float32Array;
    if (outGrad) {
      if (outGrad.length !== this.size) throw new ShapeError('backward', `gradient has ${outGrad.length} elements, tensor has ${this.size}`);
      seed = outGrad;
    } else {
      if (this.size !== 1) throw new ShapeError('backward', `implicit gradient needs a scalar, got shape ${shapeStr(this.shape)}`);
      seed = Float32Array.of(1);
    }
    const order = topoOrder(this);
    accumulateGrad(this, seed);
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      const fn = t.backwardFn;
      if (!fn) continue;
      const g = t.grad;
      if (g) {
        fn(g);
        if (finiteCheck) {
          for (const p of t.parents) {
            if (p.grad) {
              const bad = firstNonFinite(p.grad);
              if (bad >= 0) throw new NonFiniteError(t.op, 'backward', bad, p.grad[bad]);
            }
          }
        }
      }
      // Free what the sweep no longer needs: this node's gradient and closure.
      t.grad = null;
      t.backwardFn = null;
      t.parents = [];
      t.released = true;
    }
  }
}

/** Parents before children; iterative so deep graphs don't overflow the stack. */
function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  const stack: Array<[Tensor, number]> = [[root, 0]];
  visited.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    if (i < t.parents.length) {
      top[1] = i + 1;
      const p = t.parents[i];
      if (p.released) {
        throw new Error(`backward: the graph through ${p.op} was already used by an earlier backward() and freed; sum the losses and call backward() once, or detach() activations you reuse`);
      }
      if (p.requiresGrad && !visited.has(p)) {
        visited.add(p);
        stack.push([p, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order;
}

/**
 * Add `g` into t.grad. With `owned`, the caller hands the buffer over (a
 * fresh array, or the node's own output gradient, which the sweep drops right
 * after): the first contribution is then adopted instead of copied, which
 * halves the allocations of a backward pass. Never hand one buffer to two tensors.
 */
export function accumulateGrad(t: Tensor, g: Float32Array, owned = false): void {
  if (!t.requiresGrad) return;
  if (g.length !== t.size) throw new ShapeError('accumulateGrad', `gradient has ${g.length} elements, tensor ${t.op} has ${t.size}`);
  if (t.grad === null) {
    // A leaf's gradient outlives the step (the optimiser reads it, and it may
    // accumulate over several steps), so it never stays in the step arena.
    t.grad = owned && !(isLeaf(t) && inWasmMemory(g)) ? g : new Float32Array(g);
  } else {
    const dst = t.grad;
    if (dst.length >= ACCUMULATE_WASM_MIN && inWasmMemory(dst) && inWasmMemory(g)) binaryWasm(g, null, dst, 'accumulate');
    else for (let i = 0; i < dst.length; i++) dst[i] += g[i];
  }
}

/** The gradient buffer of t, allocated as zeros if needed; ops that can accumulate in place (matmul) write here directly. */
export function gradBuffer(t: Tensor): Float32Array {
  if (t.grad === null) t.grad = isLeaf(t) ? new Float32Array(t.size) : allocF32(t.size);
  return t.grad;
}

/** Parameters and inputs: tensors no op made. */
function isLeaf(t: Tensor): boolean {
  return t.backwardFn === null && t.parents.length === 0;
}

/**
 * Build an op's output. When grad is on and a parent needs it, the output
 * keeps the parents and the backward closure; otherwise it is a plain value.
 */
export function result(data: Float32Array, shape: Shape, op: string, parents: Tensor[], backwardFn: (g: Float32Array) => void): Tensor {
  const precision = getPrecision();
  if (precision !== 'fp32') {
    // Precision mode (precision.ts): the output is stored in bf16 or fp16. An
    // op that shares its input's buffer (reshape) gets a copy, so a parameter
    // or an input is never rounded in place.
    for (const p of parents) if (p.data === data) { data = new Float32Array(data); break; }
    roundInPlace(data, precision);
  }
  if (finiteCheck) {
    const bad = firstNonFinite(data);
    if (bad >= 0) throw new NonFiniteError(op, 'forward', bad, data[bad]);
  }
  let needs = false;
  if (gradEnabled) for (const p of parents) if (p.requiresGrad) needs = true;
  if (!needs) return new Tensor(data, shape, { op });
  return new Tensor(data, shape, { op, requiresGrad: true, parents, backwardFn });
}

export function normAxis(axis: number, ndim: number, op: string): number {
  const a = axis < 0 ? axis + ndim : axis;
  if (!Number.isInteger(a) || a < 0 || a >= ndim) throw new ShapeError(op, `axis ${axis} is out of range for ${ndim} dimensions`);
  return a;
}

export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/**
 * Walk `shape` in row-major order and return, for each element, the flat
 * offset `strides` give it: the one index map behind permute (source
 * strides), broadcasting (0 on expanded axes) and reductions (0 on reduced axes).
 */
export function stridedIndex(shape: Shape, strides: readonly number[]): Int32Array {
  const n = shapeSize(shape);
  const nd = shape.length;
  const idx = new Int32Array(n);
  const counter = new Array<number>(nd).fill(0);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    idx[i] = pos;
    for (let d = nd - 1; d >= 0; d--) {
      counter[d]++;
      pos += strides[d];
      if (counter[d] < shape[d]) break;
      pos -= strides[d] * counter[d];
      counter[d] = 0;
    }
  }
  return idx;
}
