// Feature dashboards (as on Neuronpedia / OpenAI's sae-viewer) and steering.
// A dashboard is plain data: the top activating examples, an activation
// histogram, and the output tokens the feature's decoder direction promotes
// and suppresses through the unembedding (W_dec[i] · W_U, the direct effect,
// ignoring the final layer norm's scale).

import { Tensor, noGrad } from '../../engine/tensor.js';
import { Hooks, type HookedModel } from '../../nn/hooks.js';
import type { Sae } from './model.js';
import { checkHook } from './buffer.js';

export interface TopExample {
  /** Which example (sequence) of the evaluation set, and the token position in it. */
  seq: number;
  pos: number;
  act: number;
}

export interface FeatureDashboard {
  index: number;
  /** Fraction of evaluation tokens it fires on. */
  density: number;
  max_act: number;
  top: TopExample[];
  histogram: { edges: number[]; counts: number[] };
  promoted: Array<{ token: string; weight: number }>;
  suppressed: Array<{ token: string; weight: number }>;
}

/** Throws a one-line error when `i` is not a latent of `sae`. */
export function checkFeature(sae: Sae, i: number): void {
  if (!Number.isInteger(i) || i < 0 || i >= sae.shape.n) throw new Error(`feature index ${i} is out of range: this SAE has features 0 to ${sae.shape.n - 1}`);
}

/**
 * Dashboards for every latent from codes z [N, n] of N evaluation tokens,
 * where token r is position r % T of sequence floor(r / T).
 */
export function featureDashboards(sae: Sae, z: Float32Array, N: number, T: number, unembed: { W_U: Float32Array; vocab: readonly string[] }, opts: { top?: number; bins?: number; logits?: number } = {}): FeatureDashboard[] {
  const { n, d } = sae.shape;
  const topN = opts.top ?? 20;
  const bins = opts.bins ?? 20;
  const nLogits = opts.logits ?? 5;
  const V = unembed.vocab.length;
  if (unembed.W_U.length !== d * V) throw new Error(`unembedding has ${unembed.W_U.length} values, expected [${d}, ${V}]`);
  const out: FeatureDashboard[] = [];
  for (let i = 0; i < n; i++) {
    const acts: Array<{ r: number; a: number }> = [];
    let max = 0;
    for (let r = 0; r < N; r++) {
      const a = z[r * n + i];
      if (a > 0) {
        acts.push({ r, a });
        if (a > max) max = a;
      }
    }
    acts.sort((x, y) => y.a - x.a || x.r - y.r);
    const counts = new Array<number>(bins).fill(0);
    for (const { a } of acts) counts[Math.min(bins - 1, Math.floor((a / max) * bins))]++;
    const edges = Array.from({ length: bins + 1 }, (_, b) => (max * b) / bins);
    const w = new Float64Array(V);
    for (let v = 0; v < V; v++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += sae.W_dec.data[i * d + c] * unembed.W_U[c * V + v];
      w[v] = s;
    }
    const order = [...w.keys()].sort((a, b) => w[b] - w[a] || a - b);
    const entry = (v: number) => ({ token: unembed.vocab[v], weight: w[v] });
    out.push({
      index: i,
      density: acts.length / N,
      max_act: max,
      top: acts.slice(0, topN).map(({ r, a }) => ({ seq: Math.floor(r / T), pos: r % T, act: a })),
      histogram: { edges, counts },
      promoted: order.slice(0, nLogits).map(entry),
      suppressed: order.slice(-nLogits).reverse().map(entry),
    });
  }
  return out;
}

/** A hook replacement adding scale · W_dec[feature] at every position: steering. */
export function steeringHooks(model: HookedModel, sae: Sae, hook: string, feature: number, scale: number): Hooks {
  checkHook(model, hook);
  checkFeature(sae, feature);
  const d = sae.shape.d;
  const dir = sae.W_dec.data.subarray(feature * d, (feature + 1) * d);
  return new Hooks({
    replace: {
      [hook]: (v: Tensor) => {
        if (v.dim(-1) !== d) throw new Error(`the SAE reads width ${d}, but hook "${hook}" has width ${v.dim(-1)}`);
        const out = v.data.slice();
        for (let r = 0; r < out.length / d; r++) for (let c = 0; c < d; c++) out[r * d + c] += scale * dir[c];
        return new Tensor(out, v.shape);
      },
    },
  });
}

/** Greedy continuation of `prompt` for up to `steps` tokens (stopping after `stop`), with optional hooks on every forward. */
export function greedyContinue(model: HookedModel, prompt: Int32Array, steps: number, opts: { hooks?: () => Hooks; stop?: number } = {}): number[] {
  const seq = Array.from(prompt);
  const out: number[] = [];
  noGrad(() => {
    for (let s = 0; s < steps; s++) {
      const tokens = Int32Array.from(seq);
      const logits = model.forward(tokens, 1, tokens.length, opts.hooks ? { hooks: opts.hooks() } : {});
      const V = logits.dim(-1);
      const row = logits.data.subarray((tokens.length - 1) * V, tokens.length * V);
      let best = 0;
      for (let v = 1; v < V; v++) if (row[v] > row[best]) best = v;
      out.push(best);
      seq.push(best);
      if (best === opts.stop) break;
    }
  });
  return out;
}
