// Automatic descriptions of SAE latents on a byte-level language model, with
// no outside model: each latent is matched against simple, checkable
// properties of the token it fires on (the byte, the byte n-gram ending there,
// the byte before it, and character classes such as digit, uppercase, start
// of a line, inside a word). Its description is the property whose holding
// best predicts its firing, scored by F1 of (latent > 0) against (property
// holds) over the evaluation tokens, with precision and recall beside it.
// This is a cheap stand-in for Bills et al. (2023)'s explain-then-simulate
// score: a latent that a rule this simple predicts well is one a person can
// read off its top examples.

/** Evaluation tokens laid out as windows of T bytes: row r is position r % T of window floor(r / T). */
export interface ByteRows {
  bytes: Uint8Array;
  T: number;
}

export interface LatentDescription {
  feature: number;
  /** The property, in words: `byte 'e'`, `"th" ending here`, `after a space`, `a digit`. */
  label: string;
  f1: number;
  precision: number;
  recall: number;
  /** Fraction of evaluation tokens the latent fires on. */
  density: number;
}

const isUpper = (b: number) => b >= 65 && b <= 90;
const isLower = (b: number) => b >= 97 && b <= 122;
const isLetter = (b: number) => isUpper(b) || isLower(b);
const isDigit = (b: number) => b >= 48 && b <= 57;
const isPunct = (b: number) => (b >= 33 && b <= 47) || (b >= 58 && b <= 64) || (b >= 91 && b <= 96) || (b >= 123 && b <= 126);
const isSpace = (b: number) => b === 32 || b === 9;

/** Character classes of the byte at a position, given the byte before it (−1 at a window's start). */
const CLASSES: Array<{ name: string; holds: (cur: number, prev: number) => boolean }> = [
  { name: 'a digit', holds: (c) => isDigit(c) },
  { name: 'a space', holds: (c) => isSpace(c) },
  { name: 'a newline', holds: (c) => c === 10 },
  { name: 'an uppercase letter', holds: (c) => isUpper(c) },
  { name: 'a lowercase letter', holds: (c) => isLower(c) },
  { name: 'a letter', holds: (c) => isLetter(c) },
  { name: 'punctuation', holds: (c) => isPunct(c) },
  { name: 'inside a word (a letter after a letter)', holds: (c, p) => isLetter(c) && p >= 0 && isLetter(p) },
  { name: 'the first letter of a word', holds: (c, p) => isLetter(c) && p >= 0 && !isLetter(p) },
  { name: 'after a space', holds: (_c, p) => p >= 0 && isSpace(p) },
  { name: 'after punctuation', holds: (_c, p) => p >= 0 && isPunct(p) },
  { name: 'after a digit', holds: (_c, p) => p >= 0 && isDigit(p) },
];

// Property keys are numbers: [0, 256) the byte; [256, 512) the byte before;
// then bigrams, trigrams and the classes, in disjoint ranges.
const PREV = 256;
const START_OF_LINE = 'the start of a line (the byte after a newline)';
const BI = 512;
const TRI = BI + 65536;
const CLASS = TRI + (1 << 24);

/** A byte as a reader sees it in a label: printable ASCII as itself, the rest escaped. */
export function byteLabel(b: number): string {
  if (b === 10) return '\\n';
  if (b === 9) return '\\t';
  if (b === 32) return '␣';
  if (b > 32 && b < 127) return String.fromCharCode(b);
  return `\\x${b.toString(16).padStart(2, '0')}`;
}

function keyName(k: number): string {
  if (k < PREV) return `byte '${byteLabel(k)}'`;
  // "After a newline" is the start of a line, the class the reader looks for.
  if (k === PREV + 10) return START_OF_LINE;
  if (k < BI) return `after '${byteLabel(k - PREV)}'`;
  if (k < TRI) {
    const v = k - BI;
    return `"${byteLabel(v >> 8)}${byteLabel(v & 255)}" ending here`;
  }
  if (k < CLASS) {
    const v = k - TRI;
    return `"${byteLabel(v >> 16)}${byteLabel((v >> 8) & 255)}${byteLabel(v & 255)}" ending here`;
  }
  return CLASSES[k - CLASS].name;
}

