import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compressWithPredictor, decompressContainer } from '../../src/codec/compressor.js';
import { CorruptInputError } from '../../src/codec/errors.js';
import { GptPredictor, gptPredictorFactory } from '../../src/codec/gpt-predictor.js';
import { levelConfig, staticConfig, LEVELS } from '../../src/codec/gpt-levels.js';
import { parseGptCodecConfig, GPT_PREDICTOR_VERSION, type GptCodecConfig } from '../../src/codec/gpt-header.js';
import { GPT } from '../../src/nn/gpt.js';
import { saveCheckpoint, loadCheckpoint, modelTensors } from '../../src/train/checkpoint.js';
import { getThreads, setThreads, setParallelMinFlops } from '../../src/engine/matmul-kernel.js';
import fc from 'fast-check';
import { collector, pieces, rng, utf8, equalBytes, arbInput } from './helpers.js';

/** A level's recipe shrunk to test size: small hash tables, a tiny GPT, short segments. */
function tiny(level: number, over: { segment?: number; replay?: number; steps?: number } = {}): GptCodecConfig {
  const cfg = levelConfig(level, { seed: 3 });
  cfg.counts.hashBits = 10;
  if (cfg.contexts) cfg.contexts.hashBits = 12;
  if (cfg.model) {
    cfg.model = { ...cfg.model, dModel: 16, nHeads: 2, nLayers: level >= 5 ? 2 : 1, dMlp: 32, contextLength: 24 };
    cfg.train = { ...cfg.train!, segment: over.segment ?? 8, replay: over.replay ?? cfg.train!.replay, steps: over.steps ?? cfg.train!.steps, history: 256 };
  }
  return cfg;
}

const factory = gptPredictorFactory();

async function compress(data: Uint8Array, cfg: GptCodecConfig, chunkSize = 1000, split?: number[]) {
  const out = collector();
  const stats = await compressWithPredictor(pieces(data, split), out.sink, { predictorFactory: factory, header: cfg as unknown as Record<string, unknown>, chunkSize });
  return { bytes: out.bytes(), stats };
}

async function decompress(bytes: Uint8Array, split?: number[], f = factory) {
  const out = collector();
  const stats = await decompressContainer(pieces(bytes, split), out.sink, { predictorFactory: f });
  return { bytes: out.bytes(), stats };
}

function text(n: number, seed: number): Uint8Array {
  const words = ['the', 'rabbit', 'said', 'Alice', 'and', 'queen', 'of', 'hearts', 'a', 'very', 'curious', 'tea-party', '\n'];
  const r = rng(seed);
  let s = '';
  while (s.length < n) s += words[Math.floor(r() * words.length)] + (r() < 0.1 ? '. ' : ' ');
  return utf8.encode(s.slice(0, n));
}

test('round trips at every level (tiny models), across chunk and segment boundaries', async () => {
  const data = text(700, 1);
  for (const level of Object.keys(LEVELS).map(Number)) {
    const cfg = tiny(level);
    const { bytes, stats } = await compress(data, cfg, 250, [7, 100, 3]);
    assert.equal(stats.bytesIn, data.length);
    const back = await decompress(bytes, [13, 1, 400]);
    assert.ok(equalBytes(back.bytes, data), `level ${level}`);
    assert.equal(back.stats.idealBits, stats.idealBits, `level ${level}: the decoder saw the same probabilities`);
  }
});

test('edge inputs: empty, one byte, a long run, all 256 values, random binary, sizes around a segment', async () => {
  const r = rng(5);
  const inputs = [
    new Uint8Array(0),
    Uint8Array.of(200),
    new Uint8Array(300).fill(97),
    Uint8Array.from({ length: 256 }, (_, i) => 255 - i),
    Uint8Array.from({ length: 333 }, () => Math.floor(r() * 256)),
    ...[7, 8, 9, 23, 24, 25].map((n) => text(n, n)),
  ];
  const cfg = tiny(3);
  for (const data of inputs) {
    const { bytes } = await compress(data, cfg, 64);
    assert.ok(equalBytes((await decompress(bytes)).bytes, data), `length ${data.length}`);
  }
});

test('the output does not depend on how the input is split or on the thread count; 2-thread files decode with 1 thread', async () => {
  const data = text(1500, 2);
  const cfg = tiny(6, { replay: 2 });
  cfg.model = { ...cfg.model!, dModel: 32, nHeads: 4, dMlp: 64 };
  const prevThreads = getThreads();
  const prevMin = setParallelMinFlops(0); // split even these small products between threads
  try {
    setThreads(2);
    const a = await compress(data, cfg, 512, [1, 999]);
    setThreads(1);
    const b = await compress(data, cfg, 512, [333]);
    assert.ok(equalBytes(a.bytes, b.bytes), 'same file from 1 and 2 threads');
    assert.ok(equalBytes((await decompress(a.bytes)).bytes, data));
    setThreads(2);
    assert.ok(equalBytes((await decompress(b.bytes)).bytes, data));
  } finally {
    setThreads(prevThreads);
    setParallelMinFlops(prevMin);
  }
});

