/**
 * The glassbox compressed-file container, format versions 1 and 2.
 *
 * All integers are unsigned little-endian. Offsets are from the start of the file.
 *
 * (Format version 2 has the same layout; only the meaning of the coded bytes differs.)
 *
 * Preamble
 *   off  size  field
 *   0    4     magic 89 47 42 58 ("\x89GBX"; the high first byte catches 7-bit and text-mode mangling)
 *   4    2     format version (u16) = 1 or 2
 *   6    4     maxChunkLength (u32, 1..2^26): no chunk's original length exceeds it
 *   10   4     H = header length (u32, <= 1 MiB)
 *   14   H     header: a JSON object, UTF-8 (model config, seed, optimiser, ...;
 *              opaque to the container)
 *   14+H 4     CRC-32 of bytes [0, 14+H)
 * Chunks, zero or more, each
 *   +0   4     n = original length (u32, 1..maxChunkLength)
 *   +4   4     m = coded length (u32, <= 3n + 4, the range coder's bound)
 *   +8   4     CRC-32 of the n original bytes
 *   +12  m     coded bytes: one self-contained range-coder stream
 * End marker
 *   +0   4     00 00 00 00 (an original length of 0)
 * Trailer
 *   +0   4     total original length, low 32 bits
 *   +4   4     total original length, high 32 bits (< 2^21)
 *   +8   4     CRC-32 of the whole original input
 *   +12  4     CRC-32 of every byte of the file before this field
 *   +16  4     trailer magic 47 42 58 45 ("GBXE")
 * End of file: nothing may follow.
 *
 * Every chunk is coded independently (the coder is flushed per chunk), so a
 * reader can locate a chunk and check its lengths before decoding it; its
 * bytes still depend on the model state left by the chunks before it.
 * The reader checks everything: magic, version, limits, header CRC, chunk
 * lengths, each decoded chunk's CRC, the total length, the input CRC, the CRC
 * of the compressed bytes (so even a change that happens to decode to the same
 * output is reported), the trailer magic, and that the file ends there. Any
 * failure is a CorruptInputError carrying the offset.
 */
import { ByteReader, type ByteSource, type ByteTarget, type ByteSink, toSink } from './byte-io.js';
import { crc32 } from './crc32.js';
import { CorruptInputError } from './errors.js';
import { maxCodedLength } from './range-coder.js';

export { CorruptInputError } from './errors.js';

export const MAGIC = Uint8Array.of(0x89, 0x47, 0x42, 0x58);
export const TRAILER_MAGIC = Uint8Array.of(0x47, 0x42, 0x58, 0x45);
/**
 * Newest format version. 1: chunks coded by the byte-level range coder
 * (range32, the transformer compressor); 2: chunk bodies from the
 * context-mixing model's binary coder (a mode byte, then coded or stored
 * bytes; see cm/cm-codec.ts). The framing is the same in both.
 */
export const FORMAT_VERSION = 2;
export const MAX_HEADER_LENGTH = 1 << 20;
export const MAX_CHUNK_LENGTH = 1 << 26;
/**
 * Original bytes per chunk unless a caller says otherwise, for both
 * compressors: large, so the per-chunk record (12 bytes + the coder's flush)
 * costs < 0.01 bits per byte, and small enough that a streaming reader or
 * writer holds only a few of them.
 */
export const DEFAULT_CHUNK_SIZE = 1 << 16;
const PREAMBLE_FIXED = 14;
const TRAILER_LENGTH = 20;
const TWO32 = 0x100000000;

export type JsonObject = { [key: string]: unknown };

export interface ContainerHeader {
  version: number;
  maxChunkLength: number;
  header: JsonObject;
}

/** Little-endian u32 at `off` (works on any Uint8Array view, Buffer included). */
function u32(b: Uint8Array, off: number): number {
  return (b[off] | (b[off + 1] << 8) | (b[off + 2] << 16) | (b[off + 3] << 24)) >>> 0;
}

function hex(x: number): string {
  return '0x' + x.toString(16).padStart(8, '0');
}

