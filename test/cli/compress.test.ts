// `glassbox compress` / `decompress` end to end, as a user runs them: a child
// process per command, real files, exit codes, stdout and stderr.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { GPT } from '../../src/nn/gpt.js';
import { saveCheckpoint } from '../../src/train/checkpoint.js';
import { compressBuffer } from '../../src/codec/library.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const mainJs = join(here, '../../src/cli/main.js');
const compressJs = join(here, '../../src/cli/compress.js');

/**
 * The CLI entry: main.js once it registers the compress commands, otherwise
 * a stand-in with main.js's error handling (one line on stderr, exit 1).
 */
function entry(): string[] {
  if (readFileSync(mainJs, 'utf8').includes('registerCompressCommands')) return [mainJs];
  const commander = pathToFileURL(createRequire(import.meta.url).resolve('commander')).href;
  const code = `
    import { Command, CommanderError } from ${JSON.stringify(commander)};
    import { registerCompressCommands } from ${JSON.stringify(pathToFileURL(compressJs).href)};
    const program = new Command().name('glassbox').exitOverride().configureOutput({ outputError: (s, w) => w(s) });
    registerCompressCommands(program);
    try { await program.parseAsync(process.argv.slice(1), { from: 'user' }); }
    catch (e) {
      if (e instanceof CommanderError) process.exitCode = e.exitCode;
      else { process.stderr.write('glassbox: ' + (e instanceof Error ? e.message : String(e)) + '\\n'); process.exitCode = 1; }
    }`;
  return ['--input-type=module', '-e', code, '--'];
}
const ENTRY = entry();

function glassbox(args: string[], opts: { cwd: string; input?: Uint8Array }) {
  const r = spawnSync(process.execPath, [...ENTRY, ...args], { cwd: opts.cwd, input: opts.input, env: { ...process.env, GLASSBOX_THREADS: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

function sample(n: number): Buffer {
  const words = 'Alice was beginning to get very tired of sitting by her sister on the bank, and of having nothing to do'.split(' ');
  let s = '';
  for (let i = 0; s.length < n; i++) s += words[(i * 7) % words.length] + (i % 11 === 10 ? '.\n' : ' ');
  return Buffer.from(s.slice(0, n));
}

let dir = '';
test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'gbx-cli-'));
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('compress, then decompress: a round trip with --json reports', () => {
  const data = sample(3000);
  writeFileSync(join(dir, 'a.txt'), data);
  const c = glassbox(['compress', 'a.txt', '-3', '--json', '--threads', '2'], { cwd: dir });
  assert.equal(c.code, 0, c.stderr);
  const rc = JSON.parse(c.stdout.toString());
  for (const k of ['bytes_in', 'bytes_out', 'bits_per_byte', 'seconds', 'area_under_loss_bits']) assert.equal(typeof rc[k], 'number', k);
  assert.equal(rc.bytes_in, data.length);
  assert.equal(rc.bytes_out, readFileSync(join(dir, 'a.txt.gbx')).length);
  assert.ok(Math.abs(rc.bits_per_byte - (8 * rc.bytes_out) / rc.bytes_in) < 1e-9);
  assert.ok(rc.area_under_loss_bits < 8 * rc.bytes_out && rc.area_under_loss_bits > 0.9 * 8 * rc.bytes_out - 8 * 600);

  const d = glassbox(['decompress', 'a.txt.gbx', '-o', 'a.out', '--json', '--threads', '1'], { cwd: dir });
  assert.equal(d.code, 0, d.stderr);
  assert.deepEqual(readFileSync(join(dir, 'a.out')), data);
  const rd = JSON.parse(d.stdout.toString());
  assert.equal(rd.bytes_out, data.length);
  assert.equal(rd.area_under_loss_bits, rc.area_under_loss_bits);
});

test('stdin to stdout with -, and the default names', () => {
  const data = sample(1500);
  const c = glassbox(['compress', '-', '-1'], { cwd: dir, input: data });
  assert.equal(c.code, 0, c.stderr);
  writeFileSync(join(dir, 'piped.gbx'), c.stdout);
  const d = glassbox(['decompress', 'piped.gbx', '-q'], { cwd: dir });
  assert.equal(d.code, 0, d.stderr);
  assert.deepEqual(readFileSync(join(dir, 'piped')), data);
  const d2 = glassbox(['decompress', '-'], { cwd: dir, input: c.stdout });
  assert.deepEqual(d2.stdout, data);
  const guess = glassbox(['decompress', 'a.txt'], { cwd: dir });
  assert.notEqual(guess.code, 0);
  assert.match(guess.stderr, /cannot guess the output name.*-o/);
});

test('never overwrites without --force', () => {
  writeFileSync(join(dir, 'b.txt'), sample(500));
  writeFileSync(join(dir, 'b.txt.gbx'), 'precious');
  const c = glassbox(['compress', 'b.txt', '-1'], { cwd: dir });
  assert.notEqual(c.code, 0);
  assert.match(c.stderr, /b\.txt\.gbx already exists; use --force/);
  assert.equal(readFileSync(join(dir, 'b.txt.gbx'), 'utf8'), 'precious');
  const f = glassbox(['compress', 'b.txt', '-1', '--force', '-q'], { cwd: dir });
  assert.equal(f.code, 0, f.stderr);
  assert.notEqual(readFileSync(join(dir, 'b.txt.gbx'), 'utf8'), 'precious');
});

test('damaged input: one-line error naming the offset, non-zero exit, no output file left behind', () => {
  const data = sample(2000);
  writeFileSync(join(dir, 'c.txt'), data);
  assert.equal(glassbox(['compress', 'c.txt', '-2', '-q'], { cwd: dir }).code, 0);
  const good = readFileSync(join(dir, 'c.txt.gbx'));
  const damage: Array<[string, Buffer]> = [
    ['body bit flip', Buffer.from(good.map((b, i) => (i === good.length - 200 ? b ^ 4 : b)))],
    ['truncated', good.subarray(0, good.length - 30)],
    ['not ours', Buffer.from('hello, world\n')],
  ];
  for (const [what, bytes] of damage) {
    writeFileSync(join(dir, 'bad.gbx'), bytes);
    const r = glassbox(['decompress', 'bad.gbx', '-o', 'bad.out'], { cwd: dir });
    assert.notEqual(r.code, 0, what);
    const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('glassbox:'));
    assert.equal(lines.length, 1, `${what}: ${r.stderr}`);
    assert.match(lines[0], /offset \d+/, what);
    assert.ok(!existsSync(join(dir, 'bad.out')), `${what}: no output file`);
    assert.deepEqual(readdirSync(dir).filter((n) => n.includes('.tmp-')), [], `${what}: no temp file`);
  }
});

test('static mode: --model on both sides; another checkpoint is refused', () => {
  const cfg = { vocabSize: 256, contextLength: 16, nLayers: 1, nHeads: 2, dModel: 16, seed: 1 };
  saveCheckpoint(join(dir, 'm1.safetensors'), new GPT(cfg), { meta: { model_config: cfg } });
  saveCheckpoint(join(dir, 'm2.safetensors'), new GPT({ ...cfg, seed: 2 }), { meta: { model_config: cfg } });
  writeFileSync(join(dir, 's.txt'), sample(800));
  assert.equal(glassbox(['compress', 's.txt', '--model', 'm1.safetensors', '-q'], { cwd: dir }).code, 0);
  const ok = glassbox(['decompress', 's.txt.gbx', '-o', 's.out', '--model', 'm1.safetensors', '-q'], { cwd: dir });
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(readFileSync(join(dir, 's.out')), readFileSync(join(dir, 's.txt')));
  const wrong = glassbox(['decompress', 's.txt.gbx', '-o', 's2.out', '--model', 'm2.safetensors'], { cwd: dir });
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /wrong checkpoint.*sha256/);
  assert.ok(!existsSync(join(dir, 's2.out')));
});

