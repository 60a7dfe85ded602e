import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { skipUnlessAvailable, repoRoot, corpusDir } from './skip.js';

function fakeContext(): { t: TestContext; reasons: string[] } {
  const reasons: string[] = [];
  return { t: { name: 'fake', skip: (r?: string) => void reasons.push(r ?? '') } as unknown as TestContext, reasons };
}

test('skipUnlessAvailable: skips with the reason locally, fails under CI=true, runs when available', () => {
  const saved = process.env.CI;
  try {
    delete process.env.CI;
    const a = fakeContext();
    assert.equal(skipUnlessAvailable(a.t, false, 'no dataset'), true);
    assert.deepEqual(a.reasons, ['no dataset']);
    process.env.CI = 'true';
    const b = fakeContext();
    assert.throws(() => skipUnlessAvailable(b.t, false, 'no dataset'), /no dataset, and CI=true/);
    assert.deepEqual(b.reasons, []);
    assert.equal(skipUnlessAvailable(b.t, true, 'no dataset'), false);
  } finally {
    if (saved === undefined) delete process.env.CI;
    else process.env.CI = saved;
  }
});

test('the corpus resolves next to the repository, not at a fixed absolute path', () => {
  const root = repoRoot();
  assert.ok(existsSync(join(root, 'package.json')));
  if (!process.env.GLASSBOX_CORPUS) assert.equal(corpusDir(), join(root, '..', 'shared', 'corpus'));
});
