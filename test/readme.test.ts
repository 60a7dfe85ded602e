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

test('every README library example runs as written', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.ok(blocks.length >= 2, 'README has the engine and the language-model examples');
  const index = pathToFileURL(join(root, 'dist/src/index.js')).href;
  const dir = mkdtempSync(join(tmpdir(), 'gb-readme-'));
  blocks.forEach((block, i) => {
    const code = block.replace(/from 'glassbox'/g, `from '${index}'`) + "\nconsole.log('README-EXAMPLE-OK');\nprocess.exit(0);\n";
    const file = join(dir, `example-${i}.mjs`);
    writeFileSync(file, code);
    const r = spawnSync(process.execPath, [file], { encoding: 'utf8', cwd: root });
    assert.equal(r.status, 0, `example ${i + 1}: ${r.stderr}`);
    assert.match(r.stdout, /README-EXAMPLE-OK/);
  });
});
