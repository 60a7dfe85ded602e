// A slot that runs sweep jobs one at a time in a child process
// (src/sweep/job-process.ts), reused from job to job so the process start is
// paid once. The local sweep and the queue worker both run jobs through it:
// the local default is the queue's code path without the network.

import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { JobData, JobProgress, JobResult } from './job.js';
import type { FromJobProcess, ToJobProcess } from './job-process.js';

const ENTRY = fileURLToPath(new URL('./job-process.js', import.meta.url));

/** The job threw: its message is the experiment's (bad config, NaN loss). */
export class JobFailed extends Error {
  constructor(readonly job: string, readonly errorName: string, message: string) {
    super(message);
    this.name = 'JobFailed';
  }
}

/** The job's process ended without an answer (killed, out of memory). */
export class JobProcessDied extends Error {
  constructor(readonly job: string, detail: string) {
    super(`the process running job ${job} ended without a result (${detail})`);
    this.name = 'JobProcessDied';
  }
}

export class JobSlot {
  private child: ChildProcess | null = null;
  private ready: Promise<void> | null = null;

  constructor(readonly worker: string) {}

  private start(): Promise<void> {
    if (this.ready && this.child && this.child.exitCode === null && this.child.signalCode === null) return this.ready;
    const child = fork(ENTRY, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'advanced' });
    this.child = child;
    this.ready = new Promise((resolve, reject) => {
      const onMsg = (m: FromJobProcess) => {
        if (m.type !== 'ready') return;
        child.off('message', onMsg);
        child.off('exit', onExit);
        resolve();
      };
      const onExit = (code: number | null, sig: string | null) => reject(new Error(`a job process failed to start (exit ${code ?? sig})`));
      child.on('message', onMsg);
      child.once('exit', onExit);
    });
    return this.ready;
  }

  /** Run one job; rejects with JobFailed or JobProcessDied. */
  async run(job: JobData, runDir: string, gather: boolean, onProgress: (p: JobProgress) => void = () => {}): Promise<JobResult> {
    await this.start();
    const child = this.child!;
    return new Promise<JobResult>((resolve, reject) => {
      const done = () => {
        child.off('message', onMsg);
        child.off('exit', onExit);
      };
      const onMsg = (m: FromJobProcess) => {
        if (m.type === 'progress' && m.id === job.id) onProgress(m.progress);
        else if (m.type === 'result' && m.id === job.id) {
          done();
          resolve(m.result);
        } else if (m.type === 'error' && m.id === job.id) {
          done();
          // A failed job may leave its process in any state; the next job gets a fresh one.
          this.stop();
          reject(new JobFailed(job.id, m.name, m.message));
        }
      };
      const onExit = (code: number | null, sig: string | null) => {
        done();
        this.child = null;
        reject(new JobProcessDied(job.id, sig ? `signal ${sig}` : `exit code ${code}`));
      };
      child.on('message', onMsg);
      child.once('exit', onExit);
      const msg: ToJobProcess = { type: 'run', job, runDir, worker: this.worker, gather };
      child.send(msg);
    });
  }

  /** End the child process (its job, if any, is lost and will be retried). */
  stop(): void {
    if (this.child && this.child.exitCode === null) this.child.kill('SIGKILL');
    this.child = null;
    this.ready = null;
  }
}
