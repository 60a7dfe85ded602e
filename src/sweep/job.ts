// One job of a sweep: one experiment config run into one run directory. The
// same function runs every job, on this machine or on a queue worker, always
// in a process of its own (src/sweep/job-process.ts). A job is safe to run
// again: a run directory that already holds this job's finished result
// returns it without computing anything, and one that holds a checkpoint
// continues from it through the experiment's own `--resume` path, so a
// retried job gives the bits of a run that never stopped.

import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createHash } from 'node:crypto';
import { findExperiment } from '../experiments/registry.js';
import { SILENT, type AnyExperiment, type Progress } from '../experiments/experiment.js';
import { getAt } from '../experiments/settings.js';
import { REPORTS } from '../report/renderers.js';
import { writeFileAtomic } from '../engine/atomic-file.js';
import { canonicalJson } from './spec.js';

/** What a worker needs to run one job; JSON, as it travels through a queue. */
export interface JobData {
  sweepId: string;
  /** `0007`: the point's id in the sweep. */
  id: string;
  experiment: string;
  preset: string;
  config: unknown;
  /** Where the run directory goes; null: the worker picks one under its own work folder and sends the files back. */
  runDir: string | null;
  metric: string;
  record: string[];
  /** Matmul threads inside the job (results are identical for any count). */
  threads?: number;
}

/** What a job sends back. */
export interface JobResult {
  id: string;
  /** The spec's metric, read from the result (null when the result has no number there). */
  metric: number | null;
  /** The spec's `record` paths, read from the result. */
  values: Record<string, unknown>;
  /** SHA-256 of the result without its timings and paths (`stableResult`): equal digests, equal bits. */
  digest: string;
  summary: string[];
  /** Wall time of the attempt that finished it. */
  seconds: number;
  /** The checkpoint this attempt continued from, if any. */
  resumedFrom: string | null;
  /** Whether this attempt found the job already finished in its run directory and ran nothing. */
  reused: boolean;
  worker: string;
  /** The run directory's files (not checkpoints), base64, when the sweep gathers them. */
  files?: Record<string, string>;
  /** Where the run directory is on the worker's machine. */
  runDir: string;
}

/** A job's progress, as a worker line shows it. */
export interface JobProgress {
  phase: string;
  done: number;
  total: number;
  note?: string;
}

const MARK = 'sweep-job.json';
const DONE = 'sweep-done.json';

/** Result keys that differ between two runs of the same config: wall times, paths, thread counts. */
export function isVolatileKey(k: string): boolean {
  return /(^|_)seconds($|_)|Seconds$|^tokensPerSecond$|^tps$/.test(k) || k === 'run_dir' || k === 'report' || k === 'checkpoint' || k === 'threads' || k === 'model_path';
}

/** A result without its timings and paths: what two runs of the same config must agree on, bit for bit. */
export function stableResult(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stableResult);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (!isVolatileKey(k)) out[k] = stableResult(x);
    return out;
  }
  return v;
}

export function resultDigest(result: unknown): string {
  return createHash('sha256').update(canonicalJson(stableResult(result))).digest('hex');
}

/** The checkpoint a stopped run in `runDir` continues from, where the experiment resumes and one was written. */
export function checkpointToResume(exp: AnyExperiment, runDir: string): string | null {
  if (!exp.resumable || !exp.resumeCheckpoint) return null;
  const path = exp.resumeCheckpoint(runDir);
  return path && existsSync(path) ? path : null;
}

/** Every file of a run directory but its checkpoints, as base64 by relative path. */
export function collectRunFiles(runDir: string, maxBytes = 256 * 1024 * 1024): Record<string, string> {
  const out: Record<string, string> = {};
  let total = 0;
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      if (r === 'checkpoints' || name.includes('.tmp-')) continue;
      const st = statSync(p);
      if (st.isDirectory()) walk(p, r);
      else {
        total += st.size;
        if (total > maxBytes) throw new Error(`run directory ${runDir} holds more than ${maxBytes} bytes besides its checkpoints; keep run directories on shared storage (--shared-runs) instead`);
        out[r] = readFileSync(p).toString('base64');
      }
    }
  };
  walk(runDir, '');
  return out;
}

/**
 * Run one job in this process. Throws what the experiment throws (a bad config,
 * a NaN loss); the caller records it and decides whether to try again.
 */
export async function runJob(job: JobData, runDir: string, opts: { worker: string; progress?: Progress; signal?: AbortSignal; gather?: boolean }): Promise<JobResult> {
  const t0 = performance.now();
  const exp = findExperiment(job.experiment);
  const mark = { sweep: job.sweepId, id: job.id, experiment: job.experiment, config: job.config };
  const markPath = join(runDir, MARK);
  const donePath = join(runDir, DONE);
  if (existsSync(markPath)) {
    const old = JSON.parse(readFileSync(markPath, 'utf8')) as typeof mark;
    if (canonicalJson(old) !== canonicalJson(mark)) throw new Error(`${runDir} holds job ${old.id} of sweep ${old.sweep} with another config; refusing to overwrite it`);
    if (existsSync(donePath)) {
      const done = JSON.parse(readFileSync(donePath, 'utf8')) as JobResult;
      return { ...done, reused: true, worker: opts.worker, files: opts.gather ? collectRunFiles(runDir) : undefined };
    }
  }
  const resume = checkpointToResume(exp, runDir);
  mkdirSync(runDir, { recursive: true });
  writeFileAtomic(markPath, JSON.stringify(mark, null, 2) + '\n');
  const result = await exp.run(job.config, {
    outRoot: dirname(runDir),
    runDir,
    resume: resume ?? undefined,
    signal: opts.signal ?? new AbortController().signal,
    progress: opts.progress ?? SILENT,
    render: REPORTS[exp.name],
    preset: job.preset,
  });
  const stopped = exp.interrupted?.(result);
  if (stopped) throw new Error(`job ${job.id} stopped before the end: ${stopped}`);
  const plain = JSON.parse(JSON.stringify(result)) as unknown;
  const m = getAt(plain, job.metric);
  const values: Record<string, unknown> = {};
  for (const p of job.record) values[p] = getAt(plain, p) ?? null;
  const out: JobResult = {
    id: job.id,
    metric: typeof m === 'number' && Number.isFinite(m) ? m : null,
    values,
    digest: resultDigest(plain),
    summary: exp.summary(result),
    seconds: (performance.now() - t0) / 1000,
    resumedFrom: resume,
    reused: false,
    worker: opts.worker,
    runDir,
  };
  writeFileAtomic(donePath, JSON.stringify(out, null, 2) + '\n');
  return opts.gather ? { ...out, files: collectRunFiles(runDir) } : out;
}
