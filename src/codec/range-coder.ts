/**
 * A 32-bit range coder with carry propagation (the low/range/cache scheme).
 *
 * State: `range` is a 32-bit unsigned width, kept in [2^24, 2^32) between
 * symbols; `low` is the bottom of the current interval, up to 33 bits wide
 * (bit 32 is a carry that has not yet reached the output). Both are plain JS
 * numbers holding integers below 2^34, so every operation below is exact.
 *
 * Coding a symbol with cumulative frequency `cum`, frequency `freq`, out of a
 * total 2^totalBits:
 *     r = floor(range / 2^totalBits);  low += r * cum;  range = r * freq
 * then, while range < 2^24, the top byte of `low` is shifted out.
 *
 * A shifted-out byte is not final until we know no later carry can reach it:
 * the last such byte is held in `cache`, followed by `pending` bytes of 0xFF
 * (a carry would turn them into 0x00 and increment `cache`). When a byte
 * below 0xFF arrives, or a carry does, the held bytes are settled and
 * written.
 *
 * Stream conventions (the decoder relies on them):
 * - The encoder starts with low = 0, range = 2^32 - 1, so the first byte it
 *   would write is always 0 (low + range never exceeds 2^32); that byte is
 *   dropped, and the decoder starts by reading 4 bytes, not 5.
 * - finish() picks the value in [low, low + range) with the most trailing zero
 *   bytes, writes it, and drops trailing 0x00 bytes. Reading past the end of a
 *   stream yields 0x00, so the decoder sees the same value.
 *
 * Cost: a symbol costs log2(range / (r * freq)) bits, against the ideal
 * totalBits - log2(freq): the loss is log2(range / (r * 2^totalBits)) < log2(1 + 2^totalBits / r).
 * With totalBits = 16 and range >= 2^24 that is below 0.0057 bits per symbol
 * and about 0.0005 on average; with totalBits = 24 it can reach 1 bit (use 24
 * only where 2^16 cannot hold the alphabet). Each stream adds at most 4 bytes
 * of flush. A stream of n symbols is at most 3n + 4 bytes long.
 */

const TOP = 0x1000000; // 2^24: normalisation threshold for `range`
const TWO32 = 0x100000000; // 2^32

/** Largest supported totalBits (the normalisation keeps range >= 2^24). */
export const MAX_TOTAL_BITS = 24;

function checkTotalBits(totalBits: number): void {
  if (!Number.isInteger(totalBits) || totalBits < 1 || totalBits > MAX_TOTAL_BITS) {
    throw new RangeError(`totalBits must be an integer in [1, ${MAX_TOTAL_BITS}], got ${totalBits}`);
  }
}

/** Upper bound on the bytes a stream of `symbols` symbols can take. */
export function maxCodedLength(symbols: number): number {
  return 3 * symbols + 4;
}

export class RangeEncoder {
  private low = 0; // < 2^33
  private range = TWO32 - 1;
  private cache = 0; // last settled-pending byte
  private pending = 0; // 0xFF bytes held after `cache`
  private first = true; // the first shifted-out byte is the dropped 0
  private buf: Uint8Array;
  private len = 0; // bytes written to buf
  private finished = false;

  constructor(initialCapacity = 1024) {
    this.buf = new Uint8Array(Math.max(16, initialCapacity));
  }

  /** Code the symbol occupying [cumFreq, cumFreq + freq) out of 2^totalBits. */
  encode(cumFreq: number, freq: number, totalBits: number): void {
    if (this.finished) throw new Error('RangeEncoder: encode() after finish()');
    if (!(freq >= 1 && cumFreq >= 0 && cumFreq + freq <= (1 << totalBits))) {
      checkTotalBits(totalBits);
      throw new RangeError(`RangeEncoder: bad interval cum=${cumFreq} freq=${freq} total=2^${totalBits}`);
    }
    const r = this.range >>> totalBits;
    if (r === 0) checkTotalBits(totalBits);
    this.low += r * cumFreq;
    this.range = r * freq;
    while (this.range < TOP) {
      this.range *= 256; // stays below 2^32
      this.shiftLow();
    }
  }

