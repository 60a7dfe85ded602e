// Precision as an engine mode: evaluate any model as if every op stored its
// output in bf16 or fp16. The engine still computes in f32/f64 inside an op
// (a matmul accumulates at full precision, as bf16 hardware accumulates in
// f32); what changes is that each op's output is rounded to the narrow format
// before anything reads it. That is where low precision bites a transformer's
// representations (Barbero et al., "Transformers need glasses!", arXiv
// 2406.04267, §4): two last-token states closer than the format's spacing
// become the same number.
//
// Rounding is to nearest, ties to even, as IEEE 754 prescribes for a
// narrowing conversion: NaN stays NaN, ±0 and ±Infinity stay themselves,
// fp16 overflows to ±Infinity from 65520 (the midpoint between its largest
// finite value 65504 and 2^16) and has subnormals down to 2^-24; bf16 keeps
// f32's exponent range, so only its mantissa is cut (f32 subnormals round on
// bf16's grid of 2^-133). The rounded value is stored back as an f32, which
// represents every bf16 and fp16 value exactly.
//
// The mode is process-wide, like `setFiniteCheck`, and is set for one
// computation with `withPrecision`. fp32 is the default, and in fp32 the
// engine does exactly what it did without this module (one comparison per op).

export type Precision = 'fp32' | 'bf16' | 'fp16';

export const PRECISIONS: readonly Precision[] = ['fp32', 'bf16', 'fp16'];

let current: Precision = 'fp32';

/** The precision ops round their outputs to now. */
export function getPrecision(): Precision {
  return current;
}

/** Checks a precision's name; the error lists the ones there are. */
export function parsePrecision(name: string): Precision {
  if ((PRECISIONS as readonly string[]).includes(name)) return name as Precision;
  throw new Error(`unknown precision "${name}" (have: ${PRECISIONS.join(', ')})`);
}

/** Run `fn` with every op's output rounded to `p` (forward pass; gradients are not rounded). */
export function withPrecision<T>(p: Precision, fn: () => T): T {
  parsePrecision(p);
  const prev = current;
  current = p;
  try {
    return fn();
  } finally {
    current = prev;
  }
}

// One scratch word to read an f32's bits.
const F = new Float32Array(1);
const U = new Uint32Array(F.buffer);

const TWO_24 = 16777216;
const TWO_M24 = 1 / TWO_24;

/** Round half to even of a non-negative number whose fractional part is exact. */
function roundHalfEven(y: number): number {
  const f = Math.floor(y);
  const d = y - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** The bits of an f32 rounded to bf16's 8-bit mantissa, ties to even (NaN kept a NaN). */
function bf16Bits(u: number): number {
  if ((u & 0x7fffffff) > 0x7f800000) return (u | 0x00400000) & 0xffff0000; // quiet NaN: keep a mantissa bit in the top half
  // Adding 0x7fff plus the lowest kept bit carries into the kept part exactly
  // when the dropped half-word is above one half, or equal to it with an odd
  // kept part; a carry out of the mantissa bumps the exponent (up to Infinity), which is right.
  return ((u + 0x7fff + ((u >>> 16) & 1)) & 0xffff0000) >>> 0;
}

/** The bits of an f32 rounded to fp16 (10-bit mantissa, exponent -14..15), ties to even. */
function fp16Bits(u: number): number {
  const sign = u & 0x80000000;
  const a = u & 0x7fffffff;
  if (a >= 0x7f800000) return a > 0x7f800000 ? (u | 0x00400000) >>> 0 : u >>> 0; // NaN, ±Infinity
  if (a >= 0x477ff000) return (sign | 0x7f800000) >>> 0; // |x| >= 65520: rounds past 65504 to Infinity
  if (a < 0x38800000) {
    // Below 2^-14, fp16's subnormals: a fixed grid of 2^-24. Scaling by 2^24 is exact in f64.
    F[0] = 0;
    U[0] = a;
    const r = roundHalfEven(F[0] * TWO_24) * TWO_M24;
    F[0] = r;
    return (U[0] | sign) >>> 0;
  }
  // Normal range: drop 13 of f32's 23 mantissa bits, ties to even (the carry may bump the exponent; 65504 is the top).
  return ((a + 0xfff + ((a >>> 13) & 1)) & 0xffffe000 | sign) >>> 0;
}

/** One number rounded to bf16, returned as the f32 (a JavaScript number) that holds it. */
export function roundBf16(x: number): number {
  F[0] = x;
  U[0] = bf16Bits(U[0]);
  return F[0];
}

/** One number rounded to fp16 (overflow to ±Infinity, subnormals kept), as an f32 value. */
export function roundFp16(x: number): number {
  F[0] = x;
  U[0] = fp16Bits(U[0]);
  return F[0];
}

/** Round every value of `a` to `p`, in place (fp32: nothing to do). */
export function roundInPlace(a: Float32Array, p: Precision): void {
  if (p === 'fp32' || a.length === 0) return;
  const u = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const n = u.length;
  if (p === 'bf16') for (let i = 0; i < n; i++) u[i] = bf16Bits(u[i]);
  else for (let i = 0; i < n; i++) u[i] = fp16Bits(u[i]);
}
