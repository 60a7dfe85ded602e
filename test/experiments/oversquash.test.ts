import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { runOversquash, lmNs, OVERSQUASH_PRESETS, type OversquashConfig } from '../../src/experiments/oversquash.js';
import { logLogSlope, influenceClaim, lmClaims } from '../../src/experiments/oversquash-claims.js';
import { encodeBits, answerOf, paperStrings, TOK } from '../../src/experiments/oversquash-tasks.js';
import { softmaxTv, collapseCurve } from '../../src/experiments/oversquash-synthetic.js';
import { renderOversquashReport } from '../../src/report/oversquash-report.js';
import type { FamilyDistances } from '../../src/lens/oversquash.js';

const tiny: OversquashConfig = {
  precisions: ['fp32', 'bf16', 'fp16'],
  synthetic: { d: 8, ns: [2, 8, 32], seeds: 2, encodings: ['none', 'sinusoidal', 'alibi', 'rope'], scales: ['inv-d', 'unit'], tvNs: [200, 800, 3200], tvPerturbed: 200 },
  tasks: { tasks: ['copy-last', 'count'], trainMax: 4, evalNs: [4, 8], evalSamples: 4, steps: 4, batch: 4, lr: 3e-3, nLayers: 1, nHeads: 2, dModel: 8 },
  lm: { model: 'builtin', nMax: 7, nStep: 3, influence: true },
  cost: { batch: 1, reps: 1 },
  seed: 1,
};

test('encodeBits puts a comma after every third digit, between groups; answers are the last bit, the first bit, the count', () => {
  assert.deepEqual(encodeBits([1, 0, 1, 1], true), [TOK.BOS, 1, 0, 1, TOK.COMMA, 1, TOK.QUERY]);
  assert.deepEqual(encodeBits([1, 0, 1], true), [TOK.BOS, 1, 0, 1, TOK.QUERY]);
  assert.deepEqual(encodeBits([0, 1], false), [TOK.BOS, 0, 1, TOK.QUERY]);
  assert.equal(answerOf('copy-last', [1, 0, 0]), 0);
  assert.equal(answerOf('copy-first', [1, 0, 0]), 1);
  assert.equal(answerOf('count', [1, 0, 1, 1]), 3);
  assert.deepEqual(paperStrings('copy-last', 4), [[1, 1, 1, 0], [1, 1, 1, 1]]);
  assert.deepEqual(paperStrings('copy-first', 3), [[0, 1, 1], [1, 1, 1]]);
  assert.deepEqual(paperStrings('count', 3), [[1, 1, 1]]);
});

test('softmax TV against a direct computation; C.3: at n = 1 both last outputs are x_1 W_V, beyond they differ', () => {
  const x = Float64Array.of(0.1, 0.5, 0.9);
  const y = Float64Array.of(0.15, 0.5, 0.9);
  const p = Array.from(x, Math.exp);
  const q = Array.from(y, Math.exp);
  const sp = p.reduce((a, b) => a + b);
  const sq = q.reduce((a, b) => a + b);
  const ref = p.reduce((s, v, i) => s + Math.abs(v / sp - q[i] / sq), 0) / 2;
  assert.ok(Math.abs(softmaxTv(x, y) - ref) < 1e-12);
  assert.equal(softmaxTv(x, x), 0);
  const d = collapseCurve({ d: 8, ns: [1, 4] }, 'rope', 'inv-d', 3);
  assert.ok(d[0] < 1e-5 && d[1] > 1e-3 && Number.isFinite(d[1]), `${d}`);
});

test('logLogSlope: −1 for 1/n, NaN with fewer than two positive points', () => {
  assert.ok(Math.abs(logLogSlope([1, 2, 4, 8], [1, 0.5, 0.25, 0.125]) + 1) < 1e-12);
  assert.ok(Number.isNaN(logLogSlope([1, 2], [0, 1])));
});

