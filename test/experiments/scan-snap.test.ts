import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { SCAN_SNAP_PRESETS, figure4, spearman, type ScanSnapConfig } from '../../src/experiments/scan-snap.js';
import { runSweep, sweepSpecs, checkTrends } from '../../src/experiments/scan-snap-figure6.js';
import { renderScanSnapReport } from '../../src/report/scan-snap-report.js';

const quick: ScanSnapConfig = SCAN_SNAP_PRESETS.quick;

test('Figure 4 (the paper\'s run, zero init): loss as the paper reports, attention leaves the common tokens, distinct tokens drop rarest first, no single winner', () => {
  const f = figure4(SCAN_SNAP_PRESETS.default);
  assert.ok(Math.abs(f.loss[0] - 3.526) < 0.001, `iteration 0 loss ${f.loss[0]} (ln 34)`);
  assert.ok(f.loss[4] > 0.5 && f.loss[4] < 0.95, `iteration 4 loss ${f.loss[4]} (paper 0.733)`);
  assert.ok(f.loss[10] > 0.005 && f.loss[10] < 0.03, `iteration 10 loss ${f.loss[10]} (paper 0.0130)`);
  assert.ok(f.commonMass[100] < f.commonMass[0] - 0.1, `common mass ${f.commonMass[0]} → ${f.commonMass[100]}`);
  assert.deepEqual(f.shown, [0, 2, 4, 6, 8, 10, 100]);
  assert.ok(f.spearman > 0.8, `drop order follows co-occurrence: ρ = ${f.spearman}`);
  assert.ok(f.survivors >= 3, `survivors ${f.survivors}`);
  assert.equal(f.dropOrder.length, 10);
});

test('spearman: +1, −1 and ties', () => {
  assert.equal(spearman([1, 2, 3], [10, 20, 30]), 1);
  assert.equal(spearman([1, 2, 3], [3, 2, 1]), -1);
  assert.ok(Math.abs(spearman([1, 2, 3, 4], [0, 0, 1, 1]) - 0.894427191) < 1e-6);
});

test('the sweep is bit-identical on 1 and 2 worker threads', async () => {
  const specs = sweepSpecs({ ...quick, iterations: 8, fig6: { ...quick.fig6, numLast: [1, 3], lrZ: [1], ratio: [1, 5], seeds: [1, 2] } }).map((s) => s.spec);
  assert.equal(specs.length, 8);
  const a = await runSweep(specs, 1);
  const b = await runSweep(specs, 2);
  assert.deepEqual(b, a);
  assert.notEqual(a[0].entropy, a[1].entropy, 'seeds differ');
});

test('trend checks report failures with their numbers', () => {
  const cfg = { ...quick, fig6: { ...quick.fig6, numLast: [1], lrZ: [1, 2], ratio: [1, 10] } };
  const cell = (lrZ: number, ratio: number, mean: number) => ({ K: 1, lrZ, ratio, mean, sd: 0, supportMean: 0, supportSd: 0, snapMean: null, snapSd: null, snapped: 0, values: [], curve: [] });
  const t = checkTrends([cell(1, 1, 2.0), cell(1, 10, 2.1), cell(2, 1, 1.8), cell(2, 10, 2.2)], cfg);
  assert.equal(t.lrZHolds, 1);
  assert.deepEqual(t.lrZ[1].means, [2.1, 2.2]);
  assert.equal(t.lrZ[1].holds, false);
  assert.deepEqual(t.ratioK1.map((x) => x.endToEnd), [true, true]);
});

test('glassbox run scan-snap --preset quick --json: grid, snap steps, drop order; report renders; bad parameters are one-line errors', () => {
  const out = mkdtempSync(join(tmpdir(), 'scan-snap-'));
  try {
    const r = spawnSync(process.execPath, ['dist/src/cli/main.js', 'run', 'scan-snap', '--preset', 'quick', '--no-trained', '--out', out, '--json', '--threads', '1'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.grid.length, 8);
    assert.ok(j.grid.every((c: { entropy_mean: number }) => c.entropy_mean > 1 && c.entropy_mean < Math.log(10)));
    assert.equal(j.grid.find((c: { K: number; lr_z: number; ratio: number }) => c.K === 1 && c.lr_z === 3 && c.ratio === 10).paper, 1.825);
    assert.equal(j.figure4.drop_order.length, 10);
    assert.ok('snap_mean' in j.grid[0]);
    const html = readFileSync(j.report, 'utf8');
    assert.match(html, /Figure 6/);
    assert.match(html, /<svg/);
    const full = JSON.parse(readFileSync(join(j.report, '..', 'result.json'), 'utf8'));
    assert.equal(renderScanSnapReport(full), html, 'the report renders from result.json alone, deterministically');
    const bad = spawnSync(process.execPath, ['dist/src/cli/main.js', 'run', 'scan-snap', '--preset', 'quick', '--no-trained', '--out', out, '--seq-len', '10', '--quiet'], { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^glassbox: scan-snap: seq-len 10 is below the support: 9 context tokens cannot hold a class's 20 support tokens\n$/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('a stopped scan-snap run resumes from its checkpoint to the same figures, at 1 and 2 workers, and refuses another config', async () => {
  const { runScanSnap, scanSnapCheckpointPath } = await import('../../src/experiments/scan-snap.js');
  const cfg: ScanSnapConfig = { ...quick, iterations: 8, fig6: { ...quick.fig6, numLast: [1, 3], lrZ: [1], ratio: [1, 5], seeds: [1, 2] } };
  const out = mkdtempSync(join(tmpdir(), 'scan-snap-resume-'));
  try {
    const whole = await runScanSnap(cfg, { outRoot: out, workers: 1 });
    for (const workers of [1, 2]) {
      const ac = new AbortController();
      let seen = 0;
      await assert.rejects(
        runScanSnap(cfg, { runDir: join(out, `stopped-${workers}`), workers, signal: ac.signal, onSweepResult: (done) => { if (++seen === 3) ac.abort(); } }),
        (e: Error) => e.name === 'Interrupted' && /Figure 6 sweep \(\d+ of 8 runs done\); resume with --resume .*scan-snap\.json/.test(e.message),
      );
      const ck = scanSnapCheckpointPath(join(out, `stopped-${workers}`));
      const saved = JSON.parse(readFileSync(ck, 'utf8')).state.done.length;
      assert.ok(saved >= 3 && saved < 8, `the checkpoint keeps the finished runs (${saved})`);
      let after = 0;
      const resumed = await runScanSnap(cfg, { runDir: join(out, `resumed-${workers}`), workers, resume: ck, onSweepResult: () => after++ });
      assert.equal(after, 8 - saved, 'only the unfinished runs ran');
      assert.deepEqual(resumed.figure6.cells, whole.figure6.cells);
      assert.deepEqual(resumed.figure4, whole.figure4);
      assert.deepEqual(resumed.figure6.trends, whole.figure6.trends);
    }
    await assert.rejects(
      runScanSnap({ ...cfg, iterations: 9 }, { runDir: join(out, 'other'), resume: scanSnapCheckpointPath(join(out, 'stopped-1')) }),
      /different configuration/,
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