test('the CLI and the library take the same options and write the same bytes', async () => {
  const data = sample(2500);
  writeFileSync(join(dir, 'l.txt'), data);
  const c = glassbox(['compress', 'l.txt', '-1', '--chunk-size', '1000', '-q'], { cwd: dir });
  assert.equal(c.code, 0, c.stderr);
  const file = readFileSync(join(dir, 'l.txt.gbx'));
  assert.deepEqual(new Uint8Array(file), await compressBuffer(data, { level: 1, chunkSize: 1000 }));
  assert.equal(file.readUInt32LE(6), 1000, 'the container records the chunk size');
  const cfg = { vocabSize: 256, contextLength: 16, nLayers: 1, nHeads: 2, dModel: 16, seed: 1 };
  saveCheckpoint(join(dir, 'm3.safetensors'), new GPT(cfg), { meta: { model_config: cfg } });
  assert.equal(glassbox(['compress', 'l.txt', '--model', 'm3.safetensors', '--seed', '9', '-o', 'l.static.gbx', '-q'], { cwd: dir }).code, 0);
  assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'l.static.gbx'))), await compressBuffer(data, { model: join(dir, 'm3.safetensors'), seed: 9 }));
  const seedAlone = glassbox(['compress', 'l.txt', '--seed', '3', '-o', 'x.gbx'], { cwd: dir });
  assert.notEqual(seedAlone.code, 0);
  assert.match(seedAlone.stderr, /--seed applies to static mode only/);
  const both = glassbox(['compress', 'l.txt', '-2', '--model', 'm3.safetensors', '-o', 'y.gbx'], { cwd: dir });
  assert.notEqual(both.code, 0);
  assert.match(both.stderr, /either a level or --model/);
  assert.ok(!existsSync(join(dir, 'x.gbx')) && !existsSync(join(dir, 'y.gbx')));
});