/** Writes a container, chunk by chunk, to a sink or a node Writable (which it does not end). */
export class ContainerWriter {
  private readonly sink: ByteSink;
  private readonly header: Uint8Array;
  readonly maxChunkLength: number;
  private started = false;
  private finished = false;
  private fileCrc = 0;
  private inputCrc = 0;
  private inputLength = 0;
  /** Bytes of container written so far. */
  bytesWritten = 0;

  private readonly version: number;

  constructor(target: ByteTarget, options: { header: JsonObject; maxChunkLength: number; version?: number }) {
    const { header, maxChunkLength } = options;
    const version = options.version ?? FORMAT_VERSION;
    if (!Number.isInteger(version) || version < 1 || version > FORMAT_VERSION) throw new RangeError(`ContainerWriter: unknown format version ${version}`);
    this.version = version;
    if (typeof header !== 'object' || header === null || Array.isArray(header)) {
      throw new TypeError('ContainerWriter: header must be a JSON object');
    }
    if (!Number.isInteger(maxChunkLength) || maxChunkLength < 1 || maxChunkLength > MAX_CHUNK_LENGTH) {
      throw new RangeError(`ContainerWriter: maxChunkLength must be an integer in [1, ${MAX_CHUNK_LENGTH}]`);
    }
    this.header = new TextEncoder().encode(JSON.stringify(header));
    if (this.header.length > MAX_HEADER_LENGTH) {
      throw new RangeError(`ContainerWriter: header is ${this.header.length} bytes, over the ${MAX_HEADER_LENGTH}-byte limit`);
    }
    this.sink = toSink(target);
    this.maxChunkLength = maxChunkLength;
  }

  private async emit(bytes: Uint8Array): Promise<void> {
    this.fileCrc = crc32(bytes, this.fileCrc);
    this.bytesWritten += bytes.length;
    await this.sink(bytes);
  }

  /** Write the preamble (done automatically by the first writeChunk or finish). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const h = this.header.length;
    const out = new Uint8Array(PREAMBLE_FIXED + h + 4);
    const dv = new DataView(out.buffer);
    out.set(MAGIC, 0);
    dv.setUint16(4, this.version, true);
    dv.setUint32(6, this.maxChunkLength, true);
    dv.setUint32(10, h, true);
    out.set(this.header, PREAMBLE_FIXED);
    dv.setUint32(PREAMBLE_FIXED + h, crc32(out.subarray(0, PREAMBLE_FIXED + h)), true);
    await this.emit(out);
  }

  /** Append one chunk: its original bytes (for the CRC and length) and their coded form. */
  async writeChunk(original: Uint8Array, coded: Uint8Array): Promise<void> {
    if (this.finished) throw new Error('ContainerWriter: writeChunk() after finish()');
    const n = original.length;
    if (n < 1 || n > this.maxChunkLength) {
      throw new RangeError(`ContainerWriter: chunk length ${n} is outside [1, ${this.maxChunkLength}]`);
    }
    if (coded.length > maxCodedLength(n)) {
      throw new RangeError(`ContainerWriter: ${coded.length} coded bytes for ${n} original bytes exceeds the bound ${maxCodedLength(n)}`);
    }
    await this.start();
    const crc = crc32(original);
    this.inputCrc = crc32(original, this.inputCrc);
    this.inputLength += n;
    const out = new Uint8Array(12 + coded.length);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, n, true);
    dv.setUint32(4, coded.length, true);
    dv.setUint32(8, crc, true);
    out.set(coded, 12);
    await this.emit(out);
  }

  /** Write the end marker and trailer. */
  async finish(): Promise<void> {
    if (this.finished) throw new Error('ContainerWriter: finish() called twice');
    await this.start();
    this.finished = true;
    const out = new Uint8Array(4 + TRAILER_LENGTH);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, 0, true);
    dv.setUint32(4, this.inputLength % TWO32, true);
    dv.setUint32(8, Math.floor(this.inputLength / TWO32), true);
    dv.setUint32(12, this.inputCrc, true);
    dv.setUint32(16, crc32(out.subarray(0, 16), this.fileCrc), true);
    out.set(TRAILER_MAGIC, 20);
    await this.emit(out);
  }
}

