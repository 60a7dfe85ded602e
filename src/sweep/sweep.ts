// `glassbox sweep`: expand a SPEC into jobs, hand them to local processes or
// to a Redis queue, keep sweep.json up to date as they move, and write the
// report when every job has finished or failed for good. A sweep directory:
//
//   sweep.json    every job's state, attempts, error or result
//   spec.json     the SPEC as read
//   runs/NNNN/    one run directory per config
//   report.html   results table, best configs, swept settings vs the metric

import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { writeFileAtomic } from '../engine/atomic-file.js';
import { VERSION } from '../version.js';
import { expandSpec, specDigest, SpecError, type SweepSpec } from './spec.js';
import { countJobs, readSweepState, writeSweepState, type SweepState } from './state.js';
import type { JobData, JobResult } from './job.js';
import { redactUrl, type Dispatcher, type DispatchSink, type QueuedJob, type SweepView } from './dispatch.js';
export type { SweepView } from './dispatch.js';
import { LocalDispatcher } from './local.js';
import { renderSweepReport } from '../report/sweep-report.js';

export const QUIET_VIEW: SweepView = { sweep() {}, worker() {}, note() {} };

export interface SweepOptions {
  /** Parent folder of the sweep directory (default `runs`). */
  out?: string;
  /** An existing sweep directory to continue: only its unfinished jobs run. */
  resume?: string;
  /** Local job processes (default 2). */
  workers?: number;
  /** Matmul threads per job (default: the cores shared among the local processes, or among a worker's jobs). */
  threads?: number;
  /** A Redis URL: the jobs go to a BullMQ queue there, for `glassbox worker`s to take. */
  redis?: string;
  /** The queue's name (default glassbox-sweep). */
  queue?: string;
  /** Workers write run directories straight into this sweep directory (shared storage) instead of sending them back. */
  sharedRuns?: boolean;
  view?: SweepView;
  signal?: AbortSignal;
  /** Where the spec came from, for messages. */
  specFile?: string;
}

export interface SweepOutcome {
  dir: string;
  state: SweepState;
  report: string;
  /** Jobs this session ran (not counting those already finished before a resume). */
  ran: number;
}

function sweepDirName(out: string, experiment: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  let dir = join(out, `sweep-${experiment}-${stamp}`);
  for (let i = 2; existsSync(dir); i++) dir = join(out, `sweep-${experiment}-${stamp}-${i}`);
  return dir;
}

