// The context-mixing compressor: its arithmetic, its round trips at every
// level, its errors on damaged input, its determinism across thread counts,
// and golden digests that catch any change of the coded bits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, mkdtempSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { compress, decompress, cmLevelConfig, CM_MAX_LEVEL, ByteTreeInput, type ByteModel } from '../../src/codec/cm/index.js';
import { squash, stretch } from '../../src/codec/cm/logistic.js';
import { Mixer } from '../../src/codec/cm/mixer.js';
import { BinaryDecoder, BinaryEncoder } from '../../src/codec/cm/binary-coder.js';
import { CorruptInputError } from '../../src/codec/errors.js';
import { setThreads, shutdownThreads } from '../../src/engine/matmul-kernel.js';
import { rng } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '../../..');
const CLASSICAL = Array.from({ length: CM_MAX_LEVEL }, (_, i) => i + 1).filter((l) => cmLevelConfig(l).gpt === null);
const NEURAL = Array.from({ length: CM_MAX_LEVEL }, (_, i) => i + 1).filter((l) => cmLevelConfig(l).gpt !== null);

function text(n: number, seed: number): Uint8Array {
  const words = ['the', 'Queen', 'said', 'Alice', 'and', 'of', 'a', 'little', 'rabbit', 'hole', 'to', 'it', 'was', ',', '.', '\n'];
  const r = rng(seed);
  let s = '';
  while (s.length < n) s += words[Math.floor(r() * r() * words.length)] + (r() < 0.8 ? ' ' : '');
  return new TextEncoder().encode(s.slice(0, n));
}

function random(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
}

test('no floating-point transcendental functions in the numeric path of src/codec/cm', () => {
  const dir = join(repo, 'src/codec/cm');
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const src = readFileSync(join(dir, f), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    assert.doesNotMatch(src, /Math\.(exp|log|log2|log10|log1p|expm1|pow|tanh|sinh|cosh|sqrt|cbrt|hypot|fround)\b|\*\*/, `${f} uses a floating-point function`);
  }
});

test('squash and stretch: integer tables close to the logistic function, stretch inverts squash', () => {
  for (let d = -2047; d <= 2047; d++) {
    const exact = 4096 / (1 + Math.exp(-d / 256)); // the reference, computed independently of the tables
    // Linear interpolation between knots 128 apart is off by at most ~13 where the curve bends most.
    assert.ok(Math.abs(squash(d) - exact) <= 16, `squash(${d}) = ${squash(d)}, logistic ${exact}`);
  }
  for (let p = 1; p < 4095; p++) {
    assert.ok(squash(stretch(p)) >= p && (stretch(p) === -2047 || squash(stretch(p) - 1) < p), `stretch(${p}) is the least d with squash(d) >= p`);
  }
});

test('the mixer outputs squash(sum w x / 65536) and moves the weights by x * err * lr', () => {
  const r = rng(7);
  const n = 9;
  const m = new Mixer(n, 3, 24, 0);
  for (let i = 0; i < m.w.length; i++) m.w[i] = Math.floor((r() - 0.5) * 80000);
  const x = Int32Array.from({ length: n }, () => Math.floor((r() - 0.5) * 4094));
  for (let set = 0; set < 3; set++) {
    let dot = 0;
    for (let i = 0; i < n; i++) dot += m.w[set * n + i] * x[i];
    const d = Math.max(-2047, Math.min(2047, Math.trunc(dot / 65536)));
    const before = Array.from(m.w.subarray(set * n, set * n + n));
    const p = m.mix(x, set);
    assert.equal(p, squash(d));
    m.update(x, 1);
    const t = set; // updates so far: the early boost gives lr + 3 lr (2^17 - t) / 2^17
    const lr = 24 + Math.floor((24 * 3 * (131072 - t)) / 131072);
    const err = Math.floor(((4096 - p) * lr) / 16);
    for (let i = 0; i < n; i++) assert.equal(m.w[set * n + i], before[i] + Math.floor((x[i] * err + 2048) / 4096));
  }
});

