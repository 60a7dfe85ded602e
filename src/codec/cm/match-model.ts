/**
 * The match model of lpaq1 and paq8 (Mahoney): find the most recent earlier
 * occurrence of the last `minLength` bytes (through a hash table of
 * positions), and while the data keeps repeating it, predict that the next
 * bit is the one that followed there. Long repeats are where a finite-order
 * context model is weakest (it only knows the last few bytes) and this model
 * strongest: its confidence grows with the length of the match, and an
 * adaptive counter per (length bucket, expected bit) learns how far to trust it.
 *
 * History is a ring buffer of 2^windowBits bytes; positions are absolute
 * byte counts, so a match older than the window is simply dropped.
 */
import { counterTable, updateCounter } from './counter.js';
import { STRETCH_TABLE } from './logistic.js';

const MAX_LEN = 65535;

export class MatchModel {
  private readonly buf: Uint8Array;
  private readonly mask: number;
  private readonly ht: Int32Array;
  private readonly hashShift: number;
  private readonly sm = counterTable(64 * 2);
  private pos = 0; // bytes seen
  private ptr = 0; // absolute position of the predicted byte (valid when len > 0)
  /** Length of the current match in bytes (0: none). */
  len = 0;
  private predicted = 0; // the byte the match predicts, with a leading 1 bit (256..511)
  private smi = -1; // counter used for the current bit, -1: none

  constructor(windowBits: number, hashBits: number, private readonly minLength: number) {
    this.buf = new Uint8Array(1 << windowBits);
    this.mask = (1 << windowBits) - 1;
    this.ht = new Int32Array(1 << hashBits).fill(-1);
    this.hashShift = 32 - hashBits;
  }

  get bytes(): number {
    return this.buf.byteLength + this.ht.byteLength;
  }

  /** Length bucket 0..15 (0: no match), for mixer selection. */
  get lengthBucket(): number {
    const l = this.len;
    return l === 0 ? 0 : l < 16 ? (l >> 2) + 1 : l < 32 ? 5 + ((l - 16) >> 3) : l < 512 ? 7 + ((l >> 6) > 7 ? 7 : l >> 6) : 15;
  }

  /**
   * Write the two inputs for the next bit into x[at], x[at + 1]: the learned
   * confidence of the expected bit, and a plain vote scaled by match length.
   * c0 is the partial byte with a leading 1 bit, bitPos the bits of it known.
   */
  predict(x: Int32Array, at: number, c0: number, bitPos: number): void {
    if (this.len > 0 && (this.predicted >>> (8 - bitPos)) === c0) {
      const bit = (this.predicted >>> (7 - bitPos)) & 1;
      const lb = this.lengthBucket;
      this.smi = ((lb << 1) | bit) * 2;
      x[at] = STRETCH_TABLE[this.sm[this.smi] >>> 4];
      const l = this.len > 32 ? 32 : this.len;
      x[at + 1] = bit ? l * 32 : -l * 32;
    } else {
      if (this.len > 0) this.len = 0; // the match failed within this byte
      this.smi = -1;
      x[at] = 0;
      x[at + 1] = 0;
    }
  }

  /** Learn from the coded bit. */
  updateBit(bit: number): void {
    if (this.smi >= 0) updateCounter(this.sm, this.smi, bit, 255);
  }

  /** After each byte: extend or drop the match, index the new position, look up a new match. */
  updateByte(byte: number): void {
    const buf = this.buf;
    const mask = this.mask;
    buf[this.pos & mask] = byte;
    this.pos++;
    // Rolling hash of the last minLength bytes.
    let h = 0;
    if (this.pos >= this.minLength) {
      for (let k = this.minLength; k >= 1; k--) h = Math.imul(h ^ buf[(this.pos - k) & mask], 0x2f0b4a73) + k;
      h = (h ^ (h >>> 15)) >>> this.hashShift;
    }
    if (this.len > 0) {
      this.ptr++;
      if (this.len < MAX_LEN) this.len++;
    }
    if (this.len === 0 && this.pos >= this.minLength) {
      const cand = this.ht[h];
      if (cand >= 0 && this.pos - cand < mask) {
        // Verify backwards: the table may point at a hash collision.
        let l = 0;
        while (l < MAX_LEN && l < cand && buf[(cand - 1 - l) & mask] === buf[(this.pos - 1 - l) & mask] && this.pos - cand + l < mask) l++;
        if (l >= this.minLength) {
          this.len = l;
          this.ptr = cand;
        }
      }
    }
    if (this.pos >= this.minLength) this.ht[h] = this.pos;
    if (this.len > 0 && this.pos - this.ptr >= mask) this.len = 0;
    this.predicted = this.len > 0 ? buf[this.ptr & mask] | 256 : 0;
  }
}