export async function runSweep(spec: SweepSpec, opts: SweepOptions = {}): Promise<SweepOutcome> {
  const where = opts.specFile ?? 'spec';
  const points = expandSpec(spec, where);
  const digest = specDigest(spec);
  const workers = opts.workers ?? 2;
  if (!Number.isInteger(workers) || workers < 1) throw new SpecError(`--workers must be a positive integer, got ${workers}`);
  // Locally the cores are shared among the job processes; on a queue each worker shares its own machine's (glassbox worker).
  const threads = opts.threads ?? (opts.redis ? undefined : Math.max(1, Math.floor(availableParallelism() / workers)));
  const view = opts.view ?? QUIET_VIEW;
  // Reach the queue before anything is written: a wrong URL leaves no sweep directory behind.
  let dispatcher: Dispatcher;
  if (opts.redis) {
    const { RedisDispatcher } = await import('./redis.js');
    dispatcher = await RedisDispatcher.connect(opts.redis, opts.queue ?? 'glassbox-sweep');
  } else dispatcher = new LocalDispatcher(workers);
  let dir: string;
  let state: SweepState;
  if (opts.resume) {
    dir = resolve(opts.resume);
    state = readSweepState(dir);
    if (state.spec_digest !== digest) {
      throw new SpecError(`${opts.resume} is a sweep of another SPEC (its spec.json asks for ${state.experiment} with digest ${state.spec_digest.slice(0, 12)}…, ${where} has ${digest.slice(0, 12)}…); resume it with the SPEC it was started with, or start a new sweep`);
    }
  } else {
    dir = resolve(sweepDirName(opts.out ?? 'runs', spec.experiment, new Date()));
    const now = new Date().toISOString();
    state = {
      glassbox_sweep: 1,
      glassbox_version: VERSION,
      sweep_id: `${spec.experiment}-${randomBytes(6).toString('hex')}`,
      spec,
      spec_digest: digest,
      experiment: spec.experiment,
      preset: points[0].preset,
      metric: spec.metric,
      goal: spec.goal ?? 'min',
      retries: spec.retries ?? 1,
      mode: { kind: 'local', workers },
      created: now,
      updated: now,
      finished: null,
      jobs: points.map((p) => ({ id: p.id, index: p.index, swept: p.swept, state: 'pending', attempts: 0, errors: [], error: null, worker: null, started: null, finished: null, run_dir: `runs/${p.id}`, result: null })),
    };
    mkdirSync(join(dir, 'runs'), { recursive: true });
    writeFileAtomic(join(dir, 'spec.json'), JSON.stringify(spec, null, 2) + '\n');
  }
  state.mode = opts.redis ? { kind: 'redis', url: redactUrl(opts.redis), queue: opts.queue ?? 'glassbox-sweep', shared_runs: opts.sharedRuns === true } : { kind: 'local', workers };
  state.finished = null;
  const byId = new Map(state.jobs.map((j) => [j.id, j]));

  // Points the experiment's own checks refuse fail at once: no attempt could succeed.
  for (const p of points) {
    const rec = byId.get(p.id)!;
    if (p.invalid && rec.state !== 'failed') Object.assign(rec, { state: 'failed', error: `invalid config: ${p.invalid}`, errors: [`invalid config: ${p.invalid}`], finished: new Date().toISOString() });
  }

  let lastSave = 0;
  let saveTimer: NodeJS.Timeout | null = null;
  const saveNow = () => {
    if (saveTimer) clearTimeout(saveTimer);
    saveTimer = null;
    lastSave = performance.now();
    writeSweepState(dir, state);
  };
  // At most a few writes a second: a job finished but not yet in sweep.json is found again from its run directory.
  const save = () => {
    if (performance.now() - lastSave > 250) saveNow();
    else saveTimer ??= setTimeout(saveNow, 250);
  };

  const todo = state.jobs.filter((j) => j.state === 'pending' || j.state === 'running');
  const t0 = performance.now();
  let finishedHere = 0;
  const eta = () => {
    const c = countJobs(state);
    const left = c.pending + c.running;
    return finishedHere === 0 ? NaN : ((performance.now() - t0) / 1000 / finishedHere) * left;
  };
  const show = () => view.sweep(countJobs(state), eta());
  const now = () => new Date().toISOString();
  const sink: DispatchSink = {
    started(id, worker) {
      const j = byId.get(id)!;
      Object.assign(j, { state: 'running', worker, started: now() });
      view.worker(worker, id);
      show();
      save();
    },
    progress(id, worker, p) {
      view.worker(worker, id, p);
    },
    done(id, result: JobResult) {
      const j = byId.get(id)!;
      if (j.state === 'done') return;
      const { files, ...rest } = result;
      if (files) {
        // Gather the run directory the worker sent back into this sweep directory.
        const runDir = join(dir, j.run_dir);
        for (const [rel, b64] of Object.entries(files)) {
          const p = join(runDir, rel);
          mkdirSync(dirname(p), { recursive: true });
          writeFileAtomic(p, Buffer.from(b64, 'base64'));
        }
      } else if (opts.redis && !opts.sharedRuns) j.run_dir = rest.runDir;
      Object.assign(j, { state: 'done', worker: result.worker, finished: now(), result: rest, error: null });
      finishedHere++;
      view.worker(result.worker, null);
      show();
      save();
    },
    retrying(id, error, attempts) {
      const j = byId.get(id)!;
      Object.assign(j, { state: 'pending', attempts });
      j.errors.push(error);
      view.note(`job ${id}: attempt ${attempts} failed (${error}); trying again`);
      if (j.worker) view.worker(j.worker, null);
      show();
      save();
    },
    failed(id, error, attempts, errors) {
      const j = byId.get(id)!;
      Object.assign(j, { state: 'failed', attempts, error, finished: now() });
      if (errors && errors.length >= attempts - j.errors.length) j.errors.push(...errors.slice(-(attempts - j.errors.length)));
      else j.errors.push(error);
      finishedHere++;
      view.note(`job ${id} failed after ${attempts} attempt(s): ${error}`);
      if (j.worker) view.worker(j.worker, null);
      show();
      save();
    },
    stopped(id) {
      const j = byId.get(id)!;
      if (j.state === 'running') j.state = 'pending';
      save();
    },
  };

  const queued: QueuedJob[] = todo.map((j) => {
    const p = points[j.index];
    const runDir = join(dir, 'runs', j.id);
    const data: JobData = { sweepId: state.sweep_id, id: j.id, experiment: spec.experiment, preset: p.preset, config: p.config, runDir: opts.redis && !opts.sharedRuns ? null : runDir, metric: spec.metric, record: spec.record ?? [], threads };
    return { job: data, runDir, attempts: j.attempts, retries: state.retries };
  });
  for (const q of queued) {
    const j = byId.get(q.job.id)!;
    j.state = 'pending';
  }
  saveNow();
  show();
  if (opts.resume) view.note(`resuming ${dir}: ${queued.length} of ${state.jobs.length} jobs left`);
  try {
    await dispatcher.run(queued, sink, opts.signal);
  } finally {
    await dispatcher.close();
    const c = countJobs(state);
    if (c.pending === 0 && c.running === 0) state.finished = now();
    saveNow();
  }
  const report = join(dir, 'report.html');
  writeFileAtomic(report, renderSweepReport(state));
  return { dir, state, report, ran: queued.length };
}
