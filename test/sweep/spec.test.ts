// Sweep specs: what is refused (with the valid names), how a grid and a
// seeded random search expand, and that YAML and JSON read alike.

import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkSpec, expandSpec, readSpecFile, specDigest, SpecError, type SweepSpec } from '../../src/sweep/spec.js';
import { PRESETS } from '../../src/experiments/addition.js';
import { repoRoot } from '../skip.js';

const base = { experiment: 'addition', metric: 'eval_loss' };

test('a spec naming an unknown experiment or setting is refused, listing the valid ones', () => {
  assert.throws(() => checkSpec({ ...base, experiment: 'nope', grid: { seed: [1] } }), (e: Error) => e instanceof SpecError && /unknown experiment "nope"/.test(e.message) && /addition/.test(e.message) && /scan-snap/.test(e.message));
  assert.throws(() => expandSpec(checkSpec({ ...base, grid: { learningRate: [1] } })), (e: Error) => e instanceof SpecError && /no setting "learningRate"/.test(e.message) && /\blr\b/.test(e.message) && /dModel \(--d-model\)/.test(e.message));
  assert.throws(() => expandSpec(checkSpec({ ...base, settings: { bogus: 1 }, grid: { seed: [1] } })), /settings\.bogus.*no setting "bogus"/);
  assert.throws(() => expandSpec(checkSpec({ ...base, random: { seed: 1, count: 2, settings: { nope: { min: 0, max: 1 } } } })), /random\.settings\.nope.*no setting "nope"/);
  assert.throws(() => checkSpec({ ...base, grid: { seed: [1] }, preset: 'huge' }), /no preset "huge" \(valid: default, seed\)/);
  assert.throws(() => checkSpec({ ...base, grid: { seed: [1] }, extra: 1 }), /unknown key "extra"/);
});

test('a grid with no points, or nothing to sweep, is refused', () => {
  assert.throws(() => checkSpec({ ...base, grid: { seed: [1, 2], lr: [] } }), /grid\.lr has no values, so the grid has no points/);
  assert.throws(() => checkSpec({ ...base, random: { seed: 1, count: 0, settings: { lr: { min: 0.001, max: 0.01 } } } }), /random\.count is 0/);
  assert.throws(() => checkSpec({ ...base, settings: { steps: 3 } }), /nothing to sweep/);
  assert.throws(() => checkSpec({ experiment: 'addition', grid: { seed: [1] } }), /"metric" must name a number in the result/);
});

test('each value is checked against its setting, naming it', () => {
  assert.throws(() => expandSpec(checkSpec({ ...base, grid: { layers: [1, 'two'] } })), /grid\.layers: layers: expected an integer, got "two"/);
  assert.throws(() => expandSpec(checkSpec({ ...base, grid: { answerOrder: ['msf', 'middle'] } })), /answerOrder: expected one of msf, lsf/);
  assert.throws(() => expandSpec(checkSpec({ ...base, settings: { digits: 99 }, grid: { seed: [1] } })), /digits: expected an integer in \[1, 15\], got 99/);
  assert.throws(() => expandSpec(checkSpec({ ...base, settings: { seed: 1 }, grid: { seed: [1, 2] } })), /grid\.seed sets seed, which settings\.seed sets too/);
});

test('a grid expands to its cartesian product in key order, by path or flag name, each point a resolved config', () => {
  const spec = checkSpec({ ...base, settings: { steps: 7, 'd-model': 32, heads: 2 }, grid: { lr: [0.001, 0.002], layers: [1, 2, 3] } });
  const pts = expandSpec(spec);
  assert.equal(pts.length, 6);
  assert.deepEqual(pts.map((p) => p.id), ['0000', '0001', '0002', '0003', '0004', '0005']);
  assert.deepEqual(pts.map((p) => p.swept), [
    { lr: '0.001', layers: '1' }, { lr: '0.001', layers: '2' }, { lr: '0.001', layers: '3' },
    { lr: '0.002', layers: '1' }, { lr: '0.002', layers: '2' }, { lr: '0.002', layers: '3' },
  ]);
  const c = pts[4].config as typeof PRESETS.default;
  assert.equal(c.steps, 7);
  assert.equal(c.dModel, 32);
  assert.equal(c.layers, 2);
  assert.equal(c.lr, 0.002);
  // adjust() ran: the warmup is capped at the steps, as `glassbox run addition --steps 7` does.
  assert.equal(c.warmup, 7);
  assert.equal(c.batch, PRESETS.default.batch);
});

