import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Crate, CrateBlock, resolveCrateConfig } from '../../src/nn/crate.js';
import { ViT } from '../../src/nn/vit.js';
import { patchify, unpatchify } from '../../src/nn/patches.js';
import { Hooks } from '../../src/nn/hooks.js';
import { Tensor, noGrad } from '../../src/engine/tensor.js';
import { TestRng } from '../engine/gradcheck.js';
import { skipOptional } from '../skip.js';

const img = { channels: 1, height: 8, width: 8, patch: 4 };
const small = { ...img, classes: 3, dModel: 8, nHeads: 2, nLayers: 2, seed: 5 };

function pixels(B: number, seed = 1): Float32Array {
  const r = new TestRng(seed);
  return Float32Array.from({ length: B * 64 }, () => r.uniform(-1, 1));
}

test('CRATE has one U per head, an output map and a square dictionary per layer; parameter count matches the formula', () => {
  const m = new Crate(small);
  const sd = m.stateDict();
  assert.deepEqual(sd.get('blocks.0.attn.U')!.shape, [2, 8, 4]);
  assert.deepEqual(sd.get('blocks.1.ista.D')!.shape, [8, 8]);
  assert.ok(![...sd.keys()].some((k) => /W_Q|W_K|W_V/.test(k)), 'no separate query/key/value maps');
  const d = 8, pd = 16, T = 5;
  const embed = 2 * pd + pd * d + d + 2 * d;
  const perLayer = 2 * d + d * d + (d * d + d) + 2 * d + d * d;
  assert.equal(m.paramCount(), embed + d + T * d + 2 * perLayer + 2 * d + d * 3 + 3);
  // The reference sizes (crate-fashion's reference preset): width 96, 4 heads, 4 layers, patch 7 → CRATE ~120k, ViT ~455k.
  const ref = { channels: 1, height: 28, width: 28, patch: 7, classes: 10, dModel: 96, nHeads: 4, nLayers: 4, seed: 1 };
  assert.ok(Math.abs(new Crate(ref).paramCount() - 120e3) < 1500, `CRATE ${new Crate(ref).paramCount()}`);
  assert.ok(Math.abs(new ViT(ref).paramCount() - 455e3) < 3000, `ViT ${new ViT(ref).paramCount()}`);
});

test('hooks: TransformerLens-style names and shapes for every layer; an unknown hook is a clear error', () => {
  const m = new Crate(small);
  const B = 3;
  const x = pixels(B);
  const plain = noGrad(() => m.forward(x, B));
  const { logits, cache } = noGrad(() => m.runWithCache(x, B, 'all'));
  assert.deepEqual(logits.data, plain.data);
  assert.deepEqual([...cache.keys()].sort(), m.hookNames().slice().sort());
  assert.deepEqual(cache.get('blocks.1.hook_resid_pre')!.shape, [B, 5, 8]);
  assert.deepEqual(cache.get('blocks.0.attn.hook_w')!.shape, [B, 5, 2, 4]);
  assert.deepEqual(cache.get('blocks.0.attn.hook_pattern')!.shape, [B, 2, 5, 5]);
  assert.deepEqual(cache.get('blocks.1.hook_attn_out')!.shape, [B, 5, 8]);
  assert.deepEqual(cache.get('blocks.1.ista.hook_post')!.shape, [B, 5, 8]);
  // ISTA outputs are ReLU outputs: non-negative with exact zeros.
  const post = cache.get('blocks.0.ista.hook_post')!.data;
  assert.ok(post.every((v) => v >= 0) && post.some((v) => v === 0));
  // Patterns are full (not causal) and rows sum to one.
  const p = cache.get('blocks.0.attn.hook_pattern')!.data;
  assert.ok(p[4] > 0, 'the class token attends to the last patch');
  for (let r = 0; r < B * 2 * 5; r++) assert.ok(Math.abs(p.subarray(r * 5, r * 5 + 5).reduce((a, b) => a + b, 0) - 1) < 1e-5);
  // Replacing a hook changes the output; an unknown name throws naming it.
  const zeroed = noGrad(() => m.forward(x, B, { hooks: new Hooks({ replace: { 'blocks.1.ista.hook_post': (v) => new Tensor(new Float32Array(v.size), v.shape) } }) }));
  assert.notDeepEqual(zeroed.data, plain.data);
  assert.throws(() => m.forward(x, B, { hooks: new Hooks({ cache: ['blocks.0.mlp.hook_post'] }) }), /unknown hook point blocks\.0\.mlp\.hook_post/);
});

