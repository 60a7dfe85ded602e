// The precision mode against an independent reference: every bf16 and fp16
// value is decoded from its 16 bits, and a number rounds to the nearest of
// them by search, ties to the even bit pattern, with the format's overflow
// threshold falling out of a sentinel 2^128 (bf16) or 2^16 (fp16) that
// stands for Infinity. None of this shares code with src/engine/precision.ts.

import test from 'node:test';
import assert from 'node:assert/strict';
import { roundBf16, roundFp16, roundInPlace, withPrecision, getPrecision, parsePrecision } from '../../src/engine/precision.js';
import { Tensor, noGrad } from '../../src/engine/tensor.js';
import { add, mulScalar } from '../../src/engine/ops-elementwise.js';
import { reshape } from '../../src/engine/ops-shape.js';
import { GPT } from '../../src/nn/gpt.js';
import { TestRng } from './gradcheck.js';

function pow2(e: number): number {
  let v = 1;
  for (let i = 0; i < Math.abs(e); i++) v = e > 0 ? v * 2 : v / 2;
  return v;
}

/** Sorted non-negative finite values of a 16-bit format with `mant` mantissa bits and bias `bias`, plus the Infinity sentinel; each with its bit pattern's parity. */
function grid(expBits: number, mant: number, bias: number): Array<{ v: number; even: boolean }> {
  const out: Array<{ v: number; even: boolean }> = [];
  const maxExp = (1 << expBits) - 1;
  for (let bits = 0; bits < 1 << (expBits + mant); bits++) {
    const e = bits >> mant;
    const m = bits & ((1 << mant) - 1);
    if (e === maxExp) continue;
    const v = e === 0 ? m * pow2(1 - bias - mant) : (1 + m / (1 << mant)) * pow2(e - bias);
    out.push({ v, even: (bits & 1) === 0 });
  }
  out.push({ v: pow2(maxExp - bias), even: true }); // one step past the top: Infinity
  return out;
}

const BF16 = grid(8, 7, 127);
const FP16 = grid(5, 10, 15);

function refRound(x: number, g: Array<{ v: number; even: boolean }>): number {
  if (Number.isNaN(x)) return NaN;
  if (x === Infinity || x === -Infinity) return x;
  const sign = x < 0 || Object.is(x, -0) ? -1 : 1;
  const a = Math.abs(x);
  let lo = 0;
  let hi = g.length - 1;
  if (a >= g[hi].v) return sign * Infinity;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (g[mid].v <= a) lo = mid;
    else hi = mid;
  }
  const dl = a - g[lo].v;
  const dh = g[hi].v - a;
  const pick = dl < dh ? lo : dh < dl ? hi : g[lo].even ? lo : hi;
  const v = pick === g.length - 1 ? Infinity : g[pick].v;
  return sign * v;
}

const f32 = (x: number) => Math.fround(x);
function fromBits(u: number): number {
  const b = new Uint32Array([u >>> 0]);
  return new Float32Array(b.buffer)[0];
}

const SPECIAL: number[] = [
  0, -0, Infinity, -Infinity, NaN, 1, -1, 65504, 65505, 65519, 65519.99, 65520, 65536, 70000, -65520, 1e6, 3.4e38, -3.4e38,
  fromBits(0x7f7fffff), fromBits(0x7f7f8000), fromBits(0x7f7f7fff), fromBits(0x7f7f8001), // around bf16's overflow midpoint
  pow2(-24), pow2(-25), 3 * pow2(-25), 5 * pow2(-25), pow2(-26), pow2(-14), pow2(-14) * (1 - pow2(-11)), pow2(-15), -pow2(-25), -pow2(-26),
  1 + pow2(-8), 1 + 3 * pow2(-8), 1 + pow2(-9), 1 + pow2(-11), 1 + 3 * pow2(-11), 1 + pow2(-12), 2 - pow2(-12), 2 - pow2(-9),
  fromBits(1), fromBits(0x00008000), fromBits(0x00018000), fromBits(0x0000ffff), fromBits(0x807fffff), fromBits(0x00800000), fromBits(0x007f8000),
  fromBits(0x7fc00000), fromBits(0x7f800001), fromBits(0xff800123), 0.1, -0.1, 1 / 3, 1e-8, -1e-8,
].map(f32);

function sameValue(a: number, b: number): boolean {
  return Number.isNaN(a) ? Number.isNaN(b) : Object.is(a, b);
}

test('bf16 and fp16 rounding match the independent reference on special values (subnormals, ties, ±0, NaN, overflow)', () => {
  for (const x of SPECIAL) {
    assert.ok(sameValue(roundBf16(x), refRound(x, BF16)), `bf16(${x}) = ${roundBf16(x)}, reference ${refRound(x, BF16)}`);
    assert.ok(sameValue(roundFp16(x), refRound(x, FP16)), `fp16(${x}) = ${roundFp16(x)}, reference ${refRound(x, FP16)}`);
  }
  // Named cases, so a reader sees the rules.
  assert.equal(roundFp16(65519), 65504);
  assert.equal(roundFp16(65520), Infinity, 'fp16 overflows from the midpoint 65520');
  assert.equal(roundFp16(pow2(-25)), 0, 'a tie between 0 and the smallest subnormal goes to 0 (even)');
  assert.equal(roundFp16(3 * pow2(-25)), pow2(-23), 'a tie between two subnormals goes to the even one');
  assert.ok(Object.is(roundFp16(-pow2(-26)), -0), 'underflow keeps the sign');
  assert.equal(roundBf16(1 + pow2(-8)), 1, 'bf16 tie to even (down)');
  assert.equal(roundBf16(1 + 3 * pow2(-8)), 1 + pow2(-6), 'bf16 tie to even (up)');
  assert.equal(roundBf16(fromBits(0x7f7f8000)), Infinity, 'bf16 overflows at its own midpoint');
  assert.ok(Number.isNaN(roundBf16(NaN)) && Number.isNaN(roundFp16(fromBits(0x7f800001))), 'NaN stays NaN (even a signalling payload whose top bits are zero)');
});

