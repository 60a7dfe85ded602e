// The PyTorch side of the benchmarks: find a Python with torch and run a
// script in it with a chosen BLAS thread count. Every bench that compares
// against PyTorch goes through here, so they all pick the same Python and
// clear the same OpenBLAS tuning variables.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Find a Python with torch: GLASSBOX_PYTHON, then Debian's /usr/bin/python3, then python3 on PATH. */
export function findTorchPython(): string | null {
  const candidates = [process.env.GLASSBOX_PYTHON, '/usr/bin/python3', 'python3'].filter((p): p is string => !!p);
  for (const py of candidates) {
    if (py.startsWith('/') && !existsSync(py)) continue;
    const r = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' });
    if (r.status === 0) return py;
  }
  return null;
}

/**
 * Runs `script` (Python source) with `args` in the torch Python, at `threads`
 * BLAS/OpenMP threads, and parses the JSON object on its last stdout line.
 * Returns null (with a message on stderr) when there is no torch or the script fails.
 */
export function runTorchJson<T>(what: string, script: string, args: Array<string | number>, threads: number): (T & { python: string }) | null {
  const py = findTorchPython();
  if (!py) return null;
  // OpenBLAS reads these at load time; unset them for this subprocess only.
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync(py, ['-c', script, ...args.map(String)], { encoding: 'utf8', env });
  if (r.status !== 0) {
    process.stderr.write(`${what} failed: ${r.stderr.slice(-500)}\n`);
    return null;
  }
  return { ...(JSON.parse(r.stdout.trim().split('\n').pop()!) as T), python: py };
}
