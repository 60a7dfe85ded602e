import { corpusDir } from '../skip.js';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { listSources } from '../../src/data/lm-corpus.js';

/** The repository root, from dist/test/lm. */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** shared/corpus beside the repository. */
export function sharedCorpusDir(): string {
  return corpusDir();
}

/**
 * True when the corpus's packages are installed. Otherwise the test skips,
 * saying why; under CI, where .ci/run installs them, a missing package fails.
 */
export function sourcesOrSkip(t: TestContext): boolean {
  try {
    listSources();
    return true;
  } catch (e) {
    if (process.env.CI === 'true') throw e;
    t.skip(`corpus sources not installed: ${(e as Error).message}`);
    return false;
  }
}

export { existsSync };
