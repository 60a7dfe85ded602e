// The SAE commands as a user meets them: a tiny `run sae-addition --json` on a
// tiny addition model, `sae features`, `sae steer`, and the one-line errors
// (unknown hook, feature out of range, SAE width not matching the hook), which
// leave nothing written.

import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Sae } from '../../src/lens/sae/model.js';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

function glassbox(...args: string[]) {
  return spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, GLASSBOX_THREADS: '1' } });
}

const root = mkdtempSync(join(tmpdir(), 'gb-sae-cli-'));
let checkpoint = '';
let runDir = '';

test('run sae-addition on a given model prints the per-SAE summary and writes the run directory', () => {
  const a = glassbox('run', 'addition', '--digits', '2', '--steps', '20', '--batch', '16', '--layers', '1', '--d-model', '16', '--heads', '2', '--eval-every', '10', '--out', join(root, 'base'), '--json');
  assert.equal(a.status, 0, a.stderr);
  checkpoint = JSON.parse(a.stdout).checkpoint;
  const r = glassbox('run', 'sae-addition', '--model', checkpoint, '--tokens', '3000', '--batch', '64', '--ks', '2,4', '--l1s', '0.1', '--k', '4', '--eval-problems', '30', '--no-batchtopk', '--out', join(root, 'runs'), '--json');
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  runDir = s.run_dir;
  assert.equal(s.hook, 'blocks.0.hook_resid_post');
  assert.deepEqual(s.saes.map((x: { arch: string; k_or_l1: number; auxk: boolean }) => `${x.arch}:${x.k_or_l1}:${x.auxk}`), ['topk:2:true', 'topk:4:true', 'topk:4:false', 'relu:0.1:false']);
  for (const x of s.saes) for (const key of ['l0', 'fvu', 'ce_score', 'dead_fraction']) assert.equal(typeof x[key], 'number', key);
  assert.ok(s.saes[0].l0 <= 2 + 1e-9 && s.saes[1].l0 <= 4 + 1e-9);
  for (const f of ['config.json', 'metrics.jsonl', 'result.json', 'report.html', 'dashboards.json', 'saes/topk-k4.safetensors', 'saes/relu-l1-0.1.safetensors']) assert.ok(existsSync(join(runDir, f)), f);
  const html = readFileSync(join(runDir, 'report.html'), 'utf8');
  assert.match(html, /Feature dashboards/);
  assert.match(html, /<mark>/);
  const dash = JSON.parse(readFileSync(join(runDir, 'dashboards.json'), 'utf8'));
  assert.equal(dash.features.length, 128);
});

test('sae features lists features and shows one dashboard; an index out of range is a one-line error', () => {
  const l = glassbox('sae', 'features', runDir, '--top', '5');
  assert.equal(l.status, 0, l.stderr);
  assert.match(l.stdout, /topk-k4 at blocks\.0\.hook_resid_post/);
  const dash = JSON.parse(readFileSync(join(runDir, 'dashboards.json'), 'utf8'));
  const live = dash.features.find((f: { density: number }) => f.density > 0).index;
  const one = glassbox('sae', 'features', runDir, '--feature', String(live), '--top', '3', '--json');
  assert.equal(one.status, 0, one.stderr);
  const f = JSON.parse(one.stdout);
  assert.equal(f.index, live);
  assert.ok(f.top.length <= 3 && f.top[0].highlighted.includes('['));
  assert.equal(f.promoted.length, 5);
  const bad = glassbox('sae', 'features', runDir, '--feature', '128');
  assert.equal(bad.status, 1);
  assert.equal(bad.stderr.trim(), 'glassbox: feature index 128 is out of range: this SAE has features 0 to 127');
});

test('sae steer prints the unsteered and the steered continuation; bad feature or width are clear errors', () => {
  const r = glassbox('sae', 'steer', runDir, '--feature', '3', '--scale', '50', '--prompt', '12+34=', '--json');
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.prompt, 's12+34=');
  assert.ok(s.unsteered.length > 0 && s.steered.length > 0);
  const zero = JSON.parse(glassbox('sae', 'steer', runDir, '--feature', '3', '--scale', '0', '--prompt', '12+34=', '--json').stdout);
  assert.equal(zero.steered, zero.unsteered, 'scale 0 must not change the output');
  const bad = glassbox('sae', 'steer', runDir, '--feature', '500', '--scale', '1', '--prompt', '12+34=');
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^glassbox: feature index 500 is out of range: this SAE has features 0 to 127\n$/);
  const wrong = new Sae({ arch: 'topk', d: 5, n: 10, k: 2 });
  wrong.meta.hook = 'blocks.0.hook_resid_post';
  writeFileSync(join(runDir, 'saes', 'wrong.safetensors'), wrong.toSafetensors());
  const w = glassbox('sae', 'steer', runDir, '--sae', 'wrong', '--feature', '1', '--scale', '1', '--prompt', '12+34=');
  assert.equal(w.status, 1);
  assert.match(w.stderr, /^glassbox: the SAE reads width 5, but hook "blocks\.0\.hook_resid_post" has width 16\n$/);
});

test('an unknown hook point lists the valid ones and writes nothing', () => {
  const out = join(root, 'nothing');
  const r = glassbox('run', 'sae-addition', '--model', checkpoint, '--hook', 'blocks.3.hook_resid_post', '--out', out);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^glassbox: unknown hook point "blocks\.3\.hook_resid_post"; valid: hook_embed, hook_pos_embed, blocks\.0\.hook_resid_pre, .*ln_final\.hook_normalized\n$/);
  assert.ok(!existsSync(out) || readdirSync(out).length === 0, 'a failed run left files behind');
});
