// The automatic descriptions of latents on bytes: the best property, its
// precision and recall, checked against counts made here independently (by
// walking the text with string operations), and the minimum support that
// keeps a once-seen n-gram from scoring F1 = 1.

import test from 'node:test';
import assert from 'node:assert/strict';
import { describeLatents, countInterpretable, propertiesAt, byteLabel } from '../../src/lens/sae/describe.js';

const TEXT = 'The cat sat on the mat.\nThe dog ate 42 bones, then 7 more.\nA theory: the 3 thin things thaw.\n'.repeat(6);
const T = 64;
const bytes = Uint8Array.from(Buffer.from(TEXT, 'latin1')).subarray(0, Math.floor(TEXT.length / T) * T);
const N = bytes.length;

/** Codes for 4 latents from rules on the text, written without the describer's code. */
function codes(): Float32Array {
  const n = 4;
  const z = new Float32Array(N * n);
  for (let r = 0; r < N; r++) {
    const pos = r % T;
    const ch = String.fromCharCode(bytes[r]);
    const prev = pos > 0 ? String.fromCharCode(bytes[r - 1]) : '';
    if (ch === 'h' && prev === 't') z[r * n] = 1; // "th" ending here, exactly (lowercase t)
    if (/[0-9]/.test(ch)) z[r * n + 1] = 2; // digits ...
    if (ch === 'e' && r % 3 === 0) z[r * n + 1] = 2; // ... plus some noise
    if (prev === '\n') z[r * n + 2] = 0.5; // the byte after a newline
    if (r === 5) z[r * n + 3] = 1; // fires once: too rare to describe
  }
  return z;
}

test('describeLatents finds the rule behind each latent, with precision and recall as counted directly', () => {
  const z = codes();
  const d = describeLatents(z, 4, { bytes, T });
  const by = new Map(d.map((x) => [x.feature, x]));
  assert.equal(by.get(0)!.label, '"th" ending here');
  assert.equal(by.get(0)!.f1, 1);
  assert.equal(by.get(2)!.label, 'the start of a line (the byte after a newline)');
  assert.equal(by.get(2)!.f1, 1);
  assert.equal(by.has(3), false, 'a latent firing once is not described');

  // Latent 1: digits plus noise on some e's. Count TP, fires and holds for "a digit" by hand.
  const one = by.get(1)!;
  assert.equal(one.label, 'a digit');
  let fires = 0, digits = 0, both = 0;
  for (let r = 0; r < N; r++) {
    const f = z[r * 4 + 1] > 0;
    const isDigit = bytes[r] >= 48 && bytes[r] <= 57;
    if (f) fires++;
    if (isDigit) digits++;
    if (f && isDigit) both++;
  }
  assert.ok(fires > both, 'the noise must make precision < 1');
  assert.equal(one.precision, both / fires);
  assert.equal(one.recall, both / digits);
  assert.ok(Math.abs(one.f1 - (2 * one.precision * one.recall) / (one.precision + one.recall)) < 1e-12, "F1 is the harmonic mean of precision and recall");
  assert.equal(one.density, fires / N);
  assert.deepEqual(d.map((x) => x.feature), [0, 2, 1], 'sorted best first');
  assert.deepEqual(countInterpretable(d, [0.7, 0.99]), { 'f1_0.70': d.filter((x) => x.f1 >= 0.7).length, 'f1_0.99': 2 });
});

test('n-grams never reach across a window boundary, and the properties name what holds', () => {
  // Row T is the first byte of window 1: no byte before it counts.
  const props = propertiesAt({ bytes, T }, T);
  assert.ok(props.every((p) => !p.startsWith('after ') && !p.includes('ending here')), props.join('; '));
  const r = TEXT.indexOf('42') + 1; // the '2' of 42, preceded by '4'
  const within = propertiesAt({ bytes, T: N }, r);
  assert.ok(within.includes("byte '2'") && within.includes("after '4'") && within.includes('"42" ending here') && within.includes('" 42" ending here'.replace(' ', '␣')) && within.includes('a digit') && within.includes('after a digit'), within.join('; '));
  assert.equal(byteLabel(10), '\\n');
  assert.equal(byteLabel(0xe9), '\\xe9');
  assert.throws(() => describeLatents(new Float32Array(3), 4, { bytes, T }), /expected/);
});
