// The sweep's two targets, measured on this machine with a redis-server of
// its own on a free loopback port:
//   1. queue overhead per job: a sweep of trivial jobs (a 1-step addition run)
//      through the queue with one worker, against the local default with one
//      process; the difference in wall time over the job count;
//   2. a scan-and-snap-sized grid (Figure 6's 4 × 4 × 4 cells, the quick
//      preset's sizes, 2 seeds a cell): the queue with 2 local workers against
//      the local default's 2 processes. GRID_PRESET=default runs the paper's
//      Figure 6 itself instead: the default preset, 10 seeds a cell (640
//      trainings in 64 jobs), without the trained-model lenses.
// Run: npm run bench:sweep (needs redis-server). Prints JSON.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { checkSpec, type SweepSpec } from '../src/sweep/spec.js';
import { runSweep, type SweepOutcome } from '../src/sweep/sweep.js';
import { TestRedis, redisServerAvailable } from '../test/sweep/redis-server.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const jobs = Number(process.env.TRIVIAL_JOBS ?? 40);

const trivial = checkSpec({
  experiment: 'addition', metric: 'eval_loss',
  settings: { digits: 1, steps: 1, batch: 1, layers: 1, 'd-model': 8, heads: 1, warmup: 0, 'eval-every': 1, 'eval-problems': 1 },
  grid: { seed: Array.from({ length: jobs }, (_, i) => i + 1) },
});

const fullGrid = process.env.GRID_PRESET === 'default';
const grid = checkSpec({
  experiment: 'scan-snap', preset: fullGrid ? 'default' : 'quick', metric: 'figure6.cells.0.mean', record: ['figure4.spearman'],
  settings: fullGrid ? { trained: false } : { seeds: 2 },
  grid: { 'num-last': [1, 3, 5, 10], 'lr-z': [0.5, 1, 2, 3], 'lr-ratio': [1, 2, 5, 10] },
});

function jobSeconds(o: SweepOutcome): number {
  return o.state.jobs.reduce((s, j) => s + (j.result?.seconds ?? 0), 0);
}

/**
 * Per job, the time a worker spends outside the job's own compute: from one of
 * its jobs being recorded as finished by the sweeper to the next, minus the
 * next job's compute time (queue or IPC round trip, gathering, sweep.json).
 * Median and mean in ms; the sweep's fixed start and end costs are not in it.
 */
function gapMs(o: SweepOutcome): { median: number; mean: number } {
  const jobs = o.state.jobs.filter((j) => j.finished && j.result).sort((a, b) => Date.parse(a.finished!) - Date.parse(b.finished!));
  const last = new Map<string, number>();
  const gaps: number[] = [];
  for (const j of jobs) {
    const t = Date.parse(j.finished!);
    const prev = last.get(j.worker!);
    if (prev !== undefined) gaps.push(t - prev - j.result!.seconds * 1000);
    last.set(j.worker!, t);
  }
  gaps.sort((a, b) => a - b);
  return { median: gaps[Math.floor(gaps.length / 2)] ?? NaN, mean: gaps.reduce((s, g) => s + g, 0) / gaps.length };
}

async function timed(spec: SweepSpec, opts: Parameters<typeof runSweep>[1]): Promise<{ wall: number; jobs: number; out: SweepOutcome }> {
  const t0 = performance.now();
  const out = await runSweep(spec, { out: mkdtempSync(join(tmpdir(), 'gb-bench-sweep-')), ...opts });
  const wall = (performance.now() - t0) / 1000;
  const bad = out.state.jobs.filter((j) => j.state !== 'done');
  if (bad.length) throw new Error(`${bad.length} jobs did not finish: ${bad[0].error}`);
  return { wall, jobs: jobSeconds(out), out };
}

function startWorkers(n: number, url: string, queue: string): ChildProcess[] {
  const work = mkdtempSync(join(tmpdir(), 'gb-bench-work-'));
  return Array.from({ length: n }, () => spawn(process.execPath, [CLI, 'worker', '--redis', url, '--queue', queue, '--work', work, '--threads', '1', '--quiet'], { stdio: 'ignore', detached: true }));
}

function stopWorkers(ws: ChildProcess[]): void {
  for (const w of ws) {
    try {
      process.kill(-w.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

async function main(): Promise<void> {
  if (!redisServerAvailable()) throw new Error('redis-server is not installed (apt-get install redis-server)');
  const redis = await TestRedis.start();
  const report: Record<string, unknown> = { machine: 'shared', note: 'wall times on a machine other jobs may share' };
  try {
    // Warm the file cache and the JIT's code once, so neither side pays it alone.
    await timed(checkSpec({ ...trivial, grid: { seed: [1, 2] } }), { workers: 1, threads: 1 });

    const local1 = await timed(trivial, { workers: 1, threads: 1 });
    let ws = startWorkers(1, redis.url, 'bench-trivial');
    // The worker's start and its job process's first job are paid before the clock starts, as the local side's were.
    await timed(checkSpec({ ...trivial, grid: { seed: [1, 2] } }), { redis: redis.url, queue: 'bench-trivial' });
    const queued1 = await timed(trivial, { redis: redis.url, queue: 'bench-trivial' });
    const shared1 = await timed(trivial, { redis: redis.url, queue: 'bench-trivial', sharedRuns: true });
    stopWorkers(ws);
    report.trivial = {
      jobs,
      local_wall_s: local1.wall,
      queue_wall_s: queued1.wall,
      local_job_s: local1.jobs,
      queue_job_s: queued1.jobs,
      queue_overhead_per_job_ms: ((queued1.wall - local1.wall) / jobs) * 1000,
      local_gap_ms: gapMs(local1.out),
      queue_gap_ms: gapMs(queued1.out),
      shared_runs_gap_ms: gapMs(shared1.out),
      shared_runs_wall_s: shared1.wall,
      shared_runs_overhead_per_job_ms: ((shared1.wall - local1.wall) / jobs) * 1000,
      queue_outside_jobs_per_job_ms: ((queued1.wall - queued1.jobs) / jobs) * 1000,
      local_outside_jobs_per_job_ms: ((local1.wall - local1.jobs) / jobs) * 1000,
    };
    process.stderr.write(JSON.stringify(report.trivial) + '\n');

    if (process.env.SKIP_GRID !== '1') {
      const local2 = await timed(grid, { workers: 2, threads: 1 });
      ws = startWorkers(2, redis.url, 'bench-grid');
      const queued2 = await timed(grid, { redis: redis.url, queue: 'bench-grid' });
      stopWorkers(ws);
      const same = local2.out.state.jobs.every((j, i) => j.result?.digest === queued2.out.state.jobs[i].result?.digest);
      report.grid = { jobs: local2.out.state.jobs.length, local_wall_s: local2.wall, queue_wall_s: queued2.wall, ratio: queued2.wall / local2.wall, local_job_s: local2.jobs, queue_job_s: queued2.jobs, local_gap_ms: gapMs(local2.out), queue_gap_ms: gapMs(queued2.out), identical_results: same };
      process.stderr.write(JSON.stringify(report.grid) + '\n');
    }
  } finally {
    await redis.down();
  }
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
}

await main();
