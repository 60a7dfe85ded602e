// The README's "Use it from TypeScript" example, run exactly as written
// (only the import path points at this build), then checked: both round
// trips are byte-exact and the compressed forms are smaller than the input.

import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..'); // dist/test/codec -> the repository
const HEADING = '### Use it from TypeScript';

/** The first ```ts block after the heading. */
function example(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const at = readme.indexOf(HEADING);
  assert.ok(at >= 0, `README has no "${HEADING}" section`);
  const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(block, `no ts block under "${HEADING}"`);
  return block[1];
}

test('the README library example compresses and restores byte for byte, smaller than the input', () => {
  const code = example();
  assert.match(code, /from 'glassbox'/);
  const index = pathToFileURL(join(root, 'dist/src/index.js')).href;
  // After the example, report what it made; the names are the example's own.
  const report = `
import { readFileSync as readBack } from 'node:fs';
const file = readBack(join(dir, 'tale.txt.gbx'));
const back = readBack(join(dir, 'tale.restored.txt'));
console.log('REPORT ' + JSON.stringify({
  dir,
  input: Buffer.from(input).toString('base64'),
  packed: Buffer.from(packed).toString('base64'),
  unpacked: Buffer.from(unpacked).toString('base64'),
  file: file.toString('base64'),
  restored: back.toString('base64'),
  stats,
}));
`;
  const scratch = mkdtempSync(join(tmpdir(), 'gb-readme-codec-'));
  let made = '';
  try {
    const file = join(scratch, 'example.mjs');
    writeFileSync(file, code.replace(/from 'glassbox'/g, `from '${index}'`) + report);
    const r = spawnSync(process.execPath, [file], { encoding: 'utf8', cwd: scratch });
    assert.equal(r.status, 0, r.stderr);
    const line = r.stdout.split('\n').find((l) => l.startsWith('REPORT '));
    assert.ok(line, `no report in ${r.stdout}`);
    const got = JSON.parse(line.slice(7));
    made = got.dir;
    const bytes = (k: string) => Buffer.from(got[k], 'base64');
    const input = bytes('input');
    assert.ok(input.length > 1000);
    assert.deepEqual(bytes('unpacked'), input, 'decompressBuffer(compressBuffer(x)) is not x');
    assert.deepEqual(bytes('restored'), input, 'the streamed round trip is not byte-exact');
    assert.ok(bytes('packed').length < input.length, `compressBuffer gave ${bytes('packed').length} bytes for ${input.length}`);
    assert.ok(bytes('file').length < input.length, `compressStream gave ${bytes('file').length} bytes for ${input.length}`);
    assert.equal(got.stats.bytesIn, input.length);
    assert.equal(got.stats.bytesOut, bytes('file').length);
    // The example's progress lines: one per 2048-byte chunk.
    const progress = r.stdout.split('\n').filter((l) => / bytes in \d+ bits$/.test(l));
    assert.equal(progress.length, Math.ceil(input.length / 2048));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    if (made.startsWith(tmpdir())) rmSync(made, { recursive: true, force: true });
  }
});
