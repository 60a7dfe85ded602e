/**
 * glassbox's compressors as a library: one set of options for both, the
 * same as `glassbox compress` / `glassbox decompress` take, in a buffer form
 * and a stream form.
 *
 * - Without `model`: the context mixer (src/codec/cm/, container format 2)
 *   at `level` 1-4 (the CLI's -1 .. -4; level 4 adds a transformer that
 *   learns as it codes).
 * - With `model`: static mode of the transformer compressor (format 1): a
 *   fixed GPT checkpoint, identified in the file by its SHA-256
 *   (static-model.ts); decompression needs the same checkpoint.
 *
 * Decompression reads every format glassbox writes, whatever options wrote
 * it: the file's header holds the whole configuration.
 *
 * Threads: level 4 and static mode run matmuls on the engine's worker pool.
 * Like every library function, these never set the thread count; the caller
 * does (setThreads, or withThreads(n, () => compressBuffer(...))), and the
 * output is the same bits for any count.
 */
import type { Writable } from 'node:stream';
import type { ByteSink, ByteSource } from './byte-io.js';
import { toSink } from './byte-io.js';
import { compressWithPredictor, decompressContainer, type CodecStats } from './compressor.js';
import { DEFAULT_CHUNK_SIZE, MAX_CHUNK_LENGTH } from './container.js';
import { GptPredictor, gptPredictorFactory } from './gpt-predictor.js';
import { staticConfig } from './gpt-levels.js';
import type { Predictor } from './predictor.js';
import { loadStaticModel, staticModelFor, type StaticModel } from './static-model.js';
import { compressCm } from './cm/cm-codec.js';
import { cmLevelConfig, CM_DEFAULT_LEVEL } from './cm/levels.js';

/** Where bytes come from: a Node Readable, a web ReadableStream, or any (async) iterable of Uint8Array. */
export type ByteInput = ByteSource | ReadableStream<Uint8Array>;
/**
 * Where bytes go: a Node Writable, a web WritableStream, or a callback
 * (whose buffers are never modified afterwards). It is not ended or closed,
 * so more can follow; on an error, discard what was written.
 */
export type ByteOutput = ByteSink | Writable | WritableStream<Uint8Array>;

/**
 * Static mode reports progress every this many bytes (its predictor is
 * slow enough that per-chunk reports would be a minute apart).
 */
export const PROGRESS_INTERVAL = 4096;

/** How far a compression or decompression has got. */
export interface CompressionProgress {
  phase: 'compress' | 'decompress';
  /** Original (uncompressed) bytes done so far. */
  bytes: number;
  /**
   * What those bytes cost, in bits: the compressed bytes written or read so
   * far for the context mixer (per chunk), the model's own code length for
   * static mode (every PROGRESS_INTERVAL bytes).
   */
  bits: number;
}

/** Options of compressStream and compressBuffer: those of `glassbox compress`, except the thread count. */
export interface CompressionOptions {
  /** Context-mixing level 1 (fastest) to 4 (best, with a transformer); default 2. Not with `model`. */
  level?: number;
  /**
   * Static mode: code with this fixed GPT checkpoint, a path to a glassbox
   * .safetensors checkpoint or what loadStaticModel returned. Decompressing
   * needs the same checkpoint.
   */
  model?: string | StaticModel;
  /** Static mode only: the model seed recorded in the header (default: the checkpoint's own). */
  seed?: number;
  /** Original bytes per container chunk, 1 to 2^26 (default DEFAULT_CHUNK_SIZE, 65536). */
  chunkSize?: number;
  /** Stop with the signal's reason (checked every few thousand bytes). */
  signal?: AbortSignal;
  onProgress?: (progress: CompressionProgress) => void;
}

/** Options of decompressStream and decompressBuffer: those of `glassbox decompress`, except the thread count. */
export interface DecompressionOptions {
  /** The checkpoint a static-mode file was compressed with (a path, or what loadStaticModel returned). */
  model?: string | StaticModel;
  signal?: AbortSignal;
  onProgress?: (progress: CompressionProgress) => void;
}

/** What a compression or decompression did. */
export interface CompressionStats {
  /** 'cm': the context mixer (format 2); 'gpt': the transformer compressor (format 1; static mode when compressing). */
  method: 'cm' | 'gpt';
  /** The level in the file's header (0 for static mode). */
  level: number;
  /** Bytes read: original bytes when compressing, compressed bytes when decompressing. */
  bytesIn: number;
  /** Bytes written. */
  bytesOut: number;
  /**
   * Sum of -log2 p over the coded bytes, p the model's own probability when
   * it coded each byte: the area under its prequential loss curve, in bits.
   * The compressed body exceeds it only by the coder's overhead.
   */
  modelBits: number;
  seconds: number;
  chunks: number;
}

