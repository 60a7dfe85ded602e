// The position-encoding ops (ALiBi, RoPE, the sinusoidal table) and the
// attention built from them, against f64 references in plain loops and
// central differences (gradcheck.ts).

import test from 'node:test';
import assert from 'node:assert/strict';
import { alibi, alibiSlopes, rope, sinusoidalTable } from '../../src/engine/ops-position.js';
import { positionalAttention, PosGPT } from '../../src/nn/pos-gpt.js';
import { reshape } from '../../src/engine/ops-shape.js';
import { gradcheck, TestRng } from './gradcheck.js';

const rng = new TestRng(99);

function refRope(x: number[], T: number, d: number, base = 10000): number[] {
  const out = x.slice();
  for (let r = 0; r < x.length / d; r++) {
    const t = r % T;
    for (let i = 0; i < d / 2; i++) {
      const th = t * Math.pow(base, (-2 * i) / d);
      const a = x[r * d + 2 * i];
      const b = x[r * d + 2 * i + 1];
      out[r * d + 2 * i] = a * Math.cos(th) - b * Math.sin(th);
      out[r * d + 2 * i + 1] = a * Math.sin(th) + b * Math.cos(th);
    }
  }
  return out;
}

function refAlibi(x: number[], H: number, T: number, slopes: number[]): number[] {
  const per = x.length / H;
  return x.map((v, i) => {
    const h = Math.floor(i / per);
    const q = Math.floor(i / T) % T;
    const k = i % T;
    return k <= q ? v - slopes[h] * (q - k) : v;
  });
}

test('ALiBi slopes are the paper\'s geometric sequence', () => {
  const s = alibiSlopes(8);
  s.forEach((m, h) => assert.ok(Math.abs(m - Math.pow(2, -(h + 1))) < 1e-15, `slope ${h}: ${m}`));
  assert.ok(Math.abs(alibiSlopes(1)[0] - Math.pow(2, -8)) < 1e-15);
});

test('the sinusoidal table matches sin/cos to 1e-6', () => {
  const T = 50;
  const d = 16;
  const t = sinusoidalTable(T, d).data;
  for (let p = 0; p < T; p++) {
    for (let i = 0; i < d / 2; i++) {
      const th = p * Math.pow(10000, (-2 * i) / d);
      assert.ok(Math.abs(t[p * d + 2 * i] - Math.sin(th)) < 1e-6 && Math.abs(t[p * d + 2 * i + 1] - Math.cos(th)) < 1e-6, `position ${p}, pair ${i}`);
    }
  }
});

test('rope: forward and gradient against an f64 reference', () => {
  for (const shape of [[5, 4], [2, 3, 6, 8]]) {
    const T = shape[shape.length - 2];
    const d = shape[shape.length - 1];
    gradcheck(`rope ${JSON.stringify(shape)}`, { inputs: [{ shape }], engine: ([x]) => rope(x), reference: ([x]) => refRope(x, T, d) }, rng);
  }
});

test('alibi: forward and gradient against an f64 reference', () => {
  const shape = [2, 3, 5, 5];
  const slopes = alibiSlopes(2);
  gradcheck('alibi', { inputs: [{ shape }], engine: ([x]) => alibi(x, slopes), reference: ([x]) => refAlibi(x, 2, 5, slopes) }, rng);
  assert.throws(() => alibi(sinusoidalTable(3, 4), [1]), /needs \[H, \.\.\., T, T\]/);
  assert.throws(() => alibi(reshape(sinusoidalTable(4, 2), [2, 1, 2, 2]), [1]), /1 slopes for 2 heads/);
});

