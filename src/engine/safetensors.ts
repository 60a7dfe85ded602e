// safetensors, the checkpoint format a PyTorch user opens with
// `safetensors.torch.load_file`. The layout (https://github.com/huggingface/safetensors):
//
//   [8 bytes]  N, the header length, unsigned 64-bit little-endian
//   [N bytes]  a JSON object, UTF-8, padded with spaces:
//                "__metadata__": { string: string }            (optional)
//                "<name>": { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] }
//   [rest]     the tensors' bytes, little-endian, row-major; offsets are
//              relative to the start of this block, and the tensors tile it
//              exactly, with no gaps and no overlaps.
//
// We pad the header so the data block starts on an 8-byte boundary, write the
// tensors in the order given, and build the JSON by hand so the bytes depend
// only on the input (JS objects would move integer-like keys first).

export type SafetensorsDtype = 'F32' | 'F64' | 'I32' | 'U8';
export type SafetensorsData = Float32Array | Float64Array | Int32Array | Uint8Array;

export interface SafetensorsTensor {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  data: SafetensorsData;
}

export interface DecodedTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: SafetensorsData;
}

export interface DecodedSafetensors {
  /** The `__metadata__` map ({} when the file has none). */
  metadata: Record<string, string>;
  /** Tensors by name, in the order of their data (the order a writer gave them). */
  tensors: Map<string, DecodedTensor>;
}

export interface DecodeOptions {
  /** Largest header accepted, in bytes; default 16 MiB. */
  maxHeaderBytes?: number;
}

/** Everything that can be wrong with a safetensors file, each with a message naming it. */
export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

export const DEFAULT_MAX_HEADER_BYTES = 16 * 1024 * 1024;
const METADATA_KEY = '__metadata__';

const DTYPES: Record<SafetensorsDtype, { size: number; make: (buf: ArrayBuffer, n: number) => SafetensorsData; ctor: Function }> = {
  F32: { size: 4, make: (b, n) => new Float32Array(b, 0, n), ctor: Float32Array },
  F64: { size: 8, make: (b, n) => new Float64Array(b, 0, n), ctor: Float64Array },
  I32: { size: 4, make: (b, n) => new Int32Array(b, 0, n), ctor: Int32Array },
  U8: { size: 1, make: (b, n) => new Uint8Array(b, 0, n), ctor: Uint8Array },
};

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function isDtype(s: unknown): s is SafetensorsDtype {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(DTYPES, s);
}

function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

// ------------------------------------------------------------------- encode

