import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decompressContainer } from '../../src/codec/compressor.js';
import {
  ContainerReader,
  ContainerWriter,
  CorruptInputError,
  FORMAT_VERSION,
  MAGIC,
  TRAILER_MAGIC,
} from '../../src/codec/container.js';
import { countPredictorFactory } from '../../src/codec/count-predictor.js';
import { crc32 } from '../../src/codec/crc32.js';
import { arbInput, collector, compress, equalBytes, rng, utf8 } from './helpers.js';

/**
 * Decompress `bytes`, expecting a CorruptInputError; returns it. Also checks
 * the promise that matters: whatever was written before the error is a
 * prefix of the original, never wrong data.
 */
async function expectCorrupt(bytes: Uint8Array, original?: Uint8Array): Promise<CorruptInputError> {
  const out = collector();
  let err: unknown;
  try {
    await decompressContainer([bytes], out.sink, { predictorFactory: countPredictorFactory });
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof CorruptInputError, `expected CorruptInputError, got ${err === undefined ? 'success' : String(err)}`);
  assert.ok(Number.isInteger(err.offset) && err.offset >= 0 && err.offset <= bytes.length, `offset ${err.offset} of ${bytes.length}`);
  assert.ok(err.message.includes(String(err.offset)), `message does not name the offset: ${err.message}`);
  if (original) {
    const written = out.bytes();
    assert.ok(equalBytes(written, original.subarray(0, written.length)), 'wrong data was written before the error');
  }
  return err;
}

test('container: byte layout of an empty file', async () => {
  const out = collector();
  const w = new ContainerWriter(out.sink, { header: { a: 1 }, maxChunkLength: 64 });
  await w.finish();
  const b = out.bytes();
  const json = utf8.encode('{"a":1}');
  assert.equal(b.length, 14 + json.length + 4 + 4 + 20);
  assert.deepEqual(b.subarray(0, 4), MAGIC);
  const dv = new DataView(b.buffer);
  assert.equal(dv.getUint16(4, true), FORMAT_VERSION);
  assert.equal(dv.getUint32(6, true), 64);
  assert.equal(dv.getUint32(10, true), json.length);
  assert.deepEqual(b.subarray(14, 14 + json.length), json);
  const h = 14 + json.length;
  assert.equal(dv.getUint32(h, true), crc32(b.subarray(0, h)));
  assert.equal(dv.getUint32(h + 4, true), 0); // end marker
  assert.equal(dv.getUint32(h + 8, true), 0); // total length lo
  assert.equal(dv.getUint32(h + 12, true), 0); // hi
  assert.equal(dv.getUint32(h + 16, true), 0); // CRC of empty input
  assert.equal(dv.getUint32(h + 20, true), crc32(b.subarray(0, h + 20)));
  assert.deepEqual(b.subarray(h + 24), TRAILER_MAGIC);
});

test('container: chunks round trip through writer and reader, with offsets', async () => {
  const out = collector();
  const w = new ContainerWriter(out.sink, { header: { x: 'y' }, maxChunkLength: 10 });
  const chunks = [utf8.encode('hello'), utf8.encode('world!!!!!')];
  for (const c of chunks) await w.writeChunk(c, c.subarray(0, 3)); // the container does not interpret coded bytes
  await assert.rejects(w.writeChunk(new Uint8Array(11), new Uint8Array(1)), RangeError);
  await assert.rejects(w.writeChunk(new Uint8Array(1), new Uint8Array(8)), RangeError); // over 3n + 4
  await w.finish();
  const bytes = out.bytes();
  const r = new ContainerReader([bytes]);
  assert.deepEqual(await r.readHeader(), { version: FORMAT_VERSION, maxChunkLength: 10, header: { x: 'y' } });
  let offset = 14 + 9 + 4;
  for (const c of chunks) {
    const chunk = await r.nextChunk();
    assert.ok(chunk);
    assert.equal(chunk.offset, offset);
    assert.deepEqual(chunk.coded, c.subarray(0, 3));
    r.verifyChunk(chunk, c);
    offset += 12 + 3;
  }
  assert.equal(await r.nextChunk(), null);
  assert.equal(r.bytesRead, bytes.length);
});

test('damaged: truncation anywhere -> CorruptInputError at exactly the cut (fast-check)', async () => {
  await fc.assert(
    fc.asyncProperty(arbInput, fc.nat(), async (data, at) => {
      const packed = await compress(data, 64);
      const cut = at % packed.length;
      const err = await expectCorrupt(packed.subarray(0, cut), data);
      assert.equal(err.offset, cut);
      assert.match(err.message, cut === 0 ? /not a glassbox file/ : /truncated at offset/);
    }),
    { numRuns: 200 },
  );
});

test('damaged: any single bit flip -> CorruptInputError (fast-check)', async () => {
  await fc.assert(
    fc.asyncProperty(arbInput, fc.nat(), fc.integer({ min: 0, max: 7 }), async (data, at, bit) => {
      const packed = await compress(data, 64);
      const pos = at % packed.length;
      const bad = packed.slice();
      bad[pos] ^= 1 << bit;
      await expectCorrupt(bad, data);
    }),
    { numRuns: 250 },
  );
});

