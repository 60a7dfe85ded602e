/**
 * CRC-32/ISO-HDLC (the CRC of zlib, gzip, PNG and Ethernet): reflected
 * polynomial 0xEDB88320, initial value and final xor 0xFFFFFFFF.
 * crc32(bytes("123456789")) === 0xCBF43926.
 *
 * Byte-at-a-time table lookup. Incremental use: pass the previous result as
 * `crc` to continue a running checksum, e.g. crc32(b, crc32(a)) === crc32(a ++ b).
 */

const TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 of `bytes`, continuing from a previous result `crc` (0 to start). */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