const COMPRESS_KEYS = new Set(['level', 'model', 'seed', 'chunkSize', 'signal', 'onProgress']);
const DECOMPRESS_KEYS = new Set(['model', 'signal', 'onProgress']);

function checkKeys(options: object, known: Set<string>, fn: string): void {
  if (typeof options !== 'object' || options === null) throw new TypeError(`${fn}: options must be an object`);
  for (const k of Object.keys(options)) {
    if (!known.has(k)) throw new TypeError(`${fn}: unknown option "${k}" (known: ${[...known].join(', ')})`);
  }
}

async function resolveModel(model: string | StaticModel, fn: string): Promise<StaticModel> {
  if (typeof model === 'string') return loadStaticModel(model);
  if (typeof model !== 'object' || model === null || typeof model.sha256 !== 'string' || typeof model.model?.forward !== 'function') {
    throw new TypeError(`${fn}: model must be a checkpoint path or what loadStaticModel returned`);
  }
  return model;
}

/** Any ByteInput as a ByteSource: one buffer as a list of one, a web ReadableStream through its reader where it is not async-iterable (some browsers). */
function toSource(input: ByteInput, fn: string): ByteSource {
  const what = `${fn}: the input must be a Readable, a ReadableStream or an iterable of Uint8Array`;
  if (typeof input !== 'object' || input === null) throw new TypeError(what);
  if (input instanceof Uint8Array) return [input];
  if (Symbol.asyncIterator in input || Symbol.iterator in input) return input as ByteSource;
  const stream = input as ReadableStream<Uint8Array>;
  if (typeof stream.getReader !== 'function') throw new TypeError(what);
  return (async function* () {
    const reader = stream.getReader();
    try {
      for (let r = await reader.read(); !r.done; r = await reader.read()) yield r.value;
    } finally {
      reader.releaseLock();
    }
  })();
}

/** A sink for any ByteOutput, and what to do once the last bytes are written. */
function toOutput(output: ByteOutput, fn: string): { sink: ByteSink; release(): void } {
  if (typeof output === 'object' && output !== null && typeof (output as WritableStream).getWriter === 'function') {
    const writer = (output as WritableStream<Uint8Array>).getWriter();
    return {
      sink: async (bytes) => {
        await writer.ready;
        await writer.write(bytes);
      },
      release: () => writer.releaseLock(),
    };
  }
  if (typeof output !== 'function' && (typeof output !== 'object' || output === null || typeof (output as Writable).write !== 'function')) {
    throw new TypeError(`${fn}: the output must be a Writable, a WritableStream or a function`);
  }
  return { sink: toSink(output as ByteSink | Writable), release() {} };
}

/** Reports progress every PROGRESS_INTERVAL bytes through a transformer predictor. */
function reporting(p: GptPredictor, phase: CompressionProgress['phase'], onProgress: CompressionOptions['onProgress']): Predictor {
  if (!onProgress) return p;
  let next = PROGRESS_INTERVAL;
  return {
    predict: () => p.predict(),
    observe(byte) {
      p.observe(byte);
      if (p.bytesSeen >= next) {
        next = p.bytesSeen + PROGRESS_INTERVAL;
        onProgress({ phase, bytes: p.bytesSeen, bits: p.bits });
      }
    },
    endChunk: () => p.endChunk(),
  };
}

function result(method: CompressionStats['method'], level: number, s: CodecStats): CompressionStats {
  return { method, level, bytesIn: s.bytesIn, bytesOut: s.bytesOut, modelBits: s.modelBits, seconds: s.seconds, chunks: s.chunks };
}

/**
 * Compress `input` into a glassbox file written to `output`.
 *
 * The output does not depend on how the input is split into buffers, nor
 * on the thread count. `output` is not ended; if this throws, discard what
 * was written (bad options are refused before anything is written).
 *
 * @example
 * const out = fs.createWriteStream('book.txt.gbx');
 * await compressStream(fs.createReadStream('book.txt'), out, { level: 3 });
 * out.end();
 */
