// rng: the generator is checked against the published xoshiro128** vector and
// an independent BigInt re-implementation of the whole spec (seeding, forks,
// floats); then statistics, independence of forks, and state round trips.

import test from 'node:test';
import assert from 'node:assert/strict';
import { Rng, fnv1a64 } from '../../src/engine/rng.js';

// ---------------------------------------------------------------- independent reference (BigInt)

const M32 = 0xffffffffn;
const M64 = (1n << 64n) - 1n;

class RefXoshiro {
  constructor(public s: bigint[]) {}
  next(): bigint {
    const [s0, s1, s2, s3] = this.s;
    const rotl = (x: bigint, k: bigint): bigint => ((x << k) | (x >> (32n - k))) & M32;
    const result = (rotl((s1 * 5n) & M32, 7n) * 9n) & M32;
    const t = (s1 << 9n) & M32;
    let n2 = s2 ^ s0;
    let n3 = s3 ^ s1;
    const n1 = s1 ^ n2;
    const n0 = s0 ^ n3;
    n2 ^= t;
    n3 = rotl(n3, 11n);
    this.s = [n0, n1, n2, n3];
    return result;
  }
}

function refMix64(z: bigint): bigint {
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M64;
  return z ^ (z >> 31n);
}

function refFnv1a64(text: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of Buffer.from(text, 'utf8')) h = ((h ^ BigInt(b)) * 0x100000001b3n) & M64;
  return h;
}

/** The documented seeding: SplitMix64 from the key, two outputs, low word first. */
function refStateFromKey(key: bigint): bigint[] {
  const z1 = refMix64((key + 0x9e3779b97f4a7c15n) & M64);
  const z2 = refMix64((key + 2n * 0x9e3779b97f4a7c15n) & M64);
  return [z1 & M32, z1 >> 32n, z2 & M32, z2 >> 32n];
}

// ---------------------------------------------------------------- known answers

test('xoshiro128**: the published test vector from state [1, 2, 3, 4]', () => {
  const r = Rng.fromState({ key: [0, 0], s: [1, 2, 3, 4], spare: null });
  const got = Array.from({ length: 10 }, () => r.nextU32());
  // Reference outputs of xoshiro128** (as in the rand_xoshiro crate's tests).
  assert.deepEqual(got, [11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849, 3729100597, 4258142804]);
});

