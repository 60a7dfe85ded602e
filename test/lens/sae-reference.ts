// Test-only: an independent f64 SAE in plain loops (no engine code), used as
// the reference for forward values and, by central differences, gradients.

export interface RefParams {
  W_enc: Float64Array; // [d, n]
  b_enc: Float64Array; // [n]
  W_dec: Float64Array; // [n, d]
  b_dec: Float64Array; // [d]
}

export interface RefAux {
  dead: Uint8Array;
  /** The residual x − x̂ at the base point, held fixed (the engine detaches it). */
  residual: Float64Array;
  kAux: number;
  coef: number;
}

/** Indices of the k largest of row (ties: lower index), by full sort. */
function topIdx(row: Float64Array, k: number, allowed?: Uint8Array): number[] {
  const ids = [...row.keys()].filter((i) => !allowed || allowed[i]);
  ids.sort((a, b) => row[b] - row[a] || a - b);
  return ids.slice(0, k);
}

/** Pre-activations (x − b_dec) W_enc + b_enc in f64. */
export function refPre(p: RefParams, x: Float64Array, B: number, d: number, n: number): Float64Array {
  const pre = new Float64Array(B * n);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < n; i++) {
      let s = p.b_enc[i];
      for (let c = 0; c < d; c++) s += (x[b * d + c] - p.b_dec[c]) * p.W_enc[c * n + i];
      pre[b * n + i] = s;
    }
  }
  return pre;
}

/** Codes z [B, n] of the reference: 'topk' per row, 'batchtopk' over the batch, 'relu' dense. */
export function refCodes(arch: 'topk' | 'batchtopk' | 'relu', p: RefParams, x: Float64Array, B: number, d: number, n: number, k: number): Float64Array {
  const pre = refPre(p, x, B, d, n);
  const z = new Float64Array(B * n);
  if (arch === 'relu') for (let i = 0; i < z.length; i++) z[i] = Math.max(pre[i], 0);
  else if (arch === 'topk') {
    for (let b = 0; b < B; b++) for (const i of topIdx(pre.subarray(b * n, (b + 1) * n), k)) z[b * n + i] = Math.max(pre[b * n + i], 0);
  } else {
    for (const f of topIdx(pre, k * B)) z[f] = Math.max(pre[f], 0);
  }
  return z;
}

export function refDecode(p: RefParams, z: Float64Array, B: number, d: number, n: number, bias = true): Float64Array {
  const out = new Float64Array(B * d);
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < d; c++) {
      let s = bias ? p.b_dec[c] : 0;
      for (let i = 0; i < n; i++) s += z[b * n + i] * p.W_dec[i * d + c];
      out[b * d + c] = s;
    }
  }
  return out;
}

/** The training loss: Σ_d (x − x̂)² averaged over tokens, + l1 Σ f_i ||W_dec[i]|| / B (relu), + AuxK. */
export function refLoss(arch: 'topk' | 'batchtopk' | 'relu', p: RefParams, x: Float64Array, B: number, d: number, n: number, k: number, l1 = 0, aux?: RefAux): number {
  const z = refCodes(arch, p, x, B, d, n, k);
  const xh = refDecode(p, z, B, d, n);
  let loss = 0;
  for (let i = 0; i < x.length; i++) loss += (x[i] - xh[i]) * (x[i] - xh[i]);
  loss /= B;
  if (arch === 'relu' && l1 > 0) {
    let s = 0;
    for (let i = 0; i < n; i++) {
      let nn = 0;
      for (let c = 0; c < d; c++) nn += p.W_dec[i * d + c] * p.W_dec[i * d + c];
      const norm = Math.sqrt(nn);
      for (let b = 0; b < B; b++) s += z[b * n + i] * norm;
    }
    loss += (l1 * s) / B;
  }
  if (aux) {
    const pre = refPre(p, x, B, d, n);
    const za = new Float64Array(B * n);
    for (let b = 0; b < B; b++) for (const i of topIdx(pre.subarray(b * n, (b + 1) * n), aux.kAux, aux.dead)) za[b * n + i] = Math.max(pre[b * n + i], 0);
    const eh = refDecode(p, za, B, d, n, false);
    const mean = new Float64Array(d);
    for (let b = 0; b < B; b++) for (let c = 0; c < d; c++) mean[c] += aux.residual[b * d + c] / B;
    let num = 0, den = 0;
    for (let b = 0; b < B; b++) {
      for (let c = 0; c < d; c++) {
        const e = aux.residual[b * d + c];
        num += (eh[b * d + c] - e) * (eh[b * d + c] - e);
        den += (e - mean[c]) * (e - mean[c]);
      }
    }
    loss += (aux.coef * num) / den;
  }
  return loss;
}

/** Central-difference gradient of f with respect to every entry of every array in `arrays`, in f64. */
export function fdGradients(arrays: Float64Array[], f: () => number, eps = 1e-6): Float64Array[] {
  return arrays.map((a) => {
    const g = new Float64Array(a.length);
    for (let j = 0; j < a.length; j++) {
      const v = a[j];
      a[j] = v + eps;
      const up = f();
      a[j] = v - eps;
      const down = f();
      a[j] = v;
      g[j] = (up - down) / (2 * eps);
    }
    return g;
  });
}
