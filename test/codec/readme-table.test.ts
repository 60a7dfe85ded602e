// The compressor table in the README quotes bits per byte for every level.
// Those do not depend on the machine (the coder is integer arithmetic), so
// they can be checked exactly: recompress alice29.txt at levels 1-3 and
// compare with the README's cells, rounded as the README rounds them.
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compressBuffer } from '../../src/codec/library.js';
import { corpusDir, repoRoot, skipUnlessAvailable } from '../skip.js';

test('the README compressor table: alice29.txt at levels 1-3 compresses to the quoted bits per byte', async (t) => {
  const alice = join(corpusDir(), 'alice29.txt');
  // CI lays ../shared beside the clone, so there the file must be found.
  if (skipUnlessAvailable(t, existsSync(alice), `${alice} is absent (the Canterbury corpus in ../shared/corpus next to the repository, or GLASSBOX_CORPUS=DIR)`)) return;
  const readme = readFileSync(join(repoRoot(), 'README.md'), 'utf8');
  const header = readme.split('\n').find((l) => l.startsWith('| file |') && l.includes('glassbox -1'));
  const row = readme.split('\n').find((l) => l.startsWith('| alice29.txt |'));
  assert.ok(header && row, 'README has the compressor table with an alice29.txt row');
  const cols = header.split('|').map((c) => c.trim());
  const cells = row.split('|').map((c) => c.trim());
  const input = readFileSync(alice);
  for (const level of [1, 2, 3]) {
    const cell = cells[cols.indexOf(`glassbox -${level}`)];
    const quoted = /^(\d\.\d{3})/.exec(cell ?? '')?.[1];
    assert.ok(quoted, `README cell for glassbox -${level} on alice29.txt: ${cell}`);
    const packed = await compressBuffer(input, { level });
    assert.equal(((8 * packed.length) / input.length).toFixed(3), quoted, `glassbox -${level} on alice29.txt`);
  }
});
