/**
 * Higher-order byte contexts (orders 4..8) for the GPT compressor's mixer:
 * the classical half of a "count-based warm start". The order-3 CountPredictor
 * has a dense 256-entry row per context, which is affordable up to order 3;
 * longer contexts are sparse (a few distinct successors each), so here each
 * hashed context keeps a short list of (symbol, count) slots:
 *
 *   bucket = top hashBits of hash(order, last k bytes); tag = 16 other bits of it
 *   slots  = up to SLOTS (symbol, count) pairs; when full, a new symbol takes
 *            the slot with the smallest count; counts are halved when one reaches `limit`
 *
 * A bucket whose tag differs belongs to another context: it is ignored when
 * predicting and taken over when updating. Predictions extend the
 * order-3 model by the same interpolated Witten-Bell recursion, order by order:
 *
 *   P_k(s) = (c_k(s) + e_k P_{k-1}(s)) / (n_k + e_k),  e_k = (escape16/16) * distinct_k
 *
 * and the mixer sees every ln P_k. Because P_k is a scaled P_{k-1} except at
 * the few listed symbols, ln P_k costs one add per symbol and a log per slot.
 *
 * Integer counts and a fixed sequence of f64 operations: bit-identical
 * everywhere.
 */
import { expApprox, lnApprox } from './gpt-mixer.js';

const N = 256;
export const SLOTS = 8;

export interface ContextModelConfig {
  /** Context orders, ascending, each in 4..8 (e.g. [4, 6]). */
  orders: number[];
  /** log2 buckets per order, 10..22. */
  hashBits: number;
  /** Halve a bucket's counts when one reaches this (2..65535). */
  limit: number;
  /** Escape multiplier in 1/16 units. */
  escape16: number;
}

export class HighOrderContexts {
  readonly orders: number[];
  private readonly shift: number;
  private readonly limit: number;
  private readonly escape: number;
  private readonly tags: Uint16Array[] = [];
  private readonly used: Uint8Array[] = [];
  private readonly syms: Uint8Array[] = [];
  private readonly cnts: Uint16Array[] = [];
  /** Current bucket and tag per order. */
  private readonly bucket: Int32Array;
  private readonly tag: Int32Array;
  /** Last 8 bytes: lo = bytes 1..4 back, hi = bytes 5..8 back (most recent in the low byte). */
  private lo = 0;
  private hi = 0;
  /** ln P_k per order, after predict(). */
  readonly logp: Float64Array[];
  /** Index into `orders` of the highest order whose context has been seen before (-1: none), after predict(). */
  found = -1;

  constructor(config: ContextModelConfig) {
    const { orders, hashBits, limit, escape16 } = config;
    if (!Array.isArray(orders) || orders.some((k, i) => !Number.isInteger(k) || k < 4 || k > 8 || (i > 0 && k <= orders[i - 1]))) {
      throw new RangeError(`context orders must be ascending integers in 4..8, got ${JSON.stringify(orders)}`);
    }
    if (!Number.isInteger(hashBits) || hashBits < 10 || hashBits > 22) throw new RangeError(`context hashBits must be 10..22, got ${hashBits}`);
    if (!Number.isInteger(limit) || limit < 2 || limit > 65535) throw new RangeError(`context limit must be 2..65535, got ${limit}`);
    this.orders = orders.slice();
    this.shift = 32 - hashBits;
    this.limit = limit;
    this.escape = escape16 / 16;
    const B = 1 << hashBits;
    for (let i = 0; i < orders.length; i++) {
      this.tags.push(new Uint16Array(B));
      this.used.push(new Uint8Array(B));
      this.syms.push(new Uint8Array(B * SLOTS));
      this.cnts.push(new Uint16Array(B * SLOTS));
    }
    this.bucket = new Int32Array(orders.length);
    this.tag = new Int32Array(orders.length);
    this.logp = orders.map(() => new Float64Array(N));
    this.locate();
  }

  private locate(): void {
    for (let i = 0; i < this.orders.length; i++) {
      const k = this.orders[i];
      // Hash the k most recent bytes: all of lo, and the low k-4 bytes of hi.
      const hiPart = k >= 8 ? this.hi : this.hi & ((1 << (8 * (k - 4))) - 1);
      let h = Math.imul(this.lo ^ 0x5bd1e995, 0x9e3779b1);
      h = Math.imul((h ^ (h >>> 15)) + hiPart + k * 0x01000193, 0x85ebca6b);
      h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
      h ^= h >>> 16;
      this.bucket[i] = h >>> this.shift;
      this.tag[i] = (Math.imul(h, 0x27d4eb2f) >>> 16) | 1; // never 0: 0 marks an empty bucket
    }
  }

  /** Fill logp[i] = ln P_{orders[i]}, building on the order-3 log-probabilities `base`. */
  predict(base: Float64Array): void {
    let prevLog = base;
    this.found = -1;
    for (let i = 0; i < this.orders.length; i++) {
      const b = this.bucket[i];
      const out = this.logp[i];
      const u = this.tags[i][b] === this.tag[i] ? this.used[i][b] : 0;
      if (u === 0) {
        if (out !== prevLog) out.set(prevLog);
        prevLog = out;
        continue;
      }
      this.found = i;
      const o = b * SLOTS;
      const sy = this.syms[i];
      const cn = this.cnts[i];
      let n = 0;
      for (let j = 0; j < u; j++) n += cn[o + j];
      const e = this.escape * u;
      const inv = 1 / (n + e);
      const lnScale = lnApprox(e * inv);
      for (let s = 0; s < N; s++) out[s] = prevLog[s] + lnScale;
      for (let j = 0; j < u; j++) {
        const s = sy[o + j];
        const pPrev = expApprox(prevLog[s] > 0 ? 0 : prevLog[s]); // P_{k-1}(s), back from its log
        out[s] = lnApprox((cn[o + j] + e * pPrev) * inv);
      }
      prevLog = out;
    }
  }

  observe(byte: number): void {
    for (let i = 0; i < this.orders.length; i++) {
      const b = this.bucket[i];
      const tags = this.tags[i], used = this.used[i], sy = this.syms[i], cn = this.cnts[i];
      const o = b * SLOTS;
      if (tags[b] !== this.tag[i]) {
        tags[b] = this.tag[i];
        used[b] = 1;
        sy[o] = byte;
        cn[o] = 1;
        continue;
      }
      const u = used[b];
      let j = 0;
      while (j < u && sy[o + j] !== byte) j++;
      if (j < u) {
        const c = cn[o + j] + 1;
        cn[o + j] = c;
        if (c >= this.limit) for (let q = 0; q < u; q++) cn[o + q] = (cn[o + q] + 1) >>> 1;
      } else if (u < SLOTS) {
        sy[o + u] = byte;
        cn[o + u] = 1;
        used[b] = u + 1;
      } else {
        // Full: the least-counted slot (lowest index on ties) goes to the new symbol.
        let m = 0;
        for (let q = 1; q < SLOTS; q++) if (cn[o + q] < cn[o + m]) m = q;
        sy[o + m] = byte;
        cn[o + m] = 1;
      }
    }
    this.hi = ((this.hi << 8) | (this.lo >>> 24)) >>> 0;
    this.lo = ((this.lo << 8) | byte) >>> 0;
    this.locate();
  }
}
