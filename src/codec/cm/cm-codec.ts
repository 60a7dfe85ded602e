/**
 * Context-mixing compression in the glassbox container (container.ts,
 * format version 2). The container's framing is unchanged, chunk CRCs and
 * trailer included; what changes is the chunk body:
 *   +0  1  mode: 0 = coded by the binary arithmetic coder, 1 = stored
 *   +1  .. the coder's bytes, or the chunk's original bytes
 * A chunk is stored when coding would expand it (random data), so a chunk
 * never takes more than n + 1 bytes; the model still learns from a stored
 * chunk, on both sides, so the next chunk's probabilities do not depend on
 * which mode was chosen.
 *
 * The model's state carries across chunks; chunks only bound the memory of
 * the streaming reader and writer and give each part of the file a CRC.
 * The header is { codec: { coder: "binary32" }, config: CmConfig }.
 */
import { performance } from 'node:perf_hooks';
import type { ByteSink, ByteSource, ByteTarget } from '../byte-io.js';
import { toSink } from '../byte-io.js';
import { ContainerWriter, type ContainerReader, DEFAULT_CHUNK_SIZE, MAX_CHUNK_LENGTH, type JsonObject } from '../container.js';
import { CorruptInputError } from '../errors.js';
import { BinaryDecoder, BinaryEncoder } from './binary-coder.js';
import type { ByteModel } from './byte-model.js';
import { parseCmConfig, type CmConfig } from './cm-config.js';
import { CmModel } from './cm-model.js';
import { defaultByteModels } from './gpt-byte-model.js';
import { log2Int } from '../log2.js';

/** COST[q] = -log2(q / 4096): the ideal cost of a bit coded with probability q / 4096 (for reports only). */
const COST = new Float64Array(4097);
for (let q = 1; q <= 4096; q++) COST[q] = 12 - log2Int(q);

export const CM_CODER = 'binary32';
export const CM_FORMAT_VERSION = 2;

/** Supplies the byte models (a transformer, a prior) a configuration asks for; must give the decoder the same ones. */
export type ByteModelFactory = (config: CmConfig) => ByteModel[] | Promise<ByteModel[]>;

export interface CmProgress {
  phase: 'compress' | 'decompress';
  bytesIn: number;
  bytesOut: number;
  chunks: number;
}

export interface CmStats {
  bytesIn: number;
  bytesOut: number;
  seconds: number;
  chunks: number;
  config: CmConfig;
  /** Bytes of model memory (tables, buffers, weights). */
  modelBytes: number;
  /** Sum of -log2 P(bit) over every coded bit: the code length before the coder's and container's overhead. */
  idealBits: number;
}

export interface CmCompressOptions {
  config: CmConfig;
  byteModels?: ByteModelFactory;
  chunkSize?: number;
  onProgress?: (e: CmProgress) => void;
  signal?: AbortSignal;
}

export interface CmDecompressOptions {
  byteModels?: ByteModelFactory;
  onProgress?: (e: CmProgress) => void;
  signal?: AbortSignal;
}

async function breathe(signal: AbortSignal | undefined): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  signal?.throwIfAborted();
}
const YIELD_MASK = 0x3fff;

/** Without a factory, the configuration's own byte models (the GPT at the levels that use it). */
async function buildModel(config: CmConfig, factory: ByteModelFactory | undefined): Promise<{ model: CmModel; extra: ByteModel[] }> {
  const extra = factory ? await factory(config) : defaultByteModels(config);
  return { model: new CmModel(config, extra), extra };
}