/** A chunk located by ContainerReader, not yet decoded. */
export interface CodedChunk {
  /** 0-based chunk number. */
  index: number;
  /** Offset of the chunk record in the file. */
  offset: number;
  originalLength: number;
  crc: number;
  coded: Uint8Array;
}

/**
 * Reads and verifies a container from an (async) iterable of bytes, one
 * chunk at a time. Usage: readHeader(); then repeatedly nextChunk(), decode
 * the chunk, verifyChunk(chunk, decoded); nextChunk() returns null once the
 * end marker, trailer and end of file have been verified.
 */
export class ContainerReader {
  private readonly in: ByteReader;
  private readonly chunkLimit: number;
  private maxChunkLength = 0;
  private state: 'header' | 'chunks' | 'decoding' | 'done' = 'header';
  private index = 0;
  private inputCrc = 0;
  private inputLength = 0;

  /** `maxChunkLength`: refuse files whose chunks could be larger than this (memory bound). */
  constructor(source: ByteSource, options: { maxChunkLength?: number } = {}) {
    this.in = new ByteReader(source);
    this.chunkLimit = options.maxChunkLength ?? MAX_CHUNK_LENGTH;
  }

  /** Bytes of the container read so far. */
  get bytesRead(): number {
    return this.in.offset;
  }

  async readHeader(): Promise<ContainerHeader> {
    if (this.state !== 'header') throw new Error('ContainerReader: readHeader() called twice');
    const head = await this.in.readUpTo(4, 'the magic number');
    if (head.length === 0) throw new CorruptInputError('not a glassbox file: the input is empty (at offset 0)', 0);
    for (let i = 0; i < head.length; i++) {
      if (head[i] !== MAGIC[i]) throw new CorruptInputError(`not a glassbox file: bad magic number at offset ${i}`, i);
    }
    if (head.length < 4) await this.in.read(4 - head.length, 'the magic number'); // throws: truncated
    const fixed = await this.in.read(PREAMBLE_FIXED - 4, 'the preamble');
    const version = fixed[0] | (fixed[1] << 8);
    if (version > FORMAT_VERSION) {
      throw new CorruptInputError(
        `format version ${version} is newer than this glassbox supports (max ${FORMAT_VERSION}) at offset 4; upgrade glassbox to read this file`,
        4,
      );
    }
    if (version < 1) throw new CorruptInputError(`format version ${version} is not valid (at offset 4)`, 4);
    const maxChunkLength = u32(fixed, 2);
    if (maxChunkLength < 1 || maxChunkLength > this.chunkLimit) {
      throw new CorruptInputError(
        `maximum chunk length ${maxChunkLength} at offset 6 is outside [1, ${this.chunkLimit}]`,
        6,
      );
    }
    const h = u32(fixed, 6);
    if (h > MAX_HEADER_LENGTH) {
      throw new CorruptInputError(`header length ${h} at offset 10 exceeds the limit of ${MAX_HEADER_LENGTH} bytes`, 10);
    }
    const json = await this.in.read(h, 'the header');
    const computed = this.in.crc;
    const crcOffset = this.in.offset;
    const stored = u32(await this.in.read(4, 'the header CRC'), 0);
    if (computed !== stored) {
      throw new CorruptInputError(
        `header CRC mismatch at offset ${crcOffset}: bytes [0, ${crcOffset}) have CRC-32 ${hex(computed)}, the file records ${hex(stored)}`,
        crcOffset,
      );
    }
    let header: unknown;
    try {
      header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
    } catch (e) {
      throw new CorruptInputError(`header at offset ${PREAMBLE_FIXED} is not valid UTF-8 JSON: ${(e as Error).message}`, PREAMBLE_FIXED);
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) {
      throw new CorruptInputError(`header at offset ${PREAMBLE_FIXED} is not a JSON object`, PREAMBLE_FIXED);
    }
    this.maxChunkLength = maxChunkLength;
    this.state = 'chunks';
    return { version, maxChunkLength, header: header as JsonObject };
  }

