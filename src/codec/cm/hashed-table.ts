/**
 * Hashed context slots, organised as in lpaq1 (Mahoney): each byte is coded
 * as two nibbles, and one 64-byte bucket holds the 15 counters of a nibble's
 * binary tree (nodes 1..15) under one context, so the four bits of a nibble
 * touch one cache line. Counter 0 of the bucket holds a 16-bit check of the
 * context hash, to detect collisions instead of silently sharing statistics.
 *
 * Lookup probes two buckets (i and i ^ 1); a miss replaces the one whose first
 * node has seen fewer updates (the less valuable statistics), in the spirit of
 * lpaq's and zpaq's replacement by priority.
 */
import { HALF } from './counter.js';

const BUCKET = 32; // Uint16 entries per bucket: 16 counters x (p, n)

export class HashedTable {
  readonly t: Uint16Array;
  private readonly shift: number;

  /** 2^bucketBits buckets of 64 bytes each. */
  constructor(readonly bucketBits: number) {
    this.t = new Uint16Array(BUCKET << bucketBits);
    this.shift = 32 - bucketBits;
  }

  /** Bytes of memory held. */
  get bytes(): number {
    return this.t.byteLength;
  }

  /**
   * The base index (into t) of the bucket for a 32-bit context hash; node j's
   * counter is at base + 2j. `found` reports whether the context was there.
   */
  find(hash: number): number {
    const t = this.t;
    const chk = (hash & 0xffff) || 1;
    const i = hash >>> this.shift;
    const b0 = i * BUCKET;
    if (t[b0] === chk) {
      this.found = 1;
      return b0;
    }
    const b1 = (i ^ 1) * BUCKET;
    if (t[b1] === chk) {
      this.found = 1;
      return b1;
    }
    this.found = 0;
    const b = (t[b0 + 3] & 255) <= (t[b1 + 3] & 255) ? b0 : b1;
    t[b] = chk;
    t[b + 1] = 0;
    for (let k = b + 2; k < b + BUCKET; k += 2) {
      t[k] = HALF;
      t[k + 1] = 0;
    }
    return b;
  }

  /** 1 if the last find() located an existing context, else 0. */
  found = 0;
}

/** A 32-bit hash of two integers (a multiply-xorshift finaliser). */
export function hash2(a: number, b: number): number {
  let x = Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77);
  x ^= x >>> 15;
  x = Math.imul(x, 0xc2b2ae3d);
  return (x ^ (x >>> 13)) >>> 0;
}