test('the whole stream matches an independent BigInt implementation of the spec', () => {
  for (const seed of [0, 1, 42, 0xffffffff, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
    const r = new Rng(seed);
    const ref = new RefXoshiro(refStateFromKey(BigInt(seed)));
    for (let i = 0; i < 1000; i++) assert.equal(BigInt(r.nextU32()), ref.next(), `seed ${seed}, output ${i}`);
  }
  for (const purpose of ['init', 'data', 'dropout', '', 'init/blocks.0.attn', 'ünï©ødé']) {
    const r = Rng.derive(7, purpose);
    const ref = new RefXoshiro(refStateFromKey(refMix64(7n ^ refFnv1a64(purpose))));
    for (let i = 0; i < 200; i++) assert.equal(BigInt(r.nextU32()), ref.next(), `purpose ${purpose}, output ${i}`);
  }
  // Nested forks chain the key derivation.
  const nested = new Rng(7).fork('a').fork('b');
  const key = refMix64(refMix64(7n ^ refFnv1a64('a')) ^ refFnv1a64('b'));
  const ref = new RefXoshiro(refStateFromKey(key));
  for (let i = 0; i < 50; i++) assert.equal(BigInt(nested.nextU32()), ref.next());
  assert.equal(fnv1a64('a'), 0xaf63dc4c8601ec8cn); // FNV-1a 64 published value for "a"
});

test('pinned first outputs (changing these changes every run)', () => {
  const r = new Rng(42);
  assert.deepEqual(
    Array.from({ length: 4 }, () => r.nextU32()),
    [1776835114, 4165204688, 17111135, 2317295270],
  );
  const d = Rng.derive(42, 'init');
  assert.deepEqual([d.nextU32(), d.nextU32()], [3542456985, 2686874957]);
});

test('next(): 53 bits from two outputs, (a >>> 5) * 2^26 + (b >>> 6), over 2^53', () => {
  const r = new Rng(3);
  const c = Rng.fromState(r.state());
  for (let i = 0; i < 1000; i++) {
    const a = c.nextU32() >>> 5;
    const b = c.nextU32() >>> 6;
    const x = r.next();
    assert.equal(x, (a * 67108864 + b) / 9007199254740992);
    assert.ok(x >= 0 && x < 1);
  }
});

// ---------------------------------------------------------------- statistics

test('int(n): range, validation and a chi-square bound', () => {
  const r = new Rng(11);
  const n = 10;
  const draws = 100_000;
  const counts = new Array(n).fill(0);
  for (let i = 0; i < draws; i++) {
    const k = r.int(n);
    assert.ok(Number.isInteger(k) && k >= 0 && k < n);
    counts[k]++;
  }
  const expected = draws / n;
  const chi2 = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
  assert.ok(chi2 < 33.7, `chi-square ${chi2} (9 dof; 33.7 is p = 1e-4)`);
  assert.equal(r.int(1), 0);
  for (let i = 0; i < 1000; i++) {
    const k = r.int(2 ** 32);
    assert.ok(k >= 0 && k < 2 ** 32);
    const m = r.int(3_000_000_000);
    assert.ok(m >= 0 && m < 3_000_000_000);
  }
  assert.throws(() => r.int(0), RangeError);
  assert.throws(() => r.int(2.5), RangeError);
  assert.throws(() => r.int(2 ** 32 + 1), RangeError);
});

test('next(): uniform over 64 bins (chi-square) with mean 1/2', () => {
  const r = new Rng(12);
  const bins = new Array(64).fill(0);
  const draws = 200_000;
  let sum = 0;
  for (let i = 0; i < draws; i++) {
    const x = r.next();
    bins[Math.floor(x * 64)]++;
    sum += x;
  }
  const expected = draws / 64;
  const chi2 = bins.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
  assert.ok(chi2 < 117, `chi-square ${chi2} (63 dof; 117 is about p = 1e-4)`);
  assert.ok(Math.abs(sum / draws - 0.5) < 4 * Math.sqrt(1 / 12 / draws));
});

test('normal(): mean 0, variance 1, symmetric tails; mean/std parameters', () => {
  const r = new Rng(13);
  const n = 200_000;
  let s1 = 0;
  let s2 = 0;
  let s4 = 0;
  let beyond2 = 0;
  for (let i = 0; i < n; i++) {
    const z = r.normal();
    s1 += z;
    s2 += z * z;
    s4 += z ** 4;
    if (Math.abs(z) > 2) beyond2++;
  }
  const mean = s1 / n;
  const variance = s2 / n - mean * mean;
  assert.ok(Math.abs(mean) < 4 / Math.sqrt(n), `mean ${mean}`);
  assert.ok(Math.abs(variance - 1) < 4 * Math.sqrt(2 / n), `variance ${variance}`);
  assert.ok(Math.abs(s4 / n - 3) < 0.1, `fourth moment ${s4 / n}`);
  assert.ok(Math.abs(beyond2 / n - 0.0455) < 0.002, `P(|z| > 2) = ${beyond2 / n}`);
  const a = new Rng(14);
  const b = new Rng(14);
  for (let i = 0; i < 100; i++) assert.equal(a.normal(5, 2), 5 + 2 * b.normal());
});

test('fillNormal / fillUniform equal the scalar draws in index order', () => {
  const a = new Rng(15);
  const b = new Rng(15);
  const out = new Float32Array(101);
  a.fillNormal(out, 0, 0.02);
  for (let i = 0; i < out.length; i++) assert.equal(out[i], Math.fround(0.02 * b.normal()));
  const u = new Float64Array(50);
  a.fillUniform(u, -1, 1);
  for (let i = 0; i < u.length; i++) assert.equal(u[i], -1 + 2 * b.next());
});

test('shuffle: a permutation, uniform over the 6 orders of 3 items', () => {
  const r = new Rng(16);
  const counts = new Map<string, number>();
  const draws = 60_000;
  for (let i = 0; i < draws; i++) {
    const key = r.shuffle([0, 1, 2]).join('');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  assert.equal(counts.size, 6);
  const expected = draws / 6;
  const chi2 = [...counts.values()].reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
  assert.ok(chi2 < 25.7, `chi-square ${chi2} (5 dof; 25.7 is p = 1e-4)`);
  const p = r.permutation(1000);
  assert.deepEqual([...p].sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  const typed = new Float32Array([1, 2, 3, 4]);
  assert.equal(r.shuffle(typed), typed);
});

// ---------------------------------------------------------------- derivation and independence

test('fork/derive: per purpose, independent of consumption, uncorrelated streams', () => {
  const root = new Rng(99);
  const before = root.fork('data').nextU32();
  for (let i = 0; i < 1000; i++) root.nextU32();
  root.normal();
  assert.equal(root.fork('data').nextU32(), before, 'fork must not depend on how far the parent ran');
  assert.equal(Rng.derive(99, 'data').nextU32(), before);

  const names = ['init', 'data', 'dropout', 'init2', 'Init'];
  const streams = names.map((p) => Rng.derive(99, p));
  const firsts = new Set(streams.map((s) => s.state().s.join(',')));
  assert.equal(firsts.size, names.length, 'distinct purposes give distinct states');
  // Pairwise correlation of 20k uniforms is near zero.
  const n = 20_000;
  const xs = streams.map((s) => Array.from({ length: n }, () => s.next() - 0.5));
  for (let i = 0; i < xs.length; i++) {
    for (let j = i + 1; j < xs.length; j++) {
      let c = 0;
      for (let k = 0; k < n; k++) c += xs[i][k] * xs[j][k];
      const corr = c / n / (1 / 12);
      assert.ok(Math.abs(corr) < 4 / Math.sqrt(n), `${names[i]} vs ${names[j]}: correlation ${corr}`);
    }
  }
  // Different seeds, same purpose: different streams; the root differs from its forks.
  assert.notEqual(Rng.derive(1, 'init').nextU32(), Rng.derive(2, 'init').nextU32());
  assert.notDeepEqual(new Rng(99).state().s, Rng.derive(99, 'data').state().s);
});

test('seed validation', () => {
  for (const bad of [-1, 1.5, NaN, Infinity, 2 ** 53]) assert.throws(() => new Rng(bad), RangeError, String(bad));
});

// ---------------------------------------------------------------- state

test('state()/setState(): JSON round trip continues the stream bit for bit, spare normal included', () => {
  const r = new Rng(2024);
  for (let i = 0; i < 37; i++) r.next();
  r.normal(); // leaves a spare
  const saved = JSON.parse(JSON.stringify(r.state()));
  assert.notEqual(saved.spare, null);
  const restored = Rng.fromState(saved);
  for (let i = 0; i < 500; i++) {
    assert.equal(restored.normal(), r.normal());
    assert.equal(restored.nextU32(), r.nextU32());
  }
  assert.equal(restored.fork('x').nextU32(), r.fork('x').nextU32(), 'the key survives the round trip');
  for (const w of [...saved.key, ...saved.s]) assert.ok(Number.isInteger(w) && w >= 0 && w < 2 ** 32);
  assert.throws(() => Rng.fromState({ key: [0, 0], s: [0, 0, 0, 0], spare: null }), RangeError);
  assert.throws(() => Rng.fromState({ key: [0, 0], s: [1, 2, 3, -4], spare: null }), RangeError);
});
