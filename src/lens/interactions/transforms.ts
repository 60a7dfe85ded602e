// Exact set-function transforms behind AND-OR interactions (Harsanyi dividends; docs/theory.md), on
// arrays of length 2^n indexed by bitmask: bit i set = variable i is kept.
// Index 0 is the empty set, 2^n - 1 is N. Every transform is an in-place
// butterfly, O(n·2^n), in f64: the model's f32 outputs are widened first so
// the alternating sums over up to 2^16 terms do not lose the small
// interactions to rounding (universal matching must hold to 1e-4 relative).

/** Largest n the transforms accept: 2^n values must fit comfortably in memory (2^24 doubles = 128 MiB). */
export const MAX_TRANSFORM_VARIABLES = 24;

/** n such that length = 2^n, or a clear error. */
export function variablesOf(length: number, what = 'values'): number {
  let n = 0;
  while (1 << n < length && n < MAX_TRANSFORM_VARIABLES) n++;
  if (length < 1 || 1 << n !== length) throw new Error(`${what}: expected 2^n entries (one per subset), got ${length}`);
  return n;
}

// The butterflies take two bits per pass (radix 4): half the sweeps over
// memory of the one-bit form, which measured about 1.7x faster at n = 16.
// Each variant says what a 4-element group (x0 = base, x1 = +bit, x2 = +2bit,
// x3 = +3bit) becomes; a leftover odd bit gets a one-bit pass.

/** Möbius transform over subsets: a(S) ← Σ_{T⊆S} (-1)^{|S|-|T|} a(T). This is I_and from v_and. */
export function mobiusSubsets(a: Float64Array): Float64Array {
  const size = a.length;
  let bit = 1;
  for (; bit << 1 < size; bit <<= 2) {
    const b2 = bit << 1;
    const b3 = bit + b2;
    for (let base = 0; base < size; base += bit << 2) {
      for (let m = base, end = base + bit; m < end; m++) {
        const x0 = a[m]!;
        const x1 = a[m + bit]!;
        const x2 = a[m + b2]!;
        a[m + bit] = x1 - x0;
        a[m + b2] = x2 - x0;
        a[m + b3] = a[m + b3]! - x2 - x1 + x0;
      }
    }
  }
  if (bit < size) for (let m = bit; m < size; m++) a[m] = a[m]! - a[m - bit]!;
  return a;
}

/** Transpose of mobiusSubsets: g(T) ← Σ_{S⊇T} (-1)^{|S|-|T|} g(S) (the gradient of a loss on I_and w.r.t. v_and). */
export function mobiusSupersets(a: Float64Array): Float64Array {
  const size = a.length;
  let bit = 1;
  for (; bit << 1 < size; bit <<= 2) {
    const b2 = bit << 1;
    const b3 = bit + b2;
    for (let base = 0; base < size; base += bit << 2) {
      for (let m = base, end = base + bit; m < end; m++) {
        const x1 = a[m + bit]!;
        const x2 = a[m + b2]!;
        const x3 = a[m + b3]!;
        a[m] = a[m]! - x1 - x2 + x3;
        a[m + bit] = x1 - x3;
        a[m + b2] = x2 - x3;
      }
    }
  }
  if (bit < size) for (let m = 0; m < bit; m++) a[m] = a[m]! - a[m + bit]!;
  return a;
}

/** Zeta transform over subsets: a(S) ← Σ_{T⊆S} a(T) (inverse of mobiusSubsets). */
export function zetaSubsets(a: Float64Array): Float64Array {
  const size = a.length;
  let bit = 1;
  for (; bit << 1 < size; bit <<= 2) {
    const b2 = bit << 1;
    const b3 = bit + b2;
    for (let base = 0; base < size; base += bit << 2) {
      for (let m = base, end = base + bit; m < end; m++) {
        const x0 = a[m]!;
        const x1 = a[m + bit]!;
        const x2 = a[m + b2]!;
        a[m + bit] = x1 + x0;
        a[m + b2] = x2 + x0;
        a[m + b3] = a[m + b3]! + x2 + x1 + x0;
      }
    }
  }
  if (bit < size) for (let m = bit; m < size; m++) a[m] = a[m]! + a[m - bit]!;
  return a;
}

/** out[S] = a[N \ S]: the index reversal that turns OR (on complements) into AND. */
export function complementInto(a: Float64Array, out: Float64Array): Float64Array {
  const full = a.length - 1;
  for (let m = 0; m <= full; m++) out[m] = a[full ^ m];
  return out;
}

/** AND interactions of a set function: I_and(S) = Σ_{T⊆S} (-1)^{|S|-|T|} v(T); I_and(∅) = v(∅). */
export function andInteractions(v: Float64Array): Float64Array {
  variablesOf(v.length);
  return mobiusSubsets(Float64Array.from(v));
}

/**
 * OR interactions: I_or(S) = -Σ_{T⊆S} (-1)^{|S|-|T|} v(N \ T) for S ≠ ∅, and
 * I_or(∅) = v(∅). Computed as minus the Möbius transform of the complemented function.
 */
export function orInteractions(v: Float64Array, scratch?: Float64Array): Float64Array {
  variablesOf(v.length);
  const out = complementInto(v, scratch ?? new Float64Array(v.length));
  mobiusSubsets(out);
  for (let m = 1; m < out.length; m++) out[m] = -out[m];
  out[0] = v[0]!;
  return out;
}

/**
 * Transpose of orInteractions applied to g (the gradient w.r.t. v_or of a loss
 * on I_or). orInteractions is x ↦ P(-M R x) + e0 x0 with R the complement
 * permutation, M the subset Möbius matrix and P zeroing the ∅ row, so its
 * transpose is g ↦ -R Mᵀ (g with g0 = 0) + e0 g0.
 */
export function orInteractionsTranspose(g: Float64Array, scratch: Float64Array, out: Float64Array): Float64Array {
  const g0 = g[0]!;
  scratch.set(g);
  scratch[0] = 0;
  mobiusSupersets(scratch);
  complementInto(scratch, out);
  for (let m = 0; m < out.length; m++) out[m] = -out[m];
  out[0]! += g0;
  return out;
}

/**
 * Universal matching: the output the interactions imply for every subset S,
 *   v̂(S) = Σ_{T⊆S} I_and(T) + I_or(∅) + Σ_{T≠∅, T∩S≠∅} I_or(T).
 * The OR sum is (sum over all non-empty T) minus (sum over non-empty T inside N \ S).
 */
export function reconstruct(iAnd: Float64Array, iOr: Float64Array): Float64Array {
  variablesOf(iAnd.length, 'I_and');
  if (iOr.length !== iAnd.length) throw new Error(`I_or has ${iOr.length} entries, I_and ${iAnd.length}`);
  const out = zetaSubsets(Float64Array.from(iAnd));
  const z = Float64Array.from(iOr);
  z[0] = 0;
  zetaSubsets(z);
  const full = iAnd.length - 1;
  const totalOr = z[full]!;
  for (let m = 0; m <= full; m++) out[m]! += iOr[0]! + totalOr - z[full ^ m]!;
  return out;
}

/** |S| for every mask 0 .. 2^n - 1. */
export function popcounts(n: number): Uint8Array {
  const out = new Uint8Array(1 << n);
  for (let m = 1; m < out.length; m++) out[m] = out[m >> 1]! + (m & 1);
  return out;
}
