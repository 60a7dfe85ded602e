/**
 * The configuration of the context-mixing model, stored in each file's
 * header so that a decoder rebuilds exactly the model that encoded it.
 */
import { CorruptInputError } from '../errors.js';

/** Identifies the context-mixing model in a container header. */
export const CM_MODEL_NAME = 'cm';
/** Version of the model's semantics; a decoder refuses versions it does not know. */
export const CM_MODEL_VERSION = 1;

/**
 * Context kinds. o1..o7: the last k bytes. w1: the current word; w2: it and
 * the word before; w3: and the one before that. col: column and the byte
 * above; above: the byte above and the last byte. s2: bytes 2-3 back
 * (skipping the last); s3: bytes 2-4 back. wc: the current word and the last byte.
 */
export const CONTEXT_KINDS = ['o1', 'o2', 'o3', 'o4', 'o5', 'o6', 'o7', 'w1', 'w2', 'w3', 'col', 'above', 's2', 's3', 'wc'] as const;
export type ContextKind = (typeof CONTEXT_KINDS)[number];

/** Gate contexts for the first mixer layer. */
export const SELECTOR_KINDS = ['c0', 'c1', 'match', 'known', 'bitpos'] as const;
export type SelectorKind = (typeof SELECTOR_KINDS)[number];

export interface CmConfig {
  model: typeof CM_MODEL_NAME;
  version: number;
  level: number;
  /** Hashed context models (order 0 is always there, as a direct table). */
  contexts: ContextKind[];
  /** log2 of the number of 64-byte buckets of the shared hash table. */
  bucketBits: number;
  /** Counter adaptation limit (larger: slower, more stationary). */
  limit: number;
  /** A second, indirect input per context: a learned map from the slot's bit history to a probability. */
  indirect: boolean;
  match: { minLength: number; windowBits: number; hashBits: number } | null;
  /** One mixer per gate; with more than one, a final mixer combines them (two layers). */
  selectors: SelectorKind[];
  /** Mixer learning rates (layer 1, final), in 2^-16 per unit error. */
  lr: [number, number];
  /** APM/SSE stages after the mixer: 0, 1 (order 0) or 2 (orders 0 and 1). */
  apm: number;
  /** The transformer as one more input: the GPT level (of gpt-levels.ts) to run, or null. */
  gpt: number | null;
}

function bad(what: string): never {
  throw new CorruptInputError(`header at offset 14: ${what}`, 14);
}

function int(v: unknown, what: string, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) bad(`${what} must be an integer in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
  return v as number;
}

/** Check a header object read from a file; errors are CorruptInputErrors naming the field. */
export function parseCmConfig(raw: Record<string, unknown>): CmConfig {
  if (raw.model !== CM_MODEL_NAME) bad(`unknown model ${JSON.stringify(raw.model)} (this glassbox knows "${CM_MODEL_NAME}")`);
  const version = int(raw.version, 'model version', 0, 65535);
  if (version > CM_MODEL_VERSION) bad(`model version ${version} is newer than this glassbox supports (max ${CM_MODEL_VERSION}); upgrade glassbox to read this file`);
  if (version < 1) bad(`model version ${version} is not valid`);
  const list = <T extends string>(v: unknown, what: string, known: readonly T[], min: number): T[] => {
    if (!Array.isArray(v) || v.length < min || v.length > 32) bad(`${what} must be an array of ${min} to 32 names`);
    for (const k of v as unknown[]) if (!known.includes(k as T)) bad(`${what}: unknown name ${JSON.stringify(k)}`);
    return (v as T[]).slice();
  };
  let match: CmConfig['match'] = null;
  if (raw.match !== null && raw.match !== undefined) {
    const m = raw.match as Record<string, unknown>;
    if (typeof m !== 'object') bad('match must be an object or null');
    match = { minLength: int(m.minLength, 'match.minLength', 2, 64), windowBits: int(m.windowBits, 'match.windowBits', 10, 28), hashBits: int(m.hashBits, 'match.hashBits', 8, 26) };
  }
  const lr = raw.lr;
  if (!Array.isArray(lr) || lr.length !== 2) bad('lr must be an array of 2 integers');
  return {
    model: CM_MODEL_NAME,
    version,
    level: int(raw.level, 'level', 0, 99),
    contexts: list(raw.contexts, 'contexts', CONTEXT_KINDS, 0),
    bucketBits: int(raw.bucketBits, 'bucketBits', 8, 24),
    limit: int(raw.limit, 'limit', 2, 255),
    indirect: raw.indirect === true,
    match,
    selectors: list(raw.selectors, 'selectors', SELECTOR_KINDS, 1),
    lr: [int((lr as unknown[])[0], 'lr[0]', 1, 256), int((lr as unknown[])[1], 'lr[1]', 1, 256)],
    apm: int(raw.apm, 'apm', 0, 2),
    gpt: raw.gpt === null || raw.gpt === undefined ? null : int(raw.gpt, 'gpt', 3, 9),
  };
}
