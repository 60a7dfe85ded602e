// trainLoop, trainClassifier and textLens are async (they let the event loop
// turn between steps, so that Ctrl-C reaches them). A call that is neither
// awaited nor returned still compiles when its value is unused, and then
// trains in the background after its caller has gone on: this scan refuses it.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../skip.js';

const ASYNC_TRAINERS = ['trainLoop', 'trainClassifier', 'textLens', 'trainTaskModel'];

function tsFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) tsFiles(p, out);
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Lines calling one of the async trainers without await or return in front. */
export function floatingCalls(source: string): string[] {
  const bad: string[] = [];
  const call = new RegExp(`(^|[^\\w.$])(${ASYNC_TRAINERS.join('|')})\\(`, 'g');
  source.split('\n').forEach((line, i) => {
    const code = line.replace(/\/\/.*$/, '');
    for (const m of code.matchAll(call)) {
      const before = code.slice(0, m.index! + m[1].length);
      if (/\b(await|return)\s*$/.test(before) || /\bfunction\s*$/.test(before) || /=>\s*$/.test(before)) continue;
      bad.push(`${i + 1}: ${line.trim()}`);
    }
  });
  return bad;
}

test('the scan sees a floating call and accepts awaited, returned and declared ones', () => {
  assert.deepEqual(floatingCalls('  trainLoop({ steps });'), ['1: trainLoop({ steps });']);
  assert.deepEqual(floatingCalls('  const r = trainClassifier(m);'), ['1: const r = trainClassifier(m);']);
  assert.deepEqual(floatingCalls('const r = await trainLoop({});\nreturn textLens(p);\nexport async function trainLoop(o) {\nconst f = () => trainLoop(o);\nx.trainLoop(1);'), []);
});

test('every call of an async trainer in src/, bench/ and test/ is awaited or returned', () => {
  const root = repoRoot();
  const offenders: string[] = [];
  for (const dir of ['src', 'bench', 'test']) {
    for (const f of tsFiles(join(root, dir))) {
      if (f.endsWith('await-scan.test.ts')) continue;
      for (const b of floatingCalls(readFileSync(f, 'utf8'))) offenders.push(`${f.slice(root.length + 1)}:${b}`);
    }
  }
  assert.deepEqual(offenders, []);
});
