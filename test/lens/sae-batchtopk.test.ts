// BatchTopK's selection against a plain definition written here: the k·B
// largest positive entries of the batch by (value desc, flat index asc), on
// batches full of ties, where a selection by threshold is easiest to get wrong.

import test from 'node:test';
import assert from 'node:assert/strict';
import { batchTopKIndices } from '../../src/lens/sae/ops.js';
import { TestRng } from '../engine/gradcheck.js';

function byDefinition(pre: Float32Array, B: number, n: number, k: number): number[] {
  const cand: number[] = [];
  for (let f = 0; f < B * n; f++) if (pre[f] > 0) cand.push(f);
  cand.sort((a, b) => pre[b] - pre[a] || a - b);
  return cand.slice(0, Math.min(k * B, B * n)).sort((a, b) => a - b);
}

test('batchTopKIndices picks the same entries as the definition, ties broken by index', () => {
  const rng = new TestRng(17);
  for (let t = 0; t < 300; t++) {
    const B = 1 + rng.int(8), n = 1 + rng.int(40), k = 1 + rng.int(10);
    // Values on a coarse grid: many ties, some zeros and negatives.
    const pre = Float32Array.from({ length: B * n }, () => (rng.int(13) - 5) / 2);
    const r = batchTopKIndices(pre, B, n, k);
    const got: number[] = [];
    let min = Infinity;
    for (let b = 0; b < B; b++) for (let j = 0; j < r.K; j++) {
      const i = r.idx[b * r.K + j];
      if (i >= 0) {
        got.push(b * n + i);
        min = Math.min(min, pre[b * n + i]);
      }
    }
    const want = byDefinition(pre, B, n, k);
    assert.deepEqual(got.sort((a, b) => a - b), want, `B=${B} n=${n} k=${k}`);
    if (want.length > 0) assert.equal(r.minKept, min);
  }
});