  /** The next chunk, or null after the trailer has been read and verified. */
  async nextChunk(): Promise<CodedChunk | null> {
    if (this.state === 'done') return null;
    if (this.state !== 'chunks') {
      throw new Error(this.state === 'header' ? 'ContainerReader: call readHeader() first' : 'ContainerReader: verifyChunk() the previous chunk first');
    }
    const offset = this.in.offset;
    const fields = await this.in.read(4, `the record of chunk ${this.index}`);
    const n = u32(fields, 0);
    if (n === 0) {
      await this.readTrailer();
      this.state = 'done';
      return null;
    }
    const rest = await this.in.read(8, `the record of chunk ${this.index}`);
    const m = u32(rest, 0);
    const crc = u32(rest, 4);
    if (n > this.maxChunkLength) {
      throw new CorruptInputError(
        `chunk ${this.index} at offset ${offset}: original length ${n} exceeds the file's maximum chunk length ${this.maxChunkLength}`,
        offset,
      );
    }
    if (m > maxCodedLength(n)) {
      throw new CorruptInputError(
        `chunk ${this.index} at offset ${offset}: coded length ${m} (the field at offset ${offset + 4}) is impossible for ${n} original bytes (max ${maxCodedLength(n)})`,
        offset + 4,
      );
    }
    const coded = await this.in.read(m, `the coded bytes of chunk ${this.index}`);
    this.state = 'decoding';
    return { index: this.index, offset, originalLength: n, crc, coded };
  }

  /** Check a decoded chunk against its recorded length and CRC. */
  verifyChunk(chunk: CodedChunk, decoded: Uint8Array): void {
    if (this.state !== 'decoding' || chunk.index !== this.index) throw new Error('ContainerReader: verifyChunk() out of order');
    const where = `chunk ${chunk.index} at offset ${chunk.offset}`;
    if (decoded.length !== chunk.originalLength) {
      throw new CorruptInputError(`${where}: decoded ${decoded.length} bytes, the file records ${chunk.originalLength}`, chunk.offset);
    }
    const crc = crc32(decoded);
    if (crc !== chunk.crc) {
      throw new CorruptInputError(
        `${where}: CRC mismatch after decoding (got ${hex(crc)}, the file records ${hex(chunk.crc)}); ` +
          'the file is damaged, or the predictor is not the one (or not as deterministic as the one) that encoded it',
        chunk.offset,
      );
    }
    this.inputCrc = crc32(decoded, this.inputCrc);
    this.inputLength += decoded.length;
    this.index++;
    this.state = 'chunks';
  }

  private async readTrailer(): Promise<void> {
    const at = this.in.offset;
    const t = await this.in.read(12, 'the trailer');
    const lo = u32(t, 0);
    const hi = u32(t, 4);
    const inputCrc = u32(t, 8);
    const computedFileCrc = this.in.crc;
    const rest = await this.in.read(8, 'the trailer');
    const fileCrc = u32(rest, 0);
    if (hi >= 1 << 21 || hi * TWO32 + lo !== this.inputLength) {
      throw new CorruptInputError(
        `trailer at offset ${at}: total length ${hi >= 1 << 21 ? 'out of range' : hi * TWO32 + lo} does not match the ${this.inputLength} bytes decoded`,
        at,
      );
    }
    if (inputCrc !== this.inputCrc) {
      throw new CorruptInputError(
        `trailer at offset ${at + 8}: CRC-32 of the whole input is ${hex(this.inputCrc)}, the trailer records ${hex(inputCrc)}`,
        at + 8,
      );
    }
    if (fileCrc !== computedFileCrc) {
      throw new CorruptInputError(
        `trailer at offset ${at + 12}: CRC-32 of the compressed bytes [0, ${at + 12}) is ${hex(computedFileCrc)}, ` +
          `the trailer records ${hex(fileCrc)}: the file is damaged`,
        at + 12,
      );
    }
    for (let i = 0; i < 4; i++) {
      if (rest[4 + i] !== TRAILER_MAGIC[i]) {
        throw new CorruptInputError(`trailer at offset ${at + 16}: bad trailer magic`, at + 16);
      }
    }
    const end = this.in.offset;
    const extra = await this.in.remaining(1);
    if (extra > 0) {
      throw new CorruptInputError(`trailing garbage at offset ${end}: bytes follow the end of the glassbox stream`, end);
    }
  }
}
