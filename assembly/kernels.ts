// Deterministic f32 matrix product, 128-bit SIMD, for glassbox.
//
// The contract (see docs/architecture.md, "The determinism
// contract"): every output element is
//
//     acc = 0f; for p = 0 .. k-1 in order: acc = f32(acc + f32(a_ip * b_pj))
//
// i.e. one f32x4.mul then one f32x4.add per step, never fused, no relaxed SIMD.
// SIMD lanes run along j (output columns), so each lane is one output element
// walking p in order; tiling, packing, k-blocking and threads only change *when*
// an element is worked on, never the sequence of roundings it sees. Storing a
// partial sum to memory and loading it back is exact, so splitting k into
// blocks is free of rounding effects too.
//
// Memory is imported and shared: the JS side owns the layout (inputs, outputs,
// one scratch area per thread). Nothing here allocates, so there is no GC
// state to share between threads, and module globals are per-instance (each
// worker has its own instance), which is why the B-packing cache below is safe.

// Register tile: MR rows x NR columns = 4 x (2 x f32x4) = 8 accumulators.
// With 2 B vectors and 1 broadcast A value that is 11 of the 16 xmm registers.
// Measured alternatives, micro-kernel alone in L1 on Zen 3 / Node 20: 4x8
// ~29-34 GFLOP/s; 6x8 and 4x12 (12 accumulators) ~21-23 and 5x8 far less (V8
// spills); A loaded once and shuffled instead of load32_splat: no better.
// Peak without FMA is 2 mul + 2 add of f32x4 per cycle, ~39 GFLOP/s at 2.45 GHz.
const MR: i32 = 4;
const NR: i32 = 8;
// Cache blocking (Zen 3: 32 KiB L1d, 512 KiB L2 per core).
// KC: depth of one packed block. A B micro-panel is NR*KC*4 = 8 KiB (stays in L1
// while A micro-panels stream past it), the packed A block MC*KC*4 = 128 KiB and
// the packed B block KC*NC*4 = 256 KiB sit in L2.
const KC: i32 = 256;
const MC: i32 = 128; // multiple of MR
const NC: i32 = 256; // multiple of NR

/** Bytes of per-thread scratch that gemm() needs at its `ws` argument. */
export function scratchBytes(): i32 {
  return (MC * KC + KC * NC + MR * NR) * 4;
}

/** First free byte after the module's static data. */
export function heapBase(): usize {
  return __heap_base;
}

// The micro-kernel: C[0:4, 0:8] (row stride ldc bytes) = (load ? C : 0) + Ap*Bp
// over kc steps. Ap is packed [kc][4], Bp is packed [kc][8].
// Kept as its own (non-inlined) function so V8 allocates its registers alone.
function kernel4x8(ap: usize, bp: usize, c: usize, ldc: usize, kc: i32, load: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  const r1 = c + ldc, r2 = r1 + ldc, r3 = r2 + ldc;
  if (load) {
    c00 = v128.load(c); c01 = v128.load(c, 16);
    c10 = v128.load(r1); c11 = v128.load(r1, 16);
    c20 = v128.load(r2); c21 = v128.load(r2, 16);
    c30 = v128.load(r3); c31 = v128.load(r3, 16);
  }
  // A plain loop: unrolling by 2 or 4 measured 10-30% slower under V8.
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(bp), b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = f32x4.add(c00, f32x4.mul(a, b0)); c01 = f32x4.add(c01, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 4);
    c10 = f32x4.add(c10, f32x4.mul(a, b0)); c11 = f32x4.add(c11, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 8);
    c20 = f32x4.add(c20, f32x4.mul(a, b0)); c21 = f32x4.add(c21, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 12);
    c30 = f32x4.add(c30, f32x4.mul(a, b0)); c31 = f32x4.add(c31, f32x4.mul(a, b1));
    ap += 16; bp += 32;
  }
  v128.store(c, c00); v128.store(c, c01, 16);
  v128.store(r1, c10); v128.store(r1, c11, 16);
  v128.store(r2, c20); v128.store(r2, c21, 16);
  v128.store(r3, c30); v128.store(r3, c31, 16);
}

