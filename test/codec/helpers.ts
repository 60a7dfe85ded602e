// Shared helpers for the codec tests.
import fc from 'fast-check';
import { compressWithPredictor, decompressContainer } from '../../src/codec/compressor.js';
import { countPredictorFactory } from '../../src/codec/count-predictor.js';

/** mulberry32: a tiny seeded PRNG for reproducible synthetic data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Collects everything written to a sink. */
export function collector(): { sink: (b: Uint8Array) => void; bytes: () => Uint8Array } {
  const parts: Uint8Array[] = [];
  return {
    sink: (b) => {
      parts.push(b.slice());
    },
    bytes: () => {
      const n = parts.reduce((a, p) => a + p.length, 0);
      const out = new Uint8Array(n);
      let o = 0;
      for (const p of parts) {
        out.set(p, o);
        o += p.length;
      }
      return out;
    },
  };
}

/** Split `data` into pieces of the given sizes (cycled), as an async iterable. */
export async function* pieces(data: Uint8Array, sizes: number[] = [data.length]): AsyncGenerator<Uint8Array> {
  let pos = 0;
  let i = 0;
  while (pos < data.length) {
    const k = Math.max(1, sizes[i++ % sizes.length]);
    yield data.subarray(pos, pos + k);
    pos += k;
  }
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A small, fast count model for property tests. */
export const SMALL = { order: 2, hashBits: 8 };

export async function compress(data: Uint8Array, chunkSize: number, split?: number[], header: Record<string, unknown> = SMALL): Promise<Uint8Array> {
  const out = collector();
  await compressWithPredictor(pieces(data, split), out.sink, { predictorFactory: countPredictorFactory, header, chunkSize });
  return out.bytes();
}

export async function decompress(bytes: Uint8Array, split?: number[]): Promise<Uint8Array> {
  const out = collector();
  await decompressContainer(pieces(bytes, split), out.sink, { predictorFactory: countPredictorFactory });
  return out.bytes();
}

export const utf8 = new TextEncoder();
const ALL256 = Uint8Array.from({ length: 256 }, (_, i) => i);

/** Inputs of the kinds that break codecs: empty, tiny, runs, all byte values, binary, text, chunk boundaries. */
export const arbInput = fc.oneof(
  fc.constant(new Uint8Array(0)),
  fc.integer({ min: 0, max: 255 }).map((b) => Uint8Array.of(b)),
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 600 })).map(([b, n]) => new Uint8Array(n).fill(b)),
  fc.integer({ min: 0, max: 255 }).map((k) => Uint8Array.from(ALL256, (b) => (b + k) & 255)),
  fc.uint8Array({ maxLength: 400 }),
  fc.string({ unit: 'binary', maxLength: 150 }).map((s) => utf8.encode(s)),
  fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: -2, max: 2 }), fc.integer()).map(([k, d, seed]) => {
    const r = rng(seed);
    return Uint8Array.from({ length: k * 64 + d }, () => (r() < 0.7 ? 97 + Math.floor(r() * 4) : Math.floor(r() * 256)));
  }),
);

