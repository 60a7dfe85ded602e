// The AND-OR split's SGD loop (src/lens/interactions/sparsify.ts
// sparsifyAndOrJs) run entirely inside wasm, with f64x2 lanes.
//
// Bits: every element goes through exactly the IEEE operations of the
// TypeScript reference, in the same order: the butterflies are the same
// radix-4 passes (adds and subtracts only), the q clip and the signs are
// compare-and-select (never min/max, whose NaN and ±0 rules differ), the
// momentum update is mul then add then sub (no fused multiply-add, no relaxed
// SIMD). Where the reference adds a literal 0 (the ∅ term of the OR gradient)
// so do we, since x + 0 turns -0 into +0. The per-iteration learning rates
// are computed in JS (detmath exp) and passed in.
//
// All arrays hold 2^n f64 values (n ≥ 1) at 16-byte-aligned addresses.

// One radix-4 pass (bits `bit` and 2·bit) of each butterfly over the span
// [a, a + 8·size), and the one-bit pass on the top bit (bit = size/2), in
// f64x2 pairs (bit = 1: within four consecutive values, by lane shuffles).

function subsetsPass(a: usize, size: i32, bit: i32): void {
  if (bit == 1) {
    // (x0, x1, x2, x3) → (x0, x1 - x0, x2 - x0, x3 - x2 - x1 + x0) in two
    // lanes; the idle lane subtracts +0 or adds -0, which leave every value
    // (-0 included) unchanged.
    const zero = f64x2.splat(0.0), negZero = f64x2.splat(-0.0);
    const end = a + (<usize>size << 3);
    for (let pm = a; pm < end; pm += 32) {
      const lo = v128.load(pm), hi = v128.load(pm, 16);
      v128.store(pm, f64x2.sub(lo, v128.shuffle<f64>(zero, lo, 0, 2)));
      const h1 = f64x2.sub(hi, v128.shuffle<f64>(lo, hi, 0, 2)); // (x2 - x0, x3 - x2)
      const h2 = f64x2.sub(h1, v128.shuffle<f64>(zero, lo, 0, 3)); // lane 1: - x1
      v128.store(pm, f64x2.add(h2, v128.shuffle<f64>(negZero, lo, 0, 2)), 16); // lane 1: + x0
    }
    return;
  }
  const ob = <usize>bit << 3, o2 = ob << 1, o3 = ob + o2;
  for (let base: i32 = 0; base < size; base += bit << 2) {
    const end = a + (<usize>(base + bit) << 3);
    for (let pm = a + (<usize>base << 3); pm < end; pm += 16) {
      const x0 = v128.load(pm), x1 = v128.load(pm + ob), x2 = v128.load(pm + o2);
      v128.store(pm + ob, f64x2.sub(x1, x0));
      v128.store(pm + o2, f64x2.sub(x2, x0));
      v128.store(pm + o3, f64x2.add(f64x2.sub(f64x2.sub(v128.load(pm + o3), x2), x1), x0));
    }
  }
}

function subsetsTop(a: usize, size: i32): void {
  const bit = size >> 1;
  if (bit == 1) {
    store<f64>(a, load<f64>(a, 8) - load<f64>(a), 8);
    return;
  }
  const ob = <usize>bit << 3;
  const end = a + (<usize>size << 3);
  for (let pm = a + ob; pm < end; pm += 16) v128.store(pm, f64x2.sub(v128.load(pm), v128.load(pm - ob)));
}

