// The recall tasks: MQAR laid out as zoology lays it out (key-value block,
// repeated for JRT-Prompt, then queries with labels only there), set
// disjointness in both orders, held-out sets a training stream never
// repeats, and the errors for shapes that cannot be generated.

import test from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/rng.js';
import { checkMqar, gapWeights, taskBatch, HeldOut, IGNORE, SEP, type TaskShape } from '../../src/data/recall-tasks.js';

const mq = (K: number, passes = 1, extra: Partial<{ vocabSize: number; seqLen: number; powerA: number }> = {}): TaskShape => ({ task: 'mqar', vocabSize: 128, seqLen: 64, numKvPairs: K, passes, powerA: 0.01, ...extra });

test('MQAR: keys from the lower half, values from the upper, the block first (twice for JRT), each key queried once with its value as the only label', () => {
  for (const passes of [1, 2]) {
    const K = 8;
    const b = taskBatch(mq(K, passes), 20, Rng.derive(1, `mqar/${passes}`));
    assert.equal(b.T, 64);
    assert.equal(b.prefixLen, 2 * K * passes);
    for (let s = 0; s < b.B; s++) {
      const x = b.inputs.subarray(s * 64, (s + 1) * 64);
      const y = b.targets.subarray(s * 64, (s + 1) * 64);
      const kv = new Map<number, number>();
      for (let i = 0; i < K; i++) {
        const k = x[2 * i];
        const v = x[2 * i + 1];
        assert.ok(k >= 1 && k < 64, `key ${k}`);
        assert.ok(v >= 64 && v < 128, `value ${v}`);
        assert.ok(!kv.has(k), 'keys are distinct');
        kv.set(k, v);
      }
      assert.equal(new Set(kv.values()).size, K, 'values are distinct');
      // The repeat is the same block, in the same order.
      for (let p = 1; p < passes; p++) for (let i = 0; i < 2 * K; i++) assert.equal(x[p * 2 * K + i], x[i]);
      const queried = new Set<number>();
      for (let t = 0; t < 64; t++) {
        if (y[t] === IGNORE) continue;
        assert.ok(t >= 2 * K * passes, 'no label inside the key-value block');
        assert.equal((t - 2 * K * passes) % 2, 0, 'queries sit at even offsets after the block');
        assert.equal(y[t], kv.get(x[t]), 'the label is the queried key\'s value');
        queried.add(x[t]);
      }
      assert.equal(queried.size, K, 'every key is queried exactly once');
      for (let t = 0; t < 64; t++) assert.ok(x[t] >= 0 && x[t] < 128);
    }
  }
});

test('MQAR gaps follow p(g) ∝ a·g^(a−1): the weights match the formula, and small gaps dominate at a = 0.01 but not at a = 1', () => {
  const w = gapWeights(10, 0.01);
  for (let g = 1; g <= 10; g++) assert.ok(Math.abs(w[g - 1] - 0.01 * g ** (0.01 - 1)) < 1e-15);
  const firstQuery = (a: number) => {
    const b = taskBatch(mq(4, 1, { powerA: a }), 400, Rng.derive(3, `gaps/${a}`));
    let sum = 0;
    for (let s = 0; s < b.B; s++) {
      const y = b.targets.subarray(s * 64, (s + 1) * 64);
      let last = 0;
      for (let t = 0; t < 64; t++) if (y[t] !== IGNORE) last = t;
      sum += last;
    }
    return sum / b.B;
  };
  // The last query comes much earlier when small gaps are likely.
  const skewed = firstQuery(0.01);
  const uniform = firstQuery(1);
  assert.ok(skewed + 8 < uniform, `last query at ${skewed} (a=0.01) vs ${uniform} (a=1)`);
});

test('MQAR refuses shapes that cannot fit, naming the numbers', () => {
  assert.throws(() => checkMqar({ vocabSize: 128, seqLen: 64, numKvPairs: 11, passes: 2, powerA: 0.01 }), /2·K·passes \+ 2·K = 66 tokens, more than the sequence length 64/);
  assert.throws(() => checkMqar({ vocabSize: 64, seqLen: 64, numKvPairs: 4, passes: 1, powerA: 0.01 }), /vocabulary \(64\) must be larger than the sequence length \(64\)/);
  assert.throws(() => checkMqar({ vocabSize: 128, seqLen: 63, numKvPairs: 4, passes: 1, powerA: 0.01 }), /must be even/);
  assert.throws(() => checkMqar({ vocabSize: 128, seqLen: 64, numKvPairs: 0, passes: 1, powerA: 0.01 }), /numKvPairs must be a positive integer/);
  assert.doesNotThrow(() => checkMqar({ vocabSize: 128, seqLen: 64, numKvPairs: 16, passes: 1, powerA: 0.01 }));
  assert.doesNotThrow(() => checkMqar({ vocabSize: 128, seqLen: 64, numKvPairs: 10, passes: 2, powerA: 0.01 }));
});

