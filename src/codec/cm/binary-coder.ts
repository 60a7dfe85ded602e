/**
 * A binary arithmetic coder, carry-less, 32-bit, in the style of the coder
 * in Mahoney's lpaq1/paq8: the interval [x1, x2] shrinks with each bit; when
 * the top bytes of x1 and x2 agree they can never change again and are
 * shifted out. No carry can occur because x1 <= x2 always holds and the split
 * point lies strictly inside. The split point is
 *     xmid = x1 + floor((x2 - x1) / 4096) * p + floor(((x2 - x1) mod 4096) * p / 4096)
 * for a 12-bit P(bit = 1) = p / 4096, p in [1, 4095]; a 1 takes [x1, xmid],
 * a 0 takes (xmid, x2]. All quantities are integers below 2^32 held in JS
 * numbers (products below 2^44), so the arithmetic is exact everywhere.
 *
 * The cost of a bit is within about 2^-20 of -log2 of its probability while
 * x2 - x1 >= 2^24, which the byte shifting maintains except in rare
 * near-straddle states (where it degrades gracefully, never incorrectly).
 * flush() writes 4 bytes; the decoder reads 0 past the end of its input.
 */

export class BinaryEncoder {
  private x1 = 0;
  private x2 = 0xffffffff;
  private buf: Uint8Array;
  private len = 0;

  constructor(initialCapacity = 1024) {
    this.buf = new Uint8Array(Math.max(16, initialCapacity));
  }

  /** Code `bit` with P(1) = p / 4096, p in [1, 4095]. */
  encode(bit: number, p: number): void {
    const r = this.x2 - this.x1;
    const xmid = this.x1 + (r >>> 12) * p + ((((r & 0xfff) * p) >>> 12));
    if (bit) this.x2 = xmid;
    else this.x1 = xmid + 1;
    // Shift out the leading bytes on which x1 and x2 agree.
    while (((this.x1 ^ this.x2) & 0xff000000) === 0) {
      this.put(this.x2 >>> 24);
      this.x1 = (this.x1 << 8) >>> 0;
      this.x2 = ((this.x2 << 8) | 255) >>> 0;
    }
  }

  private put(byte: number): void {
    if (this.len === this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.len++] = byte;
  }

  /** Bytes written so far. */
  get length(): number {
    return this.len;
  }

  /** Flush: any value in [x1, x2] identifies the stream; x1's 4 bytes are one. */
  finish(): Uint8Array {
    const x = this.x1;
    this.put(x >>> 24);
    this.put((x >>> 16) & 255);
    this.put((x >>> 8) & 255);
    this.put(x & 255);
    return this.buf.slice(0, this.len);
  }
}

export class BinaryDecoder {
  private x1 = 0;
  private x2 = 0xffffffff;
  private x = 0;
  private pos = 0;
  /** True once the decoder has read more than 4 bytes past the end of its input: the stream is truncated or damaged. */
  get overrun(): boolean {
    return this.pos > this.src.length + 4;
  }

  constructor(private readonly src: Uint8Array) {
    for (let i = 0; i < 4; i++) this.x = ((this.x << 8) | this.next()) >>> 0;
  }

  private next(): number {
    return this.pos < this.src.length ? this.src[this.pos++] : (this.pos++, 0);
  }

  /** Decode a bit coded with P(1) = p / 4096. */
  decode(p: number): number {
    const r = this.x2 - this.x1;
    const xmid = this.x1 + (r >>> 12) * p + ((((r & 0xfff) * p) >>> 12));
    let bit: number;
    if (this.x <= xmid) {
      bit = 1;
      this.x2 = xmid;
    } else {
      bit = 0;
      this.x1 = xmid + 1;
    }
    while (((this.x1 ^ this.x2) & 0xff000000) === 0) {
      this.x1 = (this.x1 << 8) >>> 0;
      this.x2 = ((this.x2 << 8) | 255) >>> 0;
      this.x = ((this.x << 8) | this.next()) >>> 0;
    }
    return bit;
  }
}