/** The bytes of a safetensors file holding `tensors` (in that order) and `metadata` (keys sorted). */
export function encodeSafetensors(tensors: readonly SafetensorsTensor[], metadata?: Record<string, string>): Uint8Array {
  const parts: string[] = [];
  if (metadata && Object.keys(metadata).length > 0) {
    const keys = Object.keys(metadata).sort();
    const entries = keys.map((k) => {
      const v = metadata[k];
      if (typeof v !== 'string') throw new SafetensorsError(`metadata value for "${k}" must be a string, got ${typeof v}`);
      return `${JSON.stringify(k)}:${JSON.stringify(v)}`;
    });
    parts.push(`${JSON.stringify(METADATA_KEY)}:{${entries.join(',')}}`);
  }
  const names = new Set<string>();
  let offset = 0;
  for (const t of tensors) {
    if (typeof t.name !== 'string' || t.name.length === 0) throw new SafetensorsError('tensor name must be a non-empty string');
    if (t.name === METADATA_KEY) throw new SafetensorsError(`"${METADATA_KEY}" cannot be a tensor name`);
    if (names.has(t.name)) throw new SafetensorsError(`duplicate tensor name "${t.name}"`);
    names.add(t.name);
    if (!isDtype(t.dtype)) throw new SafetensorsError(`tensor "${t.name}": unsupported dtype ${JSON.stringify(t.dtype)} (supported: ${Object.keys(DTYPES).join(', ')})`);
    const spec = DTYPES[t.dtype];
    if (!(t.data instanceof spec.ctor)) throw new SafetensorsError(`tensor "${t.name}": dtype ${t.dtype} needs a ${spec.ctor.name}, got ${t.data?.constructor?.name}`);
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(`tensor "${t.name}": shape must be an array of non-negative integers, got ${JSON.stringify(t.shape)}`);
    }
    if (numel(t.shape) !== t.data.length) throw new SafetensorsError(`tensor "${t.name}": shape [${t.shape.join(', ')}] has ${numel(t.shape)} elements but the data has ${t.data.length}`);
    const end = offset + t.data.length * spec.size;
    parts.push(`${JSON.stringify(t.name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerLen = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLen + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerLen), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);
  let pos = 8 + headerLen;
  for (const t of tensors) {
    writeLittleEndian(t.data, out, pos);
    pos += t.data.byteLength;
  }
  return out;
}

function writeLittleEndian(data: SafetensorsData, out: Uint8Array, pos: number): void {
  if (LITTLE_ENDIAN || data instanceof Uint8Array) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), pos);
    return;
  }
  const view = new DataView(out.buffer, out.byteOffset + pos, data.byteLength);
  for (let i = 0; i < data.length; i++) {
    if (data instanceof Float32Array) view.setFloat32(i * 4, data[i]!, true);
    else if (data instanceof Float64Array) view.setFloat64(i * 8, data[i]!, true);
    else view.setInt32(i * 4, data[i]!, true);
  }
}

// ------------------------------------------------------------------- decode

/** Parses and validates a safetensors file; every tensor's data is a fresh, aligned copy. */
export function decodeSafetensors(bytes: Uint8Array, opts: DecodeOptions = {}): DecodedSafetensors {
  const maxHeader = opts.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  if (!(bytes instanceof Uint8Array)) throw new SafetensorsError('expected the file as a Uint8Array');
  if (bytes.length < 8) throw new SafetensorsError(`file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(maxHeader)) throw new SafetensorsError(`header length ${n} exceeds the bound of ${maxHeader} bytes`);
  const headerLen = Number(n);
  if (8 + headerLen > bytes.length) throw new SafetensorsError(`header length ${headerLen} is larger than the ${bytes.length - 8} bytes after the length field (truncated file?)`);
  if (headerLen === 0) throw new SafetensorsError('header is empty');

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen));
  } catch {
    throw new SafetensorsError('header is not valid UTF-8');
  }
  if (text[0] !== '{') throw new SafetensorsError(`header does not start with '{' (starts with ${JSON.stringify(text.slice(0, 16))})`);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(`header is not valid JSON: ${(e as Error).message}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new SafetensorsError('header is not a JSON object');

  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: Array<{ name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }> = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === METADATA_KEY) {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new SafetensorsError(`"${METADATA_KEY}" is not an object`);
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new SafetensorsError(`metadata value for "${k}" is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const where = `tensor "${name}"`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new SafetensorsError(`${where}: entry is not an object`);
    const { dtype, shape, data_offsets: offs } = raw as Record<string, unknown>;
    if (!isDtype(dtype)) throw new SafetensorsError(`${where}: unknown or unsupported dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(DTYPES).join(', ')})`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(`${where}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      throw new SafetensorsError(`${where}: data_offsets must be [begin, end] non-negative integers, got ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    if (end < begin) throw new SafetensorsError(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataLen) throw new SafetensorsError(`${where}: data_offsets [${begin}, ${end}] run past the ${dataLen}-byte data block`);
    const want = numel(shape as number[]) * DTYPES[dtype].size;
    if (want !== end - begin) {
      throw new SafetensorsError(`${where}: shape [${(shape as number[]).join(', ')}] of ${dtype} needs ${want} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`);
    }
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }

  // The tensors must tile the data block: sorted by offset, each begins where the last ended.
  const sorted = [...entries].sort((x, y) => x.begin - y.begin || x.end - y.end);
  let covered = 0;
  let prev = '';
  for (const e of sorted) {
    if (e.begin < covered) throw new SafetensorsError(`tensor "${e.name}": data_offsets [${e.begin}, ${e.end}] overlap tensor "${prev}", which ends at ${covered}`);
    if (e.begin > covered) throw new SafetensorsError(`data block is not contiguous: bytes ${covered}..${e.begin} before tensor "${e.name}" belong to no tensor`);
    covered = e.end;
    prev = e.name;
  }
  if (covered !== dataLen) throw new SafetensorsError(`data block is not contiguous: its last ${dataLen - covered} bytes (from ${covered}) belong to no tensor`);

  const tensors = new Map<string, DecodedTensor>();
  for (const e of sorted) {
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data: readLittleEndian(bytes, dataStart + e.begin, e.end - e.begin, e.dtype) });
  }
  return { metadata, tensors };
}

function readLittleEndian(bytes: Uint8Array, pos: number, byteLen: number, dtype: SafetensorsDtype): SafetensorsData {
  const spec = DTYPES[dtype];
  const n = byteLen / spec.size;
  const buf = new ArrayBuffer(byteLen);
  const copy = new Uint8Array(buf);
  copy.set(bytes.subarray(pos, pos + byteLen));
  if (LITTLE_ENDIAN || dtype === 'U8') return spec.make(buf, n);
  const view = new DataView(buf);
  if (dtype === 'F32') return Float32Array.from({ length: n }, (_, i) => view.getFloat32(i * 4, true));
  if (dtype === 'F64') return Float64Array.from({ length: n }, (_, i) => view.getFloat64(i * 8, true));
  return Int32Array.from({ length: n }, (_, i) => view.getInt32(i * 4, true));
}
