// The process a sweep job runs in (forked by src/sweep/job-runner.ts, on the
// sweeping machine or under a queue worker). A job runs in a process of its
// own so that a training loop that keeps the CPU busy never starves the queue
// connection (lock renewals, progress), and so that killing the job kills
// exactly it. When its parent goes away the job stops at once: a job nobody
// waits for would only race the retry that replaces it.

import { setThreads } from '../engine/matmul-kernel.js';
import type { Progress } from '../experiments/experiment.js';
import { runJob, type JobData, type JobProgress } from './job.js';

export type ToJobProcess = { type: 'run'; job: JobData; runDir: string; worker: string; gather: boolean };
export type FromJobProcess =
  | { type: 'ready' }
  | { type: 'progress'; id: string; progress: JobProgress }
  | { type: 'result'; id: string; result: import('./job.js').JobResult }
  | { type: 'error'; id: string; name: string; message: string };

const parent = process.ppid;

function orphaned(): boolean {
  return process.ppid !== parent || !process.connected;
}

/** Checked from the job's own progress calls too, which come while the training loop holds the event loop. */
function exitIfOrphaned(): void {
  if (orphaned()) process.exit(70);
}

function send(m: FromJobProcess): void {
  if (process.connected) process.send!(m);
}

function progressFor(id: string): Progress {
  let phase = '';
  let total = 0;
  let last = 0;
  let pending: JobProgress | null = null;
  const flush = (force: boolean) => {
    const now = performance.now();
    if (!pending || (!force && now - last < 250)) return;
    last = now;
    send({ type: 'progress', id, progress: pending });
    pending = null;
  };
  return {
    phase(name, t) {
      exitIfOrphaned();
      phase = name;
      total = t;
      pending = { phase, done: 0, total };
      flush(true);
    },
    update(done) {
      exitIfOrphaned();
      pending = { phase, done, total };
      flush(done >= total);
    },
    note(message) {
      exitIfOrphaned();
      pending = { phase, done: 0, total, note: message };
      flush(true);
    },
  };
}

if (process.send) {
  process.on('disconnect', () => process.exit(70));
  setInterval(exitIfOrphaned, 500).unref();
  process.on('message', (m: ToJobProcess) => {
    if (m.type !== 'run') return;
    if (m.job.threads !== undefined) setThreads(m.job.threads);
    runJob(m.job, m.runDir, { worker: m.worker, progress: progressFor(m.job.id), gather: m.gather }).then(
      (result) => send({ type: 'result', id: m.job.id, result }),
      (e: unknown) => send({ type: 'error', id: m.job.id, name: e instanceof Error ? e.name : 'Error', message: e instanceof Error ? e.message : String(e) }),
    );
  });
  send({ type: 'ready' });
}
