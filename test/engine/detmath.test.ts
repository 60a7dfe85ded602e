// detmath: accuracy against Math.* (a fine oracle in tests, never in the
// numeric path), special values, exact identities, and golden hashes that
// pin the output bits.

import test from 'node:test';
import assert from 'node:assert/strict';
import * as dm from '../../src/engine/detmath.js';

// ---------------------------------------------------------------- helpers

/** A small self-contained generator for test inputs (splitmix32), so the goldens do not depend on rng.ts. */
function inputs(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z ^= z >>> 16;
    return (z >>> 0) / 4294967296;
  };
}

const I64 = new BigInt64Array(1);
const F64 = new Float64Array(I64.buffer);

/** Position of x on the number line of doubles (so ordered(b) - ordered(a) counts doubles between). */
function ordered(x: number): bigint {
  F64[0] = x;
  const v = I64[0];
  return v < 0n ? -(v & 0x7fffffffffffffffn) : v;
}

/** Distance in ulps between two doubles (0 for two NaNs or equal values). */
function ulps(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  if (a === b) return 0;
  const d = ordered(a) - ordered(b);
  return Number(d < 0n ? -d : d);
}

interface Sweep {
  max: number;
  at: number;
}

function sweep(n: number, gen: () => number, f: (x: number) => number, ref: (x: number) => number): Sweep {
  let max = 0;
  let at = NaN;
  for (let i = 0; i < n; i++) {
    const x = gen();
    const e = ulps(f(x), ref(x));
    if (e > max) {
      max = e;
      at = x;
    }
  }
  return { max, at };
}

function within(name: string, s: Sweep, bound: number): void {
  assert.ok(s.max <= bound, `${name}: ${s.max} ulp at x = ${s.at} (bound ${bound})`);
}

const N = 100_000;

function uniform(seed: number, lo: number, hi: number): () => number {
  const r = inputs(seed);
  return () => lo + (hi - lo) * r();
}

/** Log-uniform magnitude in [lo, hi] with a random sign when `signed`. */
function logUniform(seed: number, lo: number, hi: number, signed = false): () => number {
  const r = inputs(seed);
  const a = Math.log(lo);
  const b = Math.log(hi);
  return () => {
    const m = Math.exp(a + (b - a) * r());
    return signed && r() < 0.5 ? -m : m;
  };
}

// ---------------------------------------------------------------- accuracy against Math.*

test('exp: within 1 ulp of Math.exp over the whole range, subnormal results included', () => {
  within('exp wide', sweep(N, uniform(1, -745.2, 709.8), dm.exp, Math.exp), 1);
  within('exp small', sweep(N, uniform(2, -2, 2), dm.exp, Math.exp), 1);
  within('exp tiny', sweep(N, logUniform(3, 1e-20, 1, true), dm.exp, Math.exp), 1);
  within('exp subnormal', sweep(N, uniform(4, -745.2, -708), dm.exp, Math.exp), 1);
});

test('log: within 1 ulp of Math.log, near 1, wide, subnormal', () => {
  within('log wide', sweep(N, logUniform(5, 1e-300, 1e300), dm.log, Math.log), 1);
  within('log near 1', sweep(N, uniform(6, 0.5, 2), dm.log, Math.log), 1);
  within('log very near 1', sweep(N, uniform(7, 1 - 1e-9, 1 + 1e-9), dm.log, Math.log), 1);
  within('log subnormal', sweep(N, logUniform(8, 5e-324, 2.2e-308), dm.log, Math.log), 1);
});

test('log2: within 1 ulp of Math.log2', () => {
  within('log2 wide', sweep(N, logUniform(9, 1e-300, 1e300), dm.log2, Math.log2), 1);
  within('log2 near 1', sweep(N, uniform(10, 0.5, 2), dm.log2, Math.log2), 1);
});