/** Causal attention with a position encoding, in f64: the training path of the ALiBi model. */
function refAttention(q: number[], k: number[], v: number[], H: number, T: number, dh: number, pe: 'alibi' | 'rope' | 'none'): number[] {
  const slopes = alibiSlopes(H);
  const qq = pe === 'rope' ? refRope(q, T, dh) : q;
  const kk = pe === 'rope' ? refRope(k, T, dh) : k;
  const out: number[] = new Array(H * T * dh).fill(0);
  for (let h = 0; h < H; h++) {
    for (let i = 0; i < T; i++) {
      const s: number[] = [];
      for (let j = 0; j <= i; j++) {
        let dot = 0;
        for (let c = 0; c < dh; c++) dot += qq[(h * T + i) * dh + c] * kk[(h * T + j) * dh + c];
        s.push(dot / Math.sqrt(dh) - (pe === 'alibi' ? slopes[h] * (i - j) : 0));
      }
      const mx = Math.max(...s);
      const e = s.map((x) => Math.exp(x - mx));
      const z = e.reduce((a, b) => a + b, 0);
      for (let j = 0; j <= i; j++) for (let c = 0; c < dh; c++) out[(h * T + i) * dh + c] += (e[j] / z) * v[(h * T + j) * dh + c];
    }
  }
  return out;
}

test('positional attention (ALiBi, RoPE, none): forward and gradients of q, k, v against f64', () => {
  const H = 2;
  const T = 5;
  const dh = 4;
  for (const pe of ['alibi', 'rope', 'none'] as const) {
    const shape = [H, 1, T, dh];
    gradcheck(`attention ${pe}`, {
      inputs: [{ shape }, { shape }, { shape }],
      engine: ([q, k, v]) => positionalAttention(q, k, v, pe).z,
      reference: ([q, k, v]) => refAttention(q, k, v, H, T, dh, pe),
    }, rng);
  }
});

test('PosGPT: hook names, parameter names, errors, and a loss that falls when trained', async () => {
  const m = new PosGPT({ vocabSize: 6, contextLength: 16, nLayers: 1, nHeads: 2, dModel: 8, pe: 'alibi', seed: 1 });
  assert.deepEqual(m.hookNames(), ['hook_embed', 'blocks.0.hook_resid_pre', 'blocks.0.attn.hook_q', 'blocks.0.attn.hook_k', 'blocks.0.attn.hook_v', 'blocks.0.attn.hook_pattern', 'blocks.0.attn.hook_z', 'blocks.0.hook_resid_mid', 'blocks.0.mlp.hook_pre', 'blocks.0.mlp.hook_post', 'blocks.0.hook_resid_post', 'ln_final.hook_normalized']);
  assert.deepEqual(m.namedParameters().map(([n]) => n).slice(0, 4), ['embed.W_E', 'blocks.0.ln1.w', 'blocks.0.ln1.b', 'blocks.0.attn.W_Q']);
  const s = new PosGPT({ vocabSize: 6, contextLength: 16, nLayers: 1, nHeads: 2, dModel: 8, pe: 'sinusoidal', seed: 1 });
  assert.ok(s.hookNames().includes('hook_pos_embed'));
  assert.throws(() => m.forward(new Int32Array(17), 1, 17), /exceeds the model's context length 16/);
  assert.throws(() => m.forward(Int32Array.of(0, 9), 1, 2), /token 9 at flat index 1 is outside the vocabulary of 6/);
  assert.throws(() => new PosGPT({ vocabSize: 6, contextLength: 16, nLayers: 1, nHeads: 2, dModel: 8, pe: 'learned' as never, seed: 1 }), /unknown position encoding "learned"/);
  const { AdamW } = await import('../../src/engine/optim.js');
  const opt = new AdamW(m.parameters(), { lr: 1e-2 });
  // Predict the previous token: ALiBi's recency bias makes it easy.
  const tokens = Int32Array.from({ length: 16 }, (_, i) => (i * 7 + 3) % 6);
  const targets = Int32Array.from({ length: 16 }, (_, i) => (i === 0 ? -1 : tokens[i - 1]));
  const losses: number[] = [];
  for (let step = 0; step < 40; step++) {
    opt.zeroGrad();
    const loss = m.loss(tokens, targets, 1, 16);
    losses.push(loss.item());
    loss.backward();
    opt.step();
  }
  assert.ok(losses[39] < losses[0] * 0.5, `loss ${losses[0]} → ${losses[39]}`);
});
