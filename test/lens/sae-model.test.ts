// SAE forward, losses and gradients against the independent f64 reference,
// the decoder constraint, the geometric median, and the PyTorch cross-check.

import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Tensor } from '../../src/engine/tensor.js';
import { add } from '../../src/engine/ops-elementwise.js';
import { Sae } from '../../src/lens/sae/model.js';
import { auxKLoss, removeParallelGrad, normalizeDecoderRows, foldInputScale } from '../../src/lens/sae/train.js';
import { geometricMedian, sumOfDistances } from '../../src/lens/sae/geomedian.js';
import type { SaeArch } from '../../src/lens/sae/config.js';
import { TestRng } from '../engine/gradcheck.js';
import { skipOptional } from '../skip.js';
import { refCodes, refDecode, refLoss, fdGradients, type RefParams } from './sae-reference.js';

function randomSae(arch: SaeArch, d: number, n: number, k: number, seed: number): { sae: Sae; ref: RefParams } {
  const rng = new TestRng(seed);
  const sae = new Sae({ arch, d, n, k });
  for (const p of sae.params()) for (let i = 0; i < p.size; i++) p.data[i] = rng.uniform(-1, 1);
  const ref: RefParams = { W_enc: Float64Array.from(sae.W_enc.data), b_enc: Float64Array.from(sae.b_enc.data), W_dec: Float64Array.from(sae.W_dec.data), b_dec: Float64Array.from(sae.b_dec.data) };
  return { sae, ref };
}

function randomRows(B: number, d: number, seed: number): Float32Array {
  const rng = new TestRng(seed);
  return Float32Array.from({ length: B * d }, () => rng.uniform(-2, 2));
}

function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 1, err = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  for (let i = 0; i < b.length; i++) err = Math.max(err, Math.abs(a[i] - b[i]));
  return err / scale;
}

const refArrays = (r: RefParams) => [r.W_enc, r.b_enc, r.W_dec, r.b_dec];

for (const arch of ['topk', 'batchtopk', 'relu'] as const) {
  test(`${arch} SAE: forward, loss and every gradient match the f64 reference (finite differences)`, () => {
    const B = 5, d = 6, n = 12, k = 3, l1 = 0.3;
    const { sae, ref } = randomSae(arch, d, n, k, 11);
    const xData = randomRows(B, d, 12);
    const x64 = Float64Array.from(xData);
    const fw = sae.forward(new Tensor(xData, [B, d]), l1);
    const refX = refDecode(ref, refCodes(arch, ref, x64, B, d, n, k), B, d, n);
    assert.ok(maxRelErr(fw.xHat.data, refX) < 1e-5, `x̂ differs from the reference by ${maxRelErr(fw.xHat.data, refX)}`);
    const loss = fw.sparsity ? add(fw.mse, fw.sparsity) : fw.mse;
    const refL = refLoss(arch, ref, x64, B, d, n, k, l1);
    assert.ok(Math.abs(loss.item() - refL) < 1e-5 * (1 + Math.abs(refL)), `loss ${loss.item()} vs reference ${refL}`);
    loss.backward();
    const fd = fdGradients(refArrays(ref), () => refLoss(arch, ref, x64, B, d, n, k, l1));
    sae.params().forEach((p, j) => {
      const err = maxRelErr(p.grad!, fd[j]);
      assert.ok(err < 1e-4, `${arch} d${p.name}: max error ${err} against finite differences`);
    });
  });
}

test('TopK with AuxK: the auxiliary loss and its gradients match the reference', () => {
  const B = 6, d = 5, n = 10, k = 2, kAux = 3, coef = 1 / 32;
  const { sae, ref } = randomSae('topk', d, n, k, 21);
  const xData = randomRows(B, d, 22);
  const x64 = Float64Array.from(xData);
  const dead = Uint8Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 1 : 0));
  const fw = sae.forward(new Tensor(xData, [B, d]));
  const resid = Float32Array.from(xData, (v, i) => v - fw.xHat.data[i]);
  const aux = auxKLoss(sae, fw.xc, fw.sel!.pre, resid, dead, kAux, coef)!;
  const refAux = { dead, residual: Float64Array.from(resid), kAux, coef };
  const total = add(fw.mse, aux);
  const refL = refLoss('topk', ref, x64, B, d, n, k, 0, refAux);
  assert.ok(Math.abs(total.item() - refL) < 1e-5 * (1 + refL), `loss ${total.item()} vs ${refL}`);
  assert.ok(aux.item() > 0);
  total.backward();
  const fd = fdGradients(refArrays(ref), () => refLoss('topk', ref, x64, B, d, n, k, 0, refAux));
  sae.params().forEach((p, j) => assert.ok(maxRelErr(p.grad!, fd[j]) < 1e-4, `d${p.name}: ${maxRelErr(p.grad!, fd[j])}`));
  // With nothing dead there is no auxiliary loss.
  assert.equal(auxKLoss(sae, fw.xc, fw.sel!.pre, resid, new Uint8Array(n), kAux, coef), null);
});

