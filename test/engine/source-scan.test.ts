// source-scan: the numeric path must not call the implementation-approximated
// Math functions (their bits may differ between engines, versions and CPUs).
// Use src/engine/detmath.ts instead. For a non-numeric use (formatting, a
// progress estimate), put `// detmath-allow: <reason>` on the same line.

import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Directories (from the repo root) whose .ts files are scanned: every folder with numeric code. Extend as layers appear. */
const SCAN_DIRS = ['src/engine', 'assembly', 'src/codec', 'src/nn', 'src/train', 'src/data', 'src/lens', 'src/experiments', 'src/lm', 'src/sweep'];

/** Single numeric files outside those directories (none today: every numeric folder is scanned whole). */
const SCAN_FILES: string[] = [];

/** Math members whose results ECMAScript leaves implementation-approximated. */
const FORBIDDEN_MATH = [
  'exp', 'expm1', 'log', 'log2', 'log10', 'log1p', 'pow', 'cbrt', 'hypot',
  'tanh', 'sinh', 'cosh', 'asinh', 'acosh', 'atanh',
  'sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'atan2',
];

const ALLOW = /\/\/\s*detmath-allow:\s*\S/;

// ---------------------------------------------------------------- the scanner

/**
 * The source with comments, string and template text and regex literals
 * blanked out (newlines kept, so offsets map to the same line and column).
 * Template `${...}` expressions stay visible.
 */
export function codeOnly(src: string): string {
  const out = src.split('');
  const blank = (from: number, to: number): void => {
    for (let k = from; k < to; k++) if (out[k] !== '\n') out[k] = ' ';
  };
  // Stack of open template literals: the brace depth at which each ${ started.
  const templates: number[] = [];
  let braces = 0;
  let lastSignificant = '';
  let lastWord = '';
  let i = 0;
  const n = src.length;

  const scanTemplateText = (start: number): number => {
    // From just after ` or }, to the closing ` or an opening ${.
    let k = start;
    while (k < n) {
      if (src[k] === '\\') k += 2;
      else if (src[k] === '`') {
        blank(start, k);
        return k + 1;
      } else if (src[k] === '$' && src[k + 1] === '{') {
        blank(start, k);
        templates.push(braces);
        braces++;
        return k + 2;
      } else k++;
    }
    blank(start, n);
    return n;
  };

  while (i < n) {
    const c = src[i];
    const d = src[i + 1];
    if (c === '/' && d === '/') {
      const end = src.indexOf('\n', i);
      const stop = end < 0 ? n : end;
      blank(i, stop);
      i = stop;
    } else if (c === '/' && d === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end < 0 ? n : end + 2;
      blank(i, stop);
      i = stop;
    } else if (c === "'" || c === '"') {
      let k = i + 1;
      while (k < n && src[k] !== c && src[k] !== '\n') k += src[k] === '\\' ? 2 : 1;
      blank(i + 1, k);
      i = k + 1;
      lastSignificant = c;
    } else if (c === '`') {
      i = scanTemplateText(i + 1);
      lastSignificant = '`';
    } else if (c === '}' && templates.length > 0 && templates[templates.length - 1] === braces - 1) {
      templates.pop();
      braces--;
      i = scanTemplateText(i + 1);
      lastSignificant = '`';
    } else if (c === '/' && (/^[(,=:[!&|?{};+\-*%<>~^]?$/.test(lastSignificant) || /^(return|typeof|case|in|of|void|delete|throw|else|do)$/.test(lastWord))) {
      // A regex literal: skip to its closing slash (outside character classes).
      let k = i + 1;
      let inClass = false;
      while (k < n && src[k] !== '\n') {
        if (src[k] === '\\') k++;
        else if (src[k] === '[') inClass = true;
        else if (src[k] === ']') inClass = false;
        else if (src[k] === '/' && !inClass) break;
        k++;
      }
      blank(i + 1, k);
      i = k + 1;
      lastSignificant = '/';
      lastWord = '';
    } else {
      if (c === '{') braces++;
      else if (c === '}') braces--;
      if (/\s/.test(c)) {
        i++;
        continue;
      }
      if (/[A-Za-z0-9_$]/.test(c)) {
        let k = i;
        while (k < n && /[A-Za-z0-9_$]/.test(src[k])) k++;
        lastWord = src.slice(i, k);
        lastSignificant = src[k - 1];
        i = k;
        continue;
      }
      lastWord = '';
      lastSignificant = c;
      i++;
    }
  }
  return out.join('');
}

export interface Hit {
  line: number;
  column: number;
  what: string;
}

const MATH_CALL = new RegExp(`\\bMath\\s*\\.\\s*(${FORBIDDEN_MATH.join('|')})\\b`, 'g');
const MATH_INDIRECT = /\bMath\s*\[|\}\s*=\s*Math\b/g;
const POWER = /\*\*/g;
/** `2 ** <integer literal>` is exact and allowed (e.g. 2 ** 32): the left operand is the literal 2 ... */
const LEFT_IS_TWO = /(^|[^\w.$])2\s*$/;
/** ... and the right one an integer literal (so not `**=`). */
const RIGHT_IS_INT = /^\s*-?\s*\d+(?![\w.])/;

/** Forbidden uses in one file's source, by line (1-based) and column (1-based). */
export function scanSource(src: string): Hit[] {
  const code = codeOnly(src);
  const lines = src.split('\n');
  const hits: Hit[] = [];
  const lineStarts = [0];
  for (let k = 0; k < src.length; k++) if (src[k] === '\n') lineStarts.push(k + 1);
  const lineOf = (offset: number): number => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const add = (offset: number, what: string): void => {
    const li = lineOf(offset);
    if (ALLOW.test(lines[li])) return;
    hits.push({ line: li + 1, column: offset - lineStarts[li] + 1, what });
  };
  for (const m of code.matchAll(MATH_CALL)) add(m.index!, `Math.${m[1]}`);
  for (const m of code.matchAll(MATH_INDIRECT)) add(m.index!, `indirect Math access "${m[0].replace(/\s+/g, ' ')}"`);
  for (const m of code.matchAll(POWER)) {
    const at = m.index!;
    const exact = LEFT_IS_TWO.test(code.slice(Math.max(0, at - 40), at)) && RIGHT_IS_INT.test(code.slice(at + 2, at + 40));
    if (!exact) add(at, 'the ** operator (use a literal, repeated multiplication, or detmath)');
  }
  return hits.sort((a, b) => a.line - b.line || a.column - b.column);
}

// ---------------------------------------------------------------- the repository

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('source-scan: no package.json above the test file');
    dir = up;
  }
  return dir;
}

