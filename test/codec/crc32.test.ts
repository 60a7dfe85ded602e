import test from 'node:test';
import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import { crc32 } from '../../src/codec/crc32.js';

const zlibCrc = (zlib as unknown as { crc32?: (d: Uint8Array, v?: number) => number }).crc32;

test('crc32: check value of "123456789" and the empty string', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
  assert.equal(crc32(new TextEncoder().encode('The quick brown fox jumps over the lazy dog')), 0x414fa339);
});

// node:zlib gained crc32 in Node 20.15 / 22.2; older Nodes (engines allows >= 20) skip with this reason, in CI too.
test('crc32: matches node:zlib crc32 and composes incrementally', { skip: zlibCrc ? false : `node:zlib has no crc32 in Node ${process.version}` }, () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), fc.nat(), (data, cut) => {
      assert.equal(crc32(data), zlibCrc!(data));
      const k = data.length === 0 ? 0 : cut % data.length;
      assert.equal(crc32(data.subarray(k), crc32(data.subarray(0, k))), crc32(data));
    }),
    { numRuns: 300 },
  );
});
