import test from 'node:test';
import assert from 'node:assert/strict';
import { GPT } from '../../src/nn/gpt.js';
import { Hooks } from '../../src/nn/hooks.js';
import { Tensor, noGrad } from '../../src/engine/tensor.js';
import { maskedOutputs, meanEmbedding, logOdds, computeInteractions, MAX_VARIABLES, type MaskedInput } from '../../src/lens/interactions/index.js';

const cfg = { vocabSize: 14, contextLength: 12, nLayers: 2, nHeads: 2, dModel: 16, seed: 11 };
const model = new GPT(cfg);
const tokens = Int32Array.from([10, 1, 2, 12, 3, 4, 13, 0, 4, 6, 11, 0]);
const variables = [1, 2, 4, 5];
const output = { position: 7, target: 4 };

/** Naive f64 log-odds: log p - log(1 - p) with p from a plain softmax. */
function naiveLogOdds(row: ArrayLike<number>, t: number): number {
  let z = 0;
  for (let j = 0; j < row.length; j++) z += Math.exp(row[j]!);
  const p = Math.exp(row[t]!) / z;
  return Math.log(p) - Math.log(1 - p);
}

test('log-odds equals the naive softmax formula', () => {
  const row = [0.3, -1.2, 2.5, 0.01, -0.7];
  for (let t = 0; t < row.length; t++) assert.ok(Math.abs(logOdds(row, t) - naiveLogOdds(row, t)) < 1e-12);
});

test('token baseline: v(S) equals a full-length forward on the hand-masked sequence, for every subset', () => {
  const v = maskedOutputs(model, { tokens, variables, baseline: { kind: 'token', token: 0 }, output, batchSize: 5 });
  assert.equal(v.length, 16);
  const T = tokens.length;
  for (let mask = 0; mask < 16; mask++) {
    const seq = Int32Array.from(tokens);
    variables.forEach((p, i) => { if (!(mask & (1 << i))) seq[p] = 0; });
    const logits = noGrad(() => model.forward(seq, 1, T));
    const row = Array.from(logits.data.subarray(output.position * 14, output.position * 14 + 14));
    assert.ok(Math.abs(v[mask]! - naiveLogOdds(row, output.target)) < 1e-4, `mask ${mask}`);
  }
});

test('hook baseline: masked positions get the baseline vector at hook_embed', () => {
  const digits = Array.from({ length: 10 }, (_, i) => i);
  const base = meanEmbedding(model, digits);
  // Independent mean from the embedding matrix itself.
  const W = model.W_E.data;
  for (let j = 0; j < 16; j++) {
    let s = 0;
    for (const d of digits) s += W[d * 16 + j]!;
    assert.ok(Math.abs(base[j]! - s / 10) < 1e-6);
  }
  const v = maskedOutputs(model, { tokens, variables, baseline: { kind: 'hook', hook: 'hook_embed', vector: base }, output, batchSize: 7 });
  const mask = 0b0101; // keep variables 0 and 2, mask 1 and 3
  const hooks = new Hooks().add('hook_embed', (x) => {
    const d = Float32Array.from(x.data);
    for (const p of [variables[1]!, variables[3]!]) d.set(base, p * 16);
    return new Tensor(d, x.shape);
  });
  const logits = noGrad(() => model.forward(tokens, 1, tokens.length, { hooks }));
  const row = Array.from(logits.data.subarray(output.position * 14, output.position * 14 + 14));
  assert.ok(Math.abs(v[mask]! - naiveLogOdds(row, output.target)) < 1e-4);
  assert.ok(Math.abs(v[15]! - naiveLogOdds(Array.from(noGrad(() => model.forward(tokens, 1, tokens.length)).data.subarray(7 * 14, 8 * 14)), 4)) < 1e-4);
});

test('the full lens on a GPT: universal matching ≤ 1e-4, bit-identical on a second run', () => {
  const x: MaskedInput = { tokens, variables, baseline: { kind: 'token', token: 0 }, output };
  const a = computeInteractions(model, x, { iterations: 500 });
  const b = computeInteractions(model, x, { iterations: 500 });
  assert.ok(a.matchingError <= 1e-4, `matching ${a.matchingError}`);
  assert.deepEqual(a.iAnd, b.iAnd);
  assert.deepEqual(a.iOr, b.iOr);
  assert.equal(a.v[0], 0);
  assert.ok(a.l1End <= a.l1Start);
});

test('bad requests fail with one clear line', () => {
  const base = { tokens, baseline: { kind: 'token' as const, token: 0 }, output };
  const many = Array.from({ length: MAX_VARIABLES + 1 }, (_, i) => i);
  const long = new Int32Array(40);
  assert.throws(() => maskedOutputs(model, { ...base, tokens: long, variables: many, output: { position: 30, target: 1 } }), /17 variables is too many; at most 16, because every one of the 2\^n subsets needs its own forward pass/);
  assert.throws(() => maskedOutputs(model, { ...base, variables: [1, 12] }), /variable 1 is at position 12, outside the sequence \(positions 0\.\.11\)/);
  assert.throws(() => maskedOutputs(model, { ...base, variables: [1, 1] }), /position 1 is chosen twice/);
  assert.throws(() => maskedOutputs(model, { ...base, variables: [1], output: { position: 12, target: 0 } }), /output position 12 does not exist/);
  assert.throws(() => maskedOutputs(model, { ...base, variables: [1, 9], output: { position: 7, target: 0 } }), /comes after the output position 7/);
  assert.throws(() => maskedOutputs(model, { ...base, variables: [1], output: { position: 7, target: 14 } }), /outside the model's vocabulary/);
  assert.throws(() => maskedOutputs(model, { ...base, variables: [1], baseline: { kind: 'hook', hook: 'hook_nope', vector: new Float32Array(16) } }), /no hook point hook_nope/);
  assert.throws(() => maskedOutputs(model, { ...base, variables: [], output }), /no variables chosen/);
});
