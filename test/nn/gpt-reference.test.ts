// The engine GPT against an independent f64 reference (gpt-reference.ts, plain
// loops, no engine code): forward logits, gradients by finite differences of
// the reference, and a one-head ablation at hook_z.
import test from 'node:test';
import assert from 'node:assert/strict';
import { GPT, type GPTConfig } from '../../src/nn/gpt.js';
import { Hooks } from '../../src/nn/hooks.js';
import { Tensor, noGrad } from '../../src/engine/tensor.js';
import { refForward, refLoss, refParams, erf, type RefConfig, type RefOptions } from './gpt-reference.js';

const B = 2;
const T = 6;

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A GPT whose every parameter is redrawn at a scale where each part matters:
 * LN gains 1 ± 0.3, non-zero biases everywhere, weights large enough that the
 * attention patterns are far from uniform and GELU is used on both sides.
 */
function model(over: Partial<GPTConfig> = {}): { m: GPT; c: RefConfig } {
  const m = new GPT({ vocabSize: 13, contextLength: 8, nLayers: 2, nHeads: 2, dModel: 16, dMlp: 24, seed: 1, ...over });
  const r = rng(7);
  const normal = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  for (const [name, p] of m.namedParameters()) {
    const isGain = /ln\w*\.w$/.test(name);
    const std = isGain ? 0.3 : /\.b|b_/.test(name) ? 0.2 : 0.35;
    for (let i = 0; i < p.data.length; i++) p.data[i] = (isGain ? 1 : 0) + std * normal();
  }
  const k = m.config;
  return { m, c: { vocabSize: k.vocabSize, contextLength: k.contextLength, nLayers: k.nLayers, nHeads: k.nHeads, dModel: k.dModel, dMlp: k.dMlp, tieWeights: k.tieWeights, lnEps: k.lnEps } };
}

const tokens = Int32Array.from({ length: B * T }, (_, i) => (i * 7 + 3) % 13);
const targets = Int32Array.from({ length: B * T }, (_, i) => (i * 5 + 1) % 13);

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** f32 arithmetic on logits of order 1-5 after 2 layers: measured 2.4e-6 from the f64 reference; 2e-5 is ~40 f32 ulps of a logit of 4, far below any real bug. */
const LOGIT_TOL = 2e-5;

test('erf in the reference is the real erf (so GELU = x Φ(x) exactly, not a tanh approximation)', () => {
  // Values from the definition to 12+ digits (A&S table 7.1).
  for (const [z, v] of [[0.5, 0.520499877813], [1, 0.842700792950], [2, 0.995322265019], [-1.5, -0.966105146475], [3.5, 0.999999256901]] as const) {
    assert.ok(Math.abs(erf(z) - v) < 1e-11, `erf(${z}) = ${erf(z)}`);
  }
});

test('forward: engine logits equal the f64 reference (plain and tied weights); the comparison detects a wrong scale or head order', () => {
  for (const tie of [false, true]) {
    const { m, c } = model({ tieWeights: tie });
    const P = refParams(m);
    const ref = refForward(P, c, tokens, B, T);
    const got = noGrad(() => m.forward(tokens, B, T)).data;
    const diff = maxAbsDiff(got, ref.logits);
    assert.ok(diff < LOGIT_TOL, `tie=${tie}: max |engine - reference| = ${diff}`);
    console.log(`# tie=${tie}: max |engine - reference| = ${diff.toExponential(2)} on logits up to ${maxAbs(ref.logits).toFixed(1)}`);
    assert.ok(maxAbs(ref.logits) > 1, 'logits of a size where errors would show');
    // The same check catches the bugs it is meant to: each mutant of the reference misses by far more than the tolerance.
    const mutants: Array<[string, RefOptions]> = [['scale 1/d_head', { attnScale: 1 / (c.dModel / c.nHeads) }], ['heads concatenated in reverse', { reverseHeads: true }], ['scale 1', { attnScale: 1 }]];
    for (const [what, o] of mutants) {
      const d = maxAbsDiff(got, refForward(P, c, tokens, B, T, o).logits);
      assert.ok(d > 100 * LOGIT_TOL, `mutant "${what}" would pass: ${d}`);
    }
  }
});

test("gradients: the engine's backward equals finite differences of the f64 reference, for entries of every parameter", () => {
  const { m, c } = model();
  const P = refParams(m);
  const loss = m.loss(tokens, targets, B, T);
  assert.ok(Math.abs(loss.item() - refLoss(P, c, tokens, targets, B, T)) < 1e-5, 'the same loss');
  loss.backward();
  const r = rng(11);
  const h = 1e-5;
  let checked = 0;
  let worst = 0;
  for (const [name, p] of m.namedParameters()) {
    const ref = P.get(name)!;
    const g = p.grad!;
    assert.ok(g, `${name} has a gradient`);
    const scale = maxAbs(g);
    // Four entries per parameter: its largest-gradient entry and three at random.
    let top = 0;
    for (let i = 1; i < g.length; i++) if (Math.abs(g[i]) > Math.abs(g[top])) top = i;
    const picks = [top, ...[0, 1, 2].map(() => Math.floor(r() * g.length))];
    for (const i of picks) {
      const v = ref[i];
      ref[i] = v + h;
      const up = refLoss(P, c, tokens, targets, B, T);
      ref[i] = v - h;
      const down = refLoss(P, c, tokens, targets, B, T);
      ref[i] = v;
      const fd = (up - down) / (2 * h);
      const tol = 1e-6 + 2e-4 * Math.max(Math.abs(fd), 0.1 * scale); // f32 backward vs an f64 central difference (error ~h² = 1e-10)
      assert.ok(Math.abs(g[i] - fd) < tol, `${name}[${i}]: engine ${g[i]}, finite difference ${fd}`);
      worst = Math.max(worst, Math.abs(g[i] - fd) / tol);
      checked++;
    }
    // b_K shifts every score of a query by the same q·b_K, which softmax ignores: its gradient is 0 up to rounding.
    if (/attn\.b_K$/.test(name)) assert.ok(scale < 1e-6, `${name}: ${scale}`);
    else assert.ok(scale > 1e-4, `${name}: gradient of a testable size (${scale})`);
  }
  assert.ok(checked >= 4 * 20, `${checked} entries checked`);
  console.log(`# ${checked} gradient entries; worst |engine - finite difference| is ${(worst * 100).toFixed(1)}% of its tolerance`);
});

