/**
 * Byte-history state that text contexts are made of, after the word and
 * column models of paq8 (Mahoney): hashes of the current word and the two
 * before it (letters only, case folded, so "The" and "the" share
 * statistics), the column (bytes since the last newline) and the byte in
 * the same column of the previous line, which is what predicts tables,
 * indentation and fixed-width records.
 */
export class TextState {
  /** Hash of the letters of the current word so far (0 between words). */
  word0 = 0;
  word1 = 0;
  word2 = 0;
  /** Bytes since the last newline. */
  column = 0;
  /** The byte at the same column on the previous line (0 if it was shorter). */
  above = 0;
  private readonly hist = new Uint8Array(1 << 16);
  private pos = 0;
  private lineStart = 0;
  private prevLineStart = 0;

  update(byte: number): void {
    this.hist[this.pos & 0xffff] = byte;
    this.pos++;
    let c = byte;
    if (c >= 65 && c <= 90) c += 32; // fold case
    if ((c >= 97 && c <= 122) || c >= 128) {
      this.word0 = (Math.imul(this.word0 ^ c, 0x01000193) + c) >>> 0 || 1;
    } else if (this.word0 !== 0) {
      this.word2 = this.word1;
      this.word1 = this.word0;
      this.word0 = 0;
    }
    if (byte === 10) {
      this.prevLineStart = this.lineStart;
      this.lineStart = this.pos;
    }
    this.column = this.pos - this.lineStart;
    const a = this.prevLineStart + this.column;
    this.above = a < this.lineStart && this.pos - a < 0xffff ? this.hist[a & 0xffff] : 0;
  }
}