test('decoder constraint: the gradient along each row is removed, then rows return to unit norm', () => {
  const { sae } = randomSae('topk', 7, 9, 2, 31);
  normalizeDecoderRows(sae.W_dec);
  const rng = new TestRng(32);
  sae.W_dec.grad = Float32Array.from({ length: sae.W_dec.size }, () => rng.uniform(-1, 1));
  const before = sae.W_dec.grad.slice();
  removeParallelGrad(sae.W_dec);
  const w = sae.W_dec.data, g = sae.W_dec.grad;
  for (let i = 0; i < 9; i++) {
    let dot = 0, norm = 0, change = 0;
    for (let c = 0; c < 7; c++) {
      dot += w[i * 7 + c] * g[i * 7 + c];
      norm += w[i * 7 + c] * w[i * 7 + c];
      change += (before[i * 7 + c] - g[i * 7 + c]) ** 2;
    }
    assert.ok(Math.abs(dot) < 1e-6, `row ${i}: gradient still has ${dot} along the row`);
    assert.ok(Math.abs(norm - 1) < 1e-6, `row ${i} norm² ${norm}`);
    assert.ok(change > 0, 'something was removed');
  }
  for (let i = 0; i < w.length; i++) w[i] *= 3;
  normalizeDecoderRows(sae.W_dec);
  for (let i = 0; i < 9; i++) {
    let s = 0;
    for (let c = 0; c < 7; c++) s += w[i * 7 + c] ** 2;
    assert.ok(Math.abs(s - 1) < 1e-6);
  }
});

test('folding the input scale: the SAE on s·x, rewritten, gives the same codes on x and x̂/s', () => {
  for (const arch of ['topk', 'relu'] as const) {
    const { sae } = randomSae(arch, 6, 12, 3, 71);
    const s = 0.25;
    const x = randomRows(8, 6, 72);
    const sx = x.map((v) => v * s);
    const z = sae.encode(sx, 8);
    const xh = sae.decode(z, 8);
    foldInputScale(sae, s);
    const z2 = sae.encode(x, 8);
    const xh2 = sae.decode(z2, 8);
    assert.ok(maxRelErr(z2, z) < 1e-5, `${arch} codes differ by ${maxRelErr(z2, z)}`);
    assert.ok(maxRelErr(xh2, Float64Array.from(xh, (v) => v / s)) < 1e-5);
    assert.equal(sae.meta.input_scale, '0.25');
  }
});

test('tied init: W_enc is the transpose of W_dec, rows have the asked norm, b_dec is the centre', () => {
  const sae = new Sae({ arch: 'topk', d: 4, n: 6, k: 2 });
  sae.initTied(3, [1, 2, 3, 4], 1);
  for (let i = 0; i < 6; i++) {
    let s = 0;
    for (let c = 0; c < 4; c++) {
      assert.equal(sae.W_enc.data[c * 6 + i], sae.W_dec.data[i * 4 + c]);
      s += sae.W_dec.data[i * 4 + c] ** 2;
    }
    assert.ok(Math.abs(s - 1) < 1e-6);
  }
  assert.deepEqual(Array.from(sae.b_dec.data), [1, 2, 3, 4]);
});

test('geometric median: the 1-D median on a line, and no nearby point has a smaller sum of distances', () => {
  // Points on a line through (1, 2) along (3, 4)/5 at t = 0, 1, 2, 10, 50: the median is at t = 2.
  const ts = [0, 1, 2, 10, 50];
  const line = new Float32Array(ts.flatMap((t) => [1 + 0.6 * t, 2 + 0.8 * t]));
  const m = geometricMedian(line, ts.length, 2, { iters: 2000 });
  assert.ok(Math.abs(m[0] - 2.2) < 1e-3 && Math.abs(m[1] - 3.6) < 1e-3, `median ${Array.from(m)}`);
  const rows = randomRows(40, 3, 41);
  for (let i = 0; i < 6; i++) rows[i] *= 50; // outliers pull the mean, not the median
  const gm = geometricMedian(rows, 40, 3);
  const best = sumOfDistances(rows, 40, 3, gm);
  const rng = new TestRng(42);
  for (let t = 0; t < 50; t++) {
    const q = Array.from(gm, (v) => v + rng.uniform(-0.05, 0.05));
    assert.ok(sumOfDistances(rows, 40, 3, q) >= best - 1e-9);
  }
  const mean = [0, 1, 2].map((c) => rows.filter((_, i) => i % 3 === c).reduce((a, b) => a + b, 0) / 40);
  assert.ok(sumOfDistances(rows, 40, 3, mean) > best);
});