// 4x4 transpose of four row vectors, written as four column vectors at dst,
// dst+step, dst+2*step, dst+3*step. Pure data movement: no rounding.
@inline function transpose4Store(r0: v128, r1: v128, r2: v128, r3: v128, dst: usize, step: usize): void {
  const t0 = f32x4.shuffle(r0, r1, 0, 4, 1, 5);
  const t1 = f32x4.shuffle(r0, r1, 2, 6, 3, 7);
  const t2 = f32x4.shuffle(r2, r3, 0, 4, 1, 5);
  const t3 = f32x4.shuffle(r2, r3, 2, 6, 3, 7);
  v128.store(dst, f32x4.shuffle(t0, t2, 0, 1, 4, 5));
  v128.store(dst + step, f32x4.shuffle(t0, t2, 2, 3, 6, 7));
  v128.store(dst + 2 * step, f32x4.shuffle(t1, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * step, f32x4.shuffle(t1, t3, 2, 3, 6, 7));
}

// Pack rows [i0, i0+mc) x depth [p0, p0+kc) of op(A) into MR-row panels:
// ap[(i/MR)*kc*MR + p*MR + i%MR], zero-padded to a multiple of MR rows.
// op(A)[i][p] lives at a + (i*ars + p*acs)*4. Packing is where transposes are
// absorbed, so all four transpose cases run the same micro-kernel.
function packA(a: usize, ars: usize, acs: usize, i0: i32, mc: i32, p0: i32, kc: i32, ap: usize): void {
  const full = mc & ~(MR - 1);
  const src0 = a + (<usize>i0 * ars + <usize>p0 * acs) * 4;
  if (ars == 1 && full > 0) {
    // A stored [k, m] (transA): for one p the values of all rows are
    // contiguous. Walk p outside and the panels inside, so each source line is
    // read once, in order. (Panel by panel would re-read every line MR times,
    // and with m a multiple of 1024 the lines, 4 KiB apart, all fall into one
    // L1 set.)
    const step = acs * 4;
    const pstride = <usize>kc * MR * 4;
    for (let p = 0; p < kc; p++) {
      const s = src0 + <usize>p * step;
      let d = ap + <usize>p * 16;
      for (let ir = 0; ir < full; ir += MR) {
        v128.store(d, v128.load(s + <usize>ir * 4));
        d += pstride;
      }
    }
  } else if (acs == 1) {
    // A stored [m, k]: rows are contiguous along p; transpose 4x4 blocks.
    const rs = ars * 4;
    for (let ir = 0; ir < full; ir += MR) {
      const src = src0 + <usize>ir * rs;
      const dst = ap + <usize>(ir * kc) * 4;
      let p = 0;
      for (; p + 4 <= kc; p += 4) {
        const s = src + <usize>p * 4;
        transpose4Store(v128.load(s), v128.load(s + rs), v128.load(s + 2 * rs), v128.load(s + 3 * rs),
          dst + <usize>p * 16, 16);
      }
      for (; p < kc; p++) {
        const s = src + <usize>p * 4, d = dst + <usize>p * 16;
        store<f32>(d, load<f32>(s)); store<f32>(d, load<f32>(s + rs), 4);
        store<f32>(d, load<f32>(s + 2 * rs), 8); store<f32>(d, load<f32>(s + 3 * rs), 12);
      }
    }
  } else {
    packAScalar(src0, ars, acs, 0, full, kc, ap);
  }
  // Edge panel: scalar, zero padding for the missing rows.
  if (full < mc) packAScalar(src0, ars, acs, full, mc, kc, ap);
}

function packAScalar(src0: usize, ars: usize, acs: usize, r0: i32, r1: i32, kc: i32, ap: usize): void {
  for (let ir = r0; ir < r1; ir += MR) {
    const mr = min(MR, r1 - ir);
    const src = src0 + <usize>ir * ars * 4;
    const dst = ap + <usize>(ir * kc) * 4;
    for (let p = 0; p < kc; p++) {
      for (let r = 0; r < MR; r++) {
        const v: f32 = r < mr ? load<f32>(src + (<usize>r * ars + <usize>p * acs) * 4) : 0;
        store<f32>(dst + <usize>(p * MR + r) * 4, v);
      }
    }
  }
}

// Pack depth [p0, p0+kc) x columns [j0, j0+nc) of op(B) into NR-column panels:
// bp[(j/NR)*kc*NR + p*NR + j%NR], zero-padded to a multiple of NR columns.
// op(B)[p][j] lives at b + (p*brs + j*bcs)*4.
function packB(b: usize, brs: usize, bcs: usize, p0: i32, kc: i32, j0: i32, nc: i32, bp: usize): void {
  const full = nc & ~(NR - 1);
  const src0 = b + (<usize>p0 * brs + <usize>j0 * bcs) * 4;
  if (bcs == 1 && full > 0) {
    // B stored [k, n]: for one p the values of all columns are contiguous.
    // p outside, panels inside: each source line is read once, in order.
    const step = brs * 4;
    const pstride = <usize>kc * NR * 4;
    for (let p = 0; p < kc; p++) {
      const s = src0 + <usize>p * step;
      let d = bp + <usize>p * 32;
      for (let jr = 0; jr < full; jr += NR) {
        const sj = s + <usize>jr * 4;
        v128.store(d, v128.load(sj)); v128.store(d, v128.load(sj, 16), 16);
        d += pstride;
      }
    }
  } else if (brs == 1) {
    // B stored [n, k] (transB): columns are contiguous along p; transpose
    // two 4x4 blocks (columns 0-3 and 4-7) per 4 steps of p.
    const cs = bcs * 4;
    for (let jr = 0; jr < full; jr += NR) {
      const src = src0 + <usize>jr * cs;
      const dst = bp + <usize>(jr * kc) * 4;
      let p = 0;
      for (; p + 4 <= kc; p += 4) {
        const s = src + <usize>p * 4, d = dst + <usize>p * 32;
        transpose4Store(v128.load(s), v128.load(s + cs), v128.load(s + 2 * cs), v128.load(s + 3 * cs), d, 32);
        const s4 = s + 4 * cs;
        transpose4Store(v128.load(s4), v128.load(s4 + cs), v128.load(s4 + 2 * cs), v128.load(s4 + 3 * cs), d + 16, 32);
      }
      for (; p < kc; p++) {
        const s = src + <usize>p * 4, d = dst + <usize>p * 32;
        for (let c = 0; c < NR; c++) store<f32>(d + <usize>c * 4, load<f32>(s + <usize>c * cs));
      }
    }
  } else {
    packBScalar(src0, brs, bcs, 0, full, kc, bp);
  }
  if (full < nc) packBScalar(src0, brs, bcs, full, nc, kc, bp);
}

function packBScalar(src0: usize, brs: usize, bcs: usize, c0: i32, c1: i32, kc: i32, bp: usize): void {
  for (let jr = c0; jr < c1; jr += NR) {
    const nr = min(NR, c1 - jr);
    const src = src0 + <usize>jr * bcs * 4;
    const dst = bp + <usize>(jr * kc) * 4;
    for (let p = 0; p < kc; p++) {
      for (let c = 0; c < NR; c++) {
        const v: f32 = c < nr ? load<f32>(src + (<usize>p * brs + <usize>c * bcs) * 4) : 0;
        store<f32>(dst + <usize>(p * NR + c) * 4, v);
      }
    }
  }
}

// Set by gemm() per call: lets consecutive batch items that share one B
// (bBatchStride 0) and fit in a single packed block skip re-packing it.
let packedB: usize = 0;
let packedBValid = false;

// One product: rows [r0, r1) x columns [c0, c1) of C = op(A) @ op(B),
// C row-major with n columns. ws: this thread's scratch (scratchBytes()).
function gemm1(a: usize, b: usize, c: usize, n: i32, k: i32,
  ars: usize, acs: usize, brs: usize, bcs: usize,
  r0: i32, r1: i32, c0: i32, c1: i32, ws: usize): void {
  const ap = ws;
  const bp = ws + <usize>(MC * KC) * 4;
  const tmp = bp + <usize>(KC * NC) * 4;
  const ldc = <usize>n * 4;
  const singleB = k <= KC && c1 - c0 <= NC;
  for (let jc = c0; jc < c1; jc += NC) {
    const nc = min(NC, c1 - jc);
    for (let kb = 0; kb < k; kb += KC) {
      const kc = min(KC, k - kb);
      const cont = kb > 0; // later depth blocks continue the stored partial sums
      if (!(singleB && packedBValid && packedB == b)) {
        packB(b, brs, bcs, kb, kc, jc, nc, bp);
        packedB = b;
        packedBValid = singleB;
      }
      for (let ic = r0; ic < r1; ic += MC) {
        const mc = min(MC, r1 - ic);
        packA(a, ars, acs, ic, mc, kb, kc, ap);
        macroTile(ap, bp, c + (<usize>ic * <usize>n + <usize>jc) * 4, ldc, mc, nc, kc, cont, tmp);
      }
    }
  }
}

// C[0:mc, 0:nc] (row stride ldc bytes) = (cont ? C : 0) + packed A block @
// packed B block, one register tile at a time.
function macroTile(ap: usize, bp: usize, c: usize, ldc: usize, mc: i32, nc: i32, kc: i32, cont: bool, tmp: usize): void {
  // jr outside, ir inside (the BLIS order): one B micro-panel (8 KiB) stays
  // in L1 while the A micro-panels stream from L2. Measured a few percent
  // faster than the other order on every benchmark shape.
  for (let jr = 0; jr < nc; jr += NR) {
    const nr = min(NR, nc - jr);
    const bpanel = bp + <usize>(jr * kc) * 4;
    for (let ir = 0; ir < mc; ir += MR) {
      const mr = min(MR, mc - ir);
      const apanel = ap + <usize>(ir * kc) * 4;
      const cp = c + <usize>ir * ldc + <usize>jr * 4;
      if (mr == MR && nr == NR) {
        kernel4x8(apanel, bpanel, cp, ldc, kc, cont);
      } else {
        edgeTile(apanel, bpanel, cp, ldc, kc, cont, mr, nr, tmp);
      }
    }
  }
}

// A batch of products that share one A (aBS = 0: one input times a weight
// per head), rows [r0, r1) of every product: each packed block of A serves
// every batch item before the next is packed, where gemm1 per item would
// pack the same A once per item. Only the order of the work differs.
function gemmSharedA1(a: usize, b: usize, c: usize, batch: i32, m: i32, n: i32, k: i32,
  ars: usize, acs: usize, brs: usize, bcs: usize, bBS: usize,
  r0: i32, r1: i32, c0: i32, c1: i32, ws: usize): void {
  const ap = ws;
  const bp = ws + <usize>(MC * KC) * 4;
  const tmp = bp + <usize>(KC * NC) * 4;
  const ldc = <usize>n * 4;
  const mn = <usize>m * <usize>n;
  for (let ic = r0; ic < r1; ic += MC) {
    const mc = min(MC, r1 - ic);
    for (let kb = 0; kb < k; kb += KC) {
      const kc = min(KC, k - kb);
      const cont = kb > 0;
      packA(a, ars, acs, ic, mc, kb, kc, ap);
      for (let bi = 0; bi < batch; bi++) {
        const bb = b + <usize>bi * bBS * 4;
        const cb = c + <usize>bi * mn * 4;
        for (let jc = c0; jc < c1; jc += NC) {
          const nc = min(NC, c1 - jc);
          packB(bb, brs, bcs, kb, kc, jc, nc, bp);
          macroTile(ap, bp, cb + (<usize>ic * <usize>n + <usize>jc) * 4, ldc, mc, nc, kc, cont, tmp);
        }
      }
    }
  }
}

// Edge tile: run the full kernel on a private 4x8 tile and copy the valid part
// in and out. Padding rows/columns are zeros whose results are discarded; each
// valid element sees exactly the steps it would see in a full tile.
function edgeTile(apanel: usize, bpanel: usize, cp: usize, ldc: usize, kc: i32, cont: bool,
  mr: i32, nr: i32, tmp: usize): void {
  if (cont) {
    for (let r = 0; r < mr; r++) {
      for (let q = 0; q < nr; q++) {
        store<f32>(tmp + <usize>(r * NR + q) * 4, load<f32>(cp + <usize>r * ldc + <usize>q * 4));
      }
    }
  }
  kernel4x8(apanel, bpanel, tmp, <usize>NR * 4, kc, cont);
  for (let r = 0; r < mr; r++) {
    for (let q = 0; q < nr; q++) {
      store<f32>(cp + <usize>r * ldc + <usize>q * 4, load<f32>(tmp + <usize>(r * NR + q) * 4));
    }
  }
}

// C[r][c0:c1] = C[r][c0:c1] + D[r][c0:c1] for rows [r0, r1): the `accumulate`
// epilogue, applied once the product is complete (one f32 rounding).
function addRows(c: usize, d: usize, n: i32, r0: i32, r1: i32, c0: i32, c1: i32): void {
  for (let r = r0; r < r1; r++) {
    const off = (<usize>r * <usize>n + <usize>c0) * 4;
    const cr = c + off, dr = d + off;
    const len = <usize>(c1 - c0) * 4;
    let q: usize = 0;
    for (; q + 16 <= len; q += 16) {
      v128.store(cr + q, f32x4.add(v128.load(cr + q), v128.load(dr + q)));
    }
    for (; q < len; q += 4) {
      store<f32>(cr + q, load<f32>(cr + q) + load<f32>(dr + q));
    }
  }
}

// C[r][c0:c1] = f32(C[r][c0:c1] + e[c0:c1]) for rows [r0, r1): the bias
// epilogue (one bias row added to every row of the product).
function addBiasRows(c: usize, e: usize, n: i32, r0: i32, r1: i32, c0: i32, c1: i32): void {
  const len = <usize>(c1 - c0) * 4;
  const er = e + <usize>c0 * 4;
  for (let r = r0; r < r1; r++) {
    const cr = c + (<usize>r * <usize>n + <usize>c0) * 4;
    let q: usize = 0;
    for (; q + 16 <= len; q += 16) {
      v128.store(cr + q, f32x4.add(v128.load(cr + q), v128.load(er + q)));
    }
    for (; q < len; q += 4) {
      store<f32>(cr + q, load<f32>(cr + q) + load<f32>(er + q));
    }
  }
}

/**
 * Batched product over a rectangle of the output, for one thread.
 * Rows are global over the whole batch: row g is row g % m of product g / m,
 * so [row0, row1) can span several batch items (how small batched products are
 * split across threads). Columns [col0, col1) apply to every item.
 * op(A_b)[i][p] = A[b*aBS + i*ars + p*acs], op(B_b)[p][j] = B[b*bBS + p*brs + j*bcs]
 * (element strides; pointers in bytes). C is [batch, m, n] contiguous.
 * Epilogues, applied once the product is complete (one f32 rounding each):
 * d != 0: add D (same layout as C) into this rectangle of C;
 * e != 0: add the bias row E[b*eBS : b*eBS + n] to every row of item b.
 */
export function gemm(a: usize, b: usize, c: usize, d: usize, e: usize, eBS: i32,
  m: i32, n: i32, k: i32,
  ars: i32, acs: i32, brs: i32, bcs: i32, aBS: i32, bBS: i32,
  row0: i32, row1: i32, col0: i32, col1: i32, ws: usize): void {
  packedBValid = false;
  if (m <= 0 || row0 >= row1 || col0 >= col1) return;
  const mn = <usize>m * <usize>n;
  for (let bi = row0 / m; bi * m < row1; bi++) {
    const lr0 = max(row0 - bi * m, 0);
    const lr1 = min(row1 - bi * m, m);
    const cb = c + <usize>bi * mn * 4;
    const bb = b + <usize>bi * <usize>bBS * 4;
    gemm1(a + <usize>bi * <usize>aBS * 4, bb, cb, n, k,
      <usize>ars, <usize>acs, <usize>brs, <usize>bcs, lr0, lr1, col0, col1, ws);
    if (d != 0) addRows(cb, d + <usize>bi * mn * 4, n, lr0, lr1, col0, col1);
    if (e != 0) addBiasRows(cb, e + <usize>bi * <usize>eBS * 4, n, lr0, lr1, col0, col1);
  }
}

/**
 * gemm for a batch that shares A (aBS = 0), over rows [row0, row1) and
 * columns [col0, col1) of every product (rows of one product, not of the
 * batch). The same bits as gemm; the same epilogues.
 */
export function gemmSharedA(a: usize, b: usize, c: usize, d: usize, e: usize, eBS: i32, batch: i32,
  m: i32, n: i32, k: i32,
  ars: i32, acs: i32, brs: i32, bcs: i32, bBS: i32,
  row0: i32, row1: i32, col0: i32, col1: i32, ws: usize): void {
  packedBValid = false;
  if (m <= 0 || batch <= 0 || row0 >= row1 || col0 >= col1) return;
  gemmSharedA1(a, b, c, batch, m, n, k, <usize>ars, <usize>acs, <usize>brs, <usize>bcs, <usize>bBS,
    row0, row1, col0, col1, ws);
  const mn = <usize>m * <usize>n;
  for (let bi = 0; bi < batch; bi++) {
    const cb = c + <usize>bi * mn * 4;
    if (d != 0) addRows(cb, d + <usize>bi * mn * 4, n, row0, row1, col0, col1);
    if (e != 0) addBiasRows(cb, e + <usize>bi * <usize>eBS * 4, n, row0, row1, col0, col1);
  }
}

/**
 * The sum of a batch of products, in batch order, over a rectangle of the
 * [m, n] output C: C = (((D + P_0) + P_1) + ...) with each P_b = op(A_b) @ op(B_b)
 * complete before it is added (f32 rounding after each addition), exactly
 * what adding the products one call at a time gives. d == 0: no D (C = P_0 + P_1 ...).
 * tmp: an [m, n] f32 region that holds P_b (b >= 1) for this rectangle.
 * Rows [row0, row1) are rows of C (not of the batch).
 */
export function gemmSum(a: usize, b: usize, c: usize, d: usize, tmp: usize, batch: i32,
  m: i32, n: i32, k: i32,
  ars: i32, acs: i32, brs: i32, bcs: i32, aBS: i32, bBS: i32,
  row0: i32, row1: i32, col0: i32, col1: i32, ws: usize): void {
  packedBValid = false;
  if (m <= 0 || batch <= 0 || row0 >= row1 || col0 >= col1) return;
  gemm1(a, b, c, n, k, <usize>ars, <usize>acs, <usize>brs, <usize>bcs, row0, row1, col0, col1, ws);
  if (d != 0) addRows(c, d, n, row0, row1, col0, col1);
  for (let bi = 1; bi < batch; bi++) {
    gemm1(a + <usize>bi * <usize>aBS * 4, b + <usize>bi * <usize>bBS * 4, tmp, n, k,
      <usize>ars, <usize>acs, <usize>brs, <usize>bcs, row0, row1, col0, col1, ws);
    addRows(c, tmp, n, row0, row1, col0, col1);
  }
}
export * from './elementwise';
export * from './softmax';
export * from './interactions';
export * from './pointwise';
