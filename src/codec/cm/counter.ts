/**
 * Adaptive probability counters: a 16-bit probability p (P(1) = p / 65536)
 * and a hit count n stored side by side in a Uint16Array (p at 2i, n at 2i+1,
 * so both sit in one cache line). Each update moves p towards the bit by
 * 1 / (n + 1.5), and n grows up to a limit: early on the counter is a
 * frequency estimate (close to the Krichevsky-Trofimov estimator), later an
 * exponential moving average with time constant `limit`, which keeps it
 * adaptive to drifting statistics. This is the scheme of lpaq1's StateMap
 * (Mahoney), applied directly to contexts instead of bit-history states.
 */

/** RATE[n] = floor(65536 / (n + 1.5)): the step size after n updates, in 1/65536. */
export const RATE = new Int32Array(1024);
for (let n = 0; n < 1024; n++) RATE[n] = Math.floor(131072 / (2 * n + 3));

/** Initial probability: one half. */
export const HALF = 32768;

/**
 * Update counter i of table t with `bit` (n capped at `limit` < 1024).
 * The product is below 2^32 and divided by a power of two, so it is exact in a double.
 */
export function updateCounter(t: Uint16Array, i: number, bit: number, limit: number): void {
  const p = t[i];
  const n = t[i + 1];
  const target = bit ? 65535 : 0;
  t[i] = p + (((target - p) * RATE[n]) / 65536 | 0);
  if (n < limit) t[i + 1] = n + 1;
}

/** A table of `size` counters, all at one half. */
export function counterTable(size: number): Uint16Array {
  const t = new Uint16Array(2 * size);
  for (let i = 0; i < t.length; i += 2) t[i] = HALF;
  return t;
}
