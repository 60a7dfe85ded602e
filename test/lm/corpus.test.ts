// The LM corpus: detokenising, the evaluation-overlap check, the manifest's
// pins, and the built corpus itself against the evaluation files.
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detokenizeBrown, checkSources, readManifest, listSources, buildCorpus, splitDocuments, CorpusSourceError, type SourceFile } from '../../src/data/lm-corpus.js';
import { RunIndex, RUN } from '../../src/data/overlap.js';
import { sourcesOrSkip, sharedCorpusDir } from './helpers.js';
import { skipOptional } from '../skip.js';

test('Brown detokenising: tags dropped, quotes and punctuation glued, lines wrapped', () => {
  const text = detokenizeBrown("\n\n\tThe/at jury/nn said/vbd ``/`` no/at evidence/nn ''/'' ,/, and/cc it/pps didn't/dod* ./.\n\n\n\tHe/pps left/vbd ./.\n");
  assert.equal(text, 'The jury said "no evidence", and it didn\'t. He left.\n');
  const long = detokenizeBrown('\t' + Array.from({ length: 40 }, (_, i) => `word${i}/nn`).join(' ') + ' ./.\n');
  for (const line of long.trimEnd().split('\n')) assert.ok(line.length <= 72, `line of ${line.length} columns: ${line}`);
});

test('overlap index finds a shared run of 256 bytes and nothing shorter', () => {
  const ref = new Uint8Array(4000).map((_, i) => (i * 7919 + (i >> 3)) & 255);
  const idx = new RunIndex();
  idx.add('ref', ref);
  const text = new Uint8Array(3000).map((_, i) => (i * 31 + 5) & 255);
  assert.equal(idx.firstShared(text), null);
  const planted = text.slice();
  planted.set(ref.subarray(1000, 1000 + RUN), 1500);
  assert.deepEqual(idx.firstShared(planted), { offset: 1500, file: 'ref', fileOffset: 1000 });
  const short = text.slice();
  short.set(ref.subarray(1000, 1000 + RUN - 1), 1500);
  assert.equal(idx.firstShared(short), null, 'a 255-byte copy is not a 256-byte run');
});

test('a changed or missing source names the file and the command that installs it', () => {
  const m = readManifest();
  const found: SourceFile[] = m.sources.map((s) => ({ ...s }));
  found[3] = { ...found[3], sha256: '0'.repeat(64) };
  assert.throws(() => checkSources(found, m), (e: Error) => e instanceof CorpusSourceError && e.message.includes(m.sources[3].id) && e.message.includes('has changed') && e.message.includes(m.sources[3].install));
  const fewer = m.sources.filter((s) => !s.id.startsWith('kjv/')).map((s) => ({ ...s }));
  assert.throws(() => checkSources(fewer, m), /kjv\/bible\.data is missing: install it with `apt-get install bible-kjv`/);
});

test('the split is by document: every 20th document per source goes to validation', () => {
  const docs = Array.from({ length: 45 }, (_, i) => ({ id: `d${i}`, source: 'brown' as const, text: `doc ${i}\n` }));
  const b = splitDocuments(docs, new Set(['d30']));
  const val = Buffer.from(b.val).toString('latin1');
  assert.equal(val, 'doc 10\n\ndoc 31\n\n', 'documents 10 and (after the exclusion) 31 are the 10th and 30th kept');
  assert.equal(b.composition.brown.documents, 44);
});

test('the built corpus matches its manifest and shares no 256-byte run with the evaluation corpus', (t) => {
  if (!sourcesOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'gb-corpus-'));
  try {
    const m = readManifest();
    const r = buildCorpus(dir, m);
    assert.equal(r.train.sha256, m.outputs.train.sha256);
    assert.equal(r.val.sha256, m.outputs.val.sha256);
    assert.ok(r.train.bytes > 10_000_000 && r.val.bytes > 500_000);
    assert.equal(listSources().length, m.sources.length);
    // The evaluation files live beside the repository, not in it; where they
    // are absent the overlap half of this check cannot run, and says so.
    const evalDir = sharedCorpusDir();
    if (!existsSync(evalDir)) {
      skipOptional(t, `the overlap check needs the evaluation corpus at ${evalDir} (or GLASSBOX_CORPUS=DIR); the manifest half passed`);
      return;
    }
    const idx = RunIndex.fromDir(evalDir);
    for (const split of ['train.bin', 'val.bin']) {
      const hit = idx.firstShared(new Uint8Array(readFileSync(join(dir, split))));
      assert.equal(hit, null, `${split} shares 256 bytes with ${hit?.file} at offset ${hit?.offset}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