test('safetensors round trip keeps weights, arch, threshold and metadata', () => {
  const { sae } = randomSae('batchtopk', 4, 8, 2, 51);
  sae.threshold = 0.25;
  sae.meta.hook = 'blocks.0.hook_resid_post';
  const back = Sae.fromSafetensors(sae.toSafetensors());
  assert.equal(back.arch, 'batchtopk');
  assert.equal(back.threshold, 0.25);
  assert.equal(back.meta.hook, 'blocks.0.hook_resid_post');
  assert.deepEqual(Array.from(back.W_dec.data), Array.from(sae.W_dec.data));
  assert.throws(() => Sae.fromSafetensors(new Uint8Array(16), 'x.safetensors'), /x\.safetensors|safetensors/);
});

// ---------------------------------------------------------------- PyTorch

function pyEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: '1' };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}

const TORCH_TOPK = `
import sys, json, torch
a = json.load(sys.stdin)
d, n, k, B = a['d'], a['n'], a['k'], a['B']
t = lambda v, s: torch.tensor(v, dtype=torch.float32).reshape(s)
W_enc, b_enc, W_dec, b_dec, x = t(a['W_enc'], (d, n)), t(a['b_enc'], (n,)), t(a['W_dec'], (n, d)), t(a['b_dec'], (d,)), t(a['x'], (B, d))
pre = (x - b_dec) @ W_enc + b_enc
vals, idx = torch.topk(pre, k, dim=-1)
z = torch.zeros_like(pre).scatter(-1, idx, torch.relu(vals))
xh = z @ W_dec + b_dec
print(json.dumps({'z': z.flatten().tolist(), 'x_hat': xh.flatten().tolist()}))
`;

test('TopK forward matches PyTorch on identical weights within 1e-5', (t) => {
  const B = 16, d = 32, n = 128, k = 8;
  const { sae } = randomSae('topk', d, n, k, 61);
  const x = randomRows(B, d, 62);
  const input = JSON.stringify({ d, n, k, B, W_enc: Array.from(sae.W_enc.data), b_enc: Array.from(sae.b_enc.data), W_dec: Array.from(sae.W_dec.data), b_dec: Array.from(sae.b_dec.data), x: Array.from(x) });
  // One spawn per candidate: a Python without torch fails the import and the next is tried.
  let r: ReturnType<typeof spawnSync> | null = null;
  for (const py of [process.env.GLASSBOX_PYTHON, '/usr/bin/python3'].filter((p): p is string => !!p)) {
    const tried = spawnSync(py, ['-c', TORCH_TOPK], { input, encoding: 'utf8', env: pyEnv(), maxBuffer: 1 << 26 });
    if (tried.status === 0 || !/No module named .?torch|ENOENT/.test(`${tried.stderr}${tried.error?.message ?? ''}`)) {
      r = tried;
      break;
    }
  }
  if (!r) {
    skipOptional(t, 'no python with torch (tried GLASSBOX_PYTHON and /usr/bin/python3; apt-get install python3-torch): PyTorch cross-check skipped');
    return;
  }
  assert.equal(r.status, 0, String(r.stderr));
  const out = JSON.parse(String(r.stdout)) as { z: number[]; x_hat: number[] };
  const z = sae.encode(x, B);
  const xh = sae.decode(z, B);
  const fw = sae.forward(new Tensor(x, [B, d]));
  for (let i = 0; i < z.length; i++) assert.ok(Math.abs(z[i] - out.z[i]) <= 1e-5 * (1 + Math.abs(out.z[i])), `z[${i}] ${z[i]} vs torch ${out.z[i]}`);
  for (let i = 0; i < xh.length; i++) {
    assert.ok(Math.abs(xh[i] - out.x_hat[i]) <= 1e-5 * (1 + Math.abs(out.x_hat[i])), `x̂[${i}] ${xh[i]} vs torch ${out.x_hat[i]}`);
    assert.ok(Math.abs(fw.xHat.data[i] - out.x_hat[i]) <= 1e-5 * (1 + Math.abs(out.x_hat[i])), `training x̂[${i}] vs torch`);
  }
});
