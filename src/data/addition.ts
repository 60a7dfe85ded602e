// The addition task (after the minGPT lab of github.com/yulundu/compression): k-digit addition written as a token sequence,
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

import { log2 as detLog2 } from '../engine/detmath.js';
import { LN10, LN9, LOG2_10, LOG2_9, LOG2_14 } from '../engine/constants.js';

// ---------------------------------------------------------------- vocabulary

/** The 14 symbols; a token id is the index of its symbol. */
export const VOCAB: readonly string[] = Object.freeze([
  '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 's', 'e', '+', '=',
]);
export const VOCAB_SIZE = 14;
export const TOKEN_START = 10; // 's'
export const TOKEN_END = 11; // 'e'
export const TOKEN_PLUS = 12; // '+'
export const TOKEN_EQUALS = 13; // '='

const CHAR_TO_ID: ReadonlyMap<string, number> = new Map(VOCAB.map((ch, id) => [ch, id]));

/** Token ids of a string over the vocabulary; throws on any other character. */
export function encode(str: string): Int32Array {
  const out = new Int32Array(str.length);
  for (let i = 0; i < str.length; i++) {
    const id = CHAR_TO_ID.get(str[i]!);
    if (id === undefined) {
      throw new Error(`cannot encode ${JSON.stringify(str[i])} at index ${i} of ${JSON.stringify(str)}: the vocabulary is ${VOCAB.join('')}`);
    }
    out[i] = id;
  }
  return out;
}

/** The string of a sequence of token ids; throws on an id outside 0..13. */
export function decode(ids: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < ids.length; i++) {
    const sym = VOCAB[ids[i]!];
    if (sym === undefined) throw new Error(`cannot decode token id ${ids[i]} at index ${i}: ids run 0..${VOCAB_SIZE - 1}`);
    s += sym;
  }
  return s;
}

// ------------------------------------------------------------------- options

/** 'msf': answer most-significant digit first, as in the seed. 'lsf': reversed. */
export type AnswerOrder = 'msf' | 'lsf';
/** 'uniform': every operand digit 0-9. 'nonzero': the first digit of each operand 1-9 (the minGPT reference lab's code). */
export type FirstDigit = 'uniform' | 'nonzero';

/** Largest k: a and b stay exact integers (and their sum too) in a double. */
export const MAX_DIGITS = 15;

function checkDigits(k: number): void {
  if (!Number.isInteger(k) || k < 1 || k > MAX_DIGITS) {
    throw new Error(`digits must be an integer from 1 to ${MAX_DIGITS}, got ${k}`);
  }
}

// ------------------------------------------------------------------- layout

/** Tokens in a full sequence: s, k, +, k, =, k+1, e. */
export function sequenceLength(k: number): number {
  return 3 * k + 5;
}

/** Predicted positions (= model context length T): the sequence shifted by one. */
export function predictedLength(k: number): number {
  return 3 * k + 4;
}

/** Tokens a model is given before it must produce the answer: "s a + b =". */
export function promptLength(k: number): number {
  return 2 * k + 3;
}

export type PositionKind = 'operand' | 'operator' | 'answer' | 'end';

export interface PositionInfo {
  /** Index into the target vector (0 .. 3k+3); it predicts sequence index position+1. */
  position: number;
  /** 'a1'..'ak', '+', 'b1'..'bk', '=', 'c1'..'c(k+1)', 'e'. Answer digits are numbered in the order they are written. */
  target: string;
  kind: PositionKind;
}

/** What each of the 3k+4 predicted positions predicts. */
export function targetPositions(k: number): PositionInfo[] {
  checkDigits(k);
  const out: PositionInfo[] = [];
  const push = (target: string, kind: PositionKind) => out.push({ position: out.length, target, kind });
  for (let i = 1; i <= k; i++) push(`a${i}`, 'operand');
  push('+', 'operator');
  for (let i = 1; i <= k; i++) push(`b${i}`, 'operand');
  push('=', 'operator');
  for (let i = 1; i <= k + 1; i++) push(`c${i}`, 'answer');
  push('e', 'end');
  return out;
}

// ------------------------------------------------------------------- floors

// ln 10, ln 9, log2 10, log2 9 and log2 14 are literals (src/engine/constants.ts):
// the data path computes no logarithms. Re-exported as part of the task's floors.
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

// ------------------------------------------------------------------ problems

/** One problem: operands as exact integers (k ≤ 15 keeps them exact). */
export interface Problem {
  a: number;
  b: number;
}

