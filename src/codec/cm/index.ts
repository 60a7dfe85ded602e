/** The context-mixing compressor: buffer functions, the level table, the model and its seams. */
import { decompressContainer } from '../compressor.js';
import { compressCm, type ByteModelFactory } from './cm-codec.js';
import { cmLevelConfig, CM_DEFAULT_LEVEL } from './levels.js';

export { compressCm, decodeCmChunks, CM_CODER, CM_FORMAT_VERSION, type ByteModelFactory, type CmStats, type CmCompressOptions, type CmDecompressOptions } from './cm-codec.js';
export { CM_LEVELS, CM_DEFAULT_LEVEL, CM_MAX_LEVEL, cmLevelConfig } from './levels.js';
export { CmModel } from './cm-model.js';
export { parseCmConfig, type CmConfig, CM_MODEL_NAME, CM_MODEL_VERSION } from './cm-config.js';
export { ByteTreeInput, type ByteModel } from './byte-model.js';

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Compress a buffer into a glassbox file (format 2) at `level` (default 2). */
export async function compress(data: Uint8Array, options: { level?: number; byteModels?: ByteModelFactory } = {}): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  await compressCm([data], (b) => void parts.push(b.slice()), { config: cmLevelConfig(options.level ?? CM_DEFAULT_LEVEL), byteModels: options.byteModels });
  return concat(parts);
}

/** Decompress a glassbox file written by compress() (throws CorruptInputError on damaged input). */
export async function decompress(data: Uint8Array, options: { byteModels?: ByteModelFactory } = {}): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  await decompressContainer([data], (b) => void parts.push(b.slice()), { cm: { byteModels: options.byteModels } });
  return concat(parts);
}
