// The addition task's floors: what no model can compress. Only the 2k operand
// digits are random, so a model that has learned addition pays ln 10 nats at
// each of them (ln 9 at a first digit drawn from 1-9) and nothing elsewhere.
// The logarithms are literals (src/engine/constants.ts) or detmath, so the
// floors are the same bits everywhere.

import { log2 as detLog2 } from '../engine/detmath.js';
import { LN10, LN9, LOG2_10, LOG2_9, LOG2_14 } from '../engine/constants.js';
import { checkDigits, predictedLength, targetPositions, EDGE_DIGITS, type FirstDigit } from './addition-tokens.js';

// Re-exported: the constants the floors are made of.
export { LN10, LN9, LOG2_10, LOG2_9, LOG2_14 };

/**
 * The irreducible loss at each predicted position, in nats: ln10 at an operand
 * digit (ln9 at an operand's first digit when it is drawn from 1-9), 0 elsewhere.
 */
export function perPositionFloor(k: number, firstDigit: FirstDigit = 'uniform'): Float64Array {
  const out = new Float64Array(predictedLength(k));
  for (const p of targetPositions(k)) {
    if (p.kind !== 'operand') continue;
    const first = p.target === 'a1' || p.target === 'b1';
    out[p.position] = first && firstDigit === 'nonzero' ? LN9 : LN10;
  }
  return out;
}

/**
 * The loss floor in nats per predicted token.
 * uniform: 2k·ln10/(3k+4) (1.3157 for k = 8); nonzero: (2(k-1)·ln10 + 2·ln9)/(3k+4) (1.3082 for k = 8).
 */
export function lossFloor(k: number, firstDigit: FirstDigit = 'uniform'): number {
  checkDigits(k);
  const nats = firstDigit === 'nonzero' ? 2 * (k - 1) * LN10 + 2 * LN9 : 2 * k * LN10;
  return nats / predictedLength(k);
}

/** The floor in bits per problem: the entropy of the two operands (53.15 for k = 8, uniform). */
export function floorBitsPerProblem(k: number, firstDigit: FirstDigit = 'uniform'): number {
  checkDigits(k);
  return firstDigit === 'nonzero' ? 2 * (k - 1) * LOG2_10 + 2 * LOG2_9 : 2 * k * LOG2_10;
}

/**
 * The entropy, in bits per problem, of a training stream that mixes uniform
 * problems with a share q of edge problems: the floor its prequential code
 * length can approach. With q = 0 it is floorBitsPerProblem.
 *
 * A problem made only of edge digits (M of the N possible pairs) has
 * probability (1-q)/N + q/M; any other has (1-q)/N. The logs are taken of
 * factored forms so nothing underflows at N = 10^16.
 */
export function streamFloorBitsPerProblem(k: number, firstDigit: FirstDigit = 'uniform', edgeMix = 0): number {
  const base = floorBitsPerProblem(k, firstDigit); // log2 N
  const q = edgeMix;
  if (!(q >= 0 && q <= 1)) throw new Error(`edge mix must be in [0, 1], got ${q}`);
  if (q === 0) return base;
  const leadEdge = firstDigit === 'nonzero' ? EDGE_DIGITS.length - 1 : EDGE_DIGITS.length;
  const log2M = 2 * (detLog2(leadEdge) + (k - 1) * detLog2(EDGE_DIGITS.length));
  let perOperand = leadEdge / (firstDigit === 'nonzero' ? 9 : 10);
  for (let i = 1; i < k; i++) perOperand *= EDGE_DIGITS.length / 10;
  const mOverN = perOperand * perOperand; // M/N by products, no pow
  // Edge pairs together: M·P_s = q(1 + r), r = (1-q)M/(qN); log2 P_s = log2 q - log2 M + log2(1 + r).
  const r = ((1 - q) * mOverN) / q;
  const edgePart = -q * (1 + r) * (detLog2(q) - log2M + detLog2(1 + r));
  const otherPart = q === 1 ? 0 : -(1 - q) * (1 - mOverN) * (detLog2(1 - q) - base);
  return edgePart + otherPart;
}
