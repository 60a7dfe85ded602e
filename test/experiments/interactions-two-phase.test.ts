// The two-phase detector (the pattern of Zhang et al., arXiv 2405.10262: the mean interaction order falls
// from initialisation, then rises again as the model overfits) on synthetic
// checkpoint series whose verdicts are known.
import test from 'node:test';
import assert from 'node:assert/strict';
import { twoPhase } from '../../src/experiments/interactions-addition.js';
import type { InteractionsCheckpoint } from '../../src/experiments/interactions-addition-result.js';

const n = 8;

/** Checkpoints at steps 0, 100, ... with these mean orders; the gap and the strength-by-order profile as given. */
function series(orders: number[], opts: { gaps?: number[]; peakOrder?: number } = {}): InteractionsCheckpoint[] {
  const peak = opts.peakOrder ?? 4;
  return orders.map((mean_order, i) => ({
    step: 100 * i, mean_order, train_loss: 1, test_loss: 1, train_answer_loss: 0.5, test_answer_loss: 0.5 + (opts.gaps?.[i] ?? 0),
    // Strength at order k (index k-1): largest at `peak`, split between positive and negative parts.
    order_strength_pos: Array.from({ length: n }, (_, k) => (k + 1 === peak ? 3 : 1)),
    order_strength_neg: Array.from({ length: n }, (_, k) => (k + 1 === peak ? 2 : 0.5)),
    salient: 10, salient_share: 0.1, matching_error: 0, jaccard: [], mean_gain: 1, checkpoint: '', seconds: 0,
  }));
}

test('two-phase: a fall then a rise is both phases, with the minimum where it is', () => {
  const v = twoPhase(series([3, 2.2, 1.5, 2.1, 2.8]), n);
  assert.deepEqual(
    { min: v.min_order_step, init: v.order_init, lo: v.order_min, end: v.order_end, p1: v.phase1, p2: v.phase2 },
    { min: 200, init: 3, lo: 1.5, end: 2.8, p1: true, p2: true },
  );
});

test('two-phase: a fall alone is phase 1 only; a rise alone is phase 2 only (the verdicts are independent); changes within 0.25 are noise', () => {
  let v = twoPhase(series([3, 2.5, 2.0]), n);
  assert.equal(v.phase1, true);
  assert.equal(v.phase2, false, 'the minimum is the last checkpoint');
  v = twoPhase(series([2, 2.5, 3]), n);
  assert.equal(v.phase1, false, 'the minimum is at initialisation');
  assert.equal(v.phase2, true, 'as documented, phase 2 is a rise after the minimum, even when the minimum is at initialisation');
  assert.equal(v.min_order_step, 0);
  v = twoPhase(series([3, 2.8, 2.9]), n);
  assert.equal(v.phase1, false, 'a fall of 0.2 is below the 0.25 threshold');
  assert.equal(v.phase2, false, 'a rise of 0.1 likewise');
  v = twoPhase(series([3, 2.7, 3.0]), n);
  assert.equal(v.phase1, true, 'a fall of 0.3 counts');
  assert.equal(v.phase2, true, 'and so does the rise of 0.3 after it');
});

test('two-phase: the generalisation gap opens at the first checkpoint where test - train answer loss exceeds 0.05', () => {
  assert.equal(twoPhase(series([3, 2, 1, 2], { gaps: [0, 0.04, 0.06, 0.2] }), n).gap_opens_step, 200);
  assert.equal(twoPhase(series([3, 2, 1], { gaps: [0, 0.01, 0.045] }), n).gap_opens_step, null);
});

test('two-phase: the spindle at init means the strongest order is a middle one, n/4 < k <= 3n/4', () => {
  const spindle = (peakOrder: number) => twoPhase(series([3, 2], { peakOrder }), n).spindle_at_init;
  assert.deepEqual([1, 2, 3, 4, 6, 7, 8].map(spindle), [false, false, true, true, true, false, false]);
});
