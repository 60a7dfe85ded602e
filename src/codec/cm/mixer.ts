/**
 * A gated logistic mixer (Mahoney, "Adaptive weighing of context models",
 * 2005; the mixers of paq8 and lpaq): the output is
 *     p = squash( sum_i w_i * x_i / 65536 )
 * over stretch-domain inputs x_i, with one weight vector per value of a
 * small selector context (the gate), trained online to minimise coding cost:
 *     w_i += x_i * (y - p) * lr / 2^16     (y - p in 1/4096, x_i in 1/256)
 * which is gradient descent on -log2 P(y) in the stretch domain.
 *
 * Everything is integer: weights are 16.16 fixed point in an Int32Array; the
 * dot product is accumulated in a double, which is exact here (each term is
 * below 2^43 and there are few terms), in a fixed order.
 */
import { SQUASH_TABLE } from './logistic.js';

/** Early learning-rate boost: 1 + BOOST times lr at the start, falling linearly to lr over BOOST_BITS updates (measured: -0.005 bpb on alice29, -0.06 to -0.1 on the 4 KB corpus files). */
const BOOST = 3;
const BOOST_BITS = 1 << 17;

export class Mixer {
  private updates = 0;
  readonly w: Int32Array;
  private base = 0;
  /** Stretch-domain output of the last mix() (clamped to [-2047, 2047]). */
  dot = 0;
  /** 12-bit probability from the last mix(). */
  pr = 2048;

  /**
   * `n` inputs, `sets` weight vectors, learning rate `lr` (1..255, in units of
   * 2^-16 per unit error), every weight starting at `init` (16.16).
   */
  constructor(readonly n: number, readonly sets: number, public lr: number, init: number) {
    this.w = new Int32Array(n * sets).fill(init);
  }

  /** Mix inputs x[0..n) with weight set `set`; returns the 12-bit probability. */
  mix(x: Int32Array, set: number): number {
    const w = this.w;
    const n = this.n;
    const base = set * n;
    this.base = base;
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i] * w[base + i];
    let d = (s / 65536) | 0;
    if (d > 2047) d = 2047;
    else if (d < -2047) d = -2047;
    this.dot = d;
    return (this.pr = SQUASH_TABLE[d + 2048]);
  }

  /** Train the weights used by the last mix() towards `bit`. */
  update(x: Int32Array, bit: number): void {
    // lr / 16 of the error first, so that x * err stays below 2^31 (int32 arithmetic).
    // A larger rate while the mixer is young (decaying like 1/t towards lr):
    // tiny inputs end before a small fixed rate has found the weights.
    const t = this.updates++;
    const lr = t < BOOST_BITS ? this.lr + ((this.lr * BOOST * (BOOST_BITS - t)) / BOOST_BITS | 0) : this.lr;
    const err = (((bit << 12) - this.pr) * lr) >> 4;
    if (err === 0) return;
    const w = this.w;
    const n = this.n;
    const base = this.base;
    for (let i = 0; i < n; i++) w[base + i] += (x[i] * err + 2048) >> 12;
  }
}
