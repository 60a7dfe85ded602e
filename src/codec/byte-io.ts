/**
 * Byte streams in and out of the codec, in bounded memory.
 *
 * Output goes to a ByteSink (a callback, possibly async) or to a node
 * Writable (writes wait for 'drain' when the stream asks for backpressure).
 * Buffers handed to a sink are never modified afterwards.
 *
 * Input is any (async) iterable of Uint8Array, e.g. a node Readable or
 * fs.createReadStream(path); ByteReader pulls from it only as many buffers
 * as the current read needs.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { crc32 } from './crc32.js';
import { CorruptInputError } from './errors.js';

export type ByteSink = (bytes: Uint8Array) => void | Promise<void>;
export type ByteTarget = ByteSink | Writable;
export type ByteSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/** A ByteSink for a callback or a node Writable (respecting backpressure; it is not ended). */
export function toSink(target: ByteTarget): ByteSink {
  if (typeof target === 'function') return target;
  const stream = target;
  return async (bytes) => {
    if (stream.destroyed) throw new Error('output stream was destroyed before all data was written');
    if (stream.write(bytes)) return;
    // Wait for 'drain'; fail if the stream errors (once() rejects) or closes first.
    const ac = new AbortController();
    try {
      await Promise.race([
        once(stream, 'drain', { signal: ac.signal }),
        once(stream, 'close', { signal: ac.signal }).then(() => {
          throw new Error('output stream closed before all data was written');
        }),
      ]);
    } finally {
      ac.abort();
    }
  };
}

/**
 * Sequential reader over a ByteSource. Tracks the offset of the next byte and
 * a running CRC-32 of every byte read so far. Holds at most the source's
 * current buffer plus the bytes of the read in progress.
 */
export class ByteReader {
  private readonly it: AsyncIterator<Uint8Array> | Iterator<Uint8Array>;
  private bufs: Uint8Array[] = [];
  private head = 0; // bytes of bufs[0] already consumed
  private buffered = 0; // unconsumed bytes in bufs
  private done = false;
  /** Offset (in the source) of the next unread byte. */
  offset = 0;
  /** CRC-32 of bytes [0, offset). */
  crc = 0;

  constructor(source: ByteSource) {
    this.it = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
  }

  /** Pull one more buffer from the source; false at its end. */
  private async pull(): Promise<boolean> {
    if (this.done) return false;
    const r = await this.it.next();
    if (r.done) {
      this.done = true;
      return false;
    }
    const b: unknown = r.value;
    if (!(b instanceof Uint8Array)) throw new TypeError('ByteReader: the source yielded something other than a Uint8Array');
    if (b.length > 0) {
      this.bufs.push(b);
      this.buffered += b.length;
    }
    return true;
  }

  /**
   * Exactly n bytes (n <= available); throws CorruptInputError "truncated"
   * naming `what` when the source ends first. The result may share memory with
   * the source's buffers.
   */
  async read(n: number, what: string): Promise<Uint8Array> {
    while (this.buffered < n) {
      if (!(await this.pull())) {
        const end = this.offset + this.buffered;
        throw new CorruptInputError(
          `truncated at offset ${end}: the file ends inside ${what} (needed ${n} bytes at offset ${this.offset}, found ${this.buffered})`,
          end,
        );
      }
    }
    let out: Uint8Array;
    const first = this.bufs[0];
    if (n === 0) out = new Uint8Array(0);
    else if (first.length - this.head >= n) {
      out = first.subarray(this.head, this.head + n);
      this.advance(n);
    } else {
      out = new Uint8Array(n);
      let filled = 0;
      while (filled < n) {
        const b = this.bufs[0];
        const k = Math.min(b.length - this.head, n - filled);
        out.set(b.subarray(this.head, this.head + k), filled);
        filled += k;
        this.advance(k);
      }
    }
    this.crc = crc32(out, this.crc);
    this.offset += n;
    return out;
  }

  /** Consume k bytes of bufs[0] (k <= what is left of it). */
  private advance(k: number): void {
    this.head += k;
    this.buffered -= k;
    if (this.head === this.bufs[0].length) {
      this.bufs.shift();
      this.head = 0;
    }
  }

  /** Up to n bytes, fewer only at the end of the source. */
  async readUpTo(n: number, what: string): Promise<Uint8Array> {
    while (this.buffered < n && (await this.pull()));
    return this.read(Math.min(n, this.buffered), what);
  }

  /** Number of bytes left, counting at most up to `limit` (pulls at most that far). */
  async remaining(limit: number): Promise<number> {
    while (this.buffered < limit && (await this.pull()));
    return Math.min(this.buffered, limit);
  }
}
