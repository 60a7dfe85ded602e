/**
 * The logistic pair in fixed point, as in Mahoney's PAQ/lpaq design:
 * probabilities are 12-bit integers p in [0, 4095] (p / 4096 = P(bit = 1)),
 * and the "stretch" domain is ln(p / (1 - p)) scaled by 256 and clamped to
 * [-2047, 2047]. Mixing happens in the stretch domain because adding
 * log-odds is what a product of experts does (Mahoney,
 * "Adaptive weighing of context models for lossless data compression", 2005).
 *
 * Both directions are integer tables, so every machine computes the same bits:
 * squash interpolates 33 knots (4096 / (1 + e^-x) at x = -16..16 step 0.5 in
 * stretch units of 1/256, rounded once, offline, and written down here), and
 * stretch is squash's inverse found by scanning the table, not by a logarithm.
 */

/** 4096 / (1 + e^(-(i - 16) / 2)), i = 0..32, rounded to integers. */
const KNOTS = Int32Array.of(
  1, 2, 4, 6, 10, 17, 27, 45, 74, 120, 194, 311, 488, 747, 1102, 1546, 2048,
  2550, 2994, 3349, 3608, 3785, 3902, 3976, 4022, 4051, 4069, 4079, 4086, 4090, 4092, 4094, 4095,
);

/** squash for every d in [-2047, 2047], offset by 2048. */
const SQUASH = new Int16Array(4096);
/** stretch for every p in [0, 4095]. */
const STRETCH = new Int16Array(4096);

for (let d = -2048; d < 2048; d++) {
  const w = d & 127;
  const i = (d >> 7) + 16;
  SQUASH[d + 2048] = (KNOTS[i] * (128 - w) + KNOTS[i + 1] * w + 64) >> 7;
}
{
  // stretch(p) = the smallest d whose squash reaches p: a monotone inverse.
  let pi = 0;
  for (let d = -2047; d <= 2047; d++) {
    const v = SQUASH[d + 2048];
    for (let p = pi; p <= v; p++) STRETCH[p] = d;
    pi = v + 1;
  }
  for (let p = pi; p < 4096; p++) STRETCH[p] = 2047;
}

/** 12-bit probability of a stretch-domain value (clamped to [-2047, 2047]). */
export function squash(d: number): number {
  if (d > 2047) d = 2047;
  if (d < -2047) d = -2047;
  return SQUASH[d + 2048];
}

/** Stretch-domain value of a 12-bit probability. */
export function stretch(p: number): number {
  return STRETCH[p];
}

/** The raw tables, for hot loops that index them directly. */
export const SQUASH_TABLE = SQUASH;
export const STRETCH_TABLE = STRETCH;
