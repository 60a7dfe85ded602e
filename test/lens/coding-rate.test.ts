import test from 'node:test';
import assert from 'node:assert/strict';
import { tokenSetRate, meanCodingRate, meanCompressionRate, sparsity, measureLayers } from '../../src/lens/coding-rate.js';
import { Crate } from '../../src/nn/crate.js';
import { Tensor, noGrad } from '../../src/engine/tensor.js';
import { TestRng } from '../engine/gradcheck.js';

/** ½ log det(I_m + p/(m ε) X Xᵀ) by Gaussian elimination with partial pivoting on the m×m side, tokens normalised first: independent of the lens's Cholesky and its choice of side. */
function referenceRate(tokens: number[][], eps: number): number {
  const m = tokens.length;
  const p = tokens[0].length;
  const X = tokens.map((t) => {
    const n = Math.hypot(...t);
    return t.map((v) => v / n);
  });
  const A = X.map((a, i) => X.map((b, j) => (i === j ? 1 : 0) + (p / (m * eps)) * a.reduce((s, v, k) => s + v * b[k], 0)));
  let logdet = 0;
  for (let c = 0; c < m; c++) {
    let piv = c;
    for (let r = c + 1; r < m; r++) if (Math.abs(A[r][c]) > Math.abs(A[piv][c])) piv = r;
    [A[c], A[piv]] = [A[piv], A[c]];
    logdet += Math.log(Math.abs(A[c][c]));
    for (let r = c + 1; r < m; r++) {
      const f = A[r][c] / A[c][c];
      for (let k = c; k < m; k++) A[r][k] -= f * A[c][k];
    }
  }
  return logdet / 2;
}

function randomTokens(r: TestRng, m: number, p: number): number[][] {
  return Array.from({ length: m }, () => r.array(p, -1, 1));
}

test('tokenSetRate equals an independent log-determinant, for more tokens than dimensions and fewer', () => {
  const r = new TestRng(3);
  for (const [m, p] of [[5, 3], [3, 7], [17, 24], [6, 6]]) {
    for (const eps of [0.01, 0.5]) {
      const toks = randomTokens(r, m, p);
      const got = tokenSetRate(Float64Array.from(toks.flat()), m, p, eps);
      const want = referenceRate(toks, eps);
      assert.ok(Math.abs(got - want) < 1e-9 * (1 + Math.abs(want)), `m=${m} p=${p} eps=${eps}: ${got} vs ${want}`);
    }
  }
});

test('closed forms: orthonormal tokens give m/2·log(1 + p/(mε)); identical tokens give ½·log(1 + p/ε); scale does not matter', () => {
  const p = 6;
  const m = 4;
  const ortho = new Float64Array(m * p);
  for (let i = 0; i < m; i++) ortho[i * p + i] = 3; // orthogonal, normalised by the lens
  assert.ok(Math.abs(tokenSetRate(ortho, m, p, 0.01) - (m / 2) * Math.log(1 + p / (m * 0.01))) < 1e-10);
  const same = Float64Array.from({ length: m * p }, (_, i) => (i % p) + 1);
  assert.ok(Math.abs(tokenSetRate(same, m, p, 0.1) - 0.5 * Math.log(1 + p / 0.1)) < 1e-10);
  assert.throws(() => tokenSetRate(same, m, p, 0), /eps must be > 0/);
});

test('R^c of a [B, T, H, d_h] projection is the per-image sum over heads of per-head rates, averaged over images', () => {
  const r = new TestRng(8);
  const B = 2, T = 5, H = 3, dh = 4;
  const data = Float32Array.from(r.array(B * T * H * dh));
  const w = new Tensor(data, [B, T, H, dh]);
  let want = 0;
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) {
    const toks = Array.from({ length: T }, (_, t) => Array.from(data.subarray(((b * T + t) * H + h) * dh, ((b * T + t) * H + h + 1) * dh)));
    want += referenceRate(toks, 0.01);
  }
  assert.ok(Math.abs(meanCompressionRate(w) - want / B) < 1e-8);
  const z = new Tensor(data, [B, T, H * dh]);
  const wantR = [0, 1].map((b) => referenceRate(Array.from({ length: T }, (_, t) => Array.from(data.subarray((b * T + t) * H * dh, (b * T + t + 1) * H * dh))), 0.01));
  assert.ok(Math.abs(meanCodingRate(z) - (wantR[0] + wantR[1]) / 2) < 1e-8);
});

test('sparsity: fraction of exact zeros and mean ‖z‖₁/‖z‖₂ over non-zero tokens', () => {
  const z = new Tensor(Float32Array.from([3, 0, 4, 0, /**/ 0, 0, 0, 0, /**/ 1, 1, 1, 1]), [3, 4]);
  const s = sparsity(z);
  assert.equal(s.zeroFraction, 6 / 12);
  assert.ok(Math.abs(s.l1OverL2 - (7 / 5 + 2) / 2) < 1e-12);
});

test('measureLayers on a CRATE reads R^c from the hooks and matches R^c computed from the weights directly', () => {
  const cfg = { channels: 1, height: 8, width: 8, patch: 4, classes: 3, dModel: 8, nHeads: 2, nLayers: 2, seed: 4 };
  const m = new Crate(cfg);
  const r = new TestRng(1);
  const B = 3;
  const px = Float32Array.from(r.array(B * 64));
  const layers = measureLayers((names) => noGrad(() => m.runWithCache(px, B, names).cache), 2);
  assert.equal(layers.length, 2);
  // Independent: take each layer's input, layer-norm it in f64, project onto U_k, and sum the per-head rates.
  const { cache } = noGrad(() => m.runWithCache(px, B, ['blocks.0.hook_resid_pre', 'blocks.1.hook_resid_pre', 'blocks.1.ista.hook_post']));
  for (let l = 0; l < 2; l++) {
    const z = cache.get(`blocks.${l}.hook_resid_pre`)!.data;
    const blk = m.blocks[l];
    const U = blk.attn.U.data;
    let rc = 0;
    for (let b = 0; b < B; b++) {
      const normed = Array.from({ length: 5 }, (_, t) => {
        const x = Array.from(z.subarray((b * 5 + t) * 8, (b * 5 + t + 1) * 8));
        const mu = x.reduce((a, v) => a + v, 0) / 8;
        const sd = Math.sqrt(x.reduce((a, v) => a + (v - mu) ** 2, 0) / 8 + 1e-5);
        return x.map((v, j) => ((v - mu) / sd) * blk.ln1.w.data[j] + blk.ln1.b.data[j]);
      });
      for (let k = 0; k < 2; k++) {
        rc += referenceRate(normed.map((x) => [0, 1, 2, 3].map((c) => x.reduce((s, v, j) => s + v * U[(k * 8 + j) * 4 + c], 0))), 0.01);
      }
    }
    assert.ok(Math.abs(layers[l].Rc - rc / B) < 1e-4 * (1 + rc / B), `layer ${l}: ${layers[l].Rc} vs ${rc / B}`);
  }
  const post = sparsity(cache.get('blocks.1.ista.hook_post')!);
  assert.equal(layers[1].zeroFraction, post.zeroFraction);
  assert.ok(layers[1].zeroFraction > 0 && layers[1].zeroFraction < 1);
  // eps is configurable and changes the rates.
  const coarse = measureLayers((names) => noGrad(() => m.runWithCache(px, B, names).cache), 2, { eps: 1 });
  assert.ok(coarse[0].Rc < layers[0].Rc && coarse[0].R < layers[0].R);
});
