// The settings table is the one description of an experiment's settings:
// these tests check that flags, checks, overrides and the schema all follow it,
// for every experiment in the registry.

import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXPERIMENTS } from '../../src/experiments/registry.js';
import { resolveConfig, formatSeconds } from '../../src/experiments/experiment.js';
import { applyOverrides, flagName, getAt, parseSetting, settingPaths, settingsSchema, validateSettings, SettingError, type SettingSpec } from '../../src/experiments/settings.js';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

test('flag names follow the path unless a setting names its own', () => {
  assert.equal(flagName('dModel', {}), 'd-model');
  assert.equal(flagName('fig4.lrZ', {}), 'fig4-lr-z');
  assert.equal(flagName('generator.seqLen', { flag: 'seq-len' }), 'seq-len');
});

test('parsing: integers, bounds, lists, choices, booleans, each with its own message', () => {
  const int: SettingSpec = { type: 'int', min: 1, max: 15, help: '' };
  assert.equal(parseSetting('digits', int, ' 7 '), 7);
  assert.throws(() => parseSetting('digits', int, '7.5'), /digits: expected an integer, got "7.5"/);
  assert.throws(() => parseSetting('digits', int, '0'), /digits: expected an integer in \[1, 15\], got 0/);
  const list: SettingSpec = { type: 'number[]', min: 0, help: '' };
  assert.deepEqual(parseSetting('lrs', list, '0.5,1, 2'), [0.5, 1, 2]);
  assert.throws(() => parseSetting('lrs', list, '1,-1'), /lrs: expected a number ≥ 0 each, got -1/);
  assert.throws(() => parseSetting('lrs', list, ''), /lrs: the list is empty/);
  assert.deepEqual(parseSetting('lrs', { ...list, allowEmpty: true }, ''), []);
  const choice: SettingSpec = { type: 'string', choices: ['msf', 'lsf'], help: '' };
  assert.equal(parseSetting('order', choice, 'lsf'), 'lsf');
  assert.throws(() => parseSetting('order', choice, 'mid'), /one of msf, lsf/);
  assert.equal(parseSetting('on', { type: 'boolean', help: '' }, 'false'), false);
  assert.throws(() => parseSetting('on', { type: 'boolean', help: '' }, 'yes'), SettingError);
});

for (const exp of EXPERIMENTS) {
  test(`${exp.name}: every preset passes its own table's checks, and the table covers every leaf of the config`, () => {
    for (const [name, p] of Object.entries(exp.presets)) {
      assert.doesNotThrow(() => validateSettings(exp.settings, p.config), `${exp.name} preset ${name}`);
      assert.equal(resolveConfig(exp, name).preset, name);
    }
    // Every leaf of the default config is declared: nothing is set that the table does not describe.
    const leaves: string[] = [];
    const walk = (o: Record<string, unknown>, prefix: string) => {
      for (const [k, v] of Object.entries(o)) {
        if (v !== null && typeof v === 'object' && !Array.isArray(v)) walk(v as Record<string, unknown>, prefix + k + '.');
        else leaves.push(prefix + k);
      }
    };
    walk(exp.presets[exp.defaultPreset].config as Record<string, unknown>, '');
    assert.deepEqual([...leaves].sort(), [...settingPaths(exp.settings)].sort());
    const schema = settingsSchema(exp.settings) as { properties: Record<string, unknown> };
    assert.deepEqual(Object.keys(schema.properties).sort(), [...leaves].sort());
  });

  test(`${exp.name}: a bad value of any numeric setting is refused naming the setting`, () => {
    for (const path of settingPaths(exp.settings)) {
      const s = (exp.settings as Record<string, SettingSpec>)[path];
      if (s.internal || s.parse || s.type === 'string' || s.type === 'boolean' || s.type === 'string[]') continue;
      const bad = s.min !== undefined ? String(s.min - 1) : 'x';
      const text = s.type.endsWith('[]') ? `${getAt(exp.presets[exp.defaultPreset].config, path)},${bad}` : bad;
      assert.throws(() => applyOverrides(exp.settings, exp.presets[exp.defaultPreset].config, { [path]: text }), (e: Error) => e.message.startsWith(path + ':'), `${exp.name} ${path}=${text}`);
    }
    assert.throws(() => applyOverrides(exp.settings, exp.presets[exp.defaultPreset].config, { nonsense: '1' }), /unknown setting "nonsense"/);
  });

  test(`${exp.name}: --help lists a flag for every setting and the shared flags`, () => {
    const r = spawnSync(process.execPath, [MAIN, 'run', exp.name, '--help'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    for (const path of settingPaths(exp.settings)) {
      const s = (exp.settings as Record<string, SettingSpec>)[path];
      if (!s.internal) assert.match(r.stdout, new RegExp(`--${flagName(path, s)}\\b`), `${exp.name}: --${flagName(path, s)}`);
    }
    for (const f of ['--preset', '--threads', '--out', '--json', '--quiet']) assert.ok(r.stdout.includes(f), `${exp.name}: ${f}`);
    assert.equal(r.stdout.includes('--resume'), exp.resumable, `${exp.name}: --resume only where it resumes`);
  });
}

test('formatSeconds rounds the total before splitting it, so a minute never shows 60 seconds', () => {
  assert.equal(formatSeconds(119.6), '2m00s');
  assert.equal(formatSeconds(59.4), '59s');
  assert.equal(formatSeconds(3661), '61m01s');
  assert.equal(formatSeconds(NaN), '?');
});
