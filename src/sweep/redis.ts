// Sweeps beyond one machine: the jobs go to a BullMQ queue on Redis, and
// `glassbox worker`s on any machine take them, each job in a process of its
// own (src/sweep/job-runner.ts, as the local default does). The sweeping
// process hears back through the queue's events and, in case an event was
// missed (a Redis restart, a sweeper that started late), by asking for each
// outstanding job's state every few seconds.
//
// Nothing lost, nothing done twice: a killed worker's job stays locked only
// until its lock runs out, then another worker's stalled-job check puts it
// back in the queue, and the retry continues from the job's last checkpoint.
// A job whose run directory already holds its finished result (it completed
// but the completion did not reach Redis) returns that result without
// computing again, and the sweep counts each job's first result only.

import { availableParallelism, hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { Queue, QueueEvents, Worker, Job } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { redactUrl, type Dispatcher, type DispatchSink, type QueuedJob, type SweepView } from './dispatch.js';
import type { JobData, JobProgress, JobResult } from './job.js';
import { JobFailed, JobSlot } from './job-runner.js';

/** Options for a connection that outlives Redis restarts: commands wait for the reconnect instead of failing. */
function durable(): RedisOptions {
  return { maxRetriesPerRequest: null, enableReadyCheck: true, retryStrategy: (n: number) => Math.min(200 * n, 2000) };
}

/** Fail fast, naming the URL, when Redis is not there. */
export async function checkRedis(url: string, timeoutMs = 3000): Promise<void> {
  let probe: Redis;
  try {
    probe = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  } catch (e) {
    throw new Error(`cannot reach Redis at ${redactUrl(url)}: ${(e as Error).message}`);
  }
  // The socket's own error (ECONNREFUSED, ENOTFOUND) says more than the "Connection is closed" the command fails with.
  let cause: Error | null = null;
  probe.on('error', (e: Error) => (cause ??= e));
  try {
    await probe.connect();
    await probe.ping();
  } catch (e) {
    throw new Error(`cannot reach Redis at ${redactUrl(url)}: ${(cause ?? (e as Error)).message}`);
  } finally {
    probe.disconnect();
  }
}

/** The queue's id of a sweep job (unique across sweeps sharing a queue). */
export function queueJobId(job: JobData): string {
  return `${job.sweepId}-${job.id}`;
}

interface ProgressData {
  worker: string;
  progress: JobProgress;
}

const RECONCILE_MS = 2000;

/** Each failed attempt's error, from the stack traces BullMQ keeps per attempt (their first lines). */
function attemptErrors(job: Job | undefined): string[] | undefined {
  const st = job?.stacktrace;
  return Array.isArray(st) && st.length > 0 ? st.map((s) => String(s).split('\n')[0]) : undefined;
}

export class RedisDispatcher implements Dispatcher {
  private constructor(private readonly url: string, private readonly queueName: string) {}

  static async connect(url: string, queueName: string): Promise<RedisDispatcher> {
    await checkRedis(url);
    return new RedisDispatcher(url, queueName);
  }

  async run(jobs: QueuedJob[], sink: DispatchSink, signal?: AbortSignal): Promise<void> {
    if (jobs.length === 0) return;
    // Connections passed in are the caller's to close (BullMQ leaves them open).
    const conns = [new Redis(this.url, durable()), new Redis(this.url, durable())];
    // While Redis is away the connections retry; each failed try is an error event, expected, not news.
    for (const c of conns) c.on('error', () => {});
    const queue = new Queue(this.queueName, { connection: conns[0] });
    const events = new QueueEvents(this.queueName, { connection: conns[1] });
    const quiet = () => {};
    queue.on('error', quiet);
    events.on('error', quiet);
    const pending = new Map<string, QueuedJob>();
    const started = new Set<string>();
    for (const q of jobs) pending.set(queueJobId(q.job), q);
    let finish: () => void = () => {};
    const allDone = new Promise<void>((r) => (finish = r));
    const settle = (bullId: string, fn: (q: QueuedJob) => void) => {
      const q = pending.get(bullId);
      if (!q) return;
      pending.delete(bullId);
      fn(q);
      if (pending.size === 0) finish();
    };
    const parse = (v: unknown): JobResult => (typeof v === 'string' ? (JSON.parse(v) as JobResult) : (v as JobResult));
    const onFailed = async (bullId: string, reason: string) => {
      const q = pending.get(bullId);
      if (!q) return;
      const job = await Job.fromId(queue, bullId);
      const state = job ? await job.getState() : 'unknown';
      const attempts = q.attempts + (job?.attemptsMade ?? 1);
      const errors = attemptErrors(job ?? undefined);
      if (state === 'failed') settle(bullId, (x) => sink.failed(x.job.id, errors?.at(-1) ?? reason, attempts, errors));
      else sink.retrying(q.job.id, reason, attempts);
    };
    events.on('progress', ({ jobId, data }) => {
      const q = pending.get(jobId);
      const d = data as unknown as ProgressData;
      if (!q || !d || typeof d !== 'object' || !d.worker) return;
      if (!started.has(jobId) || d.progress.phase === 'start') {
        started.add(jobId);
        sink.started(q.job.id, d.worker);
      }
      sink.progress(q.job.id, d.worker, d.progress);
    });
    events.on('completed', ({ jobId, returnvalue }) => settle(jobId, (q) => sink.done(q.job.id, parse(returnvalue))));
    events.on('failed', ({ jobId, failedReason }) => void onFailed(jobId, failedReason).catch(quiet));
    // Ask for every outstanding job's state now and then: events sent while this process was away are not replayed to it.
    const reconcile = async () => {
      const missing: QueuedJob[] = [];
      for (const [bullId, q] of [...pending]) {
        const job = await Job.fromId(queue, bullId);
        if (!job) {
          missing.push(q);
          continue;
        }
        const state = await job.getState();
        if (state === 'completed') settle(bullId, (x) => sink.done(x.job.id, parse(job.returnvalue)));
        else if (state === 'failed') {
          const errors = attemptErrors(job);
          settle(bullId, (x) => sink.failed(x.job.id, errors?.at(-1) ?? job.failedReason, x.attempts + job.attemptsMade, errors));
        }
      }
      // New jobs, or jobs a Redis that lost its data no longer has; a job id already in the queue is never added twice.
      if (missing.length) await queue.addBulk(missing.map((q) => ({ name: q.job.experiment, data: q.job, opts: this.jobOptions(q) })));
    };
    try {
      await events.waitUntilReady();
      await reconcile();
      const timer = setInterval(() => void reconcile().catch(quiet), RECONCILE_MS);
      const onAbort = () => finish();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        if (pending.size > 0) await allDone;
      } finally {
        clearInterval(timer);
        signal?.removeEventListener('abort', onAbort);
      }
      // Jobs still waiting when the sweep is stopped stay in the queue; `--resume` collects them.
      for (const q of pending.values()) sink.stopped(q.job.id);
    } finally {
      await events.close();
      await queue.close();
      conns.forEach((c) => c.disconnect());
    }
  }

  private jobOptions(q: QueuedJob) {
    const week = 7 * 24 * 3600;
    return { jobId: queueJobId(q.job), attempts: Math.max(1, q.retries + 1 - q.attempts), removeOnComplete: { age: week }, removeOnFail: { age: week } };
  }

  async close(): Promise<void> {}
}