test('the byte-tree reading of a distribution: P(bit) is the ratio of the sums of its subtrees', () => {
  const dist = new Uint16Array(256);
  const r = rng(3);
  for (let s = 0; s < 256; s++) dist[s] = Math.floor(r() * 1000);
  const tree = new ByteTreeInput({ predict: () => dist, update() {} });
  tree.startByte();
  for (let c0 = 1; c0 < 256; c0++) {
    const bitPos = 31 - Math.clz32(c0);
    const width = 256 >> bitPos;
    const lo = (c0 - (1 << bitPos)) * width;
    let all = 0;
    let ones = 0;
    for (let s = lo; s < lo + width; s++) {
      all += dist[s] + 1;
      if (s >= lo + width / 2) ones += dist[s] + 1;
    }
    const want = Math.min(4095, Math.max(1, Math.floor((ones * 4096) / all)));
    assert.equal(tree.probability(c0, bitPos), want);
  }
});

test('the binary coder decodes what it encoded, and costs close to -log2 p', () => {
  const r = rng(11);
  const bits: number[] = [];
  const ps: number[] = [];
  let ideal = 0;
  const enc = new BinaryEncoder();
  for (let i = 0; i < 100000; i++) {
    const p = 1 + Math.floor(r() * 4095);
    const bit = r() < p / 4096 ? 1 : 0;
    bits.push(bit);
    ps.push(p);
    ideal -= Math.log2(bit ? p / 4096 : 1 - p / 4096);
    enc.encode(bit, p);
  }
  const out = enc.finish();
  assert.ok(out.length * 8 < ideal * 1.001 + 64, `${out.length * 8} bits for an ideal ${ideal}`);
  const dec = new BinaryDecoder(out);
  for (let i = 0; i < bits.length; i++) assert.equal(dec.decode(ps[i]), bits[i]);
});

const structured = fc.oneof(
  fc.constant(new Uint8Array(0)),
  fc.integer({ min: 0, max: 255 }).map((b) => Uint8Array.of(b)),
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 3000 })).map(([b, n]) => new Uint8Array(n).fill(b)),
  fc.uint8Array({ maxLength: 3000 }),
  fc.tuple(fc.integer({ min: 1, max: 5000 }), fc.integer()).map(([n, s]) => text(n, s)),
);

for (const level of CLASSICAL) {
  test(`level ${level}: round trips on empty, 1-byte, constant, random and text inputs`, async () => {
    await fc.assert(
      fc.asyncProperty(structured, async (data) => {
        const packed = await compress(data, { level });
        assert.deepEqual(await decompress(packed), data);
      }),
      { numRuns: 12, seed: 20260 + level },
    );
    // More than one chunk, random (stored chunks) then text (coded ones), so the model carries across modes.
    const big = new Uint8Array(150000);
    big.set(random(70000, 5), 0);
    big.set(text(80000, 6), 70000);
    const packed = await compress(big, { level });
    assert.ok(packed.length < 70000 + 80000 * 0.4, `${packed.length} bytes`);
    assert.deepEqual(await decompress(packed), big);
  });
}

for (const level of NEURAL) {
  test(`level ${level} (with the transformer): round trips, and compressing with 2 threads decodes with 1`, async () => {
    try {
      for (const data of [new Uint8Array(0), Uint8Array.of(65), new Uint8Array(300).fill(7), random(300, 1), text(1500, 2)]) {
        setThreads(2);
        const packed = await compress(data, { level });
        setThreads(1);
        assert.deepEqual(await decompress(packed), data);
        assert.deepEqual(await compress(data, { level }), packed, 'the same bits with 1 and 2 threads');
      }
    } finally {
      await shutdownThreads();
    }
  });
}

