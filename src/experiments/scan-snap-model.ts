// The setting of Tian et al., "Scan and Snap: Understanding Training Dynamics
// and Token Composition in 1-layer Transformer" (arXiv 2305.16380), §5/§6:
// the paper's one-layer model (its generator is scan-snap-generator.ts), written
// directly on typed arrays. The model is tiny (two M×M matrices), so plain
// loops beat the tensor engine's dispatch; every reduction runs in a fixed
// order in f64 and parameters live in Float32Array, so results are bit-exact
// on any machine and any thread count.

import { Rng } from '../engine/rng.js';
import { exp, log } from '../engine/detmath.js';
import { buildVocabulary, sampleBatch, type Batch, type ClassInfo, type GeneratorConfig, type Vocabulary } from './scan-snap-generator.js';

// ---------------------------------------------------------------------- model

/**
 * The paper's model: attention logits Z[x_T, x_t] over the context tokens (the
 * query x_T excluded), f = Σ_t a_t·onehot(x_t), f ← f/‖f‖₂, logits = Y·f over
 * all M tokens, cross-entropy averaged over the batch. Y is [M out, M in].
 */
export class ScanSnapModel {
  readonly Z: Float32Array;
  /** The decoder transposed: Yt[l·M + o] = Y[o, l]. */
  readonly Yt: Float32Array;
  readonly gZ: Float32Array;
  readonly gYt: Float32Array;
  private readonly mZ: Float32Array;
  private readonly mY: Float32Array;
  private readonly glog: Float64Array;
  private readonly counts: Float64Array;
  private readonly u: Float64Array;
  private readonly present: Int32Array;
  private readonly logits: Float64Array;

  constructor(readonly M: number, init: 'zero' | 'random', rng?: Rng) {
    this.Z = new Float32Array(M * M);
    this.Yt = new Float32Array(M * M);
    if (init === 'random') {
      if (!rng) throw new Error('scan-snap: random init needs a generator');
      // PyTorch's nn.Linear default (kaiming_uniform with a = √5): U(−1/√fan_in, 1/√fan_in); the reference builds Y and Z as nn.Linear(M, M).
      const bound = 1 / Math.sqrt(M);
      // Y is drawn in Y's own row-major order and stored transposed, so the draw does not depend on the storage.
      for (let o = 0; o < M; o++) for (let l = 0; l < M; l++) this.Yt[l * M + o] = (2 * rng.next() - 1) * bound;
      for (let i = 0; i < M * M; i++) this.Z[i] = (2 * rng.next() - 1) * bound;
    }
    this.gZ = new Float32Array(M * M);
    this.gYt = new Float32Array(M * M);
    this.glog = new Float64Array(M);
    this.mZ = new Float32Array(M * M);
    this.mY = new Float32Array(M * M);
    this.counts = new Float64Array(M);
    this.u = new Float64Array(M);
    this.present = new Int32Array(M);
    this.logits = new Float64Array(M);
  }

  /**
   * Mean cross-entropy of the batch; with `grad`, accumulates dL/dZ and dL/dY
   * into gZ, gY (zeroed first). No positional encoding means attention depends
   * only on token identity, so a sample is its token counts: a_t for every
   * copy of token l is c_l·e^{Z[q,l]} / Σ c·e^{Z[q,·]}, summed into u_l.
   */
  lossAndGrad(v: Vocabulary, batch: Batch, grad: boolean): number {
    const { M, Z, Yt, gYt, counts, u, present, logits, glog } = this;
    const { B, ctx } = batch;
    if (grad) {
      this.gZ.fill(0);
      this.gYt.fill(0);
    }
    const gu = new Float64Array(M);
    let loss = 0;
    for (let b = 0; b < B; b++) {
      const info = v.classes[batch.cls[b]];
      const q = info.last;
      // Token counts, listed in first-appearance order (fixed, data-defined).
      let np = 0;
      for (let t = 0; t < ctx; t++) {
        const l = batch.context[b * ctx + t];
        if (counts[l] === 0) present[np++] = l;
        counts[l] += 1;
      }
      // Softmax over positions = count-weighted softmax over present tokens.
      let zmax = -Infinity;
      for (let i = 0; i < np; i++) zmax = Math.max(zmax, Z[q * M + present[i]]);
      let S = 0;
      for (let i = 0; i < np; i++) {
        const l = present[i];
        const w = counts[l] * exp(Z[q * M + l] - zmax);
        u[l] = w;
        S += w;
      }
      let nrm2 = 0;
      for (let i = 0; i < np; i++) {
        const l = present[i];
        u[l] /= S;
        nrm2 += u[l] * u[l];
      }
      const nrm = Math.sqrt(nrm2);
      // logits = Y f, f = u/‖u‖ (sparse over present tokens). Y is stored
      // transposed (Yt[l·M + o] = Y[o, l]) so each present token adds one
      // contiguous column: the hot loop walks memory in order.
      logits.fill(0);
      for (let i = 0; i < np; i++) {
        const l = present[i];
        const f = u[l] / nrm;
        const col = l * M;
        for (let o = 0; o < M; o++) logits[o] += Yt[col + o] * f;
      }
      let lmax = -Infinity;
      for (let o = 0; o < M; o++) if (logits[o] > lmax) lmax = logits[o];
      let se = 0;
      for (let o = 0; o < M; o++) {
        const e = exp(logits[o] - lmax);
        logits[o] = e;
        se += e;
      }
      const y = info.next;
      loss += -(log(logits[y] / se));
      if (grad) {
        // g_logits = (softmax − onehot(y)) / B; gY[o,l] += g_o f_l; g_f[l] = Σ_o Y[o,l] g_o.
        for (let o = 0; o < M; o++) glog[o] = (logits[o] / se - (o === y ? 1 : 0)) / B;
        for (let i = 0; i < np; i++) {
          const l = present[i];
          const f = u[l] / nrm;
          const col = l * M;
          let s = 0;
          for (let o = 0; o < M; o++) {
            const g = glog[o];
            gYt[col + o] += g * f;
            s += Yt[col + o] * g;
          }
          gu[l] = s;
        }
        // Through f = u/‖u‖: g_u = (g_f − f·(f·g_f)) / ‖u‖.
        let fg = 0;
        for (let i = 0; i < np; i++) fg += (u[present[i]] / nrm) * gu[present[i]];
        for (let i = 0; i < np; i++) {
          const l = present[i];
          gu[l] = (gu[l] - (u[l] / nrm) * fg) / nrm;
        }
        // Through u_l = c_l e^{z_l} / S: dL/dz_k = u_k (g_u_k − Σ_l u_l g_u_l).
        let ug = 0;
        for (let i = 0; i < np; i++) ug += u[present[i]] * gu[present[i]];
        for (let i = 0; i < np; i++) {
          const l = present[i];
          this.gZ[q * M + l] += u[l] * (gu[l] - ug);
        }
      }
      for (let i = 0; i < np; i++) {
        counts[present[i]] = 0;
        u[present[i]] = 0;
      }
    }
    return loss / B;
  }

