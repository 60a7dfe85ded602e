// The README's library example must run as written (it is plain JavaScript
// apart from the import path, which points at this build).

import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../..');

test('the README library example runs', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const m = /```ts\n([\s\S]*?)```/.exec(readme);
  assert.ok(m, 'README has a ts example');
  const index = pathToFileURL(join(root, 'dist/src/index.js')).href;
  const code = m[1].replace(/from 'glassbox'/g, `from '${index}'`) + "\nconsole.log('README-EXAMPLE-OK');\nprocess.exit(0);\n";
  const dir = mkdtempSync(join(tmpdir(), 'gb-readme-'));
  const file = join(dir, 'example.mjs');
  writeFileSync(file, code);
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /README-EXAMPLE-OK/);
});
