/**
 * Thrown when a compressed file fails any check while being read: wrong
 * magic, unsupported version, a CRC mismatch, truncation, a length out of
 * range, trailing bytes. `offset` is the byte offset in the compressed file
 * where the problem was detected (for truncation: where the data ended); the
 * message names the problem and repeats the offset.
 */
export class CorruptInputError extends Error {
  override readonly name = 'CorruptInputError';
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(message);
    this.offset = offset;
  }
}
