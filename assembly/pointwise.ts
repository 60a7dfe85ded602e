// Pointwise kernels for tensors that already live in the wasm memory (the
// step arena): the same-shape arithmetic, scalar affine maps, ReLU and
// gradient accumulation that ops-elementwise.ts otherwise runs as JS loops.
//
// Bits: each is the TypeScript loop's IEEE operation per element.
// - f32 a ± b, a * b, a / b: JS computes in f64 and rounds to f32, which is
//   the correctly rounded f32 result (f64 has more than 2*24+2 bits), i.e.
//   exactly f32x4.add/sub/mul/div.
// - affine y = x*scale + shift with f64 scale and shift: promoted to f64x2,
//   one mul, one add (never fused), demoted: the JS expression's roundings.
// - ReLU: v > 0 ? v : 0 (NaN and -0 give +0); its gradient g * (v > 0 ? 1 : 0)
//   is a real multiply, so g = -1 gives -0 and g = Inf at v <= 0 gives NaN,
//   as in JS.
// Every kernel handles the last n % 4 elements one at a time and never
// touches memory past element n. Ranges [i0, i1) split elements for threads.

/** out = a + b (op 0), a - b (1), a * b (2), a / b (3), and g += a (4, out = a + out; b unused). */
export function binaryRange(a: usize, b: usize, out: usize, op: i32, i0: i32, i1: i32, ws: usize): void {
  let i = <usize>i0 << 2;
  const end = <usize>i1 << 2;
  const vend = i + (<usize>((i1 - i0) & ~3) << 2);
  if (op == 4) b = out;
  if (op == 0 || op == 4) {
    for (; i < vend; i += 16) v128.store(out + i, f32x4.add(v128.load(a + i), v128.load(b + i)));
    for (; i < end; i += 4) store<f32>(out + i, load<f32>(a + i) + load<f32>(b + i));
  } else if (op == 1) {
    for (; i < vend; i += 16) v128.store(out + i, f32x4.sub(v128.load(a + i), v128.load(b + i)));
    for (; i < end; i += 4) store<f32>(out + i, load<f32>(a + i) - load<f32>(b + i));
  } else if (op == 2) {
    for (; i < vend; i += 16) v128.store(out + i, f32x4.mul(v128.load(a + i), v128.load(b + i)));
    for (; i < end; i += 4) store<f32>(out + i, load<f32>(a + i) * load<f32>(b + i));
  } else {
    for (; i < vend; i += 16) v128.store(out + i, f32x4.div(v128.load(a + i), v128.load(b + i)));
    for (; i < end; i += 4) store<f32>(out + i, load<f32>(a + i) / load<f32>(b + i));
  }
}

/** out = f32(f64(x) * scale + shift), scale and shift read as f64 at paramsAt and paramsAt + 8. */
export function affineRange(x: usize, out: usize, paramsAt: usize, i0: i32, i1: i32, ws: usize): void {
  const scale = load<f64>(paramsAt), shift = load<f64>(paramsAt, 8);
  const s2 = f64x2.splat(scale), h2 = f64x2.splat(shift);
  let i = <usize>i0 << 2;
  const end = <usize>i1 << 2;
  const vend = i + (<usize>((i1 - i0) & ~3) << 2);
  for (; i < vend; i += 16) {
    const v = v128.load(x + i);
    const lo = f64x2.add(f64x2.mul(f64x2.promote_low_f32x4(v), s2), h2);
    const hi = f64x2.add(f64x2.mul(f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1)), s2), h2);
    const dlo = f32x4.demote_f64x2_zero(lo), dhi = f32x4.demote_f64x2_zero(hi);
    v128.store(out + i, i32x4.shuffle(dlo, dhi, 0, 1, 4, 5));
  }
  for (; i < end; i += 4) store<f32>(out + i, <f32>(<f64>load<f32>(x + i) * scale + shift));
}

/** out = -x (a sign flip, exact for every value). */
export function negRange(x: usize, out: usize, i0: i32, i1: i32, ws: usize): void {
  let i = <usize>i0 << 2;
  const end = <usize>i1 << 2;
  const vend = i + (<usize>((i1 - i0) & ~3) << 2);
  for (; i < vend; i += 16) v128.store(out + i, f32x4.neg(v128.load(x + i)));
  for (; i < end; i += 4) store<f32>(out + i, -load<f32>(x + i));
}

/** out = x > 0 ? x : 0 (grad = 0), or the gradient out = g * (x > 0 ? 1 : 0) (grad = g's address). */
export function reluRange(x: usize, g: usize, out: usize, i0: i32, i1: i32, ws: usize): void {
  let i = <usize>i0 << 2;
  const end = <usize>i1 << 2;
  const vend = i + (<usize>((i1 - i0) & ~3) << 2);
  const zero = f32x4.splat(0), one = f32x4.splat(1);
  if (g == 0) {
    for (; i < vend; i += 16) {
      const v = v128.load(x + i);
      v128.store(out + i, v128.and(v, f32x4.gt(v, zero)));
    }
    for (; i < end; i += 4) {
      const v = load<f32>(x + i);
      store<f32>(out + i, v > 0 ? v : 0);
    }
  } else {
    for (; i < vend; i += 16) {
      const d = v128.and(one, f32x4.gt(v128.load(x + i), zero));
      v128.store(out + i, f32x4.mul(v128.load(g + i), d));
    }
    for (; i < end; i += 4) store<f32>(out + i, load<f32>(g + i) * (load<f32>(x + i) > 0 ? <f32>1 : <f32>0));
  }
}

/**
 * Zero bytes [b0, b1) from p (a fresh arena buffer; b0 and b1 multiples of
 * 64, as arena buffers are). A store loop: V8's memory.fill on a shared
 * memory measured several times slower.
 */
export function zeroRange(p: usize, b0: i32, b1: i32, ws: usize): void {
  const z = i32x4.splat(0);
  const end = p + <usize>b1;
  for (let q = p + <usize>b0; q < end; q += 64) {
    v128.store(q, z);
    v128.store(q, z, 16);
    v128.store(q, z, 32);
    v128.store(q, z, 48);
  }
}
