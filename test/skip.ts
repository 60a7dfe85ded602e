// Skipping a test says why, always; and in CI (CI=true) a test whose
// prerequisite .ci/run installs may not skip at all: a skip there means CI
// lost something it is supposed to check, so it fails instead.
import type { TestContext } from 'node:test';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const inCi = (): boolean => process.env.CI === 'true';

/**
 * For prerequisites .ci/run installs (Fashion-MNIST, xz, zstd): skip with the
 * reason locally, throw in CI. Returns true when the test should stop.
 */
export function skipUnlessAvailable(t: TestContext, available: boolean, reason: string): boolean {
  if (available) return false;
  if (inCi()) throw new Error(`${reason}, and CI=true: .ci/run installs this, so the test must run in CI`);
  t.skip(reason);
  console.log(`# SKIP ${t.name}: ${reason}`);
  return true;
}

/** For prerequisites CI does not have (Python with torch or safetensors, a local corpus): skip with the reason, everywhere. */
export function skipOptional(t: TestContext, reason: string): void {
  t.skip(reason);
  console.log(`# SKIP ${t.name}: ${reason}`);
}

/** The repository root: the nearest folder above this file with a package.json (dist/test/... or test/...). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('no package.json above the test file');
    dir = up;
  }
  return dir;
}

/** The shared corpus folder: `../shared/corpus` next to the repository (GLASSBOX_CORPUS overrides). */
export function corpusDir(): string {
  return process.env.GLASSBOX_CORPUS || resolve(repoRoot(), '..', 'shared', 'corpus');
}