test('a patch size that does not divide the image is a clear error', () => {
  assert.throws(() => new Crate({ ...small, patch: 3 }), /image size 8×8 is not divisible by the patch size 3/);
  assert.throws(() => new ViT({ ...small, patch: 5 }), /not divisible by the patch size 5/);
  assert.throws(() => resolveCrateConfig({ ...small, nHeads: 3 }), /dModel 8 is not divisible by nHeads 3/);
});

test('patchify and unpatchify are inverse; patches are raster-ordered p×p blocks', () => {
  const s = { channels: 2, height: 4, width: 6, patch: 2 };
  const px = Float32Array.from({ length: 2 * 2 * 4 * 6 }, (_, i) => i);
  const p = patchify(px, 2, s);
  assert.deepEqual(p.shape, [2, 6, 8]);
  // image 0, patch 1 (row 0, col 1), element (r=1, q=0, c=1): pixel (c=1, y=1, x=2)
  assert.equal(p.data[1 * 8 + (1 * 2 + 0) * 2 + 1], 1 * 24 + 1 * 6 + 2);
  assert.deepEqual(unpatchify(p.data, 2, s), px);
});

// ------------------------------------------------------------ an independent f64 reference of one layer

interface LayerWeights {
  B: number; T: number; d: number; H: number; eta: number; lambda: number;
  x: number[]; ln1_w: number[]; ln1_b: number[]; U: number[]; W_O: number[]; b_O: number[]; ln2_w: number[]; ln2_b: number[]; D: number[];
}

/** Z_half = Z + MSSA(LN(Z)); ISTA(LN(Z_half)) in f64 loops, tokens as column vectors (D acts as D·x). */
function referenceLayer(a: LayerWeights): { half: number[]; out: number[] } {
  const { B, T, d, H } = a;
  const dh = d / H;
  const ln = (z: number[], w: number[], b: number[]) => {
    const out = new Array<number>(z.length);
    for (let t = 0; t < z.length / d; t++) {
      let mu = 0;
      for (let j = 0; j < d; j++) mu += z[t * d + j] / d;
      let v = 0;
      for (let j = 0; j < d; j++) v += (z[t * d + j] - mu) ** 2 / d;
      for (let j = 0; j < d; j++) out[t * d + j] = ((z[t * d + j] - mu) / Math.sqrt(v + 1e-5)) * w[j] + b[j];
    }
    return out;
  };
  const y = ln(a.x, a.ln1_w, a.ln1_b);
  const half = a.x.slice();
  for (let b = 0; b < B; b++) {
    const concat = Array.from({ length: T }, () => new Array<number>(d).fill(0));
    for (let k = 0; k < H; k++) {
      // w_t = U_kᵀ y_t
      const w = Array.from({ length: T }, (_, t) => Array.from({ length: dh }, (_, c) => {
        let s = 0;
        for (let j = 0; j < d; j++) s += a.U[(k * d + j) * dh + c] * y[(b * T + t) * d + j];
        return s;
      }));
      for (let q = 0; q < T; q++) {
        const sc = w.map((wk) => wk.reduce((s, v, c) => s + v * w[q][c], 0) / Math.sqrt(dh));
        const mx = Math.max(...sc);
        const e = sc.map((v) => Math.exp(v - mx));
        const z = e.reduce((s, v) => s + v, 0);
        for (let c = 0; c < dh; c++) concat[q][k * dh + c] = e.reduce((s, v, t) => s + (v / z) * w[t][c], 0);
      }
    }
    for (let q = 0; q < T; q++) for (let j = 0; j < d; j++) {
      let s = a.b_O[j];
      for (let i = 0; i < d; i++) s += concat[q][i] * a.W_O[i * d + j];
      half[(b * T + q) * d + j] += s;
    }
  }
  const v = ln(half, a.ln2_w, a.ln2_b);
  const out = new Array<number>(v.length);
  const Dm = (i: number, j: number) => a.D[i * d + j];
  for (let t = 0; t < B * T; t++) {
    const x = v.slice(t * d, (t + 1) * d);
    const Dx = Array.from({ length: d }, (_, i) => x.reduce((s, xj, j) => s + Dm(i, j) * xj, 0));
    for (let i = 0; i < d; i++) {
      let dtx = 0;
      let dtdx = 0;
      for (let j = 0; j < d; j++) {
        dtx += Dm(j, i) * x[j];
        dtdx += Dm(j, i) * Dx[j];
      }
      out[t * d + i] = Math.max(0, x[i] + a.eta * (dtx - dtdx) - a.eta * a.lambda);
    }
  }
  return { half, out };
}