export async function compressStream(input: ByteInput, output: ByteOutput, options: CompressionOptions = {}): Promise<CompressionStats> {
  checkKeys(options, COMPRESS_KEYS, 'compressStream');
  const { level, seed, signal, onProgress } = options;
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_CHUNK_LENGTH) throw new RangeError(`chunkSize must be an integer from 1 to ${MAX_CHUNK_LENGTH}, got ${chunkSize}`);
  if (options.model === undefined) {
    if (seed !== undefined) throw new RangeError('seed applies to static mode only (give a model); the context-mixing levels take none (level 4\'s transformer always starts from seed 0)');
    const config = cmLevelConfig(level ?? CM_DEFAULT_LEVEL);
    const source = toSource(input, 'compressStream');
    const out = toOutput(output, 'compressStream');
    try {
      const s = await compressCm(source, out.sink, {
        config,
        chunkSize,
        signal,
        onProgress: onProgress && ((e) => onProgress({ phase: 'compress', bytes: e.bytesIn, bits: 8 * e.bytesOut })),
      });
      // The mixer's own output is its 12-bit probability, so the model's code length is the ideal one.
      return { method: 'cm', level: config.level, bytesIn: s.bytesIn, bytesOut: s.bytesOut, modelBits: s.idealBits, seconds: s.seconds, chunks: s.chunks };
    } finally {
      out.release();
    }
  }
  if (level !== undefined) throw new RangeError('level applies to the context-mixing compressor; static mode (model) has one fixed recipe');
  if (seed !== undefined && (!Number.isInteger(seed) || seed < 0 || seed > Number.MAX_SAFE_INTEGER)) throw new RangeError(`seed must be a non-negative integer, got ${seed}`);
  const loaded = await resolveModel(options.model, 'compressStream');
  const config = staticConfig(loaded.model.config, loaded.sha256, { seed });
  const factory = gptPredictorFactory(staticModelFor(loaded));
  const source = toSource(input, 'compressStream');
  const out = toOutput(output, 'compressStream');
  try {
    const s = await compressWithPredictor(source, out.sink, {
      predictorFactory: (raw) => reporting(factory(raw), 'compress', onProgress),
      header: config as unknown as Record<string, unknown>,
      chunkSize,
      signal,
    });
    return result('gpt', config.level, s);
  } finally {
    out.release();
  }
}

/**
 * Decompress a glassbox file (any format and level) from `input` to
 * `output`. Each chunk is written only after its CRC has been verified; on
 * damaged input this throws a CorruptInputError naming the offset, and what
 * was written must be discarded. `output` is not ended.
 */
export async function decompressStream(input: ByteInput, output: ByteOutput, options: DecompressionOptions = {}): Promise<CompressionStats> {
  checkKeys(options, DECOMPRESS_KEYS, 'decompressStream');
  const { signal, onProgress } = options;
  const loaded = options.model === undefined ? undefined : await resolveModel(options.model, 'decompressStream');
  const factory = gptPredictorFactory(staticModelFor(loaded));
  const source = toSource(input, 'decompressStream');
  const out = toOutput(output, 'decompressStream');
  let method: CompressionStats['method'] = 'cm';
  let level = 0;
  try {
    const s = await decompressContainer(source, out.sink, {
      predictorFactory: (raw) => {
        const p = factory(raw);
        method = 'gpt';
        level = p.config.level;
        return reporting(p, 'decompress', onProgress);
      },
      cm: onProgress && { onProgress: (e) => onProgress({ phase: 'decompress', bytes: e.bytesOut, bits: 8 * e.bytesIn }) },
      signal,
    });
    if (typeof s.config.level === 'number') level = s.config.level;
    return result(method, level, s);
  } finally {
    out.release();
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Compress a buffer into a glassbox file, in memory (see compressStream for
 * the options). `compressBuffer(data)` gives the same bytes as
 * `glassbox compress` with no flags.
 */
export async function compressBuffer(data: Uint8Array, options: CompressionOptions = {}): Promise<Uint8Array> {
  if (!(data instanceof Uint8Array)) throw new TypeError('compressBuffer: data must be a Uint8Array (a Buffer is one)');
  const parts: Uint8Array[] = [];
  await compressStream([data], (b) => void parts.push(b), options);
  return concat(parts);
}

/** Decompress a glassbox file held in memory (throws CorruptInputError on damaged input). */
export async function decompressBuffer(data: Uint8Array, options: DecompressionOptions = {}): Promise<Uint8Array> {
  if (!(data instanceof Uint8Array)) throw new TypeError('decompressBuffer: data must be a Uint8Array (a Buffer is one)');
  const parts: Uint8Array[] = [];
  await decompressStream([data], (b) => void parts.push(b), options);
  return concat(parts);
}
