// Position encodings that are not a learned table: the sinusoidal table of
// Vaswani et al. (arXiv 1706.03762), ALiBi's linear distance penalty (Press
// et al., arXiv 2108.12409) and rotary embeddings (RoPE, Su et al., arXiv
// 2104.09864). ALiBi and RoPE are ops with a backward (they sit inside
// attention and train with it); the sinusoidal table is a constant added to
// the embeddings. Angles go through detmath (cosPi, exp, log), never Math.sin.

import { allocOutput } from './arena.js';
import { Tensor, ShapeError, result, shapeStr, accumulateGrad } from './tensor.js';
import * as dm from './detmath.js';

const INV_PI = 0.3183098861837907; // 1/π, the nearest double

/** cos and sin of an angle in radians, by detmath's cosPi (sin θ = cos(θ − π/2)). */
function cosSin(theta: number): [number, number] {
  const t = theta * INV_PI;
  return [dm.cosPi(t), dm.cosPi(t - 0.5)];
}

/** θ_i = base^(−2i/d) for i < d/2: the rotation (or wave) frequencies of RoPE and the sinusoidal table. */
export function positionFrequencies(d: number, base = 10000): Float64Array {
  const f = new Float64Array(d >> 1);
  const lb = dm.log(base);
  for (let i = 0; i < f.length; i++) f[i] = dm.exp((-2 * i * lb) / d);
  return f;
}

/** The sinusoidal table [T, d]: PE[t, 2i] = sin(t θ_i), PE[t, 2i+1] = cos(t θ_i). */
export function sinusoidalTable(T: number, d: number, base = 10000): Tensor {
  if (d % 2 !== 0) throw new ShapeError('sinusoidalTable', `width ${d} must be even`);
  const f = positionFrequencies(d, base);
  const out = new Float32Array(T * d);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < f.length; i++) {
      const [c, s] = cosSin(t * f[i]);
      out[t * d + 2 * i] = s;
      out[t * d + 2 * i + 1] = c;
    }
  }
  return new Tensor(out, [T, d], { op: 'sinusoidalTable' });
}

/** ALiBi's head slopes: the geometric sequence 2^(−8/H), 2^(−16/H), … (H a power of two, as in the paper; others use the same formula). */
export function alibiSlopes(H: number): number[] {
  return Array.from({ length: H }, (_, h) => dm.exp((-8 * (h + 1) * dm.log(2)) / H));
}

/**
 * scores [H, ..., T, T] (heads leading) plus ALiBi's bias −m_h·(q − k) on
 * every entry with key k ≤ query q; future entries are left as they are (the
 * causal softmax that follows masks them). The bias is a constant, so the
 * gradient passes through unchanged.
 */
export function alibi(scores: Tensor, slopes: readonly number[]): Tensor {
  const T = scores.dim(-1);
  if (scores.ndim < 3 || scores.dim(-2) !== T) throw new ShapeError('alibi', `needs [H, ..., T, T] scores, got ${shapeStr(scores.shape)}`);
  const H = scores.shape[0];
  if (slopes.length !== H) throw new ShapeError('alibi', `${slopes.length} slopes for ${H} heads`);
  const xd = scores.data;
  const out = allocOutput(scores.size);
  const perHead = scores.size / H;
  for (let h = 0; h < H; h++) {
    const m = slopes[h];
    for (let o = h * perHead; o < (h + 1) * perHead; o += T * T) {
      for (let q = 0; q < T; q++) {
        const r = o + q * T;
        for (let k = 0; k <= q; k++) out[r + k] = xd[r + k] - m * (q - k);
        for (let k = q + 1; k < T; k++) out[r + k] = xd[r + k];
      }
    }
  }
  return result(out, scores.shape, 'alibi', [scores], (g) => accumulateGrad(scores, g));
}

/**
 * RoPE on x [..., T, d] (d even): each pair (x_2i, x_2i+1) at position t is
 * rotated by the angle t·θ_i, θ_i = base^(−2i/d). The backward rotates the
 * gradient by −t·θ_i (a rotation's inverse is its transpose).
 */
export function rope(x: Tensor, base = 10000): Tensor {
  if (x.ndim < 2) throw new ShapeError('rope', `needs [..., T, d], got ${shapeStr(x.shape)}`);
  const T = x.dim(-2);
  const d = x.dim(-1);
  if (d % 2 !== 0) throw new ShapeError('rope', `width ${d} must be even`);
  const f = positionFrequencies(d, base);
  const half = d >> 1;
  const cos = new Float64Array(T * half);
  const sin = new Float64Array(T * half);
  for (let t = 0; t < T; t++) for (let i = 0; i < half; i++) [cos[t * half + i], sin[t * half + i]] = cosSin(t * f[i]);
  const rotate = (src: Float32Array, dst: Float32Array, sign: number) => {
    const rowsAll = src.length / d;
    for (let r = 0; r < rowsAll; r++) {
      const t = r % T;
      const o = r * d;
      for (let i = 0; i < half; i++) {
        const c = cos[t * half + i];
        const s = sign * sin[t * half + i];
        const a = src[o + 2 * i];
        const b = src[o + 2 * i + 1];
        dst[o + 2 * i] = a * c - b * s;
        dst[o + 2 * i + 1] = a * s + b * c;
      }
    }
  };
  const out = allocOutput(x.size);
  rotate(x.data, out, 1);
  return result(out, x.shape, 'rope', [x], (g) => {
    const gx = allocOutput(x.size);
    rotate(g, gx, -1);
    accumulateGrad(x, gx, true);
  });
}
