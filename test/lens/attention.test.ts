import test from 'node:test';
import assert from 'node:assert/strict';
import { GPT } from '../../src/nn/gpt.js';
import { Crate } from '../../src/nn/crate.js';
import { ViT } from '../../src/nn/vit.js';
import { noGrad, Tensor } from '../../src/engine/tensor.js';
import { attentionLens, checkSeries, detectSnap, patternStats, seriesCurves, SNAP_DEFAULTS, patternHookNames } from '../../src/lens/attention/index.js';

const gcfg = { vocabSize: 14, contextLength: 8, nLayers: 2, nHeads: 2, dModel: 16, seed: 3 };

test('on the GPT: causal rows, query 0 has entropy 0 and top-1 mass 1; the last query has positive entropy ≤ ln T', () => {
  const m = new GPT(gcfg);
  const B = 2;
  const T = 6;
  const tokens = Int32Array.from({ length: B * T }, (_, i) => (i * 5) % 14);
  const groups = [{ name: 'even', has: (_b: number, k: number) => k % 2 === 0 }, { name: 'odd', has: (_b: number, k: number) => k % 2 === 1 }];
  const stats = noGrad(() => attentionLens(m, (hooks) => m.forward(tokens, B, T, { hooks }), { k: 2, groups }));
  assert.equal(stats.length, 2);
  for (const s of stats) {
    assert.equal(s.heads, 2);
    assert.equal(s.queries, T);
    for (let h = 0; h < 2; h++) {
      assert.ok(Math.abs(s.entropy[h][0]) < 1e-12);
      assert.ok(Math.abs(s.topkMass[h][0] - 1) < 1e-6);
      assert.ok(s.entropy[h][T - 1] > 0.1 && s.entropy[h][T - 1] <= Math.log(T) + 1e-6);
      for (let q = 0; q < T; q++) assert.ok(Math.abs(s.groupMass.even[h][q] + s.groupMass.odd[h][q] - 1) < 1e-5, 'groups partition the keys');
      assert.ok(s.groupMass.odd[h][0] === 0, 'query 0 sees only key 0');
    }
  }
});

test('on CRATE and the ViT through the same hooks; a uniform pattern has entropy ln S', () => {
  const img = { channels: 1, height: 8, width: 8, patch: 4, classes: 3, dModel: 8, nHeads: 2, nLayers: 2, seed: 5 };
  const px = Float32Array.from({ length: 2 * 64 }, (_, i) => ((i * 37) % 17) / 17 - 0.5);
  for (const m of [new Crate(img), new ViT(img)]) {
    const stats = noGrad(() => attentionLens(m, (hooks) => m.forward(px, 2, { hooks })));
    assert.equal(stats.length, 2);
    assert.equal(stats[0].keys, 5);
    for (const s of stats) for (const e of s.headEntropy) assert.ok(e > 0 && e <= Math.log(5) + 1e-6, `entropy ${e}`);
  }
  const u = new Tensor(new Float32Array(1 * 1 * 2 * 4).fill(0.25), [1, 1, 2, 4]);
  assert.ok(Math.abs(patternStats(u, 0).headEntropy[0] - Math.log(4)) < 1e-6);
});

test('a model without hook_pattern is a clear error', () => {
  assert.throws(() => patternHookNames({ hookNames: () => ['hook_embed', 'blocks.0.hook_resid_post'] }), /no blocks\.\{i\}\.attn\.hook_pattern hook point \(its hooks: hook_embed, blocks\.0\.hook_resid_post\)/);
});

test('checkpoint series: gaps, uneven spacing, disorder and mixed configs are errors; an early last checkpoint is fine', () => {
  const cfg = { lr: 1 };
  assert.deepEqual(checkSeries([0, 10, 20, 25].map((step) => ({ step, config: cfg }))), { every: 10 });
  assert.throws(() => checkSeries([0, 10, 30, 40].map((step) => ({ step, config: cfg }))), /has a gap: steps 10 → 30, but checkpoints are every 10 steps/);
  assert.throws(() => checkSeries([0, 10, 15, 25].map((step) => ({ step, config: cfg }))), /unevenly spaced/);
  assert.throws(() => checkSeries([0, 10, 10].map((step) => ({ step, config: cfg }))), /must increase/);
  assert.throws(() => checkSeries([{ step: 0, config: { a: 1, b: 2 } }, { step: 5, config: { b: 2, a: 1 } }, { step: 10, config: { a: 1, b: 3 } }]), /step 10 was trained under a different config/);
  assert.throws(() => checkSeries([{ step: 0, config: cfg }]), /at least 2/);
});

