// Steering with an SAE feature: the hooked activation is exactly
// resid + scale · W_dec[f] at every position, the change propagates, and the
// steered logits move toward the tokens the feature's dashboard says it promotes.
import test from 'node:test';
import assert from 'node:assert/strict';
import { GPT } from '../../src/nn/gpt.js';
import { noGrad } from '../../src/engine/tensor.js';
import { Sae } from '../../src/lens/sae/model.js';
import { steeringHooks, featureDashboards, greedyContinue } from '../../src/lens/sae/features.js';

const V = 20;
const d = 16;
const B = 2;
const T = 5;
const tokens = Int32Array.from({ length: B * T }, (_, i) => (i * 7 + 2) % V);

function setup(nLayers: number) {
  const m = new GPT({ vocabSize: V, contextLength: 8, nLayers, nHeads: 2, dModel: d, seed: 9 });
  const sae = new Sae({ arch: 'topk', d, n: 8, k: 2 });
  sae.initTied(3, new Float32Array(d), 1);
  return { m, sae };
}

test('steeringHooks: the hooked activation is bitwise resid + scale·W_dec[f] at every position, and later layers see it', () => {
  const { m, sae } = setup(2);
  const hook = 'blocks.0.hook_resid_post';
  const f = 5;
  for (const scale of [0, 0.75, -3, 12.5]) {
    const plain = noGrad(() => m.runWithCache(tokens, B, T, [hook])).cache.get(hook)!.data;
    const hooks = steeringHooks(m, sae, hook, f, scale);
    let seen: Float32Array | null = null;
    hooks.add(hook, (v) => void (seen = v.data.slice())); // runs after the steering replacement
    const steered = noGrad(() => m.forward(tokens, B, T, { hooks }));
    assert.ok(seen, 'the hook ran');
    const got = seen as Float32Array;
    assert.equal(got.length, B * T * d);
    for (let i = 0; i < got.length; i++) {
      const want = Math.fround(plain[i] + scale * sae.W_dec.data[f * d + (i % d)]);
      assert.ok(Object.is(got[i], want), `scale ${scale}, element ${i}: ${got[i]} vs ${want}`);
    }
    // The next block reads exactly the steered stream (checked with a second forward and a cache at blocks.1).
    const h2 = steeringHooks(m, sae, hook, f, scale);
    let next: Float32Array | null = null;
    h2.add('blocks.1.hook_resid_pre', (v) => void (next = v.data.slice()));
    const again = noGrad(() => m.forward(tokens, B, T, { hooks: h2 }));
    assert.deepEqual(next, got);
    assert.deepEqual(again.data, steered.data, 'steering is deterministic');
    if (scale === 0) assert.deepEqual(steered.data, noGrad(() => m.forward(tokens, B, T)).data, 'scale 0 changes nothing');
  }
  assert.throws(() => steeringHooks(m, sae, hook, 8, 1), /out of range/);
  assert.throws(() => steeringHooks(m, sae, 'blocks.0.hook_nope', 0, 1), /unknown hook point/);
});

test("steered logits move toward the feature's promoted tokens and away from its suppressed ones", () => {
  const { m, sae } = setup(1);
  const hook = 'blocks.0.hook_resid_post'; // the last residual stream, so the direct effect is the whole effect
  const vocab = Array.from({ length: V }, (_, i) => `t${i}`);
  const dash = featureDashboards(sae, new Float32Array(8 * 4), 4, 4, { W_U: m.W_U!.data, vocab }, { logits: 4 });
  const plain = noGrad(() => m.forward(tokens, B, T)).data;
  let checkedFeatures = 0;
  let corrSum = 0;
  let corrN = 0;
  for (const f of [0, 3, 6]) {
    const promoted = dash[f].promoted.map((p) => Number(p.token.slice(1)));
    const suppressed = dash[f].suppressed.map((p) => Number(p.token.slice(1)));
    // The direct effect through W_U (what the dashboard ranks by), per token.
    const w = Array.from({ length: V }, (_, v) => {
      let s = 0;
      for (let c = 0; c < d; c++) s += sae.W_dec.data[f * d + c] * m.W_U!.data[c * V + v];
      return s;
    });
    for (const scale of [0.5, 2]) {
      const steered = noGrad(() => m.forward(tokens, B, T, { hooks: steeringHooks(m, sae, hook, f, scale) })).data;
      for (let r = 0; r < B * T; r++) {
        const delta = Array.from({ length: V }, (_, v) => steered[r * V + v] - plain[r * V + v]);
        const mean = (ids: number[]) => ids.reduce((a, v) => a + delta[v], 0) / ids.length;
        assert.ok(mean(promoted) > mean(suppressed), `feature ${f}, scale ${scale}, row ${r}: promoted ${mean(promoted)} vs suppressed ${mean(suppressed)}`);
        // And the whole logit shift lines up with the direct effect (Pearson correlation).
        const mw = w.reduce((a, b) => a + b) / V, md = delta.reduce((a, b) => a + b) / V;
        let sxy = 0, sxx = 0, syy = 0;
        for (let v = 0; v < V; v++) {
          sxy += (w[v] - mw) * (delta[v] - md);
          sxx += (w[v] - mw) ** 2;
          syy += (delta[v] - md) ** 2;
        }
        const corr = sxy / Math.sqrt(sxx * syy);
        // Not 1: the final LayerNorm centres and renormalises, so the shift also holds -LN(resid)·W_U, which the
        // dashboard's direct effect ignores (measured 0.56-0.93 here). An unrelated direction would give 0 ± 0.23.
        assert.ok(corr > 0.3, `feature ${f}, scale ${scale}, row ${r}: correlation ${corr.toFixed(3)}`);
        corrSum += corr;
        corrN++;
      }
      // Steering the opposite way reverses the ordering.
      const back = noGrad(() => m.forward(tokens, B, T, { hooks: steeringHooks(m, sae, hook, f, -scale) })).data;
      let p = 0, s = 0;
      for (let r = 0; r < B * T; r++) {
        for (const v of promoted) p += back[r * V + v] - plain[r * V + v];
        for (const v of suppressed) s += back[r * V + v] - plain[r * V + v];
      }
      assert.ok(p < s, `feature ${f}, scale -${scale}: promoted tokens fall`);
    }
    // Strongly steered, greedy decoding picks a promoted token.
    const next = greedyContinue(m, tokens.subarray(0, T), 1, { hooks: () => steeringHooks(m, sae, hook, f, 40) });
    assert.ok(promoted.includes(next[0]), `feature ${f}: greedy next token ${next[0]} not among promoted ${promoted}`);
    checkedFeatures++;
  }
  assert.equal(checkedFeatures, 3);
  assert.ok(corrSum / corrN > 0.6, `mean correlation ${(corrSum / corrN).toFixed(3)}`);
});