  /** Move the top byte of `low` (bits 24..31, plus carry bit 32) towards the output. */
  private shiftLow(): void {
    const low = this.low;
    if (low < 0xff000000 || low >= TWO32) {
      const carry = low >= TWO32 ? 1 : 0;
      if (this.first) this.first = false;
      else this.put((this.cache + carry) & 0xff);
      for (; this.pending > 0; this.pending--) this.put((0xff + carry) & 0xff);
      this.cache = Math.floor(low / TOP) & 0xff;
    } else {
      this.pending++; // top byte is 0xFF: a later carry could still change it
    }
    this.low = (low % TOP) * 256;
  }

  private put(byte: number): void {
    if (this.len === this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.len++] = byte;
  }

  /** Bytes written so far that can no longer change; they are removed from the encoder. */
  takeBytes(): Uint8Array {
    const out = this.buf.slice(0, this.len);
    this.len = 0;
    return out;
  }

  /**
   * Flush the final interval and return every byte not yet taken with
   * takeBytes(). The encoder cannot be used afterwards.
   */
  finish(): Uint8Array {
    if (this.finished) throw new Error('RangeEncoder: finish() called twice');
    this.finished = true;
    // Choose the value in [low, low + range) with the most trailing zero bits
    // at byte granularity; a multiple of 2^24 always fits since range >= 2^24.
    for (const step of [TWO32, TOP, 0x10000, 0x100, 1]) {
      const v = Math.ceil(this.low / step) * step;
      if (v < this.low + this.range) {
        this.low = v;
        break;
      }
    }
    for (let i = 0; i < 5; i++) this.shiftLow();
    let end = this.len;
    while (end > 0 && this.buf[end - 1] === 0) end--;
    const out = this.buf.slice(0, end);
    this.len = 0;
    return out;
  }
}

/**
 * Decodes a stream produced by RangeEncoder.finish() (with any bytes taken by
 * takeBytes() before it, in order). Reads past the end of `source` as 0x00.
 *
 * Per symbol: v = decodeFreq(totalBits) gives a value in [0, 2^totalBits);
 * find the symbol whose [cum, cum + freq) contains v, then consume(cum, freq, totalBits).
 * On damaged input the decoded symbols are garbage but the decoder never
 * throws, loops or reads out of bounds; `damaged` becomes true when it sees a
 * value no encoder could have produced.
 */
export class RangeDecoder {
  private readonly src: Uint8Array;
  private pos = 0;
  private range = TWO32 - 1;
  private code = 0; // offset of the coded value above `low`; < range on valid input
  private r = 0; // range >>> totalBits from the last decodeFreq
  /** True once the stream has shown it cannot have come from the encoder. */
  damaged = false;

  constructor(source: Uint8Array) {
    this.src = source;
    for (let i = 0; i < 4; i++) this.code = ((this.code << 8) | this.next()) >>> 0;
    if (this.code >= this.range) this.damaged = true;
  }

  private next(): number {
    return this.pos < this.src.length ? this.src[this.pos++] : (this.pos++, 0);
  }

  /** Bytes of the source the decoder has read so far (may exceed its length: padding). */
  get bytesRead(): number {
    return this.pos;
  }

  /** The cumulative-frequency value of the next symbol, in [0, 2^totalBits). */
  decodeFreq(totalBits: number): number {
    const r = this.range >>> totalBits;
    if (r === 0) checkTotalBits(totalBits);
    this.r = r;
    // code and r are integers below 2^32: the f64 quotient floors exactly.
    const v = Math.floor(this.code / r);
    const total = (1 << totalBits);
    if (v >= total) {
      this.damaged = true;
      return total - 1;
    }
    return v;
  }

  /** Remove the symbol [cumFreq, cumFreq + freq) found via decodeFreq(totalBits). */
  consume(cumFreq: number, freq: number, totalBits: number): void {
    const r = this.r === 0 ? this.range >>> totalBits : this.r;
    this.r = 0;
    this.code -= r * cumFreq;
    this.range = r * freq;
    if (this.code < 0 || this.code >= this.range) {
      // Only damaged input gets here; keep the state in range and carry on.
      this.damaged = true;
      this.code = ((this.code % this.range) + this.range) % this.range;
    }
    while (this.range < TOP) {
      this.range *= 256;
      this.code = this.code * 256 + this.next();
    }
  }
}