test('a plugged-in byte model enters the mix: a model that knows the data makes the file smaller, and both sides must use it', async () => {
  const data = random(4000, 9); // incompressible for the context models
  const oracle = (): ByteModel => {
    let i = 0;
    const d = new Uint16Array(256);
    return {
      predict: () => {
        d.fill(0);
        if (i < data.length) d[data[i]] = 60000;
        return d;
      },
      update: () => void i++,
    };
  };
  const plain = await compress(data, { level: 1 });
  const helped = await compress(data, { level: 1, byteModels: () => [oracle()] });
  assert.ok(helped.length < plain.length / 4, `${helped.length} bytes with the oracle, ${plain.length} without`);
  assert.deepEqual(await decompress(helped, { byteModels: () => [oracle()] }), data);
  await assert.rejects(decompress(helped), CorruptInputError);
});

test('truncation and bit flips anywhere give a CorruptInputError naming an offset', async () => {
  const data = text(100000, 4);
  const packed = await compress(data, { level: 1 });
  const cuts = [0, 1, 5, 13, 40, Math.floor(packed.length / 2), packed.length - 30, packed.length - 1];
  for (const n of cuts) {
    await assert.rejects(decompress(packed.subarray(0, n)), (e: unknown) => e instanceof CorruptInputError && /offset \d+/.test(e.message), `cut at ${n}`);
  }
  const r = rng(8);
  for (let k = 0; k < 24; k++) {
    const bad = packed.slice();
    const at = Math.floor(r() * bad.length);
    bad[at] ^= 1 << Math.floor(r() * 8);
    await assert.rejects(decompress(bad), (e: unknown) => e instanceof CorruptInputError && /offset \d+/.test(e.message), `flip at ${at}`);
  }
});

test('format versions: a newer one, and a version that does not match the coder, are refused clearly', async () => {
  const packed = await compress(text(500, 1), { level: 1 });
  assert.equal(packed[4] | (packed[5] << 8), 2);
  const newer = packed.slice();
  newer[4] = 3;
  await assert.rejects(decompress(newer), /format version 3 is newer/);
  const older = packed.slice();
  older[4] = 1;
  await assert.rejects(decompress(older), CorruptInputError); // the header CRC covers the version
});

test('the CLI: damaged input fails with a message and leaves no output file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gbx-cm-'));
  try {
    const cli = join(repo, 'dist/src/cli/main.js');
    const input = join(dir, 'in.txt');
    writeFileSync(input, text(50000, 3));
    const c = spawnSync(process.execPath, [cli, 'compress', input, '-1', '-q', '--threads', '1']);
    assert.equal(c.status, 0, c.stderr.toString());
    const packed = readFileSync(input + '.gbx');
    for (const [name, bytes] of [['cut', packed.subarray(0, packed.length - 9)], ['flip', Uint8Array.from(packed, (b, i) => (i === 100 ? b ^ 4 : b))]] as const) {
      const f = join(dir, `${name}.gbx`);
      writeFileSync(f, bytes);
      const d = spawnSync(process.execPath, [cli, 'decompress', f, '-q']);
      assert.notEqual(d.status, 0);
      assert.match(d.stderr.toString(), /offset \d+/);
      assert.equal(existsSync(join(dir, name)), false, 'no output file');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Any change to the coded bits of any level shows here. Changing them on purpose is fine: update the digests in the same commit and say why.
const GOLDEN: Record<number, string> = {
  1: 'da131d93ea7cefff',
  2: 'df2acf8d653cde11',
  3: '43bc96b0fe03ac53',
  4: '1070a6b9840e2cd9',
};

test('golden files: the compressed bytes of a fixed input have not changed', async () => {
  const data = text(20000, 2026);
  const got: Record<number, string> = {};
  try {
    for (let level = 1; level <= CM_MAX_LEVEL; level++) {
      setThreads(1);
      got[level] = createHash('sha256').update(await compress(level === 4 ? data.subarray(0, 3000) : data, { level })).digest('hex').slice(0, 16);
    }
  } finally {
    await shutdownThreads();
  }
  assert.deepEqual(got, GOLDEN);
});
