// How a sweep hands its jobs out and hears back: a Dispatcher runs a list of
// jobs to the end (each finished or failed for good) and tells the sink what
// happens. Two exist: local processes (src/sweep/local.ts) and a BullMQ queue
// on Redis (src/sweep/redis.ts).

import type { JobData, JobProgress, JobResult } from './job.js';
import type { SweepCounts } from './state.js';

export interface QueuedJob {
  job: JobData;
  /** The run directory on this machine (local runs, or shared storage). */
  runDir: string;
  /** Attempts already used (from earlier sessions of a resumed sweep). */
  attempts: number;
  /** Further attempts allowed after a failure. */
  retries: number;
}

export interface DispatchSink {
  started(id: string, worker: string): void;
  progress(id: string, worker: string, p: JobProgress): void;
  done(id: string, result: JobResult): void;
  /** An attempt failed; the job goes back to the queue. */
  retrying(id: string, error: string, attempts: number): void;
  /** The job failed for good; `errors` has every attempt's error where the dispatcher kept them. */
  failed(id: string, error: string, attempts: number, errors?: string[]): void;
  /** The sweep was stopped while the job ran; it stays unfinished. */
  stopped(id: string): void;
}

export interface Dispatcher {
  run(jobs: QueuedJob[], sink: DispatchSink, signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** What a surface shows while a sweep runs. */
export interface SweepView {
  /** The sweep's counts, and the time left as estimated from the jobs finished in this session. */
  sweep(c: SweepCounts, etaSeconds: number): void;
  /** A worker's current job and its progress (null: the worker is idle). */
  worker(name: string, job: string | null, p?: JobProgress): void;
  note(message: string): void;
}

/** A Redis URL without its password, for files and messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

