// The state checkpoint the SAE runs resume from: typed arrays anywhere in the
// state come back with every bit (f64 counters past 2^24 included), the rest
// is JSON; a file of another experiment, another config or no checkpoint at
// all is refused with a message that says which.

import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveStateCheckpoint, readStateCheckpoint, resumePath } from '../../src/train/resume.js';

test('a state checkpoint gives back the state it saved, bit for bit, and refuses what is not its own', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gb-state-ck-'));
  try {
    const state = {
      step: 7, name: 'x', nested: [{ a: Float32Array.of(1.5, -0, 3e-39), b: null }, { c: Float64Array.of(2 ** 53 - 1, 16777217, Math.PI) }],
      history: [{ step: 1, fvu: 0.1 + 0.2 }],
    };
    const path = join(dir, 'checkpoints', 's.safetensors');
    mkdirSync(join(dir, 'checkpoints'));
    saveStateCheckpoint(path, { experiment: 'demo', config: { k: 1 }, state });
    const back = readStateCheckpoint<typeof state>(path, 'demo', { k: 1 });
    assert.deepEqual(back, state);
    assert.ok(back.nested[1].c instanceof Float64Array && back.nested[1].c[1] === 16777217);
    assert.ok(Object.is(back.nested[0].a![1], -0), 'the sign of zero was lost');
    assert.throws(() => readStateCheckpoint(path, 'other', { k: 1 }), /is a checkpoint of "demo", not of other/);
    assert.throws(() => readStateCheckpoint(path, 'demo', { k: 2 }), /different configuration; resume needs the same settings \(saved: \{"k":1\}; now: \{"k":2\}\)/);
    const junk = join(dir, 'junk');
    writeFileSync(junk, 'not a checkpoint');
    assert.throws(() => readStateCheckpoint(junk, 'demo', { k: 1 }), /junk is not a valid safetensors checkpoint/);
    assert.throws(() => readStateCheckpoint(join(dir, 'missing'), 'demo', { k: 1 }), /cannot read checkpoint .*missing: ENOENT/);
    assert.throws(() => saveStateCheckpoint(join(dir, 'i'), { experiment: 'demo', config: {}, state: { v: new Int32Array(2) } }), /v is a Int32Array; only Float32Array and Float64Array are stored/);
    assert.equal(resumePath(dir, 's.safetensors'), path, 'a run directory names its checkpoint');
    assert.equal(resumePath(path, 'other.safetensors'), path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
