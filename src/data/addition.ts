// The addition task (after the minGPT lab of github.com/yulundu/compression):
// k-digit addition written as a token sequence,
//
//   s a_1 .. a_k + b_1 .. b_k = c_1 .. c_{k+1} e        (3k+5 tokens)
//
// with c = a + b zero-padded to k+1 digits. A model sees the sequence shifted
// by one (3k+4 inputs, 3k+4 targets). Only the 2k operand digits are random;
// every other target is a function of what came before, so a model that has
// learned addition pays ln10 nats at each operand digit and nothing elsewhere.
// That is the loss floor, and the gap above it is what is left to learn.
//
// Everything here is integer work: digits are drawn one at a time with
// `rng.int(10)` and summed with a carry, so no float ever enters the data.

import {
  encodeBatch, promptString, answerString, checkDigits, predictedLength, EDGE_DIGITS,
  type AnswerOrder, type FirstDigit, type Problem, type Batch,
} from './addition-tokens.js';

// The task's vocabulary and layout, and its floors, live beside it; this
// module re-exports them so `data/addition.js` is the task's one entry.
export * from './addition-tokens.js';
export * from './addition-floors.js';

// ---------------------------------------------------------------- randomness

/** All the task needs from a random generator: a uniform integer in [0, n). */
export interface IntRng {
  int(n: number): number;
}

/**
 * A small seeded generator (xorshift128, Marsaglia 2003) so the data has a
 * specified stream of its own. Any object with `int(n)`, such as the engine's
 * Rng, can be passed in its place.
 */
export class XorShift128 implements IntRng {
  private x: number;
  private y: number;
  private z: number;
  private w: number;

  constructor(seed: number, stream = 0) {
    // Fill the state with splitmix32 outputs of (seed, stream); never all zero.
    let s = (Math.trunc(seed) ^ Math.imul(stream | 0, 0x9e3779b1)) >>> 0;
    // Seeds above 2^32 keep their high bits.
    s = (s ^ (Math.floor(Math.abs(seed) / 4294967296) >>> 0)) >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let t = s;
      t = Math.imul(t ^ (t >>> 16), 0x21f0aaad);
      t = Math.imul(t ^ (t >>> 15), 0x735a2d97);
      return (t ^ (t >>> 15)) >>> 0;
    };
    this.x = next();
    this.y = next();
    this.z = next();
    this.w = next() | 1;
  }

  nextU32(): number {
    const t = this.x ^ (this.x << 11);
    this.x = this.y;
    this.y = this.z;
    this.z = this.w;
    this.w = (this.w ^ (this.w >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    return this.w;
  }

  /** Uniform integer in [0, n), n from 1 to 2^32, without modulo bias. */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 4294967296) throw new Error(`int(n) needs an integer n in 1..2^32, got ${n}`);
    const limit = 4294967296 - (4294967296 % n); // accept draws below a multiple of n
    for (;;) {
      const u = this.nextU32();
      if (u < limit) return u % n;
    }
  }
}

/** Draws one k-digit operand digit by digit. */
export function drawOperand(rng: IntRng, k: number, firstDigit: FirstDigit): number {
  let n = firstDigit === 'nonzero' ? 1 + rng.int(9) : rng.int(10);
  for (let i = 1; i < k; i++) n = n * 10 + rng.int(10);
  return n;
}

/** A set of (a, b) pairs. a·10^k + b overflows 2^53 at k = 8, so the key is nested. */
class ProblemSet {
  private readonly byA = new Map<number, Set<number>>();
  size = 0;

  add(p: Problem): boolean {
    let bs = this.byA.get(p.a);
    if (!bs) this.byA.set(p.a, (bs = new Set()));
    if (bs.has(p.b)) return false;
    bs.add(p.b);
    this.size++;
    return true;
  }

  has(a: number, b: number): boolean {
    return this.byA.get(a)?.has(b) ?? false;
  }
}

// ---------------------------------------------------------------- carry cases

export interface CarryCase extends Problem {
  /** What the case tests. */
  name: string;
  /** "a+b=" with zero-padded operands. */
  problem: string;
  /** The answer as written in the sequence (k+1 digits, reversed for lsf). */
  expected: string;
}

/**
 * Edge cases for carries, all distinct: the four classic ones (99..9 + 00..01,
 * 99..9 + 99..9, 00..0 + 00..0, 50..0 + 50..0) and a few telling others.
 */