function tsFiles(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) tsFiles(p, out);
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

test('no implementation-approximated Math functions or ** in the numeric path', () => {
  const root = repoRoot();
  const dirs = SCAN_DIRS.map((d) => join(root, d)).filter((d) => existsSync(d));
  // Every listed folder must exist: a renamed folder would otherwise drop out of the scan silently.
  for (const d of SCAN_DIRS) assert.ok(existsSync(join(root, d)), `${d} is listed but missing`);
  const files = dirs.flatMap((d) => tsFiles(d, []));
  for (const f of SCAN_FILES) {
    assert.ok(existsSync(join(root, f)), `${f} is listed for scanning but missing`);
    files.push(join(root, f));
  }
  assert.ok(files.length > 0);
  const report: string[] = [];
  for (const file of files) {
    const src = readFileSync(file, 'utf8');
    for (const h of scanSource(src)) report.push(`${relative(root, file)}:${h.line}:${h.column}: ${h.what}`);
  }
  assert.equal(
    report.length,
    0,
    `forbidden in the numeric path (use src/engine/detmath.ts, or add "// detmath-allow: <reason>" for a non-numeric use):\n${report.join('\n')}`,
  );
});

// ---------------------------------------------------------------- the scanner on snippets

test('scanner: finds calls, ignores comments, strings and regexes, honours detmath-allow', () => {
  const src = [
    'const a = Math.exp(x);', // 1: hit
    '// Math.log(x) in a comment', // 2
    '/* Math.tanh(x)', // 3
    '   still a comment Math.pow */ const b = Math.sqrt(y);', // 4: sqrt is fine
    "const s = 'Math.log(1)' + \"Math.cos\";", // 5
    'const t = `Math.exp ${Math.log(z)} Math.sin`;', // 6: hit inside ${}
    'const r = /Math.exp(\\/)*/g.test(s);', // 7: regex
    'const u = Math.log(v); // detmath-allow: formatting only', // 8: allowed
    'const w = Math . log1p (v);', // 9: hit
    'const e = Math.expm1(q) + Math.exponent;', // 10: hit expm1 only
    'const p = x ** 2;', // 11: hit
    'const q = 2 ** 32 + 2 ** -10;', // 12: exact powers of two, fine
    'const k = 12 ** 3;', // 13: hit
    'y **= 3;', // 14: hit
    'const m = Math["exp"];', // 15: hit (indirect)
    'const { exp } = Math;', // 16: hit (indirect)
    'const nested = `a ${`b ${Math.tanh(c)}`} d`;', // 17: hit
    'const d = a / b / Math.atan2(y, x);', // 18: hit (division is not a regex)
    '/** 2^k via x ** y in docs */', // 19
  ].join('\n');
  const hits = scanSource(src).map((h) => `${h.line}:${h.what.split(' ')[0]}`);
  assert.deepEqual(hits, [
    '1:Math.exp',
    '6:Math.log',
    '9:Math.log1p',
    '10:Math.expm1',
    '11:the',
    '13:the',
    '14:the',
    '15:indirect',
    '16:indirect',
    '17:Math.tanh',
    '18:Math.atan2',
  ]);
});

test('scanner: blanking keeps line and column positions', () => {
  const src = "const s = 'x';\n  /* c */ Math.pow(2, 3);";
  const code = codeOnly(src);
  assert.equal(code.length, src.length);
  assert.equal(code.split('\n').length, 2);
  assert.deepEqual(scanSource(src), [{ line: 2, column: 11, what: 'Math.pow' }]);
});