// Synthetic curves for the snap rule.
const steps = Array.from({ length: 101 }, (_, i) => i);
const sigmoidDrop = (center: number, width: number, from: number, to: number) => steps.map((s) => to + (from - to) / (1 + Math.exp((s - center) / width)));
function noise(seed: number, amp: number): number[] {
  let x = seed;
  return steps.map(() => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return (x / 2147483648 - 0.5) * 2 * amp;
  });
}

test(`snap rule (τ = ${SNAP_DEFAULTS.threshold}): a sigmoid drop snaps a few widths after its centre, in order of centre`, () => {
  const a = detectSnap(steps, sigmoidDrop(20, 3, 2.3, 1.5));
  const b = detectSnap(steps, sigmoidDrop(50, 3, 2.3, 1.5));
  assert.ok(a.step !== null && a.step > 23 && a.step < 42, `snap ${a.step}`);
  assert.ok(b.step !== null && b.step > 53 && b.step < 72, `snap ${b.step}`);
  assert.equal(b.step! - a.step!, 30, 'a shifted curve snaps the same delay later');
  // A sharper drop snaps sooner after its centre.
  const sharp = detectSnap(steps, sigmoidDrop(20, 1, 2.3, 1.5));
  assert.ok(sharp.step! < a.step!);
  // Scaling the drop does not move the snap (the rate is relative to the fall).
  assert.equal(detectSnap(steps, sigmoidDrop(20, 3, 2.3, 2.0)).step, a.step);
});

test('snap rule: a drop then a noisy plateau still snaps near the end of the drop', () => {
  const e = sigmoidDrop(30, 3, 2.3, 1.6).map((v, i) => v + noise(7, 0.01)[i]);
  const r = detectSnap(steps, e);
  assert.ok(r.step !== null && r.step > 33 && r.step < 55, `snap ${r.step}`);
});

test('snap rule: no snap for a flat noisy curve, nor for a curve still falling at the end', () => {
  const flat = steps.map((_, i) => 2.3 + noise(3, 0.01)[i]);
  assert.deepEqual([detectSnap(steps, flat).step, detectSnap(steps, flat).reason], [null, 'no-drop']);
  const linear = steps.map((s) => 2.3 - 0.008 * s);
  assert.deepEqual([detectSnap(steps, linear).step, detectSnap(steps, linear).reason], [null, 'never-settles']);
  const late = sigmoidDrop(97, 2, 2.3, 1.5);
  assert.equal(detectSnap(steps, late).step, null);
  // Settling only on the last two points is not a snap.
  const tail = steps.map((s) => (s < 99 ? 2.3 - 0.01 * s : 2.3 - 0.98));
  assert.equal(detectSnap(steps, tail, { halfWindow: 1 }).reason, 'never-settles');
});

test('seriesCurves checks the series and gives one curve per head with its snap', () => {
  const pts = steps.map((step) => ({ step, config: 'x' }));
  const curve = sigmoidDrop(20, 3, 2.3, 1.5);
  const r = seriesCurves(pts, (i) => [{ layer: 0, heads: 2, queries: 1, keys: 1, entropy: [], topkMass: [], groupMass: {}, headEntropy: [curve[i], 1] }]);
  assert.equal(r.heads.length, 2);
  assert.equal(r.heads[0].snap.step, detectSnap(steps, curve).step);
  assert.equal(r.heads[1].snap.step, null);
  assert.throws(() => seriesCurves([{ step: 0, config: 1 }, { step: 1, config: 2 }], () => []), /different config/);
});