test('expm1: within 1 ulp of Math.expm1', () => {
  within('expm1', sweep(N, uniform(11, -3, 3), dm.expm1, Math.expm1), 1);
  within('expm1 wide', sweep(N, uniform(12, -50, 709), dm.expm1, Math.expm1), 1);
  within('expm1 tiny', sweep(N, logUniform(13, 1e-20, 0.5, true), dm.expm1, Math.expm1), 1);
});

test('tanh: within 3 ulp of Math.tanh (each is within 2 ulp of the truth)', () => {
  within('tanh', sweep(N, uniform(17, -3, 3), dm.tanh, Math.tanh), 3);
  within('tanh wide', sweep(N, uniform(18, -25, 25), dm.tanh, Math.tanh), 3);
  within('tanh tiny', sweep(N, logUniform(19, 1e-20, 1, true), dm.tanh, Math.tanh), 3);
});

test('cosPi agrees with Math.cos(pi x) to 4e-16', () => {
  const g = uniform(24, -4, 4);
  for (let i = 0; i < N; i++) {
    const x = g();
    assert.ok(Math.abs(dm.cosPi(x) - Math.cos(Math.PI * x)) <= 4e-16 * (1 + Math.abs(x)), `cosPi(${x})`);
  }
});

test('sigmoid agrees with its Math.* formula to a few ulp', () => {
  const g = uniform(25, -40, 40);
  for (let i = 0; i < N; i++) {
    const x = g();
    const s = x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
    assert.ok(Math.abs(dm.sigmoid(x) - s) <= 4e-16 * s, `sigmoid(${x}) = ${dm.sigmoid(x)} vs ${s}`);
  }
});

test('special values', () => {
  const cases: Array<[string, (x: number) => number, number, number]> = [
    ['exp', dm.exp, 0, 1],
    ['exp', dm.exp, -0, 1],
    ['exp', dm.exp, Infinity, Infinity],
    ['exp', dm.exp, -Infinity, 0],
    ['exp', dm.exp, 710, Infinity],
    ['exp', dm.exp, -746, 0],
    ['exp', dm.exp, 709.782712893384, 1.7976931348622732e308],
    ['exp', dm.exp, -745.1332191019411, 5e-324],
    ['exp', dm.exp, 1, Math.E],
    ['log', dm.log, 1, 0],
    ['log', dm.log, 0, -Infinity],
    ['log', dm.log, -0, -Infinity],
    ['log', dm.log, -1, NaN],
    ['log', dm.log, -Infinity, NaN],
    ['log', dm.log, Infinity, Infinity],
    ['log', dm.log, 5e-324, -744.4400719213812],
    ['log', dm.log, Number.MAX_VALUE, 709.782712893384],
    ['log', dm.log, Math.E, 1],
    ['log2', dm.log2, 1, 0],
    ['log2', dm.log2, 0, -Infinity],
    ['log2', dm.log2, -2, NaN],
    ['log2', dm.log2, Infinity, Infinity],
    ['log2', dm.log2, 5e-324, -1074],
    ['expm1', dm.expm1, 0, 0],
    ['expm1', dm.expm1, -0, -0],
    ['expm1', dm.expm1, Infinity, Infinity],
    ['expm1', dm.expm1, -Infinity, -1],
    ['expm1', dm.expm1, 1e-300, 1e-300],
    ['tanh', dm.tanh, 0, 0],
    ['tanh', dm.tanh, -0, -0],
    ['tanh', dm.tanh, Infinity, 1],
    ['tanh', dm.tanh, -Infinity, -1],
    ['tanh', dm.tanh, 30, 1],
    ['tanh', dm.tanh, 1e-300, 1e-300],
    ['sigmoid', dm.sigmoid, 0, 0.5],
    ['sigmoid', dm.sigmoid, Infinity, 1],
    ['sigmoid', dm.sigmoid, -Infinity, 0],
    ['sigmoid', dm.sigmoid, 800, 1],
    ['cosPi', dm.cosPi, 0, 1],
    ['cosPi', dm.cosPi, 1, -1],
    ['cosPi', dm.cosPi, 0.5, 0],
    ['cosPi', dm.cosPi, 2, 1],
    ['cosPi', dm.cosPi, -3, -1],
    ['cosPi', dm.cosPi, 1 / 3, 0.5],
    ['ldexp', (x) => dm.ldexp(x, 1100), 1e-300, 1e-300 * Math.pow(2, 550) * Math.pow(2, 550)],
    ['ldexp', (x) => dm.ldexp(x, -1100), 1e300, 1e300 / Math.pow(2, 550) / Math.pow(2, 550)],
    ['ldexp', (x) => dm.ldexp(x, -1074), 1, 5e-324],
    ['ldexp', (x) => dm.ldexp(x, 1024), 1, Infinity],
  ];
  for (const [name, f, x, want] of cases) {
    const got = f(x);
    assert.ok(Object.is(got, want) || ulps(got, want) <= 1, `${name}(${x}) = ${got}, want ${want}`);
    if (got === 0 || want === 0) assert.ok(Object.is(got, want), `${name}(${x}): sign of zero, got ${got}, want ${want}`);
  }
  for (const f of [dm.exp, dm.log, dm.log2, dm.expm1, dm.tanh, dm.sigmoid, dm.cosPi]) {
    assert.ok(Number.isNaN(f(NaN)), `${f.name}(NaN) must be NaN`);
  }
});