export function allCarryCases(k: number, order: AnswerOrder = 'msf'): CarryCase[] {
  checkDigits(k);
  const rep = (d: string, n: number) => d.repeat(Math.max(0, n));
  const num = (s: string) => Number(s);
  const nines = rep('9', k);
  const one = rep('0', k - 1) + '1';
  // 12..k digit pattern and its nines complement: sums to 9 at every digit, no carry at all.
  const pattern = Array.from({ length: k }, (_, i) => String((i + 1) % 10)).join('');
  const complement = Array.from(pattern, (d) => String(9 - Number(d))).join('');
  const cases: Array<[string, string, string]> = [
    ['99..9 + 00..01: a carry rippling through every digit', nines, one],
    ['99..9 + 99..9: the largest sum, a carry out of every digit', nines, nines],
    ['00..0 + 00..0: zero', rep('0', k), rep('0', k)],
    ['50..0 + 50..0: a single carry into the top digit', '5' + rep('0', k - 1), '5' + rep('0', k - 1)],
    ['00..01 + 99..9: the ripple with the operands swapped', one, nines],
    ['49..9 + 50..01: a ripple that also carries out', '4' + rep('9', k - 1), k > 1 ? '5' + rep('0', k - 2) + '1' : '6'],
    ['09..9 + 00..01: a ripple that stops one digit short of the top', '0' + rep('9', k - 1), one],
    ['12..k + its nines complement: every digit sums to 9, no carry', pattern, complement],
    ['99..9 + 00..0: nines and no carry', nines, rep('0', k)],
    ['5050.. + 5050..: carries that start and stop at every other digit', altDigits(k, '5', '0'), altDigits(k, '5', '0')],
  ];
  const seen = new ProblemSet();
  const out: CarryCase[] = [];
  for (const [name, as, bs] of cases) {
    const p = { a: num(as), b: num(bs) };
    if (!seen.add(p)) continue; // small k folds some cases together
    out.push({ name, ...p, problem: promptString(p, k), expected: answerString(p, k, order) });
  }
  return out;
}

function altDigits(k: number, even: string, odd: string): string {
  let s = '';
  for (let i = 0; i < k; i++) s += i % 2 === 0 ? even : odd;
  return s;
}

// -------------------------------------------------------------------- the task

export interface AdditionTaskOptions {
  digits: number;
  answerOrder?: AnswerOrder;
  firstDigit?: FirstDigit;
  /** Seeds the training stream (when trainBatch gets no rng). */
  seed?: number;
  /**
   * Seeds the held-out set. Fixed by default, so runs with different training
   * seeds are scored on the same problems.
   */
  heldOutSeed?: number;
  /** At most 10,000; capped at a tenth of all possible problems for small k. */
  heldOutSize?: number;
  /**
   * Share of training problems drawn as edge problems (see EDGE_DIGITS); 0, the
   * default, is the pure uniform stream.
   */
  edgeMix?: number;
}

/** 2^20: edge-mix decisions compare an integer draw against round(edgeMix·2^20), so no float enters the data. */
const EDGE_SCALE = 1 << 20;

/** Draws one k-digit operand with every digit from EDGE_DIGITS (the first from its non-zero ones when firstDigit is 'nonzero'). */
export function drawEdgeOperand(rng: IntRng, k: number, firstDigit: FirstDigit): number {
  const lead = firstDigit === 'nonzero' ? EDGE_DIGITS.filter((d) => d !== 0) : EDGE_DIGITS;
  let n = lead[rng.int(lead.length)];
  for (let i = 1; i < k; i++) n = n * 10 + EDGE_DIGITS[rng.int(EDGE_DIGITS.length)];
  return n;
}

export const HELD_OUT_SIZE = 10_000;
export const DEFAULT_HELD_OUT_SEED = 0x5eed001;

/**
 * Fresh seeded addition problems for training, and a fixed held-out set that
 * training never draws: a training problem that hits the held-out set (or a
 * carry case) is rejected and redrawn.
 */
export class AdditionTask {
  readonly digits: number;
  readonly answerOrder: AnswerOrder;
  readonly firstDigit: FirstDigit;
  readonly seed: number;
  /** Context length: 3k+4 inputs and 3k+4 targets per problem. */
  readonly T: number;
  /** The held-out problems, in a fixed order. */
  readonly heldOut: readonly Problem[];
  /** The carry edge cases, also kept out of training. */
  readonly carryCases: readonly CarryCase[];
  /** Training problems drawn so far that were rejected for being reserved (held out or a carry case). */
  rejected = 0;