/** A k-digit zero-padded decimal string of n. */
export function padDigits(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** The answer as written in the sequence: k+1 digits, reversed for 'lsf'. */
export function answerString(p: Problem, k: number, order: AnswerOrder = 'msf'): string {
  const c = padDigits(p.a + p.b, k + 1);
  return order === 'lsf' ? reverse(c) : c;
}

/** "a+b=" with zero-padded k-digit operands, the form `parseProblem` accepts. */
export function promptString(p: Problem, k: number): string {
  return `${padDigits(p.a, k)}+${padDigits(p.b, k)}=`;
}

/** The full sequence as text, e.g. "s1234+8765=09999e". */
export function sequenceString(p: Problem, k: number, order: AnswerOrder = 'msf'): string {
  return `s${promptString(p, k)}${answerString(p, k, order)}e`;
}

function reverse(s: string): string {
  let r = '';
  for (let i = s.length - 1; i >= 0; i--) r += s[i];
  return r;
}

/**
 * Writes the 3k+5 token ids of a problem into `out` at `offset`. Digits come
 * from the decimal strings and the answer from integer addition, so the
 * layout is the one `sequenceString` shows.
 */
export function encodeProblemInto(p: Problem, k: number, order: AnswerOrder, out: Int32Array, offset: number): void {
  const text = sequenceString(p, k, order);
  for (let i = 0; i < text.length; i++) out[offset + i] = CHAR_TO_ID.get(text[i]!)!;
}

/** The 3k+5 token ids of one problem. */
export function encodeProblem(p: Problem, k: number, order: AnswerOrder = 'msf'): Int32Array {
  const out = new Int32Array(sequenceLength(k));
  encodeProblemInto(p, k, order, out, 0);
  return out;
}

/** A batch of problems as model inputs and next-token targets, each [B*T] with T = 3k+4. */
export interface Batch {
  inputs: Int32Array;
  targets: Int32Array;
  T: number;
}

export function encodeBatch(problems: readonly Problem[], k: number, order: AnswerOrder = 'msf'): Batch {
  checkDigits(k);
  const L = sequenceLength(k);
  const T = L - 1;
  const B = problems.length;
  const inputs = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  const seq = new Int32Array(L);
  for (let i = 0; i < B; i++) {
    encodeProblemInto(problems[i]!, k, order, seq, 0);
    inputs.set(seq.subarray(0, T), i * T);
    targets.set(seq.subarray(1, L), i * T);
  }
  return { inputs, targets, T };
}

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

/**
 * The digits of edge problems. Uniform random problems almost never show long
 * runs of zeros or 5+5 with nothing around it, so a model can ace the held-out
 * set and still write 000+000=0010. Drawing every digit from these five gives
 * runs of zeros, ripples of nines, 4+5 = 9 and 5+5 = 10 - the carry edge cases'
 * ingredients - without ever drawing the reserved carry cases themselves.
 */
export const EDGE_DIGITS: readonly number[] = Object.freeze([0, 1, 4, 5, 9]);

/** 2^20: edge-mix decisions compare an integer draw against round(edgeMix·2^20), so no float enters the data. */
const EDGE_SCALE = 1 << 20;

/** Draws one k-digit operand with every digit from EDGE_DIGITS (the first from its non-zero ones when firstDigit is 'nonzero'). */
export function drawEdgeOperand(rng: IntRng, k: number, firstDigit: FirstDigit): number {
  const lead = firstDigit === 'nonzero' ? EDGE_DIGITS.filter((d) => d !== 0) : EDGE_DIGITS;
  let n = lead[rng.int(lead.length)];
  for (let i = 1; i < k; i++) n = n * 10 + EDGE_DIGITS[rng.int(EDGE_DIGITS.length)];
  return n;
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

// ---------------------------------------------------------------- parse input

export interface ParsedProblem extends Problem {
  /** The prompt's token ids: s a + b = (2k+3 tokens). */
  prompt: Int32Array;
}

function exampleProblem(k: number): string {
  let a = '';
  let b = '';
  for (let i = 0; i < k; i++) {
    a += String((i + 1) % 10);
    b += String((18 - i) % 10);
  }
  return `${a}+${b}=`;
}

/**
 * Parses "12345678+87654321=" (a leading 's' and surrounding spaces are allowed,
 * the '=' may be left off). Both operands must have exactly k digits.
 */
export function parseProblem(str: string, k: number): ParsedProblem {
  checkDigits(k);
  const fail = (why: string): never => {
    throw new Error(`expected ${k}-digit operands like ${exampleProblem(k)}, got ${JSON.stringify(str)} (${why})`);
  };
  if (typeof str !== 'string') fail('not a string');
  let s = str.trim();
  if (s.startsWith('s')) s = s.slice(1);
  if (s.endsWith('=')) s = s.slice(0, -1);
  const m = /^([0-9]*)\+([0-9]*)$/.exec(s);
  if (!m) {
    const bad = /[^0-9+]/.exec(s);
    if (bad) fail(`unexpected character ${JSON.stringify(bad[0])}`);
    return fail("it needs exactly one '+' between the operands");
  }
  const [, as, bs] = m as unknown as [string, string, string];
  if (as.length !== k) fail(`the first operand has ${as.length} digits`);
  if (bs.length !== k) fail(`the second operand has ${bs.length} digits`);
  const p = { a: Number(as), b: Number(bs) };
  return { ...p, prompt: encode(`s${as}+${bs}=`) };
}