test('rounding matches the reference on 20,000 random f32 bit patterns and 20,000 values near 1 and 60000', () => {
  const rng = new TestRng(7);
  const xs: number[] = [];
  for (let i = 0; i < 20000; i++) xs.push(fromBits(Math.floor(rng.next() * 4294967296)));
  for (let i = 0; i < 10000; i++) xs.push(f32(1 + rng.next()));
  for (let i = 0; i < 10000; i++) xs.push(f32(50000 + 20000 * rng.next()));
  const a = Float32Array.from(xs);
  const b = Float32Array.from(xs);
  roundInPlace(a, 'bf16');
  roundInPlace(b, 'fp16');
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    assert.ok(sameValue(a[i], refRound(x, BF16)), `bf16(${x}) = ${a[i]}, reference ${refRound(x, BF16)}`);
    assert.ok(sameValue(b[i], refRound(x, FP16)), `fp16(${x}) = ${b[i]}, reference ${refRound(x, FP16)}`);
  }
});

test('withPrecision rounds every op output, leaves parameters alone, restores the mode, and names an unknown precision', () => {
  const a = Tensor.param(Float32Array.of(1, 2, 1e-3, 70000), [2, 2]);
  const b = new Tensor(Float32Array.of(pow2(-9), 0.3, 1e-4, 1), [2, 2]);
  const exact = add(a, b).toArray();
  const half = withPrecision('fp16', () => add(a, b)).toArray();
  assert.deepEqual(half, exact.map((x) => roundFp16(x)));
  assert.equal(half[3], Infinity);
  const bf = withPrecision('bf16', () => mulScalar(add(a, b), 3)).toArray();
  assert.deepEqual(bf, exact.map((x) => roundBf16(f32(roundBf16(x) * 3))));
  // reshape shares its input's buffer: the parameter itself must not be rounded.
  withPrecision('bf16', () => reshape(a, [4]));
  assert.deepEqual(a.toArray(), [1, 2, f32(1e-3), 70000]);
  assert.equal(getPrecision(), 'fp32');
  assert.throws(() => withPrecision('fp16', () => { throw new Error('inside'); }), /inside/);
  assert.equal(getPrecision(), 'fp32');
  assert.throws(() => parsePrecision('fp8'), /unknown precision "fp8" \(have: fp32, bf16, fp16\)/);
  assert.throws(() => withPrecision('int8' as never, () => 0), /unknown precision "int8"/);
});

test('a GPT forward in bf16 is deterministic, differs from fp32, and holds only bf16 values; fp32 is unchanged by the mode existing', () => {
  const model = new GPT({ vocabSize: 16, contextLength: 12, nLayers: 2, nHeads: 2, dModel: 16, seed: 3 });
  const tokens = Int32Array.from({ length: 12 }, (_, i) => (i * 5) % 16);
  const run = (p: 'fp32' | 'bf16' | 'fp16') => noGrad(() => withPrecision(p, () => model.forward(tokens, 1, 12))).toArray();
  const f = noGrad(() => model.forward(tokens, 1, 12)).toArray();
  assert.deepEqual(run('fp32'), f);
  const b1 = run('bf16');
  assert.deepEqual(run('bf16'), b1);
  assert.notDeepEqual(b1, f);
  assert.ok(b1.every((x) => roundBf16(x) === x), 'every logit is a bf16 value');
  const h = run('fp16');
  assert.ok(h.every((x) => roundFp16(x) === x), 'every logit is an fp16 value');
  // Close to fp32 at the format's precision.
  const worst = Math.max(...f.map((x, i) => Math.abs(x - b1[i])));
  assert.ok(worst < 0.05, `bf16 logits within 0.05 of fp32, worst ${worst}`);
});

test('the precision mode gives the same bits at 1 and 2 threads, through the parallel kernels and the step arena', async () => {
  const { withThreads, setParallelMinFlops } = await import('../../src/engine/matmul-kernel.js');
  const { setElementwiseWasmMin } = await import('../../src/engine/elementwise-kernel.js');
  const { withStepArena } = await import('../../src/engine/arena.js');
  const model = new GPT({ vocabSize: 32, contextLength: 64, nLayers: 2, nHeads: 4, dModel: 64, seed: 9 });
  const tokens = Int32Array.from({ length: 2 * 64 }, (_, i) => (i * 7) % 32);
  const prevFlops = setParallelMinFlops(0);
  const prevMin = setElementwiseWasmMin(0);
  try {
    const run = (threads: number, arena: boolean) => withThreads(threads, () => {
      const f = () => noGrad(() => withPrecision('bf16', () => model.forward(tokens, 2, 64))).toArray();
      return arena ? withStepArena(f) : f();
    });
    const one = await run(1, false);
    assert.deepEqual(await run(2, false), one);
    assert.deepEqual(await run(2, true), one);
    assert.ok(one.every((x) => roundBf16(x) === x));
  } finally {
    setParallelMinFlops(prevFlops);
    setElementwiseWasmMin(prevMin);
  }
});