function supersetsPass(a: usize, size: i32, bit: i32): void {
  if (bit == 1) {
    // (x0, x1, x2, x3) → (x0 - x1 - x2 + x3, x1 - x3, x2 - x3, x3), grouped
    // as (x0 - x2) - (x1 - x3): exact here, since the values are small
    // integers (see sparsifyAndOrF64), so the grouping changes no bits.
    const zero = f64x2.splat(0.0);
    const end = a + (<usize>size << 3);
    for (let pm = a; pm < end; pm += 32) {
      const lo = v128.load(pm), hi = v128.load(pm, 16);
      const d = f64x2.sub(lo, hi); // (x0 - x2, x1 - x3)
      v128.store(pm, f64x2.sub(d, v128.shuffle<f64>(d, zero, 1, 2)));
      v128.store(pm, f64x2.sub(hi, v128.shuffle<f64>(hi, zero, 1, 2)), 16);
    }
    return;
  }
  const ob = <usize>bit << 3, o2 = ob << 1, o3 = ob + o2;
  for (let base: i32 = 0; base < size; base += bit << 2) {
    const end = a + (<usize>(base + bit) << 3);
    for (let pm = a + (<usize>base << 3); pm < end; pm += 16) {
      const x1 = v128.load(pm + ob), x2 = v128.load(pm + o2), x3 = v128.load(pm + o3);
      v128.store(pm, f64x2.add(f64x2.sub(f64x2.sub(v128.load(pm), x1), x2), x3));
      v128.store(pm + ob, f64x2.sub(x1, x3));
      v128.store(pm + o2, f64x2.sub(x2, x3));
    }
  }
}

function supersetsTop(a: usize, size: i32): void {
  const bit = size >> 1;
  if (bit == 1) {
    store<f64>(a, load<f64>(a) - load<f64>(a, 8));
    return;
  }
  const ob = <usize>bit << 3;
  const end = a + ob;
  for (let pm = a; pm < end; pm += 16) v128.store(pm, f64x2.sub(v128.load(pm), v128.load(pm + ob)));
}

/** The radix-4 passes a block of `block` values takes in isolation: bits 1, 4, … while 4·bit ≤ block (and the top bit if block is the whole array). */
function subsetsLow(a: usize, block: i32, whole: bool): void {
  let bit: i32 = 1;
  for (; bit << 1 < block; bit <<= 2) subsetsPass(a, block, bit);
  if (whole && bit < block) subsetsTop(a, block);
}

function supersetsLow(a: usize, block: i32, whole: bool): void {
  let bit: i32 = 1;
  for (; bit << 1 < block; bit <<= 2) supersetsPass(a, block, bit);
  if (whole && bit < block) supersetsTop(a, block);
}

/** The passes with bit ≥ block (block a power of 4 below size), in the reference's order. */
function subsetsHigh(a: usize, size: i32, block: i32): void {
  let bit = block;
  for (; bit << 1 < size; bit <<= 2) subsetsPass(a, size, bit);
  if (bit < size) subsetsTop(a, size);
}

function supersetsHigh(a: usize, size: i32, block: i32): void {
  let bit = block;
  for (; bit << 1 < size; bit <<= 2) supersetsPass(a, size, bit);
  if (bit < size) supersetsTop(a, size);
}

/** Σ|x| over `count` values in index order (sparsify.ts l1). */
function l1F64(x: usize, count: i32): f64 {
  let s: f64 = 0;
  for (let i: i32 = 0; i < count; i++) s += abs<f64>(load<f64>(x + (<usize>i << 3)));
  return s;
}

/**
 * `iters` iterations of the split, from the state in p, q, bufP, bufQ
 * (normally zeros). lrs[it] is the learning rate of iteration it (it <
 * iters - 1). On return a holds I_and, r the un-negated OR transform (as the
 * reference leaves them), out[0] = L1 after the first iteration's
 * transforms, out[1] = v_or(∅) of the last iteration. blockBits (even): the
 * butterflies' low passes run on blocks of 2^blockBits values while those
 * are in cache, fused with the sweeps that fill a and r and that update p, q.
 *
 * Pass order: the subsets butterflies run their passes in the reference's
 * order (bit 1, 4, 16, …), block by block for the low bits, which changes
 * nothing per element. The supersets butterflies run the high passes first:
 * they act on signs (±1, +0), so every intermediate is a small integer, exact
 * in f64 and never -0, and any pass order gives the same bits.
 */
