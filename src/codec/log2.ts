/**
 * log2 of a positive integer, from IEEE +, -, *, / only (no Math.log), so the
 * result is bit-identical everywhere. Used to report ideal code lengths
 * (totalBits - log2(freq)); it never influences the coded bytes.
 *
 * x = 2^e * m with m in [sqrt(1/2), sqrt(2)], and
 * ln m = 2 (z + z^3/3 + z^5/5 + ...), z = (m - 1) / (m + 1), |z| <= 0.1716;
 * 12 terms bring the truncation error below 1e-18. Absolute error < 1e-15.
 */

import { LOG2E as LOG2_E } from '../engine/constants.js';
const SQRT2 = 1.4142135623730951;

/** log2(x) for an integer x in [1, 2^32). */
export function log2Int(x: number): number {
  if (!(x >= 1 && x < 0x100000000) || Math.floor(x) !== x) {
    throw new RangeError(`log2Int: expected an integer in [1, 2^32), got ${x}`);
  }
  let e = 31 - Math.clz32(x);
  let m = x / (e === 31 ? 0x80000000 : 1 << e); // exact: division by a power of two
  if (m > SQRT2) {
    m /= 2;
    e += 1;
  }
  const z = (m - 1) / (m + 1);
  const z2 = z * z;
  let term = z;
  let sum = 0;
  for (let k = 1; k <= 23; k += 2) {
    sum += term / k;
    term *= z2;
  }
  return e + 2 * sum * LOG2_E;
}
