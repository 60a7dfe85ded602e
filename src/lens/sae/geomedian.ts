// The geometric median (the point minimising the sum of Euclidean distances)
// by Weiszfeld's iteration, in f64. OpenAI starts b_pre here: unlike the mean
// it is not dragged by the few activations with huge norms.

/** Geometric median of `count` rows of width d (row-major). Starts at the mean; stops when a step moves less than tol·(1 + |m|). */
export function geometricMedian(rows: Float32Array, count: number, d: number, opts: { iters?: number; tol?: number } = {}): Float64Array {
  if (count < 1 || rows.length < count * d) throw new Error(`geometricMedian: need ${count} rows of width ${d}, got ${rows.length} values`);
  const iters = opts.iters ?? 200;
  const tol = opts.tol ?? 1e-10;
  const m = new Float64Array(d);
  for (let r = 0; r < count; r++) for (let c = 0; c < d; c++) m[c] += rows[r * d + c];
  for (let c = 0; c < d; c++) m[c] /= count;
  const next = new Float64Array(d);
  for (let it = 0; it < iters; it++) {
    next.fill(0);
    let wsum = 0;
    for (let r = 0; r < count; r++) {
      let dist2 = 0;
      for (let c = 0; c < d; c++) {
        const e = rows[r * d + c] - m[c];
        dist2 += e * e;
      }
      // A point sitting on the estimate would get infinite weight; floor the distance.
      const w = 1 / Math.max(Math.sqrt(dist2), 1e-12);
      wsum += w;
      for (let c = 0; c < d; c++) next[c] += w * rows[r * d + c];
    }
    let moved = 0, norm = 0;
    for (let c = 0; c < d; c++) {
      next[c] /= wsum;
      const step = next[c] - m[c];
      moved += step * step;
      norm += next[c] * next[c];
      m[c] = next[c];
    }
    if (Math.sqrt(moved) <= tol * (1 + Math.sqrt(norm))) break;
  }
  return m;
}

/** Σ_r ||row_r − m||: what the geometric median minimises (tests compare candidates with it). */
export function sumOfDistances(rows: Float32Array, count: number, d: number, m: ArrayLike<number>): number {
  let s = 0;
  for (let r = 0; r < count; r++) {
    let dist2 = 0;
    for (let c = 0; c < d; c++) {
      const e = rows[r * d + c] - m[c];
      dist2 += e * e;
    }
    s += Math.sqrt(dist2);
  }
  return s;
}
