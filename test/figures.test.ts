// The README's figures have a provenance: each row of its "Where the figures
// come from" table is generated from figures/measured.json, which only
// `npm run figures` writes (with the date, machine and load of each run).
// A hand-edited number in the table, or a rerun whose table was not pasted
// back, fails here.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { repoRoot } from './skip.js';

const root = repoRoot();

function script(...args: string[]): string {
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'figures.mjs'), ...args], { encoding: 'utf8', cwd: root });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

test('the README provenance table is the one generated from figures/measured.json', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const m = /<!-- figures:begin -->\n([\s\S]*?)\n<!-- figures:end -->/.exec(readme);
  assert.ok(m, 'README.md has the figures:begin/end markers');
  assert.equal(m[1].trim(), script('--table'), 'README table differs from `node scripts/figures.mjs --table`: paste its output between the markers');
});

test('every recorded figure names a known command, its date, machine and load', () => {
  const known = new Set(script('--list').split('\n').map((line) => line.split(/\s+/)[0]));
  const entries = JSON.parse(readFileSync(join(root, 'figures', 'measured.json'), 'utf8')) as Record<string, Record<string, unknown>>;
  assert.ok(Object.keys(entries).length >= 4);
  for (const [id, e] of Object.entries(entries)) {
    assert.ok(known.has(id), `figures/measured.json has ${id}, which scripts/figures.mjs no longer runs`);
    assert.match(String(e.date), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/, `${id}: date`);
    const machine = e.machine as Record<string, unknown>;
    for (const k of ['cpu', 'cores', 'memory_gib', 'node', 'arch']) assert.ok(machine?.[k] !== undefined, `${id}: machine.${k}`);
    assert.equal(typeof e.load_average_before, 'number', `${id}: load average`);
    assert.equal(typeof e.values, 'object', `${id}: values`);
  }
});
