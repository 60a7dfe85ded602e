// The codec's library forms (src/codec/library.ts): the buffer and stream
// functions give the bytes the lower layers give for the same options, every
// kind of stream in and out gives the same file, static mode checks its
// checkpoint, and bad options are refused by name.

import test from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { compressBuffer, decompressBuffer, compressStream, decompressStream, PROGRESS_INTERVAL, type CompressionProgress } from '../../src/codec/library.js';
import { loadStaticModel } from '../../src/codec/static-model.js';
import { compress as compressCmBuffer } from '../../src/codec/cm/index.js';
import { compressWithPredictor } from '../../src/codec/compressor.js';
import { ContainerReader, DEFAULT_CHUNK_SIZE } from '../../src/codec/container.js';
import { CorruptInputError } from '../../src/codec/errors.js';
import { gptPredictorFactory } from '../../src/codec/gpt-predictor.js';
import { staticConfig } from '../../src/codec/gpt-levels.js';
import { GPT } from '../../src/nn/gpt.js';
import { saveCheckpoint } from '../../src/train/checkpoint.js';
import { collector, equalBytes, pieces } from './helpers.js';

function text(n: number): Uint8Array {
  const words = ['the', 'queen', 'said', 'Alice', 'and', 'the', 'hatter', 'of', 'tea', 'a', 'curious', 'rabbit', '\n'];
  let s = '';
  for (let i = 0; s.length < n; i++) s += words[(i * 5 + (i >> 3)) % words.length] + ' ';
  return new TextEncoder().encode(s.slice(0, n));
}

/** A web ReadableStream of `data` in pieces of `size` bytes. */
function webStream(data: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let pos = 0;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (pos >= data.length) return c.close();
      c.enqueue(data.slice(pos, pos + size));
      pos += size;
    },
  });
}

async function header(file: Uint8Array) {
  return new ContainerReader([file]).readHeader();
}

test('compressBuffer without a model is the context mixer: the same bytes as cm compress(), and a byte-exact round trip', async () => {
  const data = text(6000);
  const packed = await compressBuffer(data, { level: 1 });
  assert.ok(equalBytes(packed, await compressCmBuffer(data, { level: 1 })), 'compressBuffer and cm compress() disagree');
  assert.ok(packed.length < data.length / 2, `${packed.length} bytes from ${data.length}`);
  const h = await header(packed);
  assert.equal(h.version, 2);
  assert.equal(h.maxChunkLength, DEFAULT_CHUNK_SIZE);
  assert.equal((h.header.config as { level: number }).level, 1);
  assert.ok(equalBytes(await decompressBuffer(packed), data));
});

test('the stream forms take Node streams, web streams, async iterables and callbacks, and agree with the buffer form', async () => {
  const data = text(5000);
  const want = await compressBuffer(data, { level: 1, chunkSize: 1500 });

  // Node Readable (cut into odd pieces) -> Node Writable.
  const pass = new PassThrough();
  const got: Buffer[] = [];
  pass.on('data', (c: Buffer) => got.push(c));
  const stats = await compressStream(Readable.from(pieces(data, [7, 1000, 33])), pass, { level: 1, chunkSize: 1500 });
  assert.ok(equalBytes(new Uint8Array(Buffer.concat(got)), want), 'Node streams');
  assert.deepEqual([stats.method, stats.level, stats.bytesIn, stats.bytesOut, stats.chunks], ['cm', 1, data.length, want.length, 4]);
  assert.ok(stats.modelBits > 0 && stats.modelBits < 8 * want.length);

  // Web ReadableStream -> web WritableStream.
  const parts: Uint8Array[] = [];
  const web = new WritableStream<Uint8Array>({ write: (c) => void parts.push(c) });
  await compressStream(webStream(data, 999), web, { level: 1, chunkSize: 1500 });
  const webBytes = collector();
  for (const p of parts) webBytes.sink(p);
  assert.ok(equalBytes(webBytes.bytes(), want), 'web streams');
  const writer = web.getWriter(); // the lock was released
  writer.releaseLock();

  // Decompress: async iterable -> callback, and a web stream in.
  const back = collector();
  const d = await decompressStream(pieces(want, [100]), back.sink);
  assert.ok(equalBytes(back.bytes(), data));
  assert.deepEqual([d.method, d.level, d.bytesIn, d.bytesOut, d.chunks], ['cm', 1, want.length, data.length, 4]);
  const back2 = collector();
  await decompressStream(webStream(want, 64), back2.sink);
  assert.ok(equalBytes(back2.bytes(), data));
  // A ReadableStream that is not async-iterable (as in some browsers) is read through its reader.
  const back3 = collector();
  const inner = webStream(want, 64);
  await decompressStream({ getReader: () => inner.getReader() } as unknown as ReadableStream<Uint8Array>, back3.sink);
  assert.ok(equalBytes(back3.bytes(), data));
});

test('chunkSize sets the container chunk, as --chunk-size does, and every size decodes', async () => {
  const data = text(3000);
  for (const chunkSize of [1, 700, 3000, 100_000]) {
    const packed = await compressBuffer(data, { level: 1, chunkSize });
    assert.equal((await header(packed)).maxChunkLength, chunkSize);
    assert.ok(equalBytes(await decompressBuffer(packed), data), `chunkSize ${chunkSize}`);
  }
});