export interface WorkerOptions {
  url: string;
  queue?: string;
  concurrency?: number;
  /** Where run directories go when the sweep does not name one (they are also sent back). */
  work?: string;
  /** How long a job's lock lasts without renewal; a dead worker's job is retried after about this long. */
  lockSeconds?: number;
  /** Matmul threads per job, over what the sweep asks (default: this machine's cores shared among the concurrent jobs). */
  threads?: number;
  view?: SweepView;
  signal?: AbortSignal;
}

/** `glassbox worker`: take jobs from the queue until stopped. Resolves once the worker has closed. */
export async function runWorker(opts: WorkerOptions): Promise<{ jobs: number }> {
  await checkRedis(opts.url);
  const concurrency = opts.concurrency ?? 1;
  const work = resolve(opts.work ?? 'sweep-work');
  const lockMs = Math.round((opts.lockSeconds ?? 15) * 1000);
  const me = `${hostname()}:${process.pid}`;
  const free = Array.from({ length: concurrency }, (_, i) => new JobSlot(concurrency === 1 ? me : `${me}/${i + 1}`));
  const all = [...free];
  const view = opts.view;
  let count = 0;
  const connection = new Redis(opts.url, durable());
  let lost = false;
  connection.on('error', (e: Error) => {
    if (!lost) view?.note(`worker: lost Redis at ${redactUrl(opts.url)} (${e.message}); reconnecting`);
    lost = true;
  });
  connection.on('ready', () => {
    if (lost) view?.note('worker: Redis is back');
    lost = false;
  });
  const worker = new Worker(
    opts.queue ?? 'glassbox-sweep',
    async (job: Job) => {
      const slot = free.pop();
      if (!slot) throw new Error('glassbox worker: more jobs than job processes (concurrency)');
      const given = job.data as JobData;
      const data: JobData = { ...given, threads: opts.threads ?? given.threads ?? Math.max(1, Math.floor(availableParallelism() / concurrency)) };
      const runDir = data.runDir ?? join(work, data.sweepId, data.id);
      const tell = (p: JobProgress) => {
        view?.worker(slot.worker, data.id, p);
        job.updateProgress({ worker: slot.worker, progress: p } as unknown as object).catch(() => {});
      };
      tell({ phase: 'start', done: 0, total: 0 });
      try {
        const r = await slot.run(data, runDir, data.runDir === null, tell);
        count++;
        return r;
      } catch (e) {
        if (e instanceof JobFailed) {
          // Keep the experiment's error name, so the queue's record of the attempt reads as the local one does.
          const err = new Error(e.message);
          err.name = e.errorName;
          throw err;
        }
        throw e;
      } finally {
        view?.worker(slot.worker, null);
        free.push(slot);
      }
    },
    { connection, concurrency, lockDuration: lockMs, stalledInterval: Math.max(1000, Math.round(lockMs / 2)), maxStalledCount: 10, name: me },
  );
  worker.on('error', (e) => view?.note(`worker: ${e.message}`));
  view?.note(`worker ${me}: taking jobs from ${redactUrl(opts.url)} queue ${opts.queue ?? 'glassbox-sweep'} (${concurrency} at a time)`);
  await new Promise<void>((r) => {
    if (opts.signal?.aborted) r();
    opts.signal?.addEventListener('abort', () => r(), { once: true });
  });
  await worker.close();
  connection.disconnect();
  all.forEach((s) => s.stop());
  return { jobs: count };
}