test('exact identities: log2 of powers of two, exp/log round trips, odd functions', () => {
  for (let k = -1074; k <= 1023; k++) assert.equal(dm.log2(Math.pow(2, k)), k);
  const g = uniform(29, -5, 5);
  for (let i = 0; i < 10_000; i++) {
    const x = g();
    assert.ok(Math.abs(dm.log(dm.exp(x)) - x) <= 4.5e-16 * Math.max(1, Math.abs(x)), `log(exp(${x}))`);
    assert.equal(dm.tanh(-x), -dm.tanh(x));
    assert.equal(dm.cosPi(-x), dm.cosPi(x));
    assert.ok(Math.abs(dm.sigmoid(x) + dm.sigmoid(-x) - 1) <= 2.3e-16, `sigmoid symmetry at ${x}`);
  }
});

// ---------------------------------------------------------------- golden bits

/** FNV-1a (32-bit) over the 8 bytes (little-endian) of each f64 result; NaN hashed as one canonical NaN. */
function hashOutputs(f: (x: number) => number, gen: () => number, n: number): string {
  const view = new DataView(new ArrayBuffer(8));
  let h = 0x811c9dc5;
  for (let i = 0; i < n; i++) {
    const y = f(gen());
    view.setFloat64(0, Number.isNaN(y) ? NaN : y, true);
    for (let b = 0; b < 8; b++) h = Math.imul(h ^ view.getUint8(b), 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/**
 * The exact output bits of each function on 10k seeded inputs. A change to
 * any of these means the numbers of every saved run change: only update them
 * on purpose, and say so in the commit.
 */
const GOLDEN: Record<string, [(x: number) => number, () => number, string]> = {
  exp: [dm.exp, uniform(100, -750, 712), 'b7e2ccaa'],
  expm1: [dm.expm1, uniform(101, -40, 40), 'bf5102a9'],
  log: [dm.log, logUniform(102, 1e-310, 1e300), 'bb4285e1'],
  log2: [dm.log2, logUniform(104, 1e-310, 1e300), '84c6f86b'],
  tanh: [dm.tanh, uniform(105, -25, 25), 'e97c94f0'],
  sigmoid: [dm.sigmoid, uniform(106, -40, 40), '6ccf669d'],
  cosPi: [dm.cosPi, uniform(113, -10, 10), '0b353dd0'],
};

test('golden bits: outputs on 10k seeded inputs hash to the committed values', () => {
  const got: Record<string, string> = {};
  for (const [name, [f, gen]] of Object.entries(GOLDEN)) got[name] = hashOutputs(f, gen, 10_000);
  const want = Object.fromEntries(Object.entries(GOLDEN).map(([k, v]) => [k, v[2]]));
  assert.deepEqual(got, want);
});
