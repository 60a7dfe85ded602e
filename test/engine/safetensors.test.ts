import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeSafetensors, decodeSafetensors, SafetensorsError, type SafetensorsTensor } from '../../src/engine/safetensors.js';
import { skipOptional } from '../skip.js';

function sample(): SafetensorsTensor[] {
  return [
    { name: 'blocks.0.attn.W_Q', dtype: 'F32', shape: [2, 3], data: new Float32Array([1.5, -2, 0, 3.25, 1e-8, -0]) },
    { name: 'step', dtype: 'I32', shape: [], data: new Int32Array([-7]) },
    { name: 'flags', dtype: 'U8', shape: [3], data: new Uint8Array([0, 255, 7]) },
    { name: 'optimizer.m', dtype: 'F64', shape: [1, 2], data: new Float64Array([Math.PI, -1e300]) },
    { name: 'empty', dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
    { name: '0', dtype: 'F32', shape: [1], data: new Float32Array([42]) },
  ];
}

test('round trip: every dtype, scalars, empty tensors, metadata', () => {
  const md = { glassbox_version: '0.1.0', config: '{"d_model":128}' };
  const bytes = encodeSafetensors(sample(), md);
  const { metadata, tensors } = decodeSafetensors(bytes);
  assert.deepEqual(metadata, md);
  assert.deepEqual([...tensors.keys()], sample().map((t) => t.name));
  for (const t of sample()) {
    const d = tensors.get(t.name)!;
    assert.equal(d.dtype, t.dtype);
    assert.deepEqual(d.shape, t.shape);
    assert.equal(d.data.constructor, t.data.constructor);
    assert.deepEqual([...d.data], [...t.data]);
  }
  assert.ok(Object.is(tensors.get('blocks.0.attn.W_Q')!.data[5], -0), 'bits survive, -0 included');
});

test('deterministic bytes: same input, same bytes; metadata key order does not matter', () => {
  const a = encodeSafetensors(sample(), { b: '2', a: '1' });
  const b = encodeSafetensors(sample(), { a: '1', b: '2' });
  assert.deepEqual(a, b);
  const headerLen = Number(new DataView(a.buffer).getBigUint64(0, true));
  assert.equal(headerLen % 8, 0, 'data block starts 8-byte aligned');
  const header = new TextDecoder().decode(a.subarray(8, 8 + headerLen));
  assert.ok(header.startsWith('{"__metadata__":{"a":"1","b":"2"},"blocks.0.attn.W_Q":'), header);
  assert.ok(header.indexOf('"0":') > header.indexOf('"empty":'), 'integer-like names keep their place');
});

test('exact byte layout of one small tensor', () => {
  const bytes = encodeSafetensors([{ name: 'w', dtype: 'F32', shape: [2], data: new Float32Array([1, -2]) }]);
  const json = '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'; // 54 bytes, padded to 56
  assert.equal(json.length, 54);
  const expected = new Uint8Array(8 + 56 + 8);
  expected[0] = 56; // u64 little-endian header length
  for (let i = 0; i < json.length; i++) expected[8 + i] = json.charCodeAt(i);
  expected[8 + 54] = 0x20;
  expected[8 + 55] = 0x20;
  expected.set([0x00, 0x00, 0x80, 0x3f], 64); // 1.0f
  expected.set([0x00, 0x00, 0x00, 0xc0], 68); // -2.0f
  assert.deepEqual(bytes, expected);
});

// A second, minimal reader written separately from src/engine/safetensors.ts
// (Buffer methods, no shared code), standing in for Python's when it is absent.
function independentRead(file: Buffer): { meta: Record<string, string>; tensors: Record<string, { dtype: string; shape: number[]; values: number[] }> } {
  const n = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.toString('utf8', 8, 8 + n)) as Record<string, any>;
  const base = 8 + n;
  const out: ReturnType<typeof independentRead> = { meta: header.__metadata__ ?? {}, tensors: {} };
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [s, e] = info.data_offsets as [number, number];
    const values: number[] = [];
    const size = { F32: 4, F64: 8, I32: 4, U8: 1 }[info.dtype as string]!;
    for (let p = base + s; p < base + e; p += size) {
      if (info.dtype === 'F32') values.push(file.readFloatLE(p));
      else if (info.dtype === 'F64') values.push(file.readDoubleLE(p));
      else if (info.dtype === 'I32') values.push(file.readInt32LE(p));
      else values.push(file.readUInt8(p));
    }
    out.tensors[name] = { dtype: info.dtype, shape: info.shape, values };
  }
  return out;
}

test('an independent reader sees the same tensors', () => {
  const md = { glassbox_version: '0.1.0' };
  const file = Buffer.from(encodeSafetensors(sample(), md));
  const r = independentRead(file);
  assert.deepEqual(r.meta, md);
  for (const t of sample()) {
    assert.equal(r.tensors[t.name]!.dtype, t.dtype);
    assert.deepEqual(r.tensors[t.name]!.shape, t.shape);
    assert.deepEqual(r.tensors[t.name]!.values, [...t.data]);
  }
});

function findPython(): string | null {
  for (const py of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(py, ['-c', 'import safetensors, numpy'], { encoding: 'utf8' });
    if (r.status === 0) return py;
  }
  return null;
}

