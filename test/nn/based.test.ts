// Based: the parallel form (kernel trick, f32 engine ops) and the recurrent
// form (explicit Taylor features, f64 state) compute the same function;
// prefix linear attention reads its prompt non-causally and the rest
// causally; the state size is what the recurrent form holds; hook points
// follow the module tree.

import test from 'node:test';
import assert from 'node:assert/strict';
import { noGrad } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/rng.js';
import { Hooks } from '../../src/nn/hooks.js';
import { Based, basedStateBytes, taylorFeatures, prefixMaskBits, type BasedConfig } from '../../src/nn/based.js';
import { BasedRecurrent, features } from '../../src/nn/based-recurrent.js';
import { attentionLens } from '../../src/lens/attention/index.js';

const CFG: BasedConfig = { vocabSize: 24, dModel: 16, nLayers: 2, featureDim: 4, nHeads: 2, seed: 7 };

/** A model whose unembedding is large enough that logits are O(1), so a 1e-5 tolerance means something. */
function model(cfg: Partial<BasedConfig> = {}): Based {
  const m = new Based({ ...CFG, ...cfg });
  const r = Rng.derive(1, 'test/unembed');
  for (let i = 0; i < m.W_U.size; i++) m.W_U.data[i] = r.normal();
  // Non-trivial layer norms and biases, so every parameter is exercised.
  for (const [name, t] of m.namedParameters()) if (/\.(w|b|b_proj)$/.test(name)) for (let i = 0; i < t.size; i++) t.data[i] += 0.3 * r.normal();
  return m.eval();
}