  /** SGD with momentum as PyTorch applies it: buf ← μ·buf + g; p ← p − η·buf (no dampening, no weight decay). */
  step(lrZ: number, lrY: number, momentum: number): void {
    const n = this.M * this.M;
    const { Z, Yt, gZ, gYt, mZ, mY } = this;
    for (let i = 0; i < n; i++) {
      mZ[i] = momentum * mZ[i] + gZ[i];
      Z[i] = Z[i] - lrZ * mZ[i];
      mY[i] = momentum * mY[i] + gYt[i];
      Yt[i] = Yt[i] - lrY * mY[i];
    }
  }

  /**
   * c_n, the paper's normalised attention of class n over its support:
   * c_n[l] ∝ P(l|n)·e^{Z[m,l]} with m the class's query token — the expected
   * attention in the long-sequence limit.
   */
  classAttention(info: ClassInfo): Float64Array {
    const q = info.last;
    let zmax = -Infinity;
    for (let i = 0; i < info.tokens.length; i++) zmax = Math.max(zmax, this.Z[q * this.M + info.tokens[i]]);
    const c = new Float64Array(info.tokens.length);
    let s = 0;
    for (let i = 0; i < c.length; i++) {
      c[i] = info.probs[i] * exp(this.Z[q * this.M + info.tokens[i]] - zmax);
      s += c[i];
    }
    for (let i = 0; i < c.length; i++) c[i] /= s;
    return c;
  }
}

/** Entropy (nats) of weights renormalised over [from, to). */
export function entropyOf(c: ArrayLike<number>, from = 0, to = c.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += c[i];
  let h = 0;
  for (let i = from; i < to; i++) {
    const p = c[i] / s;
    if (p > 0) h -= p * log(p);
  }
  return h;
}

/** The Figure 6 metric: entropy of c_n over the distinct tokens, renormalised, averaged over classes; and the same over the whole support. */
export function classEntropies(model: ScanSnapModel, v: Vocabulary): { distinct: number; support: number } {
  let d = 0;
  let s = 0;
  for (const info of v.classes) {
    const c = model.classAttention(info);
    d += entropyOf(c, info.numShared, c.length);
    s += entropyOf(c);
  }
  return { distinct: d / v.classes.length, support: s / v.classes.length };
}

export interface TrainConfig {
  batch: number;
  iterations: number;
  lrZ: number;
  lrY: number;
  momentum: number;
  init: 'zero' | 'random';
  seed: number;
}

export interface TrainTrace {
  /** Loss at each iteration (before its update). */
  loss: number[];
  /** Distinct-token entropy (Figure 6 metric) after 0..iterations updates. */
  entropy: number[];
  /** Support entropy after 0..iterations updates. */
  supportEntropy: number[];
}

/**
 * One training run. `onState(it, model)` is called after `it` updates
 * (it = 0 is the initial state). Data and init come from separate forks of
 * the seed, so changing the init does not change the data stream.
 */
export function trainRun(g: GeneratorConfig, t: TrainConfig, onState?: (it: number, model: ScanSnapModel, v: Vocabulary) => void): { model: ScanSnapModel; vocab: Vocabulary; trace: TrainTrace } {
  const v = buildVocabulary(g);
  const root = new Rng(t.seed);
  const model = new ScanSnapModel(v.M, t.init, root.fork('init'));
  const data = root.fork('data');
  const trace: TrainTrace = { loss: [], entropy: [], supportEntropy: [] };
  const record = (it: number): void => {
    const e = classEntropies(model, v);
    trace.entropy.push(e.distinct);
    trace.supportEntropy.push(e.support);
    onState?.(it, model, v);
  };
  record(0);
  for (let it = 0; it < t.iterations; it++) {
    const batch = sampleBatch(v, g, t.batch, data);
    trace.loss.push(model.lossAndGrad(v, batch, true));
    model.step(t.lrZ, t.lrY, t.momentum);
    record(it + 1);
  }
  return { model, vocab: v, trace };
}