test('damaged: flips in each region name the region', async () => {
  const data = utf8.encode('Alice was beginning to get very tired of sitting by her sister on the bank. '.repeat(8));
  const packed = await compress(data, 64);
  const headerEnd = 14 + new DataView(packed.buffer).getUint32(10, true);
  const flip = (pos: number, mask = 1): Uint8Array => {
    const b = packed.slice();
    b[pos] ^= mask;
    return b;
  };
  let e = await expectCorrupt(flip(0));
  assert.match(e.message, /not a glassbox file/);
  assert.equal(e.offset, 0);
  e = await expectCorrupt(flip(4, 2)); // version 1 -> 3
  assert.match(e.message, /format version 3 is newer than this glassbox supports \(max 2\)/);
  assert.equal(e.offset, 4);
  e = await expectCorrupt(flip(4, 1)); // version 1 -> 0
  assert.match(e.message, /format version 0 is not valid/);
  e = await expectCorrupt(flip(20));
  assert.match(e.message, /header CRC mismatch/);
  assert.equal(e.offset, headerEnd);
  e = await expectCorrupt(flip(headerEnd + 4 + 12 + 2), data); // inside chunk 0's coded bytes
  assert.match(e.message, /chunk 0 at offset \d+|compressed bytes/);
  e = await expectCorrupt(flip(headerEnd + 4 + 8), data); // chunk 0's CRC field
  assert.match(e.message, /chunk 0 at offset \d+: CRC mismatch after decoding/);
  const L = packed.length;
  e = await expectCorrupt(flip(L - 18), data); // trailer: total length
  assert.match(e.message, /trailer at offset \d+: total length/);
  e = await expectCorrupt(flip(L - 10), data); // trailer: input CRC
  assert.match(e.message, /CRC-32 of the whole input/);
  e = await expectCorrupt(flip(L - 6), data); // trailer: file CRC
  assert.match(e.message, /CRC-32 of the compressed bytes/);
  e = await expectCorrupt(flip(L - 1), data); // trailer magic
  assert.match(e.message, /bad trailer magic/);
  assert.equal(e.offset, L - 4);
});

test('damaged: trailing garbage, wrong magic, future version, random files', async () => {
  const data = utf8.encode('some text to compress, some text to compress');
  const packed = await compress(data, 16);
  const extra = new Uint8Array(packed.length + 3);
  extra.set(packed);
  let e = await expectCorrupt(extra, data);
  assert.match(e.message, /trailing garbage at offset/);
  assert.equal(e.offset, packed.length);

  const future = packed.slice();
  new DataView(future.buffer).setUint16(4, 7, true);
  e = await expectCorrupt(future);
  assert.equal(e.message, 'format version 7 is newer than this glassbox supports (max 2) at offset 4; upgrade glassbox to read this file');

  e = await expectCorrupt(utf8.encode('PK\x03\x04 this is a zip file, honest'));
  assert.match(e.message, /^not a glassbox file/);
  e = await expectCorrupt(new Uint8Array(0));
  assert.match(e.message, /^not a glassbox file/);

  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), fc.boolean(), async (junk, withMagic) => {
      const b = junk.slice();
      if (withMagic && b.length >= 4) b.set(MAGIC); // a glassbox-looking file with junk after the magic
      await expectCorrupt(b);
    }),
    { numRuns: 200 },
  );
});

test('damaged: absurd lengths are refused before allocating', async () => {
  const packed = await compress(new Uint8Array(100).fill(3), 64);
  const huge = packed.slice();
  new DataView(huge.buffer).setUint32(10, 0xfffffff0, true); // header length
  let e = await expectCorrupt(huge);
  assert.match(e.message, /header length \d+ at offset 10 exceeds/);
  const big = packed.slice();
  new DataView(big.buffer).setUint32(6, 2 ** 31, true); // maxChunkLength
  e = await expectCorrupt(big);
  assert.match(e.message, /maximum chunk length/);
  // A reader with a smaller memory bound refuses the file up front.
  const r = new ContainerReader([packed], { maxChunkLength: 32 });
  await assert.rejects(r.readHeader(), CorruptInputError);
});

test('damaged: random multi-byte corruption of long files (seeded sweep)', async () => {
  const r = rng(99);
  const data = Uint8Array.from({ length: 3000 }, () => (r() < 0.8 ? 32 + Math.floor(r() * 8) : Math.floor(r() * 256)));
  const packed = await compress(data, 256);
  for (let trial = 0; trial < 60; trial++) {
    const bad = packed.slice();
    const start = Math.floor(r() * bad.length);
    const len = 1 + Math.floor(r() * 40);
    for (let i = start; i < Math.min(bad.length, start + len); i++) bad[i] = Math.floor(r() * 256);
    if (equalBytes(bad, packed)) continue;
    await expectCorrupt(bad, data);
  }
});
