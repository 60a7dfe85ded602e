import test from 'node:test';
import assert from 'node:assert/strict';
import { GPT } from '../../src/nn/gpt.js';
import { Hooks } from '../../src/nn/hooks.js';
import { Tensor, noGrad } from '../../src/engine/tensor.js';
import { mulScalar } from '../../src/engine/ops-elementwise.js';

const cfg = { vocabSize: 14, contextLength: 8, nLayers: 2, nHeads: 2, dModel: 16, seed: 3 };
const B = 2;
const T = 5;
const tokens = Int32Array.from({ length: B * T }, (_, i) => (i * 5) % 14);

test('parameter names follow TransformerLens module paths, in data-flow order', () => {
  const m = new GPT(cfg);
  const names = m.namedParameters().map(([n]) => n);
  assert.deepEqual(names.slice(0, 2), ['embed.W_E', 'pos_embed.W_pos']);
  assert.ok(names.includes('blocks.0.attn.W_Q'));
  assert.ok(names.includes('blocks.1.mlp.W_out'));
  assert.deepEqual(names.slice(-3), ['ln_final.b', 'unembed.W_U', 'unembed.b_U']);
  assert.deepEqual(m.stateDict().get('blocks.0.attn.W_Q')!.shape, [2, 16, 8]);
  // d=16, mlp 64: per block 4·16·16 (QKVO) + 4·16 (their biases) + 2·16·64 + 64 + 16 (MLP) + 4·16 (LNs) = 3280
  const expected = 14 * 16 + 8 * 16 + 2 * 3280 + 2 * 16 + 16 * 14 + 14;
  assert.equal(m.paramCount(), expected);
});

test('same seed gives the same weights; a different seed does not', () => {
  const a = new GPT(cfg).stateDict().get('blocks.1.attn.W_K')!.data;
  const b = new GPT(cfg).stateDict().get('blocks.1.attn.W_K')!.data;
  const c = new GPT({ ...cfg, seed: 4 }).stateDict().get('blocks.1.attn.W_K')!.data;
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

test('runWithCache returns TransformerLens-shaped activations and the same logits', () => {
  const m = new GPT(cfg);
  const plain = noGrad(() => m.forward(tokens, B, T));
  const { logits, cache } = noGrad(() => m.runWithCache(tokens, B, T, 'all'));
  assert.deepEqual(logits.data, plain.data);
  assert.deepEqual(cache.get('blocks.0.hook_resid_pre')!.shape, [B, T, 16]);
  assert.deepEqual(cache.get('blocks.0.attn.hook_q')!.shape, [B, T, 2, 8]);
  assert.deepEqual(cache.get('blocks.1.attn.hook_pattern')!.shape, [B, 2, T, T]);
  assert.deepEqual(cache.get('blocks.1.attn.hook_z')!.shape, [B, T, 2, 8]);
  assert.deepEqual(cache.get('blocks.0.mlp.hook_post')!.shape, [B, T, 64]);
  assert.deepEqual(cache.get('ln_final.hook_normalized')!.shape, [B, T, 16]);
  assert.deepEqual([...cache.keys()].sort(), m.hookNames().slice().sort());
  // Patterns are causal and rows sum to one.
  const p = cache.get('blocks.0.attn.hook_pattern')!.data;
  for (let r = 0; r < B * 2 * T; r++) {
    const q = r % T;
    let s = 0;
    for (let k = 0; k < T; k++) {
      s += p[r * T + k];
      if (k > q) assert.equal(p[r * T + k], 0);
    }
    assert.ok(Math.abs(s - 1) < 1e-5);
  }
});

test('the cached q equals x·W_Q + b_Q computed by hand for one head', () => {
  const m = new GPT(cfg);
  const { cache } = noGrad(() => m.runWithCache(tokens, B, T, ['blocks.0.attn.hook_q']));
  const { cache: c2 } = noGrad(() => m.runWithCache(tokens, B, T, ['blocks.0.hook_resid_pre']));
  const x = c2.get('blocks.0.hook_resid_pre')!.data;
  const blk = m.blocks[0];
  const w = blk.ln1.w.data;
  const bb = blk.ln1.b.data;
  const WQ = blk.attn.W_Q.data; // [H, d, dh]
  const q = cache.get('blocks.0.attn.hook_q')!.data; // [B, T, H, dh]
  const d = 16;
  const dh = 8;
  for (const [bt, h, j] of [[0, 0, 0], [3, 1, 5], [9, 1, 7]]) {
    const row = Array.from(x.subarray(bt * d, (bt + 1) * d));
    const mu = row.reduce((a, v) => a + v, 0) / d;
    const varr = row.reduce((a, v) => a + (v - mu) ** 2, 0) / d;
    const xn = row.map((v, i) => ((v - mu) / Math.sqrt(varr + 1e-5)) * w[i] + bb[i]);
    let ref = blk.attn.b_Q.data[h * dh + j];
    for (let i = 0; i < d; i++) ref += xn[i] * WQ[(h * d + i) * dh + j];
    const got = q[(bt * 2 + h) * dh + j];
    assert.ok(Math.abs(got - ref) < 1e-5, `q[${bt},${h},${j}] ${got} vs ${ref}`);
  }
});

// (A one-head ablation checked position by position against an f64 reference is in gpt-reference.test.ts.)
test('zeroing an MLP output through its hook changes the logits; an identity replacement leaves every bit unchanged', () => {
  const m = new GPT(cfg);
  const plain = noGrad(() => m.forward(tokens, B, T));
  const hooks = new Hooks({ replace: { 'blocks.1.hook_mlp_out': (v) => mulScalar(v, 0) } });
  const ablated = noGrad(() => m.forward(tokens, B, T, { hooks }));
  assert.notDeepEqual(ablated.data, plain.data);
  // Identity replacement leaves the bits unchanged, also through a layout permutation.
  const id = new Hooks({ replace: { 'blocks.0.attn.hook_q': (v) => new Tensor(v.data.slice(), v.shape) } });
  const same = noGrad(() => m.forward(tokens, B, T, { hooks: id }));
  assert.deepEqual(same.data, plain.data);
});

test('errors: unknown hook names are listed with the valid ones; too-long sequences are refused', () => {
  const m = new GPT(cfg);
  assert.throws(() => m.runWithCache(tokens, B, T, ['blocks.9.hook_resid_pre']), /unknown hook point blocks\.9\.hook_resid_pre; valid: hook_embed/);
  assert.throws(() => m.forward(new Int32Array(9), 1, 9), /exceeds the model's context length 8/);
  assert.throws(() => new GPT({ ...cfg, dModel: 15 }), /not divisible by nHeads/);
});

test('a replacement of the wrong shape is refused with both shapes', () => {
  const m = new GPT(cfg);
  const hooks = new Hooks({ replace: { 'blocks.0.hook_resid_mid': () => Tensor.zeros([3]) } });
  assert.throws(() => m.forward(tokens, B, T, { hooks }), /hook blocks\.0\.hook_resid_mid: replacement has shape \[3\], expected \[2,5,16\]/);
});

test('tied weights: no W_U, and gradients reach W_E from both ends', () => {
  const m = new GPT({ ...cfg, tieWeights: true });
  assert.ok(!m.namedParameters().some(([n]) => n === 'unembed.W_U'));
  const loss = m.loss(tokens, tokens, B, T);
  loss.backward();
  assert.ok(m.W_E.grad && m.W_E.grad.some((v) => v !== 0));
});
