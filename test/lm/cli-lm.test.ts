// generate and score as a user runs them: exit codes, one-line errors, and
// the shipped model found without a path.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { repoRoot } from './helpers.js';
import { builtinModelPath, loadModel } from '../../src/lm/model-file.js';
import { LM_PRESETS, lmModelConfig } from '../../src/experiments/lm.js';
import { readManifest, manifestHash } from '../../src/data/lm-corpus.js';

const main = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });

test('generate and score refuse bad input with one line and exit 1', () => {
  let r = cli('generate', '--temperature', '11');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /expected a number in \[0, 10\]/);
  r = cli('generate', '--top-k', '300');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /\[0, 256\]/);
  const dir = mkdtempSync(join(tmpdir(), 'gb-cli-lm-'));
  try {
    r = cli('score', join(dir, 'absent.txt'));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /cannot read .*absent\.txt: ENOENT/);
    writeFileSync(join(dir, 'fake.safetensors'), 'nope');
    writeFileSync(join(dir, 'text.txt'), 'hello');
    r = cli('score', join(dir, 'text.txt'), '--model', join(dir, 'fake.safetensors'), '--html', join(dir, 'page.html'));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /is not a glassbox LM/);
    assert.equal(existsSync(join(dir, 'page.html')), false, 'nothing written on error');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the shipped model: found without a path, its card matches the file and the shipped preset', (t) => {
  if (!existsSync(builtinModelPath())) {
    if (process.env.CI === 'true') assert.fail(`the shipped model ${builtinModelPath()} is missing from the repository`);
    t.skip('models/glassbox-lm.safetensors is not in this checkout yet');
    return;
  }
  const lm = loadModel();
  assert.equal(lm.sha256, createHash('sha256').update(readFileSync(builtinModelPath())).digest('hex'));
  assert.deepEqual(lm.model.config, { ...lm.model.config, ...lmModelConfig(LM_PRESETS.shipped) });
  assert.equal(lm.card.command, 'glassbox run lm --preset shipped');
  assert.equal(lm.card.corpus_manifest_sha256, manifestHash(readManifest()), 'trained on the corpus the manifest pins');
  assert.ok(readFileSync(join(repoRoot, 'models', 'glassbox-lm.md'), 'utf8').includes(lm.sha256), 'the model card names the file\'s hash');
  const a = cli('generate', '--prompt', 'The ', '--max-bytes', '60', '--seed', '4', '--json', '--threads', '1');
  const b = cli('generate', '--prompt', 'The ', '--max-bytes', '60', '--seed', '4', '--json', '--threads', '2');
  assert.equal(a.status, 0, a.stderr);
  assert.equal(a.stdout, b.stdout, 'the same seed gives the same bytes at any thread count');
  assert.equal(Buffer.from(JSON.parse(a.stdout).bytes_base64, 'base64').length, 60);
});
