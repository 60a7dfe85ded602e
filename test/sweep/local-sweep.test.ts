// The local sweep end to end, on tiny configs: each job's bits equal a direct
// run's, a failing job is recorded and retried a bounded number of times
// without stopping the sweep, `--resume` after the sweeping process died runs
// only the unfinished jobs, and the clear errors.

import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { checkSpec, type SweepSpec } from '../../src/sweep/spec.js';
import { runSweep } from '../../src/sweep/sweep.js';
import { readSweepState } from '../../src/sweep/state.js';
import { resultDigest } from '../../src/sweep/job.js';
import { runAddition, PRESETS } from '../../src/experiments/addition.js';
import { repoRoot } from '../skip.js';

const tinyAddition = { digits: 2, steps: 16, batch: 16, layers: 1, 'd-model': 32, warmup: 4, 'eval-every': 4, 'eval-problems': 64 };

test('a local sweep on two processes: each job has the bits of a direct run; a point the experiment refuses fails alone; sweep.json and report.html', async () => {
  const out = mkdtempSync(join(tmpdir(), 'gb-sweep-'));
  const spec = checkSpec({ experiment: 'addition', metric: 'eval_loss', record: ['exact_match'], settings: tinyAddition, grid: { seed: [5, 6], heads: [2, 3] } });
  const r = await runSweep(spec, { out, workers: 2, threads: 1 });
  const jobs = r.state.jobs;
  assert.deepEqual(jobs.map((j) => j.state), ['done', 'failed', 'done', 'failed']);
  assert.match(jobs[1].error ?? '', /invalid config: .*not divisible by heads 3/);
  assert.equal(r.ran, 2);
  const direct = await runAddition({ ...PRESETS.default, digits: 2, steps: 16, batch: 16, layers: 1, dModel: 32, heads: 2, warmup: 4, evalEvery: 4, evalProblems: 64, seed: 6 }, { runDir: join(out, 'direct') });
  assert.equal(jobs[2].result?.digest, resultDigest(JSON.parse(JSON.stringify(direct))), 'the swept job equals a direct run bit for bit');
  assert.equal(jobs[2].result?.metric, direct.eval_loss);
  assert.equal(jobs[2].result?.values.exact_match, direct.exact_match);
  assert.notEqual(jobs[0].result?.digest, jobs[2].result?.digest, 'seeds differ');
  const saved = readSweepState(r.dir);
  assert.deepEqual(saved.jobs.map((j) => j.state), ['done', 'failed', 'done', 'failed']);
  assert.ok(saved.finished);
  const runResult = JSON.parse(readFileSync(join(r.dir, 'runs', '0002', 'result.json'), 'utf8'));
  assert.equal(runResult.eval_loss, direct.eval_loss);
  const html = readFileSync(r.report, 'utf8');
  assert.match(html, /Best configs/);
  assert.match(html, /<svg/);
  assert.match(html, /not divisible by heads 3/);
  const best = Math.min(jobs[0].result!.metric!, jobs[2].result!.metric!);
  assert.ok(html.includes(String(best).slice(0, 6)), 'the best metric is on the page');
});

test('a job that fails while running is recorded with its error, tried 1 + retries times, and the sweep goes on', async () => {
  const out = mkdtempSync(join(tmpdir(), 'gb-sweep-fail-'));
  const spec = checkSpec({
    experiment: 'scan-snap', preset: 'quick', metric: 'figure4.spearman', retries: 1,
    settings: { iterations: 6, 'num-last': '1', 'lr-z': '1', 'lr-ratio': '1', seeds: 1, corpus: join(out, 'no-such-corpus.txt') },
    grid: { trained: [false, true] },
  });
  const r = await runSweep(spec, { out, workers: 1, threads: 1 });
  const [ok, bad] = r.state.jobs;
  assert.equal(ok.state, 'done');
  assert.equal(typeof ok.result?.metric, 'number');
  assert.equal(bad.state, 'failed');
  assert.equal(bad.attempts, 2);
  assert.equal(bad.errors.length, 2);
  assert.match(bad.error ?? '', /no-such-corpus\.txt does not exist/);
});

test('--resume after the sweeping process died runs only the unfinished jobs, and refuses a directory of another SPEC', async () => {
  const out = mkdtempSync(join(tmpdir(), 'gb-sweep-resume-'));
  const raw = { experiment: 'addition', metric: 'eval_loss', settings: { ...tinyAddition, heads: 2 }, grid: { seed: [1, 2, 3] } };
  const specFile = join(out, 'spec.json');
  writeFileSync(specFile, JSON.stringify(raw));
  const cli = join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
  const child = spawn(process.execPath, [cli, 'sweep', specFile, '--out', out, '--workers', '1', '--threads', '1', '--quiet'], { stdio: 'ignore', detached: true });
  let dir = '';
  const deadline = Date.now() + 60_000;
  // Wait for the first finished job, then kill the sweeper (and its job process) mid-sweep.
  for (;;) {
    assert.ok(Date.now() < deadline, 'the first job did not finish in 60 s');
    await new Promise((r) => setTimeout(r, 100));
    const { readdirSync } = await import('node:fs');
    const name = readdirSync(out).find((n) => n.startsWith('sweep-addition-'));
    if (!name) continue;
    dir = join(out, name);
    try {
      if (readSweepState(dir).jobs.some((j) => j.state === 'done')) break;
    } catch {
      // not written yet
    }
  }
  process.kill(-child.pid!, 'SIGKILL');
  const before = readSweepState(dir);
  const doneBefore = before.jobs.filter((j) => j.state === 'done');
  assert.ok(doneBefore.length >= 1 && doneBefore.length < 3, `${doneBefore.length} done when killed`);
  const firstDone = join(dir, 'runs', doneBefore[0].id, 'sweep-done.json');
  const mtime = statSync(firstDone).mtimeMs;
  const spec: SweepSpec = checkSpec(raw);
  await assert.rejects(runSweep(checkSpec({ ...raw, grid: { seed: [1, 2, 4] } }), { resume: dir }), /is a sweep of another SPEC/);
  const r = await runSweep(spec, { resume: dir, workers: 1, threads: 1 });
  assert.equal(r.ran, 3 - doneBefore.length, 'only the unfinished jobs ran');
  assert.deepEqual(r.state.jobs.map((j) => j.state), ['done', 'done', 'done']);
  assert.equal(statSync(firstDone).mtimeMs, mtime, 'a finished job is not touched');
  assert.deepEqual(r.state.jobs.find((j) => j.id === doneBefore[0].id)?.result, doneBefore[0].result);
});

test('a Redis that cannot be reached is named in the error', async () => {
  const port = await new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const out = mkdtempSync(join(tmpdir(), 'gb-sweep-noredis-'));
  const spec = checkSpec({ experiment: 'addition', metric: 'eval_loss', settings: { ...tinyAddition, heads: 2 }, grid: { seed: [1] } });
  await assert.rejects(runSweep(spec, { out, redis: `redis://127.0.0.1:${port}` }), new RegExp(`cannot reach Redis at redis://127\\.0\\.0\\.1:${port}`));
});