// This measures the range coder against the quantised frequencies it is handed (stats.idealBits), not the model's
// loss; the identity with the model's own unquantised Σ -log2 p is test/codec/identity.test.ts.
test('coder overhead: the coded body is within 0.5% of the ideal code length of the quantised frequencies, plus fixed header bytes', async () => {
  const data = text(12000, 3);
  for (const cfg of [tiny(2), tiny(4, { segment: 12 })]) {
    const { bytes, stats } = await compress(data, cfg, 1 << 16);
    const header = utf8.encode(JSON.stringify({ codec: { coder: 'range32', totalBits: 16 }, config: cfg })).length;
    // Preamble 14 + header + CRC 4; one chunk record 12; end marker 4; trailer 20.
    const fixed = 14 + header + 4 + 12 + 4 + 20;
    const bodyBits = 8 * (bytes.length - fixed);
    const rel = Math.abs(bodyBits - stats.idealBits) / stats.idealBits;
    assert.ok(rel < 0.005, `level ${cfg.level}: body ${bodyBits} bits vs area ${stats.idealBits.toFixed(0)} bits (${(rel * 100).toFixed(3)}%)`);
    assert.ok(bodyBits >= stats.idealBits - 1, 'a range coder cannot beat the ideal code length');
  }
});

test('the transformer learns: with only order-0 counts beside it, repeated text gets much cheaper', async () => {
  const unit = text(400, 9);
  const data = new Uint8Array(unit.length * 6);
  for (let i = 0; i < 6; i++) data.set(unit, i * unit.length);
  const cfg = tiny(4);
  cfg.counts.order = 0; // the counts alone cannot see a repeat; only the GPT can
  cfg.contexts = null;
  const p = new GptPredictor(cfg);
  const perPass: number[] = [];
  for (let i = 0; i < data.length; i++) {
    const before = p.bits;
    p.predict();
    p.observe(data[i]);
    const pass = Math.floor(i / unit.length);
    perPass[pass] = (perPass[pass] ?? 0) + (p.bits - before);
  }
  assert.ok(p.stepsTaken > 0);
  assert.ok(perPass[5] < 0.6 * perPass[0], `bits per pass ${perPass.map((b) => b.toFixed(0)).join(', ')}`);
});

test('property: random inputs and chunk sizes round trip (classical level: 500 cases; tiny GPT: 50)', async () => {
  for (const [level, numRuns] of [[2, 500], [4, 50]] as const) {
    const cfg = tiny(level);
    await fc.assert(
      fc.asyncProperty(arbInput, fc.integer({ min: 1, max: 300 }), async (data, chunkSize) => {
        const { bytes } = await compress(data, cfg, chunkSize);
        assert.ok(equalBytes((await decompress(bytes)).bytes, data));
      }),
      { numRuns, seed: 4 },
    );
  }
});

test('header validation: unknown predictor, future version, bad fields are CorruptInputErrors naming the field', () => {
  const good = JSON.parse(JSON.stringify(tiny(4))) as Record<string, unknown>;
  assert.deepEqual(parseGptCodecConfig(good), tiny(4));
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ ...good, predictor: 'lzma' }, /unknown predictor "lzma"/],
    [{ ...good, version: GPT_PREDICTOR_VERSION + 1 }, /newer than this glassbox supports/],
    [{ ...good, model: { ...(good.model as object), dModel: 15 } }, /not divisible/],
    [{ ...good, train: { ...(good.train as object), optimizer: 'sgd' } }, /unknown optimizer/],
    [{ ...good, train: { ...(good.train as object), segment: 24 } }, /train.segment/],
    [{ ...good, contexts: { ...(good.contexts as object), orders: [6, 4] } }, /contexts.orders/],
    [{ ...good, mixer: { lr: 0.1 } }, /mixer.init/],
  ];
  for (const [raw, re] of cases) {
    assert.throws(() => parseGptCodecConfig(raw), (e: unknown) => e instanceof CorruptInputError && re.test(e.message) && e.offset === 14, String(re));
  }
});