/** Every property key that holds at row r, in a fixed order. */
function keysAt(rows: ByteRows, r: number, out: number[]): void {
  out.length = 0;
  const { bytes, T } = rows;
  const pos = r % T;
  const c = bytes[r];
  const p = pos >= 1 ? bytes[r - 1] : -1;
  const p2 = pos >= 2 ? bytes[r - 2] : -1;
  out.push(c);
  if (p >= 0) out.push(PREV + p, BI + ((p << 8) | c));
  if (p2 >= 0) out.push(TRI + ((p2 << 16) | (p << 8) | c));
  for (let j = 0; j < CLASSES.length; j++) if (CLASSES[j].holds(c, p)) out.push(CLASS + j);
}

/** Names of every property the describer considers at row r (for tests and for steering checks). */
export function propertiesAt(rows: ByteRows, r: number): string[] {
  const keys: number[] = [];
  keysAt(rows, r, keys);
  return keys.map(keyName);
}

/** Whether the property named `label` holds at row r. */
export function holdsAt(rows: ByteRows, r: number, label: string): boolean {
  return propertiesAt(rows, r).includes(label);
}

/**
 * The best description of every latent that fires on at least minCount
 * tokens, from codes z [N, n] of the
 * N rows (N = rows.bytes.length). Ties in F1 go to the property with the
 * smaller key (byte before n-gram before class), so the result is
 * deterministic. Sorted best first.
 */
export function describeLatents(z: Float32Array, n: number, rows: ByteRows, opts: { minCount?: number } = {}): LatentDescription[] {
  // A property seen once, on the one token a latent fires on, would score F1 = 1
  // and say nothing: properties must hold, and latents fire, on minCount tokens.
  const minCount = opts.minCount ?? 10;
  const N = rows.bytes.length;
  if (z.length !== N * n) throw new Error(`describeLatents: codes have ${z.length} values, expected ${N} rows × ${n} latents`);
  if (!Number.isInteger(rows.T) || rows.T < 1) throw new Error(`describeLatents: window length must be a positive integer, got ${rows.T}`);
  // How often each property holds, and the rows each latent fires on.
  const holds = new Map<number, number>();
  const rowKeys: number[][] = [];
  const keys: number[] = [];
  for (let r = 0; r < N; r++) {
    keysAt(rows, r, keys);
    rowKeys.push(keys.slice());
    for (const k of keys) holds.set(k, (holds.get(k) ?? 0) + 1);
  }
  const fires: number[][] = Array.from({ length: n }, () => []);
  for (let r = 0; r < N; r++) {
    const o = r * n;
    for (let i = 0; i < n; i++) if (z[o + i] > 0) fires[i].push(r);
  }
  const out: LatentDescription[] = [];
  const hits = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const f = fires[i];
    if (f.length < minCount || f.length === 0) continue;
    hits.clear();
    for (const r of f) for (const k of rowKeys[r]) hits.set(k, (hits.get(k) ?? 0) + 1);
    let best = -1, bestF1 = -1, bestH = 0;
    for (const [k, h] of hits) {
      if (holds.get(k)! < minCount) continue;
      // F1 = 2·TP / (fires + holds).
      const f1 = (2 * h) / (f.length + holds.get(k)!);
      if (f1 > bestF1 || (f1 === bestF1 && k < best)) {
        best = k;
        bestF1 = f1;
        bestH = h;
      }
    }
    if (best < 0) continue;
    out.push({ feature: i, label: keyName(best), f1: bestF1, precision: bestH / f.length, recall: bestH / holds.get(best)!, density: f.length / N });
  }
  return out.sort((a, b) => b.f1 - a.f1 || a.feature - b.feature);
}

/** How many descriptions reach each F1 threshold. */
export function countInterpretable(descs: readonly LatentDescription[], thresholds: readonly number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of thresholds) out[`f1_${t.toFixed(2)}`] = descs.filter((d) => d.f1 >= t).length;
  return out;
}
