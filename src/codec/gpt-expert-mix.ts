/**
 * How the transformer compressor combines its experts into one byte
 * distribution: the order-3 counts, each higher-order context, and the GPT,
 * all as log-probabilities through GeometricMixers (gpt-mixer.ts).
 *
 * One layer: a single mixer over every expert, its weight set picked by how
 * many context orders were found and by the confidence of the GPT (or of
 * the counts, without a GPT). It starts from the top count expert alone
 * (weight init[1]) plus the GPT at init[0]; the rest learn their way in, so
 * early on the mix leans on the counts (a count-based warm start).
 *
 * Two layers (mixer.layers = 2, with a GPT): the count experts are mixed
 * first, then that mix with the GPT, the final weight set picked by both
 * confidences; measured better than one flat mixer. With residual training
 * the GPT's expert is softmax(logits + ln P_countmix) instead of its own
 * softmax, and `countMix` keeps ln P_countmix for the trainer.
 */
import { GeometricMixer, confidenceBucket, expApprox, lnApprox } from './gpt-mixer.js';
import type { HighOrderContexts } from './gpt-contexts.js';
import type { MixerConfig } from './gpt-header.js';

const N = 256;

export class ExpertMix {
  private readonly contexts: HighOrderContexts | null;
  private readonly twoLayers: boolean;
  private readonly residual: boolean;
  /** The one-layer mixer, or in two-layer mixing the final one over [count mix, GPT]. */
  private readonly mixer: GeometricMixer;
  /** Two-layer mixing: the count experts' mixer (null when there is only the order-3 expert). */
  private readonly mixer1: GeometricMixer | null = null;
  /** Mixer inputs: ln P of the order-3 counts, of each higher order, then of the GPT. */
  private readonly inputs: Float64Array[];
  private readonly lc = new Float64Array(N);
  private readonly lg = new Float64Array(N);
  private readonly p1 = new Float32Array(N);
  private readonly out = new Float32Array(N);
  /** Two-layer mixing: ln P of the count mix at the last predict(). */
  readonly countMix = new Float64Array(N);

  /** `withGpt`: the GPT's logits are passed to predict(); `residual`: its expert is a correction to the count mix. */
  constructor(config: MixerConfig, contexts: HighOrderContexts | null, withGpt: boolean, residual: boolean) {
    this.contexts = contexts;
    this.inputs = [this.lc, ...(contexts ? contexts.logp : [])];
    if (withGpt) this.inputs.push(this.lg);
    if (this.inputs.length < 2) throw new RangeError('ExpertMix: nothing to mix (the order-3 counts alone need no mixer)');
    this.twoLayers = config.layers === 2 && withGpt;
    this.residual = residual && this.twoLayers;
    const orders = contexts ? contexts.orders.length : 0;
    if (this.twoLayers) {
      const classical = this.inputs.slice(0, -1);
      if (classical.length > 1) {
        const init1 = classical.map((_, i) => (i === classical.length - 1 ? config.init[1] : 0));
        this.mixer1 = new GeometricMixer(classical.length, (orders + 1) * 4, init1, config.lr);
      }
      this.mixer = new GeometricMixer(2, 16, [config.init[1], config.init[0]], config.lr);
    } else {
      const init = this.inputs.map(() => 0);
      init[this.inputs.length - (withGpt ? 2 : 1)] = config.init[1];
      if (withGpt) init[this.inputs.length - 1] = config.init[0];
      this.mixer = new GeometricMixer(this.inputs.length, (orders + 1) * 4, init, config.lr);
    }
  }

  /** The mixed distribution for the next byte, from the counts' probabilities and (with a GPT) its logits. */
  predict(pc: Float32Array, logits: Float32Array | null): Float32Array {
    const lc = this.lc;
    let maxP = 0;
    for (let s = 0; s < N; s++) {
      const p = pc[s];
      lc[s] = lnApprox(p);
      if (p > maxP) maxP = p;
    }
    let found = 0;
    if (this.contexts) {
      this.contexts.predict(lc);
      found = this.contexts.found + 1;
    }
    const z = logits;
    if (z && this.twoLayers) return this.mixTwoLayers(z, found, maxP);
    if (z) {
      const lg = this.lg;
      let mx = -Infinity;
      for (let s = 0; s < N; s++) if (z[s] > mx) mx = z[s];
      let sum = 0;
      for (let s = 0; s < N; s++) sum += expApprox(z[s] - mx);
      const lse = mx + lnApprox(sum);
      for (let s = 0; s < N; s++) lg[s] = z[s] - lse;
      maxP = expApprox(mx - lse); // the set is picked by the GPT's confidence when there is a GPT
    }
    this.mixer.mix(this.inputs, found * 4 + confidenceBucket(maxP), this.out);
    return this.out;
  }

  /** Count experts through mixer1 (-> countMix), then [countMix, GPT] through the final mixer. */
  private mixTwoLayers(z: Float32Array, found: number, maxCounts: number): Float32Array {
    const lcm = this.countMix;
    let maxCm = maxCounts;
    if (this.mixer1) {
      const classical = this.inputs.slice(0, -1);
      this.mixer1.mix(classical, found * 4 + confidenceBucket(maxCounts), this.p1, lcm);
      maxCm = 0;
      for (let s = 0; s < N; s++) if (this.p1[s] > maxCm) maxCm = this.p1[s];
    } else lcm.set(this.lc);
    // The GPT expert: log-softmax of its logits, or of logits + ln P_counts when it learns the residual.
    const lg = this.lg;
    const res = this.residual;
    let mx = -Infinity;
    for (let s = 0; s < N; s++) {
      const v = res ? z[s] + lcm[s] : z[s];
      lg[s] = v;
      if (v > mx) mx = v;
    }
    let sum = 0;
    for (let s = 0; s < N; s++) sum += expApprox(lg[s] - mx);
    const lse = mx + lnApprox(sum);
    for (let s = 0; s < N; s++) lg[s] -= lse;
    const maxG = expApprox(mx - lse);
    this.mixer.mix([lcm, lg], confidenceBucket(maxG) * 4 + confidenceBucket(maxCm), this.out);
    return this.out;
  }

  /** Learn from the actual byte (after predict). */
  update(byte: number): void {
    this.mixer.update(byte);
    this.mixer1?.update(byte);
  }
}