/** Compress `input` into a glassbox container (format 2) written to `output` (not ended). */
export async function compressCm(input: ByteSource, output: ByteTarget, options: CmCompressOptions): Promise<CmStats> {
  const t0 = performance.now();
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_CHUNK_LENGTH) throw new RangeError(`chunkSize must be an integer in [1, ${MAX_CHUNK_LENGTH}], got ${chunkSize}`);
  const { signal, onProgress } = options;
  signal?.throwIfAborted();
  // The model gets the configuration exactly as the decoder will read it back.
  const config = parseCmConfig(JSON.parse(JSON.stringify(options.config)) as Record<string, unknown>);
  const writer = new ContainerWriter(output, { header: { codec: { coder: CM_CODER }, config: config as unknown as JsonObject }, maxChunkLength: chunkSize, version: CM_FORMAT_VERSION });
  const { model, extra } = await buildModel(config, options.byteModels);
  let bytesIn = 0;
  let chunks = 0;
  let idealBits = 0;

  const codeChunk = async (chunk: Uint8Array): Promise<void> => {
    const enc = new BinaryEncoder(chunk.length + 16);
    for (let i = 0; i < chunk.length; i++) {
      if (i > 0 && (i & YIELD_MASK) === 0) await breathe(signal);
      const c = chunk[i];
      for (let b = 7; b >= 0; b--) {
        const bit = (c >> b) & 1;
        const p = model.p();
        enc.encode(bit, p);
        idealBits += COST[bit ? p : 4096 - p];
        model.update(bit);
      }
    }
    const coded = enc.finish();
    let body: Uint8Array;
    if (coded.length <= chunk.length) {
      body = new Uint8Array(coded.length + 1);
      body.set(coded, 1);
    } else {
      body = new Uint8Array(chunk.length + 1);
      body[0] = 1;
      body.set(chunk, 1);
    }
    await writer.writeChunk(chunk, body);
    for (const m of extra) await m.endChunk?.(chunk);
    bytesIn += chunk.length;
    chunks++;
    onProgress?.({ phase: 'compress', bytesIn, bytesOut: writer.bytesWritten, chunks });
    signal?.throwIfAborted();
  };

  let pending = new Uint8Array(chunkSize);
  let fill = 0;
  for await (const buf of input as AsyncIterable<Uint8Array>) {
    if (!(buf instanceof Uint8Array)) throw new TypeError('compressCm: the input yielded something other than a Uint8Array');
    let pos = 0;
    while (pos < buf.length) {
      const k = Math.min(chunkSize - fill, buf.length - pos);
      pending.set(buf.subarray(pos, pos + k), fill);
      fill += k;
      pos += k;
      if (fill === chunkSize) {
        await codeChunk(pending);
        pending = new Uint8Array(chunkSize);
        fill = 0;
      }
    }
  }
  if (fill > 0) await codeChunk(pending.subarray(0, fill));
  await writer.finish();
  return { bytesIn, bytesOut: writer.bytesWritten, seconds: (performance.now() - t0) / 1000, chunks, config, modelBytes: model.bytes, idealBits };
}

/**
 * Decode the chunks of a format-2 container whose header has been read.
 * Each chunk is written only after its CRC has been verified.
 */
export async function decodeCmChunks(reader: ContainerReader, rawConfig: JsonObject, output: ByteTarget, options: CmDecompressOptions): Promise<CmStats> {
  const t0 = performance.now();
  const { signal, onProgress } = options;
  const sink: ByteSink = toSink(output);
  const config = parseCmConfig(rawConfig);
  const { model, extra } = await buildModel(config, options.byteModels);
  let bytesOut = 0;
  let chunks = 0;
  let idealBits = 0;
  for (let chunk = await reader.nextChunk(); chunk !== null; chunk = await reader.nextChunk()) {
    const n = chunk.originalLength;
    const body = chunk.coded;
    const where = `chunk ${chunk.index} at offset ${chunk.offset}`;
    if (body.length < 1) throw new CorruptInputError(`${where}: empty chunk body`, chunk.offset + 12);
    const mode = body[0];
    const out = new Uint8Array(n);
    if (mode === 1) {
      if (body.length !== n + 1) throw new CorruptInputError(`${where}: a stored chunk of ${n} bytes has ${body.length - 1}`, chunk.offset + 4);
      for (let i = 0; i < n; i++) {
        if (i > 0 && (i & YIELD_MASK) === 0) await breathe(signal);
        const c = body[i + 1];
        for (let b = 7; b >= 0; b--) {
          const bit = (c >> b) & 1;
          const p = model.p();
          idealBits += COST[bit ? p : 4096 - p];
          model.update(bit);
        }
        out[i] = c;
      }
    } else if (mode === 0) {
      const dec = new BinaryDecoder(body.subarray(1));
      for (let i = 0; i < n; i++) {
        if (i > 0 && (i & YIELD_MASK) === 0) await breathe(signal);
        let c = 0;
        for (let b = 0; b < 8; b++) {
          const p = model.p();
          const bit = dec.decode(p);
          idealBits += COST[bit ? p : 4096 - p];
          model.update(bit);
          c = (c << 1) | bit;
        }
        out[i] = c;
        if (dec.overrun) {
          throw new CorruptInputError(`${where}: the coded bytes end early (at byte ${i} of ${n}); the file is truncated or damaged`, chunk.offset);
        }
      }
    } else {
      throw new CorruptInputError(`${where}: unknown chunk mode ${mode} at offset ${chunk.offset + 12}`, chunk.offset + 12);
    }
    reader.verifyChunk(chunk, out);
    await sink(out);
    for (const m of extra) await m.endChunk?.(out);
    bytesOut += n;
    chunks++;
    onProgress?.({ phase: 'decompress', bytesIn: reader.bytesRead, bytesOut, chunks });
    signal?.throwIfAborted();
  }
  return { bytesIn: reader.bytesRead, bytesOut, seconds: (performance.now() - t0) / 1000, chunks, config, modelBytes: model.bytes, idealBits };
}