test('ablating one head at one position through hook_z changes only what that head feeds, as the f64 reference says', () => {
  const { m, c } = model();
  const layer = 0;
  const head = 1;
  const t0 = 2;
  const { nHeads: H, dModel: d, vocabSize: V } = m.config;
  const dh = d / H;
  const names = ['blocks.0.hook_attn_out', 'blocks.0.attn.hook_z', 'blocks.1.hook_resid_pre', 'blocks.1.attn.hook_z', 'blocks.1.hook_attn_out'];
  const plain = noGrad(() => m.runWithCache(tokens, B, T, names));
  const hooks = new Hooks({
    cache: names,
    replace: {
      [`blocks.${layer}.attn.hook_z`]: (z) => {
        assert.deepEqual(z.shape, [B, T, H, dh]);
        const data = z.data.slice();
        for (let b = 0; b < B; b++) data.fill(0, ((b * T + t0) * H + head) * dh, ((b * T + t0) * H + head + 1) * dh);
        return new Tensor(data, z.shape);
      },
    },
  });
  const logits = noGrad(() => m.forward(tokens, B, T, { hooks })).data;
  const abl = hooks.cache;

  /** Whether row (b, t) of a [B, T, ...] array is bitwise the same in both. */
  const sameRow = (x: Float32Array, y: Float32Array, b: number, t: number): boolean => {
    const w = x.length / (B * T);
    for (let j = 0; j < w; j++) if (!Object.is(x[(b * T + t) * w + j], y[(b * T + t) * w + j])) return false;
    return true;
  };
  const rows = (name: string, pred: (t: number) => boolean, want: boolean) => {
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) if (pred(t)) assert.equal(sameRow(plain.cache.get(name)!.data, abl.get(name)!.data, b, t), want, `${name} at (${b}, ${t}) ${want ? 'unchanged' : 'changed'}`);
  };
  // Layer 0's attention output changes at t0 only: the other positions' z were not touched and W_O acts row by row.
  rows('blocks.0.hook_attn_out', (t) => t !== t0, true);
  rows('blocks.0.hook_attn_out', (t) => t === t0, false);
  // So does the residual stream entering layer 1 (the MLP acts row by row).
  rows('blocks.1.hook_resid_pre', (t) => t !== t0, true);
  rows('blocks.1.hook_resid_pre', (t) => t === t0, false);
  // In layer 1, attention carries the change forward: positions before t0 are untouched (causal), later ones move.
  rows('blocks.1.attn.hook_z', (t) => t < t0, true);
  rows('blocks.1.attn.hook_z', (t) => t >= t0, false);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) assert.equal(sameRow(plain.logits.data, logits, b, t), t < t0, `logits at (${b}, ${t})`);
  // The other head of the ablated layer keeps its z exactly; the ablated slice is zero.
  const z0 = abl.get('blocks.0.attn.hook_z')!.data, zp = plain.cache.get('blocks.0.attn.hook_z')!.data;
  for (let i = 0; i < z0.length; i++) {
    const hh = Math.floor(i / dh) % H;
    const t = Math.floor(i / (dh * H)) % T;
    if (hh === head && t === t0) assert.equal(z0[i], 0);
    else assert.ok(Object.is(z0[i], zp[i]));
  }
  // The reference, ablated the same way, agrees on the result and on the effect.
  const P = refParams(m);
  const ref = refForward(P, c, tokens, B, T, { ablate: { layer, head, positions: [t0] } });
  const refPlain = refForward(P, c, tokens, B, T);
  assert.ok(maxAbsDiff(logits, ref.logits) < LOGIT_TOL, `ablated logits vs reference: ${maxAbsDiff(logits, ref.logits)}`);
  const effect = Float64Array.from(logits, (v, i) => v - plain.logits.data[i]);
  const refEffect = ref.logits.map((v, i) => v - refPlain.logits[i]);
  assert.ok(maxAbs(refEffect) > 0.05, `the ablation matters (${maxAbs(refEffect)})`);
  assert.ok(maxAbsDiff(effect, refEffect) < 2 * LOGIT_TOL, 'the same effect');
  assert.ok(maxAbsDiff(abl.get('blocks.1.hook_attn_out')!.data, ref.attnOut[1]) < LOGIT_TOL, "layer 1's attention output");
  // Ablating the other head instead gives a different answer, so the check pins which head's slice was zeroed.
  const wrong = refForward(P, c, tokens, B, T, { ablate: { layer, head: 1 - head, positions: [t0] } });
  assert.ok(maxAbsDiff(logits, wrong.logits) > 100 * LOGIT_TOL, 'the other head');
  assert.equal(logits.length, B * T * V);
});