test('set disjointness: [1] A [2] B [3] with A, B from the two halves, exactly one shared element, which is the label; both orders', () => {
  for (const [a, b] of [[4, 16], [16, 4]]) {
    const shape: TaskShape = { task: 'disjoint', vocabSize: 64, sizeA: a, sizeB: b };
    const batch = taskBatch(shape, 30, Rng.derive(2, `disjoint/${a}`));
    const T = a + b + 3;
    assert.equal(batch.T, T);
    assert.equal(batch.prefixLen, T);
    for (let s = 0; s < batch.B; s++) {
      const x = Array.from(batch.inputs.subarray(s * T, (s + 1) * T));
      const y = Array.from(batch.targets.subarray(s * T, (s + 1) * T));
      assert.deepEqual([x[0], x[a + 1], x[T - 1]], [SEP[0], SEP[1], SEP[2]]);
      const A = x.slice(1, a + 1);
      const B = x.slice(a + 2, T - 1);
      assert.equal(new Set(A).size, a);
      assert.equal(new Set(B).size, b);
      const shared = A.filter((v) => B.includes(v));
      assert.equal(shared.length, 1);
      assert.deepEqual(y.slice(0, T - 1), new Array(T - 1).fill(IGNORE));
      assert.equal(y[T - 1], shared[0]);
      // Apart from t, the sets come from different halves of the element tokens.
      const half = Math.floor((64 - 3) / 2);
      const side = (v: number) => (v < 3 + half ? 0 : 1);
      const sa = new Set(A.filter((v) => v !== shared[0]).map(side));
      const sb = new Set(B.filter((v) => v !== shared[0]).map(side));
      assert.ok(sa.size <= 1 && sb.size <= 1 && [...sa][0] !== [...sb][0]);
    }
  }
  assert.throws(() => taskBatch({ task: 'disjoint', vocabSize: 20, sizeA: 4, sizeB: 16 }, 1, new Rng(1)), /do not fit in halves of 8 element tokens/);
});

test('held-out sets: a training stream never returns a held-out sequence, even where the task space is small enough to collide', () => {
  // |A| = 1, |B| = 2 over two halves of 2 element tokens: 16 distinct sequences.
  const shape: TaskShape = { task: 'disjoint', vocabSize: 7, sizeA: 1, sizeB: 2 };
  const all = new HeldOut();
  taskBatch(shape, 400, Rng.derive(9, 'all'), { include: all });
  assert.equal(all.size, 16);
  const held = new HeldOut();
  taskBatch(shape, 6, Rng.derive(1, 'test'), { include: held });
  assert.ok(held.size >= 3, `held ${held.size}`);
  const seen = new Set<string>();
  for (let step = 0; step < 60; step++) {
    const b = taskBatch(shape, 8, Rng.derive(1, `data/step/${step}`), { exclude: held });
    for (let s = 0; s < b.B; s++) {
      const seq = b.inputs.subarray(s * b.T, (s + 1) * b.T);
      assert.ok(!held.has(seq), 'a held-out sequence was drawn for training');
      seen.add(Array.from(seq).join(','));
    }
  }
  // The stream still covers every sequence that is not held out.
  assert.equal(seen.size + held.size, 16);
  // Without the exclusion, the same stream does draw held-out sequences (so the check above could fail).
  let hits = 0;
  for (let step = 0; step < 60; step++) {
    const b = taskBatch(shape, 8, Rng.derive(1, `data/step/${step}`));
    for (let s = 0; s < b.B; s++) if (held.has(b.inputs.subarray(s * b.T, (s + 1) * b.T))) hits++;
  }
  assert.ok(hits > 0);
  // A space with nothing left to draw is an error, not a hang.
  assert.throws(() => taskBatch(shape, 1, new Rng(5), { exclude: all }), /could not draw a sequence outside the held-out set/);
});