test('claims are judged by their rules: influence and the bf16 collapse on made-up numbers', () => {
  assert.equal(influenceClaim([{ family: 'ones', n: 8, text: '', values: [4, 4, 3, 3, 1, 1, 2, 9] }]).holds, true);
  assert.equal(influenceClaim([{ family: 'ones', n: 8, text: '', values: [1, 1, 3, 3, 4, 4, 2, 9] }]).holds, false);
  const fam = (name: string, fp32: Array<number | null>, bf16: number | null, linf: number[]): FamilyDistances => ({
    family: name, ns: [1, 2, 3, 4], layers: ['blocks.0.hook_resid_post'],
    curves: [
      { precision: 'fp32', linf: [linf], l1: [linf], identical: [linf.map((x) => x === 0)], collapse: fp32 },
      { precision: 'bf16', linf: [linf], l1: [linf], identical: [linf.map((x) => x === 0)], collapse: [bf16] },
    ],
  });
  const c = lmClaims([fam('ones', [null], 3, [1, 0.5, 0.2, 0.1]), fam('copy', [null], null, [1, 0.5, 0.2, 0.1])]);
  assert.equal(c.find((x) => x.id === 'lm-bf16-sooner')!.holds, true);
  assert.equal(c.find((x) => x.id === 'lm-converge')!.holds, true);
  const d = lmClaims([fam('ones', [2], 3, [1, 1, 1, 1])]);
  assert.equal(d.find((x) => x.id === 'lm-bf16-sooner')!.holds, false, 'bf16 collapsing later than fp32 is not sooner');
  assert.equal(d.find((x) => x.id === 'lm-converge')!.holds, false);
});

