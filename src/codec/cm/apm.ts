/**
 * Adaptive probability maps (APM / SSE, "secondary symbol estimation", as in
 * Mahoney's lpaq1 and paq8): a refinement p' = f_ctx(p) learned online. For
 * each context the function is a piecewise-linear curve over the stretch
 * domain with 33 knots (every 128 stretch units); the output interpolates the
 * two knots around stretch(p), and the update moves the nearer knot towards
 * the bit. It corrects the systematic over- or under-confidence of the mixer
 * in each small context.
 */
import { SQUASH_TABLE, STRETCH_TABLE } from './logistic.js';

export class Apm {
  private readonly t: Uint16Array;
  private idx = 0;

  /** `contexts` curves, each knot moving by 1/2^rate of its error per update. */
  constructor(readonly contexts: number, private readonly rate: number) {
    this.t = new Uint16Array(contexts * 33);
    for (let c = 0; c < contexts; c++) {
      for (let j = 0; j < 33; j++) this.t[c * 33 + j] = SQUASH_TABLE[Math.min(4095, (j - 16) * 128 + 2048)] * 16;
    }
  }

  /** Refine 12-bit probability pr in context ctx (0 <= ctx < contexts). */
  refine(pr: number, ctx: number): number {
    const s = STRETCH_TABLE[pr] + 2048; // 1..4095
    const lo = s >> 7;
    const w = s & 127;
    const base = ctx * 33 + lo;
    this.idx = base + (w >> 6); // the nearer knot
    return (this.t[base] * (128 - w) + this.t[base + 1] * w) >> 11;
  }

  update(bit: number): void {
    const g = (bit << 16) + (bit << this.rate) - bit - bit;
    const v = this.t[this.idx];
    this.t[this.idx] = v + ((g - v) >> this.rate);
  }
}
