// The addition task's tokens: the 14-symbol vocabulary, the layout of the
// sequence s a + b = c e (3k+5 tokens, predicted shifted by one), problems
// as token ids and batches, and parsing a problem a user types. Integer and
// string work only.

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

/** Throws unless k is a whole number of digits from 1 to MAX_DIGITS. */
export function checkDigits(k: number): void {
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

// ---------------------------------------------------------------- edge digits

/**
 * The digits of edge problems. Uniform random problems almost never show long
 * runs of zeros or 5+5 with nothing around it, so a model can ace the held-out
 * set and still write 000+000=0010. Drawing every digit from these five gives
 * runs of zeros, ripples of nines, 4+5 = 9 and 5+5 = 10 - the carry edge cases'
 * ingredients - without ever drawing the reserved carry cases themselves.
 */
export const EDGE_DIGITS: readonly number[] = Object.freeze([0, 1, 4, 5, 9]);

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