test('Python safetensors opens the file and reads the same values', (t) => {
  const py = findPython();
  if (!py) {
    skipOptional(t, 'python3 with safetensors and numpy not found (tried /usr/bin/python3 and python3); the independent reader above covers the format');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'glassbox-st-'));
  try {
    const path = join(dir, 'ck.safetensors');
    const md = { glassbox_version: '0.1.0', config: '{"layers":2}' };
    writeFileSync(path, encodeSafetensors(sample(), md));
    const r = spawnSync(py, ['scripts/check_safetensors.py', path], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout) as { metadata: Record<string, string>; tensors: Record<string, { dtype: string; shape: number[]; values: number[] }> };
    assert.deepEqual(got.metadata, md);
    const npType = { F32: 'float32', F64: 'float64', I32: 'int32', U8: 'uint8' };
    for (const t of sample()) {
      const g = got.tensors[t.name]!;
      assert.equal(g.dtype, npType[t.dtype]);
      assert.deepEqual(g.shape, t.shape);
      assert.deepEqual(g.values, [...t.data]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ------------------------------------------------------------- error paths

/** A file with a hand-written header (padded to 8) and `data` bytes. */
function fileWith(header: string, dataBytes = 0, lengthOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(header);
  const n = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + n + dataBytes).fill(0x20, 8, 8 + n);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(n), true);
  out.set(json, 8);
  return out;
}

function rejects(bytes: Uint8Array, pattern: RegExp, opts?: { maxHeaderBytes?: number }): void {
  assert.throws(() => decodeSafetensors(bytes, opts), (e: unknown) => {
    assert.ok(e instanceof SafetensorsError, `not a SafetensorsError: ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

test('errors: short file, header length beyond file or bound, empty header', () => {
  rejects(new Uint8Array(5), /file is 5 bytes, shorter than the 8-byte header length/);
  rejects(fileWith('{}', 0, 1000n), /header length 1000 is larger than the 8 bytes after/);
  rejects(fileWith('{}', 0, 1n << 62n), /exceeds the bound of 16777216 bytes/);
  rejects(fileWith('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4), /exceeds the bound of 16 bytes/, { maxHeaderBytes: 16 });
  rejects(fileWith('', 0, 0n), /header is empty/);
  const full = encodeSafetensors(sample());
  rejects(full.subarray(0, 40), /larger than the 32 bytes after the length field \(truncated file\?\)/);
  rejects(full.subarray(0, full.length - 1), /not contiguous|run past/);
});

test('errors: header not UTF-8, not JSON, not an object', () => {
  const bad = fileWith('{"a":1}');
  bad[10] = 0xff;
  rejects(bad, /not valid UTF-8/);
  rejects(fileWith('{"a": '), /header is not valid JSON/);
  rejects(fileWith('  {}'), /does not start with '\{'/);
  rejects(fileWith('[1,2]'), /does not start with '\{'/);
  rejects(fileWith('{"__metadata__":[1]}'), /"__metadata__" is not an object/);
  rejects(fileWith('{"__metadata__":{"a":1}}'), /metadata value for "a" is not a string/);
  rejects(fileWith('{"w":7}'), /tensor "w": entry is not an object/);
});

test('errors: unknown dtype, bad shape, bad offsets, size mismatch', () => {
  rejects(fileWith('{"w":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}}', 2), /tensor "w": unknown or unsupported dtype "BF16"/);
  rejects(fileWith('{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', 4), /shape must be an array of non-negative integers/);
  rejects(fileWith('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}}', 4), /data_offsets must be \[begin, end\]/);
  rejects(fileWith('{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}', 4), /end before they begin/);
  rejects(fileWith('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', 4), /run past the 4-byte data block/);
  rejects(fileWith('{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', 8), /shape \[3\] of F32 needs 12 bytes but data_offsets \[0, 8\] span 8/);
});

test('errors: overlapping tensors, gaps, uncovered tail', () => {
  rejects(
    fileWith('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 8),
    /tensor "b": data_offsets \[4, 8\] overlap tensor "a", which ends at 8/,
  );
  rejects(
    fileWith('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}', 12),
    /bytes 4\.\.8 before tensor "b" belong to no tensor/,
  );
  rejects(fileWith('{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', 2), /bytes 0\.\.1 before tensor "a"/);
  rejects(fileWith('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 3), /its last 2 bytes \(from 1\) belong to no tensor/);
});

test('encoder refuses what it cannot write faithfully', () => {
  const f = new Float32Array(2);
  assert.throws(() => encodeSafetensors([{ name: 'a', dtype: 'F32', shape: [3], data: f }]), /shape \[3\] has 3 elements but the data has 2/);
  assert.throws(() => encodeSafetensors([{ name: 'a', dtype: 'I32', shape: [2], data: f }]), /dtype I32 needs a Int32Array, got Float32Array/);
  assert.throws(() => encodeSafetensors([{ name: 'a', dtype: 'F32', shape: [2], data: f }, { name: 'a', dtype: 'F32', shape: [2], data: f }]), /duplicate tensor name "a"/);
  assert.throws(() => encodeSafetensors([{ name: '__metadata__', dtype: 'F32', shape: [2], data: f }]), /cannot be a tensor name/);
  assert.throws(() => encodeSafetensors([], { a: 1 as unknown as string }), /metadata value for "a" must be a string/);
  assert.throws(() => encodeSafetensors([{ name: 'a', dtype: 'BF16' as 'F32', shape: [2], data: f }]), /unsupported dtype "BF16"/);
});

test('decoded data is an aligned copy, independent of the input buffer', () => {
  const tensors: SafetensorsTensor[] = [
    { name: 'u', dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) },
    { name: 'f', dtype: 'F32', shape: [2], data: new Float32Array([0.5, 0.25]) }, // begins at offset 3: unaligned in the file
  ];
  const bytes = encodeSafetensors(tensors);
  const shifted = new Uint8Array(bytes.length + 1).subarray(1);
  shifted.set(bytes);
  const d = decodeSafetensors(shifted);
  assert.deepEqual([...d.tensors.get('f')!.data], [0.5, 0.25]);
  shifted.fill(0);
  assert.deepEqual([...d.tensors.get('f')!.data], [0.5, 0.25]);
});
