/**
 * Prequential compression driven by a Predictor (Dawid's prequential
 * approach; Blier & Ollivier, arXiv 1802.07044; docs/theory.md): each chunk is
 * range-coded with the predictor as it stands, then the predictor learns from
 * the chunk (endChunk); the decoder replays the same calls, so it needs only
 * the program and the header, never the weights.
 *
 * Input is re-cut into chunks of exactly `chunkSize` bytes (the last may be
 * shorter), so the output does not depend on how the input stream happens to
 * be split. Memory is bounded by a few chunks plus the predictor.
 *
 * The container header (see container.ts) holds
 *   { "codec": { "coder": "range32", "totalBits": 16 }, "config": <caller's header> }
 * and the decoder hands `config` back to the predictor factory.
 *
 * compressWithPredictor writes format 1; decompressContainer reads either
 * format (a format-2 file goes to the context mixer's decoder, cm-codec.ts).
 * The public forms over both compressors are in library.ts.
 */
import { performance } from 'node:perf_hooks';
import type { ByteSource, ByteTarget } from './byte-io.js';
import { toSink } from './byte-io.js';
import { ContainerReader, ContainerWriter, DEFAULT_CHUNK_SIZE, MAX_CHUNK_LENGTH, type JsonObject } from './container.js';
import { CorruptInputError } from './errors.js';
import { log2Int } from './log2.js';
import { log2 } from '../engine/detmath.js';
import type { Predictor, PredictorFactory } from './predictor.js';
import { cumulative, findSymbol, quantizeProbs } from './quantize.js';
import { RangeDecoder, RangeEncoder } from './range-coder.js';
import { CM_CODER, decodeCmChunks, type CmDecompressOptions } from './cm/cm-codec.js';

export const DEFAULT_TOTAL_BITS = 16;
const ALPHABET = 256;
const CODER = 'range32';

export interface CodecProgress {
  phase: 'compress' | 'decompress';
  /** Bytes consumed from the input (original bytes when compressing, compressed when decompressing). */
  bytesIn: number;
  /** Bytes written to the output. */
  bytesOut: number;
  /** Compressed bits per original byte so far (container overhead included). */
  bitsPerByte: number;
  /** Running sum of -log2 p over the bytes coded so far, p from the quantised frequencies. */
  idealBits: number;
  /** Running sum of -log2 p over the bytes coded so far, p the predictor's own (unquantised) output: the area under its loss. */
  modelBits: number;
  /** Chunks done. */
  chunks: number;
}

export interface CodecStats {
  bytesIn: number;
  bytesOut: number;
  /** Sum of -log2(f_b / 2^totalBits) over the coded bytes: what an ideal coder would spend on the quantised frequencies. */
  idealBits: number;
  /**
   * Sum of -log2(p_b / sum p) over the coded bytes, in f64, p the predictor's
   * unquantised output when it coded byte b: the area under the model's
   * prequential loss, in bits. The coded body exceeds it only by quantisation
   * and range-coder overhead (test/codec/identity.test.ts states the bound).
   */
  modelBits: number;
  seconds: number;
  chunks: number;
  /** The caller's header object (as stored in / read from the file). */
  config: JsonObject;
}

export interface CompressOptions {
  predictorFactory: PredictorFactory;
  /** Caller's JSON object stored in the file and given back to the factory (model config, seed, ...). */
  header: JsonObject;
  /** Bytes per chunk, each followed by the predictor's endChunk (default DEFAULT_CHUNK_SIZE of container.ts, 65536). */
  chunkSize?: number;
  /** Frequencies sum to 2^totalBits, 8..24 (default 16). */
  totalBits?: number;
  onProgress?: (event: CodecProgress) => void;
  signal?: AbortSignal;
}

export interface DecompressOptions {
  /** For format-1 files (the byte-level range coder); a format-2 file without one is decoded with `cm`. */
  predictorFactory?: PredictorFactory;
  /** For format-2 files (the context-mixing model): where its byte models come from. */
  cm?: CmDecompressOptions;
  onProgress?: (event: CodecProgress) => void;
  signal?: AbortSignal;
  /** Refuse files whose chunks may exceed this many bytes (memory bound; default and maximum 2^26). */
  maxChunkLength?: number;
}

/**
 * Every 4096 bytes inside a chunk the coding loops let the event loop run:
 * with a slow predictor a chunk can take a minute, and signal handlers
 * (SIGINT -> AbortSignal), timers and progress output only run between turns.
 */
const YIELD_MASK = 4095;
async function breathe(signal: AbortSignal | undefined): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  signal?.throwIfAborted();
}