export function sparsifyAndOrF64(v: usize, p: usize, q: usize, bufP: usize, bufQ: usize,
  a: usize, r: usize, lrs: usize, out: usize, size: i32, iters: i32, mu: f64, bound: f64, blockBits: i32): void {
  const full = size - 1;
  const bytes = <usize>size << 3;
  const rLast = r + (<usize>full << 3);
  const whole = size <= (1 << blockBits);
  const blk: i32 = whole ? size : 1 << blockBits;
  const blkBytes = <usize>blk << 3;
  const cHalf = f64x2.splat(0.5), cBound = f64x2.splat(bound), cNegBound = f64x2.neg(f64x2.splat(bound));
  const cOne = f64x2.splat(1.0), cMinusOne = f64x2.splat(-1.0), cZero = f64x2.splat(0.0);
  const cMu = f64x2.splat(mu);
  let orEmpty: f64 = 0;
  for (let it: i32 = 0; it < iters; it++) {
    for (let o0: usize = 0; o0 < bytes; o0 += blkBytes) {
      const o1 = o0 + blkBytes;
      // a = ½(v+q) + p; r[N\S] = ½(v+q) - p, with q clipped into its box.
      for (let o = o0; o < o1; o += 16) {
        const qv = v128.load(q + o);
        const qc = v128.bitselect(cBound, v128.bitselect(cNegBound, qv, f64x2.lt(qv, cNegBound)), f64x2.gt(qv, cBound));
        v128.store(q + o, qc);
        const half = f64x2.mul(cHalf, f64x2.add(v128.load(v + o), qc));
        const pv = v128.load(p + o);
        v128.store(a + o, f64x2.add(half, pv));
        // Elements i, i+1 (i even) go to full^i, full^i - 1: one reversed pair.
        const d = f64x2.sub(half, pv);
        v128.store(rLast - o - 8, v128.shuffle<f64>(d, d, 1, 0));
      }
      if (o0 == 0) orEmpty = load<f64>(rLast);
      subsetsLow(a + o0, blk, whole);
      subsetsLow(r + bytes - o1, blk, whole); // the block the loop above filled
    }
    if (!whole) {
      subsetsHigh(a, size, blk);
      subsetsHigh(r, size, blk);
    }
    if (it == 0) store<f64>(out, l1F64(a, size) + (l1F64(r, size) - abs<f64>(load<f64>(r))) + abs<f64>(orEmpty));
    if (it + 1 == iters) break;
    for (let o: usize = 0; o < bytes; o += 16) {
      const x = v128.load(a + o);
      v128.store(a + o, v128.or(v128.and(f64x2.gt(x, cZero), cOne), v128.and(f64x2.lt(x, cZero), cMinusOne)));
      const y = v128.load(r + o);
      v128.store(r + o, v128.or(v128.and(f64x2.gt(y, cZero), cMinusOne), v128.and(f64x2.lt(y, cZero), cOne)));
    }
    store<f64>(r, 0.0);
    const g0: f64 = orEmpty > 0 ? 1.0 : orEmpty < 0 ? -1.0 : 0.0;
    if (!whole) {
      supersetsHigh(a, size, blk);
      supersetsHigh(r, size, blk);
    }
    const lr = f64x2.splat(load<f64>(lrs + (<usize>it << 3)));
    let extra = f64x2.replace_lane(cZero, 0, g0); // the ∅ term of ∂L/∂v_or, then zeros
    for (let o0: usize = 0; o0 < bytes; o0 += blkBytes) {
      const o1 = o0 + blkBytes;
      supersetsLow(a + o0, blk, whole);
      supersetsLow(r + bytes - o1, blk, whole);
      for (let o = o0; o < o1; o += 16) {
        const ga = v128.load(a + o);
        const rr = v128.load(rLast - o - 8);
        const go = f64x2.add(f64x2.neg(v128.shuffle<f64>(rr, rr, 1, 0)), extra);
        extra = cZero;
        const bp = f64x2.add(f64x2.mul(cMu, v128.load(bufP + o)), f64x2.sub(ga, go));
        const bq = f64x2.add(f64x2.mul(cMu, v128.load(bufQ + o)), f64x2.mul(cHalf, f64x2.add(ga, go)));
        v128.store(bufP + o, bp);
        v128.store(bufQ + o, bq);
        v128.store(p + o, f64x2.sub(v128.load(p + o), f64x2.mul(lr, bp)));
        v128.store(q + o, f64x2.sub(v128.load(q + o), f64x2.mul(lr, bq)));
      }
    }
  }
  store<f64>(out, orEmpty, 8);
}