test('static mode: a fixed checkpoint model, identified by SHA-256; another checkpoint is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gbx-static-'));
  try {
    const mcfg = { vocabSize: 256, contextLength: 16, nLayers: 1, nHeads: 2, dModel: 16, seed: 4 };
    const a = new GPT(mcfg);
    saveCheckpoint(join(dir, 'a.safetensors'), a, { meta: { model_config: mcfg } });
    const b = new GPT({ ...mcfg, seed: 5 });
    saveCheckpoint(join(dir, 'b.safetensors'), b, { meta: { model_config: mcfg } });
    const load = (name: string) => {
      const ck = loadCheckpoint(join(dir, name));
      const m = new GPT(ck.meta.model_config as typeof mcfg);
      m.loadStateDict(modelTensors(ck));
      return m;
    };
    const shaA = 'a'.repeat(64);
    const cfg = staticConfig(load('a.safetensors').config, shaA);
    cfg.counts.hashBits = 10;
    cfg.contexts!.hashBits = 12;
    const data = text(600, 4);
    const withModel = (sha: string, m: GPT) => gptPredictorFactory((c) => {
      if (c.checkpoint!.sha256 !== sha) throw new Error(`wrong checkpoint: sha256 ${sha}, the file needs ${c.checkpoint!.sha256}`);
      return m;
    });
    const out = collector();
    await compressWithPredictor(pieces(data), out.sink, { predictorFactory: withModel(shaA, load('a.safetensors')), header: cfg as unknown as Record<string, unknown>, chunkSize: 256 });
    const file = out.bytes();
    const before = Float32Array.from(a.W_E.data);
    assert.ok(equalBytes((await decompress(file, undefined, withModel(shaA, load('a.safetensors')))).bytes, data));
    assert.deepEqual(Float32Array.from(a.W_E.data), before, 'static mode never trains');
    await assert.rejects(decompress(file, undefined, withModel('b'.repeat(64), load('b.safetensors'))), /wrong checkpoint/);
    await assert.rejects(decompress(file), /fixed model.*--model/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * Format stability. A .gbx file decodes only if this build computes the very
 * same probabilities as the build that wrote it: every bit of the engine's
 * forward and backward passes, the optimiser and the mixer is part of the
 * file format. These digests pin the output for fixed inputs; if one changes,
 * files written before the change no longer decode. Then either restore the
 * old bits, or bump GPT_PREDICTOR_VERSION (and keep decoding the old version).
 */
test('golden files: the compressed bytes of fixed inputs have not changed', async () => {
  const { createHash } = await import('node:crypto');
  const data = text(3000, 42);
  const classical = { predictor: 'gpt-mix', version: 1, level: 2, counts: { order: 3, hashBits: 12, limit: 1020, escape16: 32 }, contexts: { orders: [4, 6, 8], hashBits: 12, limit: 255, escape16: 32 }, model: null, train: null, mixer: { lr: 0.002, init: [0.3, 1], layers: 1 } };
  const withGpt = {
    ...classical,
    level: 4,
    model: { vocabSize: 256, contextLength: 24, nLayers: 2, nHeads: 2, dModel: 16, dMlp: 32, tieWeights: false, seed: 7 },
    train: { segment: 8, steps: 1, optimizer: 'adamw', lr: 0.003, warmup: 4, decay: 0, betas: [0.9, 0.99], eps: 1e-8, weightDecay: 0, clip: 1, replay: 2, history: 256, seed: 7, residual: false },
    mixer: { lr: 0.002, init: [0.3, 1], layers: 2 },
  };
  const digests: Record<string, string> = {};
  for (const [name, cfg] of Object.entries({ classical, withGpt })) {
    const { bytes } = await compress(data, cfg as unknown as GptCodecConfig, 1024);
    digests[name] = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  }
  assert.deepEqual(digests, GOLDEN, 'the coded bits changed: files from earlier builds will not decode (see the comment above)');
});
const GOLDEN = { classical: 'e1bbf9a8809773dc', withGpt: '094d37de5492f051' };

/**
 * The paths the golden files above do not reach: residual training (the GPT
 * learning a correction to the count mix), a decaying learning rate, two
 * steps per segment and one flat mixer. Digests recorded from the build
 * before the predictor was split into its header, levels, mixing and
 * training modules, so they pin that the split changed no bit.
 */
test('golden files: residual training, a decaying rate and the one-layer mix have not changed', async () => {
  const { createHash } = await import('node:crypto');
  const data = text(3000, 42);
  const base = {
    predictor: 'gpt-mix', version: 1, level: 4,
    counts: { order: 3, hashBits: 12, limit: 1020, escape16: 32 }, contexts: { orders: [4, 6, 8], hashBits: 12, limit: 255, escape16: 32 },
    model: { vocabSize: 256, contextLength: 24, nLayers: 2, nHeads: 2, dModel: 16, dMlp: 32, tieWeights: false, seed: 7 },
    train: { segment: 8, steps: 1, optimizer: 'adamw', lr: 0.003, warmup: 4, decay: 0, betas: [0.9, 0.99], eps: 1e-8, weightDecay: 0, clip: 1, replay: 2, history: 256, seed: 7, residual: false },
    mixer: { lr: 0.002, init: [0.3, 1], layers: 2 },
  };
  const residual = { ...base, train: { ...base.train, residual: true, decay: 50 } };
  const oneLayer = { ...base, train: { ...base.train, decay: 20, steps: 2 }, mixer: { ...base.mixer, layers: 1 } };
  const digests: Record<string, string> = {};
  for (const [name, cfg] of Object.entries({ residual, oneLayer })) {
    const { bytes } = await compress(data, parseGptCodecConfig(cfg), 1024);
    digests[name] = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  }
  assert.deepEqual(digests, { residual: 'e64fe7e82080d7b7', oneLayer: 'cca5edbc643d4a95' }, 'the coded bits changed: files from earlier builds will not decode');
});
