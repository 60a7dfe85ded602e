import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RangeDecoder, RangeEncoder, maxCodedLength } from '../../src/codec/range-coder.js';
import { cumulative, findSymbol, quantizeProbs } from '../../src/codec/quantize.js';
import { rng } from './helpers.js';

interface Model {
  freqs: Uint32Array;
  cum: Uint32Array;
  totalBits: number;
}

function model(weights: number[], totalBits: number): Model {
  const freqs = new Uint32Array(weights.length);
  quantizeProbs(Float32Array.from(weights), totalBits, freqs);
  return { freqs, cum: cumulative(freqs), totalBits };
}

/** Encode symbols (each with its own model) and return the stream. */
function encodeAll(symbols: number[], models: Model[], streaming = false): Uint8Array {
  const enc = new RangeEncoder(16);
  const parts: Uint8Array[] = [];
  symbols.forEach((s, i) => {
    const m = models[i % models.length];
    enc.encode(m.cum[s], m.freqs[s], m.totalBits);
    if (streaming && i % 7 === 0) parts.push(enc.takeBytes());
  });
  parts.push(enc.finish());
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function decodeAll(bytes: Uint8Array, count: number, models: Model[]): number[] {
  const dec = new RangeDecoder(bytes);
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const m = models[i % models.length];
    const s = findSymbol(m.cum, dec.decodeFreq(m.totalBits));
    dec.consume(m.cum[s], m.freqs[s], m.totalBits);
    out.push(s);
  }
  assert.equal(dec.damaged, false);
  return out;
}

/** Draw a symbol from a model with a uniform number. */
function sample(m: Model, u: number): number {
  return findSymbol(m.cum, Math.floor(u * 2 ** m.totalBits));
}

test('range coder: empty stream is empty and decodes nothing', () => {
  const enc = new RangeEncoder();
  assert.equal(enc.finish().length, 0);
});

test('range coder: round trips random symbol streams under random models (fast-check)', () => {
  const arbModel = fc
    .integer({ min: 8, max: 24 })
    .chain((totalBits) =>
      fc.array(fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1e-6, noNaN: true })), {
        minLength: 1,
        maxLength: 256,
      }).map((w) => model(w, totalBits)),
    );
  fc.assert(
    fc.property(fc.array(arbModel, { minLength: 1, maxLength: 4 }), fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { maxLength: 400 }), fc.boolean(), (models, us, streaming) => {
      const symbols = us.map((u, i) => sample(models[i % models.length], u));
      const bytes = encodeAll(symbols, models, streaming);
      assert.ok(bytes.length <= maxCodedLength(symbols.length));
      assert.deepEqual(decodeAll(bytes, symbols.length, models), symbols);
    }),
    { numRuns: 300 },
  );
});

test('range coder: worst-case symbols (freq 1 of 2^24) stay within 3n + 4 bytes', () => {
  const freqs = new Uint32Array([1, 2 ** 24 - 1]);
  const m: Model = { freqs, cum: cumulative(freqs), totalBits: 24 };
  const symbols = new Array(1000).fill(0);
  const bytes = encodeAll(symbols, [m]);
  assert.ok(bytes.length <= maxCodedLength(1000), `${bytes.length} bytes`);
  assert.deepEqual(decodeAll(bytes, 1000, [m]), symbols);
});

test('range coder: carries propagate through long runs of pending 0xFF bytes', () => {
  // White-box: steer the encoder so its interval keeps straddling the carry
  // boundary (2^32 in the window), which holds back more and more 0xFF bytes;
  // then pick a symbol above the boundary, so a carry turns them all to 0x00.
  type State = { low: number; range: number; pending: number };
  const enc = new RangeEncoder();
  const st = enc as unknown as State;
  const r = rng(42);
  const steps: [number, number][] = [];
  let maxPending = 0;
  let carries = 0;
  for (let i = 0; i < 3000; i++) {
    const q = Math.floor(st.range / 65536);
    const toBoundary = 2 ** 32 - st.low; // the boundary's offset inside the interval, if it is there
    let cum: number;
    let freq: number;
    if (toBoundary > 0 && toBoundary < q * 65536) {
      const b = Math.floor(toBoundary / q); // the value whose symbol straddles the boundary
      if (i % 25 === 24 && b < 65535) {
        cum = b + 1; // just above: carry
        freq = 65536 - cum;
        if (st.pending > 0) carries++;
      } else {
        cum = b;
        freq = 1;
      }
    } else {
      freq = 1 + Math.floor(r() * 4000);
      cum = Math.floor(r() * (65536 - freq));
    }
    steps.push([cum, freq]);
    enc.encode(cum, freq, 16);
    maxPending = Math.max(maxPending, st.pending);
  }
  const bytes = enc.finish();
  const dec = new RangeDecoder(bytes);
  for (const [cum, freq] of steps) {
    const v = dec.decodeFreq(16);
    assert.ok(v >= cum && v < cum + freq, `decoded ${v} outside [${cum}, ${cum + freq})`);
    dec.consume(cum, freq, 16);
  }
  assert.equal(dec.damaged, false);
  assert.ok(maxPending >= 20 && carries >= 20, `maxPending ${maxPending}, carries through 0xFF runs ${carries}`);
});

function overhead(weights: number[], count: number, seed: number): { ideal: number; actual: number } {
  const m = model(weights, 16);
  const r = rng(seed);
  const symbols = Array.from({ length: count }, () => sample(m, r()));
  let ideal = 0;
  for (const s of symbols) ideal += 16 - Math.log2(m.freqs[s]);
  const bytes = encodeAll(symbols, [m]);
  assert.deepEqual(decodeAll(bytes, count, [m]), symbols);
  return { ideal, actual: bytes.length * 8 };
}

test('range coder: size within 0.5% of the ideal sum of -log2 p (skewed and near-uniform, 2e5 symbols)', (t) => {
  const skewed = Array.from({ length: 256 }, (_, i) => 0.6 ** i); // ~1.4 bits/symbol
  const r = rng(3);
  const nearUniform = Array.from({ length: 256 }, () => 1 + 0.2 * r()); // ~7.99 bits/symbol
  for (const [name, w] of [
    ['skewed', skewed],
    ['near-uniform', nearUniform],
  ] as const) {
    const { ideal, actual } = overhead(w as number[], 200000, 11);
    const rel = actual / ideal - 1;
    t.diagnostic(`${name}: ideal ${(ideal / 200000).toFixed(4)} bits/symbol, coded ${(actual / 200000).toFixed(4)}, overhead ${(rel * 100).toFixed(3)}%`);
    assert.ok(rel < 0.005 && rel > -0.001, `${name}: overhead ${rel}`);
  }
});

test('range decoder: garbage input never throws or hangs', () => {
  const m = model([1, 2, 3, 4, 5], 16);
  const r = rng(5);
  for (let trial = 0; trial < 200; trial++) {
    const junk = Uint8Array.from({ length: 20 }, () => Math.floor(r() * 256));
    const dec = new RangeDecoder(junk);
    for (let i = 0; i < 200; i++) {
      const v = dec.decodeFreq(16);
      assert.ok(v >= 0 && v < 65536);
      const s = findSymbol(m.cum, v);
      dec.consume(m.cum[s], m.freqs[s], 16);
    }
  }
});
