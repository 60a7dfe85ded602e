/** The codec layer: range coder, quantisation, container format, prequential compressor, and the library forms over both compressors. */
export { RangeEncoder, RangeDecoder, MAX_TOTAL_BITS, maxCodedLength } from './range-coder.js';
export { quantizeProbs, cumulative, findSymbol } from './quantize.js';
export { crc32 } from './crc32.js';
export { log2Int } from './log2.js';
export { CorruptInputError } from './errors.js';
export { toSink, ByteReader, type ByteSink, type ByteTarget, type ByteSource } from './byte-io.js';
export {
  ContainerWriter,
  ContainerReader,
  MAGIC,
  TRAILER_MAGIC,
  FORMAT_VERSION,
  MAX_HEADER_LENGTH,
  MAX_CHUNK_LENGTH,
  DEFAULT_CHUNK_SIZE,
  type ContainerHeader,
  type CodedChunk,
  type JsonObject,
} from './container.js';
export type { Predictor, PredictorFactory } from './predictor.js';
export {
  compressWithPredictor,
  decompressContainer,
  DEFAULT_TOTAL_BITS,
  type CodecProgress,
  type CodecStats,
  type CompressOptions,
  type DecompressOptions,
} from './compressor.js';
export { CountPredictor, countPredictorFactory, type CountPredictorConfig } from './count-predictor.js';
export {
  compressBuffer,
  decompressBuffer,
  compressStream,
  decompressStream,
  PROGRESS_INTERVAL,
  type CompressionOptions,
  type DecompressionOptions,
  type CompressionStats,
  type CompressionProgress,
  type ByteInput,
  type ByteOutput,
} from './library.js';
export { loadStaticModel, staticModelFromBytes, staticModelFor, checkpointSha256, type StaticModel } from './static-model.js';
