// sweep.json: every job of a sweep with its state, its attempts, its error or
// its result. It is rewritten (atomically) as jobs move, so a sweep directory
// always says how far the sweep got, and `glassbox sweep --resume DIR` starts
// from it.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../engine/atomic-file.js';
import type { JobResult } from './job.js';
import type { SweepSpec } from './spec.js';

export type JobState = 'pending' | 'running' | 'done' | 'failed';

export interface SweepJobRecord {
  id: string;
  index: number;
  /** The swept settings of this job (as text). */
  swept: Record<string, string>;
  state: JobState;
  /** Attempts that ended (failed, or whose process died); the finishing one is not counted. */
  attempts: number;
  /** Each failed attempt's error, in order. */
  errors: string[];
  /** Why the job failed for good (null unless state is failed). */
  error: string | null;
  worker: string | null;
  started: string | null;
  finished: string | null;
  /** Where its run directory is, relative to the sweep directory (or absolute on a worker that keeps it). */
  run_dir: string;
  result: Omit<JobResult, 'files'> | null;
}

export interface SweepState {
  glassbox_sweep: 1;
  glassbox_version: string;
  sweep_id: string;
  spec: SweepSpec;
  spec_digest: string;
  experiment: string;
  preset: string;
  metric: string;
  goal: 'min' | 'max';
  retries: number;
  /** How the jobs ran the last time: local processes, or a Redis queue (URL without its password). */
  mode: { kind: 'local'; workers: number } | { kind: 'redis'; url: string; queue: string; shared_runs: boolean };
  created: string;
  updated: string;
  finished: string | null;
  jobs: SweepJobRecord[];
}

export const SWEEP_FILE = 'sweep.json';

export function readSweepState(dir: string): SweepState {
  const path = join(dir, SWEEP_FILE);
  if (!existsSync(path)) throw new Error(`${dir} is not a sweep directory (it has no ${SWEEP_FILE})`);
  let raw: SweepState;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8')) as SweepState;
  } catch (e) {
    throw new Error(`${path} is not readable JSON: ${(e as Error).message}`);
  }
  if (raw.glassbox_sweep !== 1 || !Array.isArray(raw.jobs)) throw new Error(`${path} is not a glassbox sweep file`);
  return raw;
}

export function writeSweepState(dir: string, state: SweepState): void {
  state.updated = new Date().toISOString();
  writeFileAtomic(join(dir, SWEEP_FILE), JSON.stringify(state, null, 2) + '\n');
}

export interface SweepCounts {
  total: number;
  done: number;
  failed: number;
  running: number;
  pending: number;
}

export function countJobs(state: SweepState): SweepCounts {
  const c: SweepCounts = { total: state.jobs.length, done: 0, failed: 0, running: 0, pending: 0 };
  for (const j of state.jobs) c[j.state]++;
  return c;
}

/** The finished jobs ordered best first by the metric (jobs without a metric last). */
export function rankJobs(state: SweepState): SweepJobRecord[] {
  const sign = state.goal === 'max' ? -1 : 1;
  return state.jobs
    .filter((j) => j.state === 'done')
    .sort((a, b) => {
      const x = a.result?.metric ?? null;
      const y = b.result?.metric ?? null;
      if (x === null || y === null) return (x === null ? 1 : 0) - (y === null ? 1 : 0) || a.index - b.index;
      return sign * (x - y) || a.index - b.index;
    });
}