test('progress: the context mixer reports each chunk, with the bytes written so far', async () => {
  const data = text(5000);
  const events: CompressionProgress[] = [];
  const packed = await compressBuffer(data, { level: 1, chunkSize: 2000, onProgress: (e) => events.push(e) });
  assert.deepEqual(events.map((e) => e.bytes), [2000, 4000, 5000]);
  assert.ok(events.every((e) => e.phase === 'compress'));
  assert.equal(events[2].bits, 8 * packed.length - 8 * 24, 'the last report comes before the end marker and trailer (24 bytes)');
  const back: CompressionProgress[] = [];
  await decompressBuffer(packed, { onProgress: (e) => back.push(e) });
  assert.deepEqual(back.map((e) => [e.phase, e.bytes]), [['decompress', 2000], ['decompress', 4000], ['decompress', 5000]]);
});

test('static mode: a checkpoint by path, hashed with SHA-256 into the header; the same bytes as the predictor layer; another checkpoint is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gb-lib-'));
  try {
    const cfg = { vocabSize: 256, contextLength: 16, nLayers: 1, nHeads: 2, dModel: 16, seed: 1 };
    const a = join(dir, 'a.safetensors');
    const b = join(dir, 'b.safetensors');
    saveCheckpoint(a, new GPT(cfg), { meta: { model_config: cfg } });
    saveCheckpoint(b, new GPT({ ...cfg, seed: 2 }), { meta: { model_config: cfg } });
    const shaA = createHash('sha256').update(readFileSync(a)).digest('hex');
    const data = text(2 * PROGRESS_INTERVAL + 500);

    const events: CompressionProgress[] = [];
    const packed = await compressBuffer(data, { model: a, seed: 7, chunkSize: 3000, onProgress: (e) => events.push(e) });
    const h = await header(packed);
    assert.equal(h.version, 1);
    const stored = h.header.config as { checkpoint: { sha256: string }; level: number; model: { seed: number } };
    assert.equal(stored.checkpoint.sha256, shaA);
    assert.equal(stored.level, 0);
    assert.equal(stored.model.seed, 7);
    assert.deepEqual(events.map((e) => e.bytes), [PROGRESS_INTERVAL, 2 * PROGRESS_INTERVAL]);
    assert.ok(events[1].bits > events[0].bits && events[0].bits > 0);

    // The predictor layer, driven by hand with the same model and header, writes the same file.
    const loaded = await loadStaticModel(a);
    assert.equal(loaded.sha256, shaA);
    const byHand = collector();
    await compressWithPredictor([data], byHand.sink, {
      predictorFactory: gptPredictorFactory(() => loaded.model),
      header: staticConfig(loaded.model.config, shaA, { seed: 7 }) as unknown as Record<string, unknown>,
      chunkSize: 3000,
    });
    assert.ok(equalBytes(byHand.bytes(), packed), 'library and predictor layer disagree');

    assert.ok(equalBytes(await decompressBuffer(packed, { model: a }), data));
    assert.ok(equalBytes(await decompressBuffer(packed, { model: loaded }), data), 'a loaded model serves as well as its path');
    await assert.rejects(decompressBuffer(packed, { model: b }), /wrong checkpoint: .*b\.safetensors has sha256 [0-9a-f]{64}, but this file was compressed with the checkpoint whose sha256 is/);
    await assert.rejects(decompressBuffer(packed), new RegExp(`fixed model \\(checkpoint sha256 ${shaA}\\)`));
    await assert.rejects(compressBuffer(data, { model: join(dir, 'missing.safetensors') }), /cannot read checkpoint .*missing\.safetensors: ENOENT/);
    const back: CompressionProgress[] = [];
    const restored = collector();
    const d = await decompressStream([packed], restored.sink, { model: a, onProgress: (e) => back.push(e) });
    assert.ok(equalBytes(restored.bytes(), data));
    assert.deepEqual([d.method, d.level, d.bytesIn, d.bytesOut], ['gpt', 0, packed.length, data.length]);
    assert.deepEqual(back, events.map((e) => ({ ...e, phase: 'decompress' })), 'the decoder replays the same code lengths');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad options are refused before anything is written, and damaged input is a CorruptInputError', async () => {
  const data = text(500);
  const written: Uint8Array[] = [];
  const sink = (b: Uint8Array) => void written.push(b);
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ level: 5 }, /level must be an integer from 1 to 4, got 5/],
    [{ levl: 2 }, /unknown option "levl"/],
    [{ chunkSize: 0 }, /chunkSize must be an integer from 1 to \d+, got 0/],
    [{ seed: 3 }, /seed applies to static mode only/],
    [{ model: 'x.safetensors', level: 2 }, /level applies to the context-mixing compressor/],
    [{ model: 42 }, /model must be a checkpoint path/],
  ];
  for (const [options, message] of cases) await assert.rejects(compressStream([data], sink, options), message, JSON.stringify(options));
  assert.equal(written.length, 0);
  await assert.rejects(decompressBuffer(data), CorruptInputError);
  const packed = await compressBuffer(data, { level: 1 });
  const damaged = packed.slice();
  damaged[damaged.length - 30] ^= 1;
  await assert.rejects(decompressBuffer(damaged), (e: unknown) => e instanceof CorruptInputError && /offset \d+/.test(e.message));
  await assert.rejects(decompressStream([packed], sink, { level: 1 } as never), /unknown option "level"/);
  await assert.rejects(compressBuffer('text' as never), /data must be a Uint8Array/);
  await assert.rejects(compressStream(42 as never, sink), /compressStream: the input must be/);
  await assert.rejects(decompressStream([packed], {} as never), /decompressStream: the output must be/);
  // One buffer in place of a stream is read as a stream of one buffer.
  const one = collector();
  await decompressStream(packed as never, one.sink);
  assert.ok(equalBytes(one.bytes(), data));
});