function tokens(n: number, V: number, seed: number): Int32Array {
  const r = new Rng(seed);
  return Int32Array.from({ length: n }, () => r.int(V));
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

test('the Taylor features give φ(q)·φ(k) = 1 + q·k/√d′ + (q·k)²/(2d′), with 1 + d′ + d′(d′+1)/2 entries', () => {
  assert.equal(taylorFeatures(16), 153);
  const r = new Rng(3);
  for (const f of [1, 4, 16]) {
    const q = Float64Array.from({ length: f }, () => r.normal());
    const k = Float64Array.from({ length: f }, () => r.normal());
    const pq = new Float64Array(taylorFeatures(f));
    const pk = new Float64Array(taylorFeatures(f));
    features(q, pq);
    features(k, pk);
    let dot = 0;
    for (let i = 0; i < pq.length; i++) dot += pq[i] * pk[i];
    let s = 0;
    for (let i = 0; i < f; i++) s += q[i] * k[i];
    assert.ok(Math.abs(dot - (1 + s / Math.sqrt(f) + (s * s) / (2 * f))) < 1e-10);
  }
});

test('parallel and recurrent forms agree within 1e-5 at every position (causal Based)', () => {
  const m = model();
  const T = 20;
  const B = 2;
  const x = tokens(B * T, CFG.vocabSize, 11);
  const logits = noGrad(() => m.forward(x, B, T)).data;
  const rec = new BasedRecurrent(m);
  for (let b = 0; b < B; b++) {
    rec.reset();
    for (let t = 0; t < T; t++) {
      const y = rec.step(x[b * T + t]);
      const ref = logits.subarray((b * T + t) * CFG.vocabSize, (b * T + t + 1) * CFG.vocabSize);
      assert.ok(maxDiff(y, ref) < 1e-5, `position ${t}: ${maxDiff(y, ref)}`);
    }
  }
  // And the logits are not trivially small: the tolerance is tight relative to them.
  assert.ok(maxDiff(logits, new Float32Array(logits.length)) > 0.5);
});

test('prefix linear attention: parallel and recurrent (prefill, then steps) agree within 1e-5', () => {
  const m = model({ prefix: true });
  const T = 18;
  const P = 7;
  const x = tokens(T, CFG.vocabSize, 12);
  const logits = noGrad(() => m.forward(x, 1, T, { prefixLen: P })).data;
  const rec = new BasedRecurrent(m);
  const pre = rec.prefill(x.subarray(0, P));
  for (let t = 0; t < T; t++) {
    const y = t < P ? pre[t] : rec.step(x[t]);
    assert.ok(maxDiff(y, logits.subarray(t * CFG.vocabSize, (t + 1) * CFG.vocabSize)) < 1e-5, `position ${t}`);
  }
  assert.equal(rec.length, T);
});

test('prefix linear attention reads the prompt non-causally and the rest causally; causal Based never looks ahead', () => {
  const T = 16;
  const P = 6;
  const V = CFG.vocabSize;
  const x = tokens(T, V, 13);
  const changed = (m: Based, pos: number, prefixLen: number) => {
    const y = x.slice();
    y[pos] = (y[pos] + 1) % V;
    const a = noGrad(() => m.forward(x, 1, T, { prefixLen })).data;
    const b = noGrad(() => m.forward(y, 1, T, { prefixLen })).data;
    return Array.from({ length: T }, (_, t) => maxDiff(a.subarray(t * V, (t + 1) * V), b.subarray(t * V, (t + 1) * V)) > 0);
  };
  const prefix = model({ prefix: true });
  // The last prompt token reaches every position, the first included.
  assert.deepEqual(changed(prefix, P - 1, P), new Array(T).fill(true));
  // A token after the prompt reaches only itself and later positions.
  const after = changed(prefix, 10, P);
  assert.deepEqual(after, Array.from({ length: T }, (_, t) => t >= 10));
  // The same model with no prompt is causal everywhere.
  assert.deepEqual(changed(prefix, P - 1, 0), Array.from({ length: T }, (_, t) => t >= P - 1));
  const causal = model();
  assert.deepEqual(changed(causal, 3, 0), Array.from({ length: T }, (_, t) => t >= 3));
  assert.throws(() => causal.forward(x, 1, T, { prefixLen: 4 }), /prefix length was given to a causal model/);
  // The mask: a query reads the whole prompt and the past after it.
  const mask = prefixMaskBits(4, 2);
  assert.deepEqual(Array.from(mask), [0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0]);
});

test('the state size in bytes is what the recurrent form holds, and does not grow with the sequence', () => {
  const cfg = { dModel: 64, nLayers: 2, featureDim: 16, nHeads: 1 };
  const s = basedStateBytes(cfg);
  // Per layer: S [153, 64] and z [153] per head, and 2 convolution inputs of 64, all f32.
  assert.equal(s.attention, 2 * (153 * 64 + 153) * 4);
  assert.equal(s.conv, 2 * 2 * 64 * 4);
  assert.equal(s.total, s.attention + s.conv);
  const m = new Based({ ...CFG });
  const rec = new BasedRecurrent(m);
  const E = taylorFeatures(CFG.featureDim);
  const dh = CFG.dModel / CFG.nHeads;
  assert.equal(m.stateBytes(), 4 * CFG.nLayers * (CFG.nHeads * (E * dh + E) + 2 * CFG.dModel));
  assert.equal(rec.stateBytes, m.stateBytes());
});

test('hook points are named from the module tree; the pattern rows are distributions over readable keys', () => {
  const m = model({ prefix: true });
  const names = m.hookNames();
  assert.deepEqual(names.slice(0, 14), [
    'hook_embed', 'blocks.0.hook_resid_pre', 'blocks.0.conv.hook_conv', 'blocks.0.conv.hook_proj', 'blocks.0.hook_conv_out', 'blocks.0.hook_resid_mid',
    'blocks.0.attn.hook_q', 'blocks.0.attn.hook_k', 'blocks.0.attn.hook_v', 'blocks.0.attn.hook_pattern', 'blocks.0.attn.hook_z', 'blocks.0.hook_attn_out', 'blocks.0.hook_resid_post', 'blocks.1.hook_resid_pre',
  ]);
  assert.equal(names[names.length - 1], 'ln_final.hook_normalized');
  const T = 8;
  const P = 3;
  const hooks = new Hooks({ cache: ['blocks.1.attn.hook_pattern', 'blocks.0.attn.hook_q'] });
  noGrad(() => m.forward(tokens(2 * T, CFG.vocabSize, 4), 2, T, { hooks, prefixLen: P }));
  const pat = hooks.cache.get('blocks.1.attn.hook_pattern')!;
  assert.deepEqual(pat.shape, [2, CFG.nHeads, T, T]);
  assert.deepEqual(hooks.cache.get('blocks.0.attn.hook_q')!.shape, [2, T, CFG.nHeads, CFG.featureDim]);
  for (let r = 0; r < 2 * CFG.nHeads * T; r++) {
    const q = r % T;
    let total = 0;
    for (let k = 0; k < T; k++) {
      const v = pat.data[r * T + k];
      if (k > q && k >= P) assert.equal(v, 0);
      else assert.ok(v > 0);
      total += v;
    }
    assert.ok(Math.abs(total - 1) < 1e-5);
  }
  assert.throws(() => m.forward(tokens(T, CFG.vocabSize, 4), 1, T, { hooks: new Hooks({ cache: ['blocks.0.attn.hook_scores'] }) }), /unknown hook point blocks\.0\.attn\.hook_scores/);
});

test('the softmax mixer (the attention baseline) is the same layout, causal, with a KV cache instead of a fixed state', () => {
  const m = model({ mixer: 'softmax' });
  const T = 12;
  const V = CFG.vocabSize;
  const x = tokens(T, V, 21);
  const y = x.slice();
  y[5] = (y[5] + 1) % V;
  const a = noGrad(() => m.forward(x, 1, T)).data;
  const b = noGrad(() => m.forward(y, 1, T)).data;
  for (let t = 0; t < T; t++) assert.equal(maxDiff(a.subarray(t * V, (t + 1) * V), b.subarray(t * V, (t + 1) * V)) > 0, t >= 5, `position ${t}`);
  assert.ok(m.hookNames().includes('blocks.1.attn.hook_pattern'));
  assert.equal(m.stateBytes(64) - m.stateBytes(32), 2 * CFG.nLayers * 32 * CFG.dModel * 4);
  assert.throws(() => new BasedRecurrent(m), /no fixed-size recurrent state/);
  assert.throws(() => new Based({ ...CFG, mixer: 'softmax', prefix: true }), /softmax mixer is causal only/);
});

test('the attention lens reads Based through its hook points alone: the first query of a causal model sees one key (zero entropy)', () => {
  const m = model();
  const T = 6;
  const stats = attentionLens(m, (hooks) => noGrad(() => m.forward(tokens(2 * T, CFG.vocabSize, 8), 2, T, { hooks })));
  assert.deepEqual(stats.map((s) => [s.layer, s.heads, s.queries, s.keys]), [[0, 2, T, T], [1, 2, T, T]]);
  for (const s of stats) for (const h of s.entropy) {
    assert.ok(Math.abs(h[0]) < 1e-6);
    assert.ok(h[T - 1] > 0.1);
  }
});

test('parameter names follow the tree (checkpoints rely on them), and initial values are drawn per name', () => {
  const m = new Based({ ...CFG, nLayers: 1, prefix: true });
  assert.deepEqual(m.namedParameters().map(([n, t]) => `${n}:${t.shape.join('x')}`), [
    'embed.W_E:24x16', 'blocks.0.ln_conv.w:16', 'blocks.0.ln_conv.b:16', 'blocks.0.conv.W_conv:3x16', 'blocks.0.conv.b_conv:16', 'blocks.0.conv.W_proj:16x16', 'blocks.0.conv.b_proj:16',
    'blocks.0.ln_attn.w:16', 'blocks.0.ln_attn.b:16', 'blocks.0.attn.W_Q:2x16x4', 'blocks.0.attn.W_K:2x16x4', 'blocks.0.attn.W_V:2x16x8', 'blocks.0.attn.W_K_prefix:2x16x4', 'blocks.0.attn.W_V_prefix:2x16x8', 'blocks.0.attn.W_O:2x8x16',
    'ln_final.w:16', 'ln_final.b:16', 'unembed.W_U:16x24', 'unembed.b_U:24',
  ]);
  // A causal model has the same names without the prefix projections, and the shared ones start equal.
  const c = new Based({ ...CFG, nLayers: 1 });
  const cp = new Map(c.namedParameters());
  assert.ok(!cp.has('blocks.0.attn.W_K_prefix'));
  for (const [n, t] of m.namedParameters()) if (cp.has(n)) assert.deepEqual(cp.get(n)!.data, t.data, n);
  assert.notDeepEqual(new Based({ ...CFG, nLayers: 1, seed: 8 }).W_E.data, c.W_E.data);
});

test('a Based config that cannot be built is refused by name', () => {
  assert.throws(() => new Based({ ...CFG, nHeads: 3 }), /dModel 16 is not divisible by nHeads 3/);
  assert.throws(() => new Based({ ...CFG, featureDim: 0 }), /featureDim must be a positive integer, got 0/);
  assert.throws(() => new BasedRecurrent(new Based(CFG)).step(CFG.vocabSize), /outside the vocabulary/);
});
