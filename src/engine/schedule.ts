// schedule: the learning-rate schedules of glassbox, all in one place, as
// plain functions step -> lr.
//
// `step` is the 0-based index of the optimiser step about to be taken; the
// training loop sets the optimiser's lr from the schedule before each step.
// Cosines use detmath.cosPi and exponentials detmath.exp, so the values are
// the same bits everywhere.

import * as dm from './detmath.js';
import { LN10 } from './constants.js';

export type LrSchedule = (step: number) => number;

export interface WarmupDecayOptions {
  /** Peak learning rate, reached at the end of warmup. */
  base: number;
  /** Number of warmup steps (0 for none). */
  warmup: number;
  /** Step at which the decay reaches `min`; from then on the rate stays `min`. */
  total: number;
  /** Final learning rate (default 0). */
  min?: number;
}

function checkOptions(o: WarmupDecayOptions, fn: string): number {
  const min = o.min ?? 0;
  if (!(o.base >= 0) || o.base === Infinity) throw new RangeError(`${fn}: base must be finite and >= 0, got ${o.base}`);
  if (!(min >= 0) || min > o.base) throw new RangeError(`${fn}: min must be in [0, base], got ${min}`);
  if (!Number.isInteger(o.warmup) || o.warmup < 0) throw new RangeError(`${fn}: warmup must be an integer >= 0, got ${o.warmup}`);
  if (!Number.isInteger(o.total) || o.total < o.warmup) {
    throw new RangeError(`${fn}: total must be an integer >= warmup (${o.warmup}), got ${o.total}`);
  }
  return min;
}

function checkStep(step: number, fn: string): void {
  if (!Number.isInteger(step) || step < 0) throw new RangeError(`${fn}: step must be an integer >= 0, got ${step}`);
}

/**
 * Linear warmup then a decay from base to min shaped by `decay`, a function
 * of progress p in [0, 1] that is 1 at p = 0 and 0 at p = 1:
 * - step < warmup: base * (step + 1) / warmup (so the last warmup step is at base);
 * - warmup <= step < total: c*base + (1-c)*min with c = decay((step - warmup)/(total - warmup));
 * - step >= total: min.
 * The endpoints are exact: base at step = warmup, min from step = total.
 */
function warmupThen(o: WarmupDecayOptions, fn: string, decay: (p: number) => number): LrSchedule {
  const min = checkOptions(o, fn);
  const { base, warmup, total } = o;
  return (step) => {
    checkStep(step, fn);
    if (step < warmup) return (base * (step + 1)) / warmup;
    if (step >= total) return min;
    const c = decay((step - warmup) / (total - warmup));
    return c * base + (1 - c) * min;
  };
}

/** Linear warmup, then cosine decay: c = (1 + cos(pi p))/2 (detmath.cosPi). */
export function warmupCosine(o: WarmupDecayOptions): LrSchedule {
  return warmupThen(o, 'warmupCosine', (p) => 0.5 * (1 + dm.cosPi(p)));
}

/**
 * PyTorch's OneCycleLR with cosine annealing, pct_start 0.3, div_factor 25
 * and final_div_factor 1e4 (Smith & Topin, arXiv 1708.07120): from maxLr/25
 * up to maxLr over the first 30% of the steps, then down to maxLr/25e4.
 */
export function oneCycle(maxLr: number, total: number, pctStart = 0.3): LrSchedule {
  const initial = maxLr / 25;
  const final = initial / 1e4;
  const up = Math.max(1, Math.floor(pctStart * total) - 1);
  const down = Math.max(1, total - 1 - up);
  const cosAnneal = (from: number, to: number, p: number) => to + ((from - to) * (1 + dm.cosPi(p))) / 2;
  return (step) => (step <= up ? cosAnneal(initial, maxLr, step / up) : cosAnneal(maxLr, final, Math.min(1, (step - up) / down)));
}

/**
 * Log-linear decay from lr at step 0 to lr/10 at step `steps` - 1 (the
 * interaction lens's split, as in the sjtu-xai-lab/interaction-concept
 * reference); a single step keeps lr.
 */
export function logLinearDecay(lr: number, steps: number): LrSchedule {
  return (step) => (steps > 1 ? lr * dm.exp((-step / (steps - 1)) * LN10) : lr);
}

export interface WarmupInverseSqrtOptions {
  /** Peak learning rate, reached at the end of warmup. */
  base: number;
  /** Linear warmup over this many steps (>= 1). */
  warmup: number;
  /** The rate is divided by sqrt(1 + step/decay) (0 for no decay). */
  decay: number;
}

/**
 * Linear warmup, then an inverse-square-root decay that never ends:
 * base * min(1, (step + 1)/warmup) / sqrt(1 + step/decay), or without the
 * decay factor when decay = 0. The transformer compressor trains for as long
 * as its input lasts, so its rate cannot be a function of a total step count
 * (Vaswani et al., arXiv 1706.03762, section 5.3, decay by 1/sqrt(step)).
 * The product is taken in that order, so the value is the same bits
 * wherever it runs (Math.sqrt is exactly rounded).
 */
export function warmupInverseSqrt(o: WarmupInverseSqrtOptions): LrSchedule {
  const fn = 'warmupInverseSqrt';
  const { base, warmup, decay } = o;
  if (!(base >= 0) || base === Infinity) throw new RangeError(`${fn}: base must be finite and >= 0, got ${base}`);
  if (!Number.isInteger(warmup) || warmup < 1) throw new RangeError(`${fn}: warmup must be an integer >= 1, got ${warmup}`);
  if (!(decay >= 0) || decay === Infinity) throw new RangeError(`${fn}: decay must be finite and >= 0, got ${decay}`);
  return (step) => {
    checkStep(step, fn);
    const warm = Math.min(1, (step + 1) / warmup);
    const fall = decay > 0 ? 1 / Math.sqrt(1 + step / decay) : 1;
    return base * warm * fall;
  };
}
