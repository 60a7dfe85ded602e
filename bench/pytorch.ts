// The PyTorch side of the benchmarks: find a Python with torch and run a
// script in it with a chosen BLAS thread count. Every bench that compares
// against PyTorch goes through here, so they all pick the same Python, clear
// the same OpenBLAS tuning variables, and compare with PyTorch at its best:
// on products this small PyTorch is often faster at 1 thread than at 2 (its
// OpenMP threads cost more than they save), so each twin runs at both and the
// ratio is taken against the faster.

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
 * Python prelude for every twin: `report(**figures)` prints them as the last
 * stdout line with the process's peak resident memory, which is that twin's
 * own (each runs in a fresh interpreter).
 */
export const PY_PRELUDE = `
import json as _json, resource as _resource, sys as _sys, torch as _torch
def _blas():
    # Which BLAS the process actually loaded (Debian's torch links the generic libblas,
    # which the alternatives system points at OpenBLAS when libopenblas0-pthread is installed).
    maps = open('/proc/self/maps').read().lower() if _sys.platform.startswith('linux') else ''
    return 'OpenBLAS' if 'openblas' in maps else ('MKL' if 'libmkl' in maps else ('reference BLAS' if 'libblas' in maps else 'unknown'))
def report(**kw):
    kw["max_rss_mb"] = _resource.getrusage(_resource.RUSAGE_SELF).ru_maxrss / 1024
    kw["blas"] = _blas()
    kw["threads"] = _torch.get_num_threads()
    kw["torch"] = _torch.__version__
    print(_json.dumps(kw))
`;

export interface TorchFigures {
  threads: number;
  torch: string;
  /** The BLAS library the process loaded. */
  blas: string;
  max_rss_mb: number;
  python: string;
}

/**
 * Runs `script` (Python source, after PY_PRELUDE) with `args` in the torch
 * Python at `threads` intra-op and BLAS threads, and parses the JSON object
 * on its last stdout line. Returns null (with a message on stderr) when there
 * is no torch or the script fails.
 */
export function runTorchJson<T>(what: string, script: string, args: Array<string | number>, threads: number): (T & TorchFigures) | null {
  const py = findTorchPython();
  if (!py) return null;
  // OpenBLAS and OpenMP read these at load time; set them for this subprocess only.
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const source = `${PY_PRELUDE}\n_torch.set_num_threads(${threads})\n${script}`;
  const r = spawnSync(py, ['-c', source, ...args.map(String)], { encoding: 'utf8', env });
  if (r.status !== 0) {
    process.stderr.write(`${what} failed: ${r.stderr.slice(-800)}\n`);
    return null;
  }
  return { ...(JSON.parse(r.stdout.trim().split('\n').pop()!) as T & Omit<TorchFigures, 'python'>), python: py };
}

/** A twin run at each thread count, and the fastest of them by `speed`. */
export interface TorchAtBest<T> {
  runs: Array<T & TorchFigures>;
  best: T & TorchFigures;
}

export function torchAtBest<T>(what: string, script: string, args: Array<string | number>, speed: (r: T) => number, threadsList: readonly number[] = [1, 2]): TorchAtBest<T> | null {
  const runs: Array<T & TorchFigures> = [];
  for (const t of threadsList) {
    const r = runTorchJson<T>(`${what} (${t} thread${t === 1 ? '' : 's'})`, script, args, t);
    if (!r) return null;
    runs.push(r);
  }
  const best = runs.reduce((a, b) => (speed(b) > speed(a) ? b : a));
  return { runs, best };
}

export const NO_TORCH = 'PyTorch: no python with torch found (apt-get install python3-torch, or set GLASSBOX_PYTHON)';