test('a point the experiment refuses across settings becomes one failed job, not a bad spec', () => {
  const pts = expandSpec(checkSpec({ ...base, settings: { dModel: 32 }, grid: { heads: [2, 3] } }));
  assert.equal(pts[0].invalid, undefined);
  assert.match(pts[1].invalid ?? '', /not divisible by heads 3/);
  assert.equal(pts[1].config, null);
});

test('a seeded random search draws the same configs from the same seed, inside the bounds, and others from another', () => {
  const spec = (seed: number): SweepSpec => checkSpec({ ...base, random: { seed, count: 12, settings: { lr: { min: 1e-4, max: 1e-2, log: true }, layers: { min: 1, max: 3, int: true }, answerOrder: { choices: ['msf', 'lsf'] }, weightDecay: [0, 0.1] } } });
  const a = expandSpec(spec(3));
  const b = expandSpec(spec(3));
  const c = expandSpec(spec(4));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.map((p) => p.swept), c.map((p) => p.swept));
  for (const p of a) {
    const lr = Number(p.swept.lr);
    assert.ok(lr >= 1e-4 && lr <= 1e-2, `lr ${lr}`);
    assert.ok(['1', '2', '3'].includes(p.swept.layers));
    assert.ok(['msf', 'lsf'].includes(p.swept.answerOrder));
    assert.ok(['0', '0.1'].includes(p.swept.weightDecay));
  }
  // Log-uniform: about half the draws below the geometric middle (1e-3), which a uniform draw would almost never give.
  const below = a.filter((p) => Number(p.swept.lr) < 1e-3).length;
  assert.ok(below >= 2 && below <= 10, `${below} of 12 below 1e-3`);
  assert.ok(new Set(a.map((p) => p.swept.layers)).size >= 2, 'draws vary');
});

test('YAML and JSON specs read alike and digest alike; key order does not change the digest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gb-spec-'));
  writeFileSync(join(dir, 's.yaml'), 'experiment: addition\nmetric: eval_loss\ngoal: min\nsettings:\n  steps: 5\ngrid:\n  lr: [0.001, 3e-3]\n  seed: [1, 2]\n');
  writeFileSync(join(dir, 's.json'), JSON.stringify({ grid: { lr: [0.001, 0.003], seed: [1, 2] }, settings: { steps: 5 }, goal: 'min', metric: 'eval_loss', experiment: 'addition' }));
  const y = readSpecFile(join(dir, 's.yaml'));
  const j = readSpecFile(join(dir, 's.json'));
  assert.equal(specDigest(y), specDigest(j));
  assert.deepEqual(expandSpec(y), expandSpec(j));
  writeFileSync(join(dir, 'bad.yaml'), 'experiment: [unclosed\n');
  assert.throws(() => readSpecFile(join(dir, 'bad.yaml')), /bad\.yaml is not valid YAML/);
  assert.throws(() => readSpecFile(join(dir, 'missing.yaml')), /cannot read the sweep spec .*missing\.yaml: ENOENT/);
});

test("the README's example spec is a valid sweep", () => {
  const readme = readFileSync(join(repoRoot(), 'README.md'), 'utf8');
  const block = /```yaml\n([\s\S]*?)```/.exec(readme);
  assert.ok(block, 'the README shows a YAML spec');
  const dir = mkdtempSync(join(tmpdir(), 'gb-spec-readme-'));
  writeFileSync(join(dir, 'spec.yaml'), block[1]);
  const pts = expandSpec(readSpecFile(join(dir, 'spec.yaml')));
  assert.equal(pts.length, 2 * 3 * 4);
  assert.ok(pts.every((p) => p.config !== null), pts.find((p) => p.invalid)?.invalid);
});
