// The sweep through a BullMQ queue on a redis-server of the test's own
// (loopback only): two `glassbox worker` processes take the jobs, one is
// killed mid-job (after its first checkpoint), and Redis is restarted while
// the other works. Every job must finish once, the killed one from its
// checkpoint, and every result must equal the local default's bit for bit.

import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { checkSpec } from '../../src/sweep/spec.js';
import { runSweep, type SweepView } from '../../src/sweep/sweep.js';
import { readSweepState, writeSweepState, type SweepState } from '../../src/sweep/state.js';
import { repoRoot, skipUnlessAvailable } from '../skip.js';
import { TestRedis, redisServerAvailable } from './redis-server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => (t = setTimeout(() => reject(new Error(`${what} did not finish in ${ms / 1000} s`)), ms)))]).finally(() => clearTimeout(t));
}

function killAll(ps: ChildProcess[]): void {
  for (const p of ps) {
    try {
      process.kill(-p.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

test('two Redis workers, one killed mid-job and Redis restarted mid-sweep: every job done once, bit-identical to the local default; --resume collects a result only Redis still holds', async (t) => {
  if (skipUnlessAvailable(t, redisServerAvailable(), 'redis-server is not installed (apt-get install redis-server)')) return;
  const redis = await TestRedis.start();
  const workers: ChildProcess[] = [];
  try {
    const steps = 45;
    const spec = checkSpec({
      experiment: 'addition', metric: 'eval_loss',
      settings: { digits: 2, steps, batch: 16, layers: 1, 'd-model': 32, heads: 2, warmup: 4, 'eval-every': 5, 'eval-problems': 32 },
      grid: { seed: [1, 2, 3] },
    });
    const local = await runSweep(spec, { out: mkdtempSync(join(tmpdir(), 'gb-sweep-local-')), workers: 2, threads: 1 });
    assert.deepEqual(local.state.jobs.map((j) => j.state), ['done', 'done', 'done']);

    const work = mkdtempSync(join(tmpdir(), 'gb-sweep-work-'));
    const queue = `gb-test-${redis.port}`;
    const cli = join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
    // Both workers share one work folder, as workers on shared storage would: the retry finds the killed job's checkpoint.
    const startWorker = () => spawn(process.execPath, [cli, 'worker', '--redis', redis.url, '--queue', queue, '--work', work, '--lock-seconds', '2', '--threads', '1', '--quiet'], { stdio: 'ignore', detached: true });
    workers.push(startWorker(), startWorker());
    const starts = new Map<string, number>();
    const view: SweepView = {
      sweep() {},
      worker(_name, job, p) {
        if (job && p?.phase === 'start') starts.set(job, (starts.get(job) ?? 0) + 1);
      },
      note() {},
    };
    const out = mkdtempSync(join(tmpdir(), 'gb-sweep-redis-'));
    const sweeping = runSweep(spec, { out, redis: redis.url, queue, view });
    sweeping.catch(() => {});

    // Kill the worker whose job has written a checkpoint but no result yet.
    let killed: { job: string; pid: number } | null = null;
    const deadline = Date.now() + 60_000;
    while (!killed) {
      assert.ok(Date.now() < deadline, 'no job reached a checkpoint in 60 s');
      await sleep(50);
      const name = readdirSync(out).find((n) => n.startsWith('sweep-addition-'));
      if (!name) continue;
      let state: SweepState;
      try {
        state = readSweepState(join(out, name));
      } catch {
        continue;
      }
      for (const j of state.jobs) {
        if (j.state !== 'running' || !j.worker) continue;
        const runDir = join(work, state.sweep_id, j.id);
        if (!existsSync(join(runDir, 'checkpoints', 'last.safetensors')) || existsSync(join(runDir, 'sweep-done.json'))) continue;
        const pid = Number(j.worker.split(':').pop());
        const w = workers.find((x) => x.pid === pid);
        if (!w) continue;
        process.kill(-pid, 'SIGKILL');
        killed = { job: j.id, pid };
        break;
      }
    }
    // Restart Redis while the other worker goes on (its append-only file keeps the queue).
    await sleep(300);
    await redis.down();
    await sleep(500);
    await redis.up();

    const r = await withTimeout(sweeping, 90_000, 'the Redis sweep');
    assert.deepEqual(r.state.jobs.map((j) => j.state), ['done', 'done', 'done']);
    for (const [i, j] of r.state.jobs.entries()) {
      assert.equal(j.result?.digest, local.state.jobs[i].result?.digest, `job ${j.id}: the same bits as the local default`);
      assert.equal(j.result?.metric, local.state.jobs[i].result?.metric);
      // The run directory came back into the sweep directory.
      const res = JSON.parse(readFileSync(join(r.dir, 'runs', j.id, 'result.json'), 'utf8'));
      assert.equal(res.eval_loss, local.state.jobs[i].result?.metric);
      const trained = readFileSync(join(r.dir, 'runs', j.id, 'metrics.jsonl'), 'utf8').trim().split('\n').filter((l) => JSON.parse(l).kind === 'train').length;
      if (j.id === killed.job) {
        assert.match(j.result?.resumedFrom ?? '', /last\.safetensors$/, 'the killed job continued from its checkpoint');
        assert.notEqual(j.result?.worker.split(':').pop(), String(killed.pid), 'and another worker finished it');
        assert.ok((starts.get(j.id) ?? 0) >= 2, 'the killed job started twice');
      } else assert.equal(trained, steps, `job ${j.id} trained once: ${trained} training records for ${steps} steps`);
    }

    // The sweeper died after a job completed in the queue but before sweep.json said so: --resume collects
    // the result (and the run directory) from Redis, with no worker left that could run anything.
    killAll(workers);
    const st = readSweepState(r.dir);
    Object.assign(st.jobs[0], { state: 'running', result: null, finished: null });
    writeSweepState(r.dir, st);
    rmSync(join(r.dir, 'runs', '0000'), { recursive: true });
    const again = await withTimeout(runSweep(spec, { resume: r.dir, redis: redis.url, queue }), 30_000, 'the resumed Redis sweep');
    assert.equal(again.ran, 1);
    assert.deepEqual(again.state.jobs.map((j) => j.state), ['done', 'done', 'done']);
    assert.equal(again.state.jobs[0].result?.digest, local.state.jobs[0].result?.digest);
    assert.equal(JSON.parse(readFileSync(join(r.dir, 'runs', '0000', 'result.json'), 'utf8')).eval_loss, local.state.jobs[0].result?.metric);
  } finally {
    killAll(workers);
    await redis.down();
  }
});
