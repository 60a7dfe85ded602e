// A matrix-vector product for one row against weights that stay resident:
//
//   matvec(x, w, out, K, N, stride): out[j] = sum_{p<K} x[p] * w[p*stride + j], j < N
//
// It is one WebAssembly SIMD function with a memory of its own, assembled
// here byte by byte (about 200 bytes; a build step for it would be more
// machinery than code, and inline bytes load wherever WebAssembly runs,
// without reading build/kernels.wasm). Callers keep their weights in that
// memory between calls, which is what makes a one-row product fast (~10
// GFLOP/s, against ~1.3 for the same loop in JS): the engine's matmul copies
// its operands into the shared memory on every call, which for one row costs
// more than the product.
//
// Bits: the kernel runs over column blocks of 16, then of 4, keeping each
// column's sum in one f32x4 lane: acc = f32x4.add(acc, f32x4.mul(splat(x[p]),
// w[p, j..j+3])), p in order. Single-precision mul and add with
// round-to-nearest and no fusion are exactly the engine's acc = f32(acc +
// f32(a*b)), so the result equals matmulReference's (matmul-kernel.ts). The
// last N % 4 columns run in TypeScript with the same sum.

const fr = Math.fround;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

function matvecModuleBytes(): Uint8Array {
  const I32 = 0x7f, V128 = 0x7b;
  const get = (i: number) => [0x20, i], set = (i: number) => [0x21, i];
  const i32 = (v: number) => {
    if (v < 0 || v > 63) throw new Error('matvec assembler: i32 constants here are in [0, 63]'); // one signed-LEB byte
    return [0x41, v];
  };
  const ADD = 0x6a, SUB = 0x6b, SHL = 0x74, GT_U = 0x4b, EQZ = 0x45;
  const simd = (op: number) => [0xfd, ...uleb(op)];
  const vload = (off: number) => [...simd(0), 4, ...uleb(off)];
  const vstore = (off: number) => [...simd(11), 4, ...uleb(off)];
  const SPLAT = simd(19), FADD = simd(228), FMUL = simd(230);
  const VZERO = [...simd(12), ...new Array<number>(16).fill(0)];
  const F32LOAD = [0x2a, 2, 0];
  const BLOCK = [0x02, 0x40], LOOP = [0x03, 0x40], END = 0x0b;
  const br = (d: number) => [0x0c, d], brIf = (d: number) => [0x0d, d];
  // Params x=0 w=1 out=2 K=3 N=4 stride=5; locals j=6 p=7 wp=8 xp=9 (i32), acc=10..13 a=14 (v128).
  const X = 0, W = 1, OUT = 2, K = 3, N = 4, S = 5, J = 6, P = 7, WP = 8, XP = 9, ACC = 10, A = 14;
  const columns = (nv: number): number[] => [
    ...BLOCK, ...LOOP,
    ...get(J), ...i32(4 * nv), ADD, ...get(N), GT_U, ...brIf(1), // while j + 4nv <= N
    ...Array.from({ length: nv }, (_, v) => [...VZERO, ...set(ACC + v)]).flat(),
    ...get(W), ...get(J), ...i32(2), SHL, ADD, ...set(WP),
    ...get(X), ...set(XP), ...get(K), ...set(P),
    ...BLOCK, ...LOOP,
    ...get(P), EQZ, ...brIf(1), // for p = K down to 1
    ...get(XP), ...F32LOAD, ...SPLAT, ...set(A),
    ...Array.from({ length: nv }, (_, v) => [...get(ACC + v), ...get(A), ...get(WP), ...vload(16 * v), ...FMUL, ...FADD, ...set(ACC + v)]).flat(),
    ...get(WP), ...get(S), ADD, ...set(WP),
    ...get(XP), ...i32(4), ADD, ...set(XP),
    ...get(P), ...i32(1), SUB, ...set(P),
    ...br(0), END, END,
    ...Array.from({ length: nv }, (_, v) => [...get(OUT), ...get(J), ...i32(2), SHL, ADD, ...get(ACC + v), ...vstore(16 * v)]).flat(),
    ...get(J), ...i32(4 * nv), ADD, ...set(J),
    ...br(0), END, END,
  ];
  const body = [2, 4, I32, 5, V128, ...columns(4), ...columns(1), END];
  const section = (id: number, b: number[]) => [id, ...uleb(b.length), ...b];
  const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
  const name = (s: string) => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [I32]]), 0]])), // type (i32 x6) -> ()
    ...section(3, vec([[0]])), // one function of type 0
    ...section(5, vec([[0x00, 0x01]])), // one memory, 1 page, growable
    ...section(7, vec([[...name('memory'), 0x02, 0], [...name('matvec'), 0x00, 0]])),
    ...section(10, vec([[...uleb(body.length), ...body]])),
  ]);
}

interface MatvecInstance {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  matvec(x: number, w: number, out: number, K: number, N: number, stride: number): void;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
let matvecModule: object | undefined;

/** A fresh instance of the matvec module with at least `bytes` of memory. */
function matvecInstance(bytes: number): MatvecInstance {
  const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
  matvecModule ??= new WA.Module(matvecModuleBytes());
  const inst = new WA.Instance(matvecModule, {}).exports as MatvecInstance;
  const pages = Math.ceil(bytes / 65536);
  if (pages > 1) inst.memory.grow(pages - 1);
  return inst;
}

/**
 * The matvec kernel and its memory. Offsets, sizes and strides are in floats;
 * `f` views the whole memory (weights, inputs and outputs all live there).
 */
export class MatvecMemory {
  readonly f: Float32Array;
  private readonly kernel: MatvecInstance;

  /** A fresh kernel instance whose memory holds at least `floats` f32 values. */
  constructor(floats: number) {
    if (!Number.isInteger(floats) || floats < 0) throw new RangeError(`MatvecMemory: size must be a non-negative integer of floats, got ${floats}`);
    this.kernel = matvecInstance(floats * 4);
    this.f = new Float32Array(this.kernel.memory.buffer);
  }

  /** f[out + j] = sum_p f[x + p] * f[w + p*stride + j] for j < N, each product and sum rounded to f32, p in order. */
  matvec(x: number, w: number, out: number, K: number, N: number, stride: number): void {
    const N4 = N & ~3;
    if (N4 > 0) this.kernel.matvec(x * 4, w * 4, out * 4, K, N4, stride * 4);
    const f = this.f;
    for (let j = N4; j < N; j++) {
      let s = 0;
      for (let p = 0; p < K; p++) s = fr(s + fr(f[x + p] * f[w + p * stride + j]));
      f[out + j] = s;
    }
  }
}
