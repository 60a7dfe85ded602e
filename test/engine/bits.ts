// Bit-for-bit comparison of f32 results, shared by the kernel tests.

import assert from 'node:assert/strict';

/**
 * Fails naming the first element whose bits differ. By default any two NaNs
 * count as equal: wasm does not specify which NaN payload an operation
 * returns. `exactNaN` demands identical NaN bits too.
 */
export function assertSameBits(got: Float32Array, want: Float32Array, what: string, exactNaN = false): void {
  assert.equal(got.length, want.length, `${what}: length`);
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < g.length; i++) {
    if (g[i] !== w[i] && (exactNaN || !(Number.isNaN(got[i]) && Number.isNaN(want[i])))) {
      assert.fail(`${what}: element ${i} differs: got ${got[i]} (0x${g[i]!.toString(16)}), want ${want[i]} (0x${w[i]!.toString(16)})`);
    }
  }
}
