// Labels for latents on the addition task, and the F1 matching.

import test from 'node:test';
import assert from 'node:assert/strict';
import { additionLabels, matchLatents } from '../../src/experiments/sae-addition-labels.js';
import { encodeBatch } from '../../src/data/addition.js';

test('carry labels sit on the answer position of the right column', () => {
  // 2 digits, msf: s 1 9 + 0 1 = 0 2 0 e. Column 0: 9+1 = 10 (carry into column 1); column 1: 1+0+1 = 2.
  const problems = [{ a: 19, b: 1 }, { a: 11, b: 11 }];
  const b = encodeBatch(problems, 2, 'msf');
  const L = additionLabels(problems, b.inputs, 2, 'msf');
  const rows = (name: string) => Array.from(L.rows[L.names.indexOf(name)]);
  const T = 10;
  // Position 7 predicts c2 (column 1), position 6 predicts c1 (column 2), position 8 predicts c3 (column 0).
  assert.deepEqual(rows('carry into column 1 (predicting c2)'), [7]);
  assert.deepEqual(rows('no carry into column 1 (predicting c2)'), [T + 7]);
  assert.deepEqual(rows('a[col]+b[col] >= 10 at predicted column'), [8]);
  assert.deepEqual(rows('answer digit 2 next'), [7, T + 7, T + 8]);
  assert.deepEqual(rows("input token '='"), [6, T + 6]);
  // a = 19: its first (10^1) digit is 1, held on positions 5..9 of problem 0; problem 1 (a = 11) too.
  assert.deepEqual(rows("operand a digit 1 (10^1) = 1, once all operands are read"), [5, 6, 7, 8, 9, T + 5, T + 6, T + 7, T + 8, T + 9]);
  assert.deepEqual(rows("operand b digit 2 (10^0) = 1, once all operands are read"), [5, 6, 7, 8, 9, T + 5, T + 6, T + 7, T + 8, T + 9]);
  assert.deepEqual(rows("operand a digit 2 (10^0) = 9, once all operands are read"), [5, 6, 7, 8, 9]);
  assert.ok(!L.names.some((n) => n.includes('into column 0')), 'column 0 never has a carry: no label restating the position');
});

test('a latent that fires exactly on a label matches it with F1 1', () => {
  const problems = [{ a: 19, b: 1 }, { a: 11, b: 11 }, { a: 55, b: 55 }];
  const b = encodeBatch(problems, 2, 'msf');
  const L = additionLabels(problems, b.inputs, 2, 'msf');
  const N = 30, n = 2;
  const z = new Float32Array(N * n);
  const target = L.rows[L.names.indexOf("input token '+'")];
  for (const r of target) z[r * n] = 1;
  z[0 * n + 1] = 0.5; // latent 1 fires once, on position 0
  const m = matchLatents(z, N, n, L);
  const m0 = m.find((x) => x.feature === 0)!;
  assert.equal(m0.f1, 1);
  assert.ok(m0.label === "input token '+'" || m0.label.startsWith('position 3'));
  assert.equal(m.find((x) => x.feature === 1)!.precision, 1);
});
