// Each glassbox measurement of a bench runs in a fresh Node process, so the
// peak resident memory it reports is that case's own, not the high-water mark
// of every case before it, and one case's JIT and heap state cannot help or
// hurt the next. A bench file calls runChildCase() at load: when it was started
// as a child it runs the one case and prints its figures as JSON.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { shutdownThreads } from '../src/engine/matmul-kernel.js';

export interface ChildFigures {
  threads: number;
  /** Peak resident set of the child process, MiB. */
  max_rss_mb: number;
}

/** Measures case `name` of the bench at `benchUrl` (its import.meta.url) in a child process. */
export function inChild<T>(benchUrl: string, name: string, threads: number, steps: number): T & ChildFigures {
  const file = fileURLToPath(benchUrl);
  const r = spawnSync(process.execPath, [file, '--child', name, String(threads), String(steps)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`bench case ${name} at ${threads} threads failed (exit ${r.status}): ${r.stderr.slice(-800)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T & ChildFigures;
}

/**
 * If this process is a child (`--child NAME THREADS STEPS`), runs that case,
 * prints its figures with the peak memory, and returns true; the caller then
 * does nothing else.
 */
export async function runChildCase(cases: Record<string, (threads: number, steps: number) => object>): Promise<boolean> {
  const i = process.argv.indexOf('--child');
  if (i < 0) return false;
  const [name, threads, steps] = [process.argv[i + 1], Number(process.argv[i + 2]), Number(process.argv[i + 3])];
  const run = cases[name];
  if (!run) throw new Error(`unknown bench case ${name}; cases: ${Object.keys(cases).join(', ')}`);
  const figures = run(threads, steps);
  await shutdownThreads();
  process.stdout.write(JSON.stringify({ ...figures, threads, max_rss_mb: process.resourceUsage().maxRSS / 1024 }) + '\n');
  return true;
}
