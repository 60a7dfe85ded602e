/**
 * A small deterministic baseline predictor: adaptive order-0..K byte
 * contexts (K <= 3) with integer counts, blended by interpolated
 * Witten-Bell smoothing from the lowest order up:
 *
 *   P_-1(s) = 1/256
 *   P_k(s)  = (c_k(s) + w u_k P_{k-1}(s)) / (n_k + w u_k)     (or P_{k-1} if n_k = 0)
 *
 * where c_k(s) is how often s followed the current order-k context, n_k the
 * sum of those counts and u_k the number of distinct symbols seen there
 * (the escape weight grows with the context's variety); w is a fixed
 * escape multiplier. Orders 0 and 1 use exact tables; orders 2 and 3 hash
 * the context into 2^hashBits buckets (collisions are shared, identically on
 * both sides). A context's counts are halved when one reaches `limit`, which
 * keeps the statistics adaptive.
 *
 * Counts are integers and the blend is a fixed sequence of IEEE double
 * operations, so predictions are bit-identical everywhere. It learns from
 * every byte in observe(); endChunk() has nothing to do.
 */
import type { Predictor } from './predictor.js';

export interface CountPredictorConfig {
  /** Highest context order, 0..3 (default 3). */
  order?: number;
  /** log2 of the number of buckets for orders 2 and 3, 8..20 (default 16). */
  hashBits?: number;
  /** Halve a context's counts when one reaches this, 2..65535 (default 1020). */
  limit?: number;
  /** Escape multiplier w, in 1/16 units (integer, default 32: w = 2). */
  escape16?: number;
}

const N = 256;

class ContextTable {
  readonly counts: Uint16Array;
  readonly totals: Uint32Array;
  readonly distinct: Uint16Array;
  constructor(buckets: number) {
    this.counts = new Uint16Array(buckets * N);
    this.totals = new Uint32Array(buckets);
    this.distinct = new Uint16Array(buckets);
  }
}

export class CountPredictor implements Predictor {
  private readonly order: number;
  private readonly hashShift: number;
  private readonly limit: number;
  private readonly escape: number;
  private readonly tables: ContextTable[] = [];
  private readonly bucket: Int32Array; // current bucket per order
  private history = 0; // last 3 bytes, most recent in the low byte
  private readonly p = new Float64Array(N);
  private readonly out = new Float32Array(N);

  constructor(config: CountPredictorConfig = {}) {
    const order = config.order ?? 3;
    const hashBits = config.hashBits ?? 16;
    const limit = config.limit ?? 1020;
    const escape16 = config.escape16 ?? 32;
    if (!Number.isInteger(order) || order < 0 || order > 3) throw new RangeError(`order must be 0..3, got ${order}`);
    if (!Number.isInteger(hashBits) || hashBits < 8 || hashBits > 20) throw new RangeError(`hashBits must be 8..20, got ${hashBits}`);
    if (!Number.isInteger(limit) || limit < 2 || limit > 65535) throw new RangeError(`limit must be 2..65535, got ${limit}`);
    if (!Number.isInteger(escape16) || escape16 < 1 || escape16 > 1024) throw new RangeError(`escape16 must be 1..1024, got ${escape16}`);
    this.order = order;
    this.hashShift = 32 - hashBits;
    this.limit = limit;
    this.escape = escape16 / 16;
    for (let k = 0; k <= order; k++) this.tables.push(new ContextTable(k === 0 ? 1 : k === 1 ? N : 1 << hashBits));
    this.bucket = new Int32Array(order + 1);
    this.locate();
  }

  /** Bucket of each order's current context. */
  private locate(): void {
    const h = this.history;
    for (let k = 1; k <= this.order; k++) {
      if (k === 1) this.bucket[1] = h & 0xff;
      else {
        const ctx = k === 2 ? h & 0xffff : h & 0xffffff;
        this.bucket[k] = Math.imul(ctx + (k << 24), 0x9e3779b1) >>> this.hashShift;
      }
    }
  }

  predict(): Float32Array {
    const p = this.p;
    let prior = 1 / N; // P_-1, until an order with counts replaces it with p[]
    for (let k = 0; k <= this.order; k++) {
      const t = this.tables[k];
      const b = this.bucket[k];
      const n = t.totals[b];
      if (n === 0) continue;
      const e = this.escape * t.distinct[b];
      const inv = 1 / (n + e);
      const base = b * N;
      const c = t.counts;
      if (prior > 0) {
        const ep = e * prior;
        for (let s = 0; s < N; s++) p[s] = (c[base + s] + ep) * inv;
        prior = 0;
      } else {
        for (let s = 0; s < N; s++) p[s] = (c[base + s] + e * p[s]) * inv;
      }
    }
    const out = this.out;
    if (prior > 0) out.fill(prior);
    else for (let s = 0; s < N; s++) out[s] = p[s];
    return out;
  }

  observe(byte: number): void {
    for (let k = 0; k <= this.order; k++) {
      const t = this.tables[k];
      const b = this.bucket[k];
      const i = b * N + byte;
      const c = t.counts[i];
      if (c === 0) t.distinct[b]++;
      t.counts[i] = c + 1;
      t.totals[b]++;
      if (c + 1 >= this.limit) this.halve(t, b);
    }
    this.history = ((this.history << 8) | byte) & 0xffffff;
    this.locate();
  }

  /** Halve every count of bucket b (rounding up, so seen symbols stay seen). */
  private halve(t: ContextTable, b: number): void {
    let total = 0;
    const base = b * N;
    for (let s = 0; s < N; s++) {
      const c = (t.counts[base + s] + 1) >>> 1;
      t.counts[base + s] = c;
      total += c;
    }
    t.totals[b] = total;
  }

  endChunk(): void {}
}

/** A PredictorFactory for CountPredictor; reads its settings from the header object. */
export function countPredictorFactory(config: Record<string, unknown>): CountPredictor {
  const num = (key: string): number | undefined => {
    const v = config[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number') throw new TypeError(`count predictor: "${key}" must be a number`);
    return v;
  };
  return new CountPredictor({ order: num('order'), hashBits: num('hashBits'), limit: num('limit'), escape16: num('escape16') });
}