/** Quantised-distribution scratch space shared by the coding loops. */
class Quantizer {
  readonly freqs = new Uint32Array(ALPHABET);
  readonly cum = new Uint32Array(ALPHABET + 1);
  /** The predictor's output for the byte being coded (read before observe()), and its f64 sum over the valid entries. */
  private p: Float32Array = new Float32Array(ALPHABET);
  private sum = 0;
  constructor(readonly totalBits: number) {}

  next(predictor: Predictor): void {
    const p = predictor.predict();
    if (p.length !== ALPHABET) throw new Error(`predictor returned ${p.length} probabilities, expected ${ALPHABET}`);
    quantizeProbs(p, this.totalBits, this.freqs);
    cumulative(this.freqs, ALPHABET, this.cum);
    let sum = 0;
    for (let i = 0; i < ALPHABET; i++) {
      const v = p[i];
      if (v > 0 && v < Infinity) sum += v; // the entries quantizeProbs counts, summed in the same order
    }
    this.p = p;
    this.sum = sum;
  }

  /** -log2 of the predictor's unquantised probability of `b` (uniform when its output had no valid mass, as in quantizeProbs). */
  modelBits(b: number): number {
    if (!(this.sum > 0 && this.sum < Infinity)) return 8; // log2(ALPHABET)
    const v = this.p[b];
    return v > 0 && v < Infinity ? log2(this.sum) - log2(v) : Infinity;
  }
}

function checkTotalBits(totalBits: number): void {
  if (!Number.isInteger(totalBits) || totalBits < 8 || totalBits > 24) {
    throw new RangeError(`totalBits must be an integer in [8, 24], got ${totalBits}`);
  }
}

/** Compress `input` into a glassbox container written to `output` (a sink or a Writable, not ended). */
export async function compressWithPredictor(input: ByteSource, output: ByteTarget, options: CompressOptions): Promise<CodecStats> {
  const t0 = performance.now();
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const totalBits = options.totalBits ?? DEFAULT_TOTAL_BITS;
  checkTotalBits(totalBits);
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError(`chunkSize must be a positive integer, got ${chunkSize}`);
  const { signal, onProgress } = options;
  signal?.throwIfAborted();

  if (chunkSize > MAX_CHUNK_LENGTH) throw new RangeError(`chunkSize must be at most ${MAX_CHUNK_LENGTH}, got ${chunkSize}`);
  // The factory gets the header exactly as the decoder will read it back.
  const config = JSON.parse(JSON.stringify(options.header)) as JsonObject;
  const writer = new ContainerWriter(output, {
    header: { codec: { coder: CODER, totalBits }, config },
    maxChunkLength: chunkSize,
    version: 1,
  });
  const predictor = await options.predictorFactory(config);
  const q = new Quantizer(totalBits);
  let bytesIn = 0;
  let idealBits = 0;
  let modelBits = 0;
  let chunks = 0;

  const codeChunk = async (chunk: Uint8Array): Promise<void> => {
    const enc = new RangeEncoder(chunk.length + 16);
    for (let i = 0; i < chunk.length; i++) {
      if (i > 0 && (i & YIELD_MASK) === 0) await breathe(signal);
      q.next(predictor);
      const b = chunk[i];
      const f = q.freqs[b];
      enc.encode(q.cum[b], f, totalBits);
      idealBits += totalBits - log2Int(f);
      modelBits += q.modelBits(b);
      predictor.observe(b);
    }
    await writer.writeChunk(chunk, enc.finish());
    await predictor.endChunk(chunk);
    bytesIn += chunk.length;
    chunks++;
    onProgress?.({ phase: 'compress', bytesIn, bytesOut: writer.bytesWritten, bitsPerByte: (8 * writer.bytesWritten) / bytesIn, idealBits, modelBits, chunks });
    signal?.throwIfAborted();
  };

  let pending = new Uint8Array(chunkSize);
  let fill = 0;
  for await (const buf of input as AsyncIterable<Uint8Array>) {
    if (!(buf instanceof Uint8Array)) throw new TypeError('compressWithPredictor: the input yielded something other than a Uint8Array');
    let pos = 0;
    while (pos < buf.length) {
      const k = Math.min(chunkSize - fill, buf.length - pos);
      pending.set(buf.subarray(pos, pos + k), fill);
      fill += k;
      pos += k;
      if (fill === chunkSize) {
        await codeChunk(pending);
        pending = new Uint8Array(chunkSize); // the predictor may keep the old one
        fill = 0;
      }
    }
  }
  if (fill > 0) await codeChunk(pending.subarray(0, fill));
  await writer.finish();
  return { bytesIn, bytesOut: writer.bytesWritten, idealBits, modelBits, seconds: (performance.now() - t0) / 1000, chunks, config };
}