  private readonly heldOutSet = new ProblemSet();
  private readonly reserved = new ProblemSet();
  private readonly trainRng: IntRng;
  /** Edge problems per 2^20 training problems. */
  private readonly edgeThreshold: number;
  readonly edgeMix: number;

  constructor(opts: AdditionTaskOptions) {
    checkDigits(opts.digits);
    this.digits = opts.digits;
    this.answerOrder = opts.answerOrder ?? 'msf';
    this.firstDigit = opts.firstDigit ?? 'uniform';
    if (this.answerOrder !== 'msf' && this.answerOrder !== 'lsf') throw new Error(`answerOrder must be 'msf' or 'lsf', got ${String(this.answerOrder)}`);
    if (this.firstDigit !== 'uniform' && this.firstDigit !== 'nonzero') throw new Error(`firstDigit must be 'uniform' or 'nonzero', got ${String(this.firstDigit)}`);
    this.seed = opts.seed ?? 0;
    this.T = predictedLength(this.digits);
    this.trainRng = new XorShift128(this.seed, 1);
    const mix = opts.edgeMix ?? 0;
    if (!(mix >= 0 && mix <= 1)) throw new Error(`edgeMix must be in [0, 1], got ${String(opts.edgeMix)}`);
    this.edgeThreshold = Math.round(mix * EDGE_SCALE);
    this.edgeMix = this.edgeThreshold / EDGE_SCALE; // the share actually drawn

    const k = this.digits;
    let operands = this.firstDigit === 'nonzero' ? 9 : 10; // how many k-digit operands there are
    for (let i = 1; i < k; i++) operands *= 10;
    const space = operands * operands;
    const want = Math.min(opts.heldOutSize ?? HELD_OUT_SIZE, HELD_OUT_SIZE, Math.floor(space / 10));
    const rng = new XorShift128(opts.heldOutSeed ?? DEFAULT_HELD_OUT_SEED, 2);
    const heldOut: Problem[] = [];
    while (heldOut.length < want) {
      const p = { a: drawOperand(rng, k, this.firstDigit), b: drawOperand(rng, k, this.firstDigit) };
      if (this.heldOutSet.add(p)) heldOut.push(p);
    }
    this.heldOut = Object.freeze(heldOut);
    this.carryCases = Object.freeze(allCarryCases(k, this.answerOrder));
    for (const p of heldOut) this.reserved.add(p);
    for (const p of this.carryCases) this.reserved.add(p);
  }

  /** Is (a, b) in the held-out set? */
  isHeldOut(a: number, b: number): boolean {
    return this.heldOutSet.has(a, b);
  }

  /** Is (a, b) kept out of training (held out, or a carry case)? */
  isReserved(a: number, b: number): boolean {
    return this.reserved.has(a, b);
  }

  /** One fresh training problem; reserved problems are redrawn. */
  nextProblem(rng: IntRng = this.trainRng): Problem {
    for (;;) {
      // No extra draw when there is no mix, so the uniform stream is unchanged.
      const edge = this.edgeThreshold > 0 && rng.int(EDGE_SCALE) < this.edgeThreshold;
      const draw = edge ? drawEdgeOperand : drawOperand;
      const a = draw(rng, this.digits, this.firstDigit);
      const b = draw(rng, this.digits, this.firstDigit);
      if (!this.reserved.has(a, b)) return { a, b };
      this.rejected++;
    }
  }

  /** `batchSize` fresh training problems. */
  trainProblems(batchSize: number, rng: IntRng = this.trainRng): Problem[] {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batch size must be a positive integer, got ${batchSize}`);
    const out: Problem[] = new Array(batchSize);
    for (let i = 0; i < batchSize; i++) out[i] = this.nextProblem(rng);
    return out;
  }

  /** A training batch: inputs and targets [batchSize*T], from the task's own stream unless an rng is given. */
  trainBatch(batchSize: number, rng: IntRng = this.trainRng): Batch {
    return encodeBatch(this.trainProblems(batchSize, rng), this.digits, this.answerOrder);
  }

  /** Held-out problems [start, start+count) as a batch, for evaluation. */
  heldOutBatch(start = 0, count = this.heldOut.length - start): Batch {
    return encodeBatch(this.heldOut.slice(start, start + count), this.digits, this.answerOrder);
  }

  /** The carry cases as a batch. */
  carryBatch(): Batch {
    return encodeBatch(this.carryCases, this.digits, this.answerOrder);
  }
}
