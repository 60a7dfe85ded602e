/**
 * Bit histories: a small state per context slot summarising which bits
 * followed that context, for indirect modelling (Mahoney's paq8 and zpaq
 * ICM: the context selects a history, and an adaptive map learns what each
 * history predicts). A direct counter says "this context gave 1s 80% of
 * the time"; the history lets the model learn, from the whole file, what a
 * context that has seen "three 1s and no 0" is really worth, which is
 * typically far more than a frequency estimate claims, and how quickly a
 * context that changed its mind tends to change it back.
 *
 * This state is simpler than paq8's: counts n0, n1 capped at 7 and the last
 * bit, 128 states. On a bit, its count grows and the opposite count, if
 * above 2, is roughly halved (the discounting paq applies so that old
 * evidence fades when the context starts behaving differently).
 */

/** NEXT[state * 2 + bit]: the state after `bit`. state = (n0 << 4) | (n1 << 1) | last. */
export const NEXT = new Uint8Array(256);
for (let s = 0; s < 128; s++) {
  const n0 = s >> 4;
  const n1 = (s >> 1) & 7;
  for (let bit = 0; bit < 2; bit++) {
    let a = n0;
    let b = n1;
    if (bit) {
      b = Math.min(7, b + 1);
      if (a > 2) a = (a >> 1) + 1;
    } else {
      a = Math.min(7, a + 1);
      if (b > 2) b = (b >> 1) + 1;
    }
    NEXT[s * 2 + bit] = (a << 4) | (b << 1) | bit;
  }
}
export const HISTORY_STATES = 128;