/**
 * Decompress a glassbox container from `input` to `output` (not ended).
 * Each chunk is written only after its CRC has been verified; the trailer is
 * verified at the end. On any failure this throws (CorruptInputError for bad
 * input) and the output written so far must be discarded.
 */
export async function decompressContainer(input: ByteSource, output: ByteTarget, options: DecompressOptions): Promise<CodecStats> {
  const t0 = performance.now();
  const { signal, onProgress } = options;
  signal?.throwIfAborted();
  const sink = toSink(output);
  const reader = new ContainerReader(input, { maxChunkLength: options.maxChunkLength });
  const { header, version } = await reader.readHeader();
  const coder = (header.codec as { coder?: unknown } | undefined)?.coder;
  if (version === 2 || coder === CM_CODER) {
    if (version !== 2 || coder !== CM_CODER) throw new CorruptInputError(`header at offset 14: coder ${JSON.stringify(coder)} does not belong to format version ${version}`, 14);
    const config = header.config;
    if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new CorruptInputError('header at offset 14: missing "config" object', 14);
    const s = await decodeCmChunks(reader, config as JsonObject, sink, { signal, ...options.cm });
    return { bytesIn: s.bytesIn, bytesOut: s.bytesOut, idealBits: s.idealBits, modelBits: s.idealBits, seconds: (performance.now() - t0) / 1000, chunks: s.chunks, config: config as JsonObject };
  }
  const { totalBits, config } = parseCodecHeader(header);
  if (!options.predictorFactory) throw new Error('this file was written by the transformer compressor (format version 1); decoding it needs a predictorFactory');
  const predictor = await options.predictorFactory(config);
  const q = new Quantizer(totalBits);
  let bytesOut = 0;
  let idealBits = 0;
  let modelBits = 0;
  let chunks = 0;

  for (let chunk = await reader.nextChunk(); chunk !== null; chunk = await reader.nextChunk()) {
    const n = chunk.originalLength;
    const out = new Uint8Array(n);
    const dec = new RangeDecoder(chunk.coded);
    for (let i = 0; i < n; i++) {
      if (i > 0 && (i & YIELD_MASK) === 0) await breathe(signal);
      q.next(predictor);
      const s = findSymbol(q.cum, dec.decodeFreq(totalBits), ALPHABET);
      const f = q.freqs[s];
      dec.consume(q.cum[s], f, totalBits);
      if (dec.damaged) {
        throw new CorruptInputError(
          `chunk ${chunk.index} at offset ${chunk.offset}: the coded bytes are not a valid stream for this predictor (at byte ${i} of ${n}); ` +
            'the file is damaged, or the predictor differs from the one that encoded it',
          chunk.offset,
        );
      }
      out[i] = s;
      idealBits += totalBits - log2Int(f);
      modelBits += q.modelBits(s);
      predictor.observe(s);
    }
    reader.verifyChunk(chunk, out);
    await sink(out);
    await predictor.endChunk(out);
    bytesOut += n;
    chunks++;
    onProgress?.({ phase: 'decompress', bytesIn: reader.bytesRead, bytesOut, bitsPerByte: (8 * reader.bytesRead) / bytesOut, idealBits, modelBits, chunks });
    signal?.throwIfAborted();
  }
  return { bytesIn: reader.bytesRead, bytesOut, idealBits, modelBits, seconds: (performance.now() - t0) / 1000, chunks, config };
}

function parseCodecHeader(header: JsonObject): { totalBits: number; config: JsonObject } {
  const codec = header.codec as { coder?: unknown; totalBits?: unknown } | undefined;
  const config = header.config;
  const bad = (what: string): never => {
    throw new CorruptInputError(`header at offset 14: ${what}`, 14);
  };
  if (typeof codec !== 'object' || codec === null) return bad('missing "codec" record');
  if (codec.coder !== CODER) return bad(`unsupported coder ${JSON.stringify(codec.coder)} (this glassbox knows "${CODER}")`);
  const tb = codec.totalBits;
  if (typeof tb !== 'number' || !Number.isInteger(tb) || tb < 8 || tb > 24) return bad(`invalid totalBits ${JSON.stringify(tb)}`);
  if (typeof config !== 'object' || config === null || Array.isArray(config)) return bad('missing "config" object');
  return { totalBits: tb, config: config as JsonObject };
}