test('runOversquash (tiny): every part measured, claims judged, files written, report renders', async () => {
  const out = mkdtempSync(join(tmpdir(), 'oversquash-'));
  try {
    const r = await runOversquash(tiny, { runDir: join(out, 'run'), render: renderOversquashReport });
    assert.deepEqual(r.precisions, ['fp32', 'bf16', 'fp16']);
    assert.equal(r.synthetic.curves.length, 8);
    assert.equal(r.synthetic.curves[0].l1.length, 2);
    assert.ok(r.synthetic.tv.mean[2] < r.synthetic.tv.mean[0], `TV ${r.synthetic.tv.mean}`);
    assert.equal(r.tasks.length, 2);
    assert.deepEqual(r.tasks[0].distances.ns, [1, 2, 4, 8]);
    assert.equal(r.tasks[0].influence.length, 4 + 2);
    for (const t of r.tasks) for (const p of r.precisions) for (const sep of [0, 1]) [...t.accuracy[p][sep], ...t.patternAccuracy[p][sep]].forEach((a) => assert.ok(a >= 0 && a <= 1));
    assert.equal(r.tasks[0].patternAccuracy.bf16[1].length, 2);
    assert.deepEqual(r.lm!.families.map((f) => f.family), ['ones', 'digits', 'copy', 'copy-commas']);
    assert.deepEqual(r.lm!.families[0].ns, [1, 4, 7]);
    assert.equal(r.lm!.families[0].layers.length, 4);
    assert.equal(r.lm!.influence.length, 2);
    assert.equal(r.lm!.influence[0].values.length, 'How many ones are there? '.length + 7);
    assert.ok(r.cost!.ms.fp32 > 0 && r.cost!.ratio.fp32 === 1);
    for (const id of ['synthetic-decay-inv-d', 'synthetic-decay-unit', 'tv-decay', 'lm-converge', 'lm-bf16-sooner', 'lm-commas', 'lm-digits', 'influence-early-lm', 'influence-early-alibi', 'tasks-precision', 'tasks-first-vs-last', 'tasks-commas', 'tasks-bf16-collapse']) {
      const c = r.claims.find((x) => x.id === id);
      assert.ok(c, `claim ${id}`);
      assert.ok(c.rule.length > 0 && c.evidence.length > 0);
    }
    assert.equal(r.claims.find((x) => x.id === 'tasks-first-vs-last')!.holds, null, 'copy-first was not trained');
    const metrics = readFileSync(join(out, 'run', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(metrics.filter((m) => m.kind === 'train' && m.task === 'count').length, 4, 'every training step of each task is logged');
    const saved = JSON.parse(readFileSync(join(out, 'run', 'result.json'), 'utf8'));
    assert.deepEqual(saved.claims, r.claims);
    const html = readFileSync(r.report, 'utf8');
    assert.ok(html.includes('Which claims hold here') && html.includes('copy-commas') && html.includes('<svg'));
    assert.ok(!html.includes('<script'));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('errors: an n beyond the LM\'s context fails before any directory; lmNs ends at the largest n', async () => {
  assert.deepEqual(lmNs({ model: 'builtin', nMax: 10, nStep: 4, influence: false }), [1, 5, 9, 10]);
  const out = mkdtempSync(join(tmpdir(), 'oversquash-'));
  try {
    await assert.rejects(runOversquash({ ...tiny, lm: { ...tiny.lm, nMax: 120 } }, { outRoot: out }), /family ones at n = 120 needs 146 bytes, beyond the LM's context of 128; lower --lm-n-max/);
    assert.deepEqual(readdirSync(out), []);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  assert.equal(OVERSQUASH_PRESETS.default.synthetic.seeds, 5);
});

test('glassbox run oversquash: an unknown precision is a one-line error; a tiny run prints its claims as JSON', () => {
  const bad = spawnSync(process.execPath, ['dist/src/cli/main.js', 'run', 'oversquash', '--precisions', 'fp32,fp8'], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /precisions/);
  assert.match(bad.stderr, /fp8/);
  const out = mkdtempSync(join(tmpdir(), 'oversquash-cli-'));
  try {
    const r = spawnSync(process.execPath, ['dist/src/cli/main.js', 'run', 'oversquash', '--preset', 'quick', '--synthetic-ns', '2,8', '--synthetic-seeds', '1', '--synthetic-tv-ns', '200,400',
      '--tasks-tasks', '', '--lm-n-max', '4', '--lm-n-step', '3', '--no-lm-influence', '--cost-reps', '1', '--cost-batch', '1', '--out', out, '--json', '--threads', '1'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.collapse.length, 4);
    assert.ok(j.claims.some((c: { id: string }) => c.id === 'tv-decay'));
    const dir = readdirSync(out)[0];
    assert.ok(existsSync(join(out, dir, 'report.html')));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('oversquash stopped while its second task trains resumes, at 2 threads, to the result and metrics of a run that never stopped', async () => {
  const { withThreads } = await import('../../src/engine/threads.js');
  const out = mkdtempSync(join(tmpdir(), 'oversquash-resume-'));
  try {
    const cfg: OversquashConfig = { ...tiny, tasks: { ...tiny.tasks, steps: 8 } };
    const whole = await withThreads(1, () => runOversquash(cfg, { runDir: join(out, 'whole') }));
    const controller = new AbortController();
    let phase = '';
    const stoppedDir = join(out, 'stopped');
    await assert.rejects(withThreads(1, () => runOversquash(cfg, {
      runDir: stoppedDir, signal: controller.signal,
      onPhase: (name) => { phase = name; },
      onProgress: (done) => { if (phase === 'train count' && done >= 3) controller.abort(); },
    })), (e: Error) => e.name === 'Interrupted' && /resume with --resume .*oversquash\.json/.test(e.message));
    const ck = JSON.parse(readFileSync(join(stoppedDir, 'checkpoints', 'oversquash.json'), 'utf8'));
    assert.deepEqual(ck.state.tasks.map((t: { task: string }) => t.task), ['copy-last']);
    await assert.rejects(runOversquash({ ...cfg, seed: 2 }, { resume: stoppedDir }), /config/);
    const notes: string[] = [];
    const resumed = await withThreads(2, () => runOversquash(cfg, { resume: stoppedDir, onNote: (m) => notes.push(m) }));
    assert.ok(notes.includes('copy-last: trained before the stop'));
    assert.equal(resumed.run_dir, stoppedDir);
    const comparable = (r: { run_dir: string }) => JSON.parse(readFileSync(join(r.run_dir, 'result.json'), 'utf8').split(r.run_dir).join('RUN'), (k, v) => (/seconds$/i.test(k) || k === 'ms' || /Ms$/.test(k) ? undefined : v));
    const a = comparable(resumed);
    const b = comparable(whole);
    // The precision cost is a timing: compare everything else.
    delete a.cost;
    delete b.cost;
    assert.deepEqual(a, b);
    const metrics = (r: { run_dir: string }) => readFileSync(join(r.run_dir, 'metrics.jsonl'), 'utf8').split('\n').map((l) => l.replace(/"(train_|eval_)?seconds":[0-9.e+-]+,?/g, ''));
    assert.deepEqual(metrics(resumed), metrics(whole), 'metrics.jsonl: the stopped task\'s lines are not doubled');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
