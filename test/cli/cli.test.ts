// The CLI as a user meets it: help, version, a tiny run with --json, and one-line errors.

import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, existsSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VERSION } from '../../src/version.js';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

function glassbox(...args: string[]) {
  return spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, GLASSBOX_THREADS: '1' } });
}

test('--help and --version', () => {
  const h = glassbox('--help');
  assert.equal(h.status, 0);
  assert.match(h.stdout, /Usage: glassbox/);
  assert.match(h.stdout, /run/);
  assert.match(h.stdout, /eval/);
  const v = glassbox('--version');
  assert.equal(v.status, 0);
  assert.equal(v.stdout.trim(), VERSION);
  const rh = glassbox('run', 'addition', '--help');
  assert.match(rh.stdout, /--digits <k>/);
  assert.match(rh.stdout, /--preset <name>/);
});

test('a tiny run prints result.json with --json and writes its run directory', () => {
  const out = mkdtempSync(join(tmpdir(), 'gb-cli-'));
  const r = glassbox('run', 'addition', '--digits', '2', '--steps', '6', '--batch', '8', '--layers', '1', '--d-model', '16', '--heads', '2', '--eval-every', '3', '--out', out, '--json');
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout);
  for (const k of ['digits', 'answer_order', 'eval_loss', 'loss_floor', 'exact_match', 'seconds', 'steps', 'checkpoint', 'report']) assert.ok(k in res, k);
  for (const k of ['area_under_loss_bits', 'raw_bits', 'floor_bits']) assert.ok(k in res.bits, k);
  assert.equal(res.digits, 2);
  assert.equal(res.steps, 6);
  assert.ok(existsSync(res.report));
  assert.ok(existsSync(res.checkpoint));
  const e = glassbox('eval', res.checkpoint, '12+34=');
  assert.equal(e.status, 0, e.stderr);
  assert.match(e.stdout, /^12\+34=\S{3} /); // an untrained model may write any symbol
});

test('bad input gets a one-line error and a non-zero exit', () => {
  const cases: Array<[string[], RegExp]> = [
    [['run', 'addition', '--bogus'], /unknown option '--bogus'/],
    [['run', 'addition', '--digits', 'x'], /expected an integer, got "x"/],
    [['run', 'addition', '--digits', '0'], /expected an integer in \[1, 15\]/],
    [['run', 'addition', '--lr', 'fast'], /expected a number/],
    [['run', 'addition', '--preset', 'huge'], /Allowed choices are default, seed/],
    [['run', 'addition', '--d-model', '30', '--heads', '4', '--steps', '1'], /d-model 30 is not divisible by heads 4/],
    [['eval', '/nonexistent.safetensors', '12+34='], /cannot read checkpoint/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ];
  for (const [args, re] of cases) {
    const r = glassbox(...args);
    assert.notEqual(r.status, 0, args.join(' '));
    assert.match(r.stderr, re, args.join(' '));
    assert.ok(!/\n\s+at /.test(r.stderr), `no stack trace for ${args.join(' ')}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'gb-cli-bad-'));
  const foreign = join(dir, 'x.safetensors');
  writeFileSync(foreign, Buffer.alloc(64, 7));
  const r = glassbox('eval', foreign, '12+34=');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /not a valid safetensors checkpoint/);
});

test('a bare glassbox with only flags runs the addition lab with them', () => {
  const out = mkdtempSync(join(tmpdir(), 'gb-cli-bare-'));
  const r = glassbox('--out', out, '--digits', '1', '--steps', '2', '--batch', '4', '--layers', '1', '--d-model', '8', '--heads', '2', '--json');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).digits, 1);
});

test('the glassbox bin is executable after the build, so `npx glassbox` runs it in a fresh clone', () => {
  const mode = statSync(MAIN).mode;
  assert.ok((mode & 0o111) !== 0, `dist/src/cli/main.js has mode ${(mode & 0o777).toString(8)}; the build must mark it executable`);
  const r = spawnSync(MAIN, ['--version'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr || String(r.error));
  assert.match(r.stdout, /^\d+\.\d+\.\d+/);
});

test('recipe flags (--warmup, --min-lr, --weight-decay) reach the config, and a min-lr above the peak is refused', async () => {
  const { additionExperiment } = await import('../../src/experiments/addition.js');
  const { resolveConfig } = await import('../../src/experiments/experiment.js');
  const { config: cfg, preset } = resolveConfig(additionExperiment, 'seed', { lr: '4e-3', 'min-lr': '2e-4', warmup: '50', 'weight-decay': '0.01' });
  assert.equal(cfg.lr, 4e-3);
  assert.equal(cfg.minLr, 2e-4);
  assert.equal(cfg.warmup, 50);
  assert.equal(cfg.weightDecay, 0.01);
  assert.equal(cfg.digits, 8);
  assert.equal(preset, 'custom');
  assert.equal(resolveConfig(additionExperiment, 'seed').preset, 'seed');
  // A lower peak alone pulls the decay's floor down with it.
  assert.equal(resolveConfig(additionExperiment, 'default', { lr: '5e-5' }).config.minLr, 5e-5);
  assert.throws(() => resolveConfig(additionExperiment, 'default', { lr: '1e-3', minLr: '2e-3' }), /--min-lr 0.002 is above the peak learning rate 0.001/);
  const r = glassbox('run', 'addition', '--warmup', '-1');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--warmup|expected an integer/);
});
