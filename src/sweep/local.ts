// The local default: N job processes on this machine take the sweep's jobs
// from an in-memory list. Everything else (the job, its process, retries,
// resuming from checkpoints) is what a queue worker does too.

import { JobSlot, JobFailed } from './job-runner.js';
import type { Dispatcher, DispatchSink, QueuedJob } from './dispatch.js';

export class LocalDispatcher implements Dispatcher {
  constructor(private readonly workers: number) {}

  async run(jobs: QueuedJob[], sink: DispatchSink, signal?: AbortSignal): Promise<void> {
    const queue = [...jobs];
    const slots = Array.from({ length: Math.min(this.workers, Math.max(1, jobs.length)) }, (_, i) => new JobSlot(`local-${i + 1}`));
    const onAbort = () => slots.forEach((s) => s.stop());
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await Promise.all(
        slots.map(async (slot) => {
          for (let q = queue.shift(); q && !signal?.aborted; q = queue.shift()) {
            const { job, runDir } = q;
            sink.started(job.id, slot.worker);
            try {
              const r = await slot.run(job, runDir, false, (p) => sink.progress(job.id, slot.worker, p));
              sink.done(job.id, r);
            } catch (e) {
              if (signal?.aborted) {
                sink.stopped(job.id);
                break;
              }
              const message = e instanceof JobFailed ? `${e.errorName}: ${e.message}` : (e as Error).message;
              q.attempts++;
              if (q.attempts <= q.retries) {
                sink.retrying(job.id, message, q.attempts);
                queue.push(q);
              } else sink.failed(job.id, message, q.attempts);
            }
          }
          slot.stop();
        }),
      );
    } finally {
      signal?.removeEventListener('abort', onAbort);
      slots.forEach((s) => s.stop());
    }
  }

  async close(): Promise<void> {}
}