function layerCase(seed: number, B = 2, T = 5, d = 8, H = 2): { block: CrateBlock; weights: LayerWeights; x: Tensor } {
  const cfg = resolveCrateConfig({ ...img, classes: 3, dModel: d, nHeads: H, nLayers: 1, seed });
  // The first block of a one-layer model: its hook names and init keys are those of blocks.0.
  const block = new Crate(cfg).blocks[0];
  const r = new TestRng(seed);
  // Non-default LN affine and output bias, so every parameter matters; U larger than init so attention is not uniform.
  for (const [, t] of block.namedParameters()) if (t.shape.length === 1) t.data.set(r.array(t.size, -0.5, 1.5));
  block.attn.U.data.set(r.array(block.attn.U.size, -0.6, 0.6));
  const x = new Tensor(Float32Array.from(r.array(B * T * d, -2, 2)), [B, T, d]);
  const sd = block.stateDict();
  const arr = (k: string) => Array.from(sd.get(k)!.data);
  const weights: LayerWeights = {
    B, T, d, H, eta: cfg.eta, lambda: cfg.lambda, x: Array.from(x.data),
    ln1_w: arr('ln1.w'), ln1_b: arr('ln1.b'), U: arr('attn.U'), W_O: arr('attn.W_O'), b_O: arr('attn.b_O'), ln2_w: arr('ln2.w'), ln2_b: arr('ln2.b'), D: arr('ista.D'),
  };
  return { block, weights, x };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test('a CRATE layer matches an independent f64 reference within 1e-5 (both residual halves)', () => {
  for (const seed of [1, 2, 3]) {
    const { block, weights, x } = layerCase(seed);
    const hooks = new Hooks({ cache: ['blocks.0.hook_resid_mid'] });
    const out = noGrad(() => block.forward(x, hooks));
    const ref = referenceLayer(weights);
    assert.ok(maxAbsDiff(hooks.cache.get('blocks.0.hook_resid_mid')!.data, ref.half) < 1e-5, `Z_half, seed ${seed}`);
    const err = maxAbsDiff(out.data, ref.out);
    assert.ok(err < 1e-5, `Z_next error ${err}, seed ${seed}`);
    const zeros = ref.out.filter((v) => v === 0).length;
    assert.ok(zeros > 0 && zeros < ref.out.length, 'the case exercises both sides of the ReLU');
  }
});

test('CRATE layer gradients (input, U, W_O, D, LN) agree with central differences of the f64 reference', () => {
  const { block, weights, x } = layerCase(7, 1, 4, 8, 2);
  x.requiresGrad = true;
  const r = new TestRng(99);
  const wOut = Float32Array.from(r.array(x.size));
  const out = block.forward(x, new Hooks());
  out.backward(wOut);
  const L = (w: LayerWeights) => referenceLayer(w).out.reduce((s, v, i) => s + v * wOut[i], 0);
  const checks: Array<[keyof LayerWeights, Float32Array]> = [
    ['x', x.grad!], ['U', block.attn.U.grad!], ['W_O', block.attn.W_O.grad!], ['D', block.ista.D.grad!], ['ln1_w', block.ln1.w.grad!], ['ln2_b', block.ln2.b.grad!], ['b_O', block.attn.b_O.grad!],
  ];
  const h = 1e-6;
  for (const [key, analytic] of checks) {
    const base = weights[key] as number[];
    let worst = 0;
    let scale = 0;
    for (let i = 0; i < base.length; i++) {
      const plus = { ...weights, [key]: base.map((v, j) => (j === i ? v + h : v)) };
      const minus = { ...weights, [key]: base.map((v, j) => (j === i ? v - h : v)) };
      const fd = (L(plus) - L(minus)) / (2 * h);
      worst = Math.max(worst, Math.abs(fd - analytic[i]));
      scale = Math.max(scale, Math.abs(fd));
    }
    assert.ok(scale > 1e-3, `${key}: the gradient is not trivially zero`);
    assert.ok(worst <= 1e-4 * (1 + scale), `${key}: max |analytic - fd| = ${worst} (scale ${scale})`);
  }
});

function findTorch(): string | null {
  const candidates = [process.env.GLASSBOX_PYTHON, '/usr/bin/python3'].filter((p): p is string => !!p);
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8', env: torchEnv() });
    if (r.status === 0) return py;
  }
  return null;
}

function torchEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}

test('a CRATE layer matches PyTorch written from the CRATE paper within 1e-5', (t) => {
  const py = findTorch();
  if (!py) {
    skipOptional(t, 'no Python with torch (tried $GLASSBOX_PYTHON and /usr/bin/python3); the f64 TypeScript reference above still checks the layer');
    return;
  }
  const cases = [11, 12].map((seed) => layerCase(seed, 3, 6, 12, 3));
  // One Python process for all cases: importing torch dominates the time.
  const r = spawnSync(py, ['scripts/crate_layer_torch.py'], { input: JSON.stringify(cases.map((c) => c.weights)), encoding: 'utf8', env: torchEnv(), maxBuffer: 1 << 24 });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as Array<{ half: number[]; out: number[] }>;
  cases.forEach(({ block, weights, x }, i) => {
    const out = noGrad(() => block.forward(x, new Hooks()));
    const err = maxAbsDiff(out.data, got[i].out);
    assert.ok(err < 1e-5, `PyTorch vs glassbox: ${err}`);
    // And the f64 TypeScript reference agrees with PyTorch to f64 rounding.
    assert.ok(maxAbsDiff(referenceLayer(weights).out, got[i].out) < 1e-10);
  });
});

test('CRATE and ViT train: a few steps on a separable toy problem lower the loss', async () => {
  const { AdamW } = await import('../../src/engine/optim.js');
  for (const make of [() => new Crate(small), () => new ViT(small)]) {
    const m = make();
    const opt = new AdamW(m.parameters(), { lr: 1e-2, weightDecay: 0 });
    const B = 12;
    const x = new Float32Array(B * 64);
    const y = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      y[b] = b % 3;
      for (let p = 0; p < 64; p++) x[b * 64 + p] = (Math.floor(p / 8) % 3 === y[b] ? 1 : -0.5) + 0.1 * ((b * 7 + p) % 5);
    }
    const first = m.loss(x, y, B);
    const l0 = first.item();
    first.backward();
    opt.step();
    opt.zeroGrad();
    let last = l0;
    for (let s = 0; s < 30; s++) {
      const l: Tensor = m.loss(x, y, B);
      last = l.item();
      l.backward();
      opt.step();
      opt.zeroGrad();
    }
    assert.ok(last < l0 * 0.5, `${m.constructor.name}: loss ${l0} → ${last}`);
  }
});
