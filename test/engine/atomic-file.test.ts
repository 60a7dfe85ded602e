import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic, openAtomicWrite, tempPathFor, FileExistsError } from '../../src/engine/atomic-file.js';

function withDir(fn: (dir: string) => Promise<void> | void) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'glassbox-atomic-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test('temp paths sit beside the target and are unique', () => {
  const a = tempPathFor('/x/y/ck.safetensors');
  const b = tempPathFor('/x/y/ck.safetensors');
  assert.match(a, new RegExp(`^/x/y/ck\\.safetensors\\.tmp-${process.pid}-[0-9a-f]{12}$`));
  assert.notEqual(a, b);
});

test('writeFileAtomic writes bytes and strings, replaces an existing file, leaves no temp', withDir((dir) => {
  const p = join(dir, 'out.bin');
  writeFileAtomic(p, new Uint8Array([1, 2, 3]));
  assert.deepEqual([...readFileSync(p)], [1, 2, 3]);
  writeFileAtomic(p, 'héllo\n');
  assert.equal(readFileSync(p, 'utf8'), 'héllo\n');
  writeFileAtomic(p, new Uint8Array(0));
  assert.equal(readFileSync(p).length, 0);
  const big = new Uint8Array(3_000_000).map((_, i) => i & 255);
  writeFileAtomic(p, big.subarray(1000));
  assert.deepEqual(readFileSync(p), Buffer.from(big.subarray(1000)));
  assert.deepEqual(readdirSync(dir), ['out.bin']);
}));

test('writeFileAtomic failing leaves the old file and no temp', withDir((dir) => {
  const p = join(dir, 'target');
  writeFileSync(p, 'old');
  // Renaming over a non-empty directory fails after the temp file is written and synced.
  const asDir = join(dir, 'adir');
  mkdirSync(asDir);
  writeFileSync(join(asDir, 'inner'), 'x');
  assert.throws(() => writeFileAtomic(asDir, 'new'));
  assert.deepEqual(readdirSync(dir).sort(), ['adir', 'target']);
  assert.throws(() => writeFileAtomic(join(dir, 'missing-dir', 'f'), 'x'), /ENOENT/);
  assert.equal(readFileSync(p, 'utf8'), 'old');
}));

test('openAtomicWrite streams into place on commit', withDir(async (dir) => {
  const p = join(dir, 'out.gbz');
  const w = await openAtomicWrite(p);
  assert.ok(existsSync(w.tempPath));
  assert.ok(!existsSync(p), 'nothing at the target before commit');
  for (let i = 0; i < 1000; i++) w.stream.write(Buffer.from(`line ${i}\n`));
  await w.commit();
  const text = readFileSync(p, 'utf8');
  assert.equal(text.split('\n').length, 1001);
  assert.ok(text.startsWith('line 0\nline 1\n'));
  assert.deepEqual(readdirSync(dir), ['out.gbz']);
  await w.abort(); // after commit: a no-op
  assert.ok(existsSync(p));
  await assert.rejects(w.commit(), /already committed/);
}));

test('openAtomicWrite abort leaves no file and no temp', withDir(async (dir) => {
  const p = join(dir, 'out.gbz');
  const w = await openAtomicWrite(p);
  w.stream.write('partial');
  await w.abort();
  await w.abort();
  assert.deepEqual(readdirSync(dir), []);
  await assert.rejects(w.commit(), /already aborted/);
}));

test('openAtomicWrite refuses an existing file unless forced', withDir(async (dir) => {
  const p = join(dir, 'out.gbz');
  writeFileSync(p, 'old');
  await assert.rejects(openAtomicWrite(p), (e: unknown) => {
    assert.ok(e instanceof FileExistsError);
    assert.equal(e.message, `${p} exists; use --force to overwrite`);
    return true;
  });
  const w = await openAtomicWrite(p, { force: true });
  w.stream.write('new');
  await w.commit();
  assert.equal(readFileSync(p, 'utf8'), 'new');
  assert.deepEqual(readdirSync(dir), ['out.gbz']);
}));

test('openAtomicWrite does not replace a file that appeared before commit', withDir(async (dir) => {
  const p = join(dir, 'out.gbz');
  const w = await openAtomicWrite(p);
  w.stream.write('mine');
  writeFileSync(p, 'theirs');
  await assert.rejects(w.commit(), /exists; use --force to overwrite/);
  assert.equal(readFileSync(p, 'utf8'), 'theirs');
  assert.deepEqual(readdirSync(dir), ['out.gbz'], 'the temp file is gone');
}));

test('openAtomicWrite into a missing directory fails cleanly', withDir(async (dir) => {
  await assert.rejects(openAtomicWrite(join(dir, 'nope', 'f')), /ENOENT/);
  assert.deepEqual(readdirSync(dir), []);
}));
