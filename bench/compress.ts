// npm run bench:compress [-- --levels 1,2,5] [--big] [--verify] [--json] [--threads N] [--corpus DIR]
//
// Bits per byte and speed of glassbox at each level against gzip -9 and
// brotli -11 (node:zlib) and xz -9e and zstd -19 (when installed), on
// alice29.txt and, with --big, the 1,152,372-byte concatenation of alice29,
// asyoulik, lcet10 and plrabn12. Speeds on a shared machine are noisy:
// compare ratios, and speeds measured in one run.

import { spawnSync } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { brotliCompressSync, gzipSync, constants as zc } from 'node:zlib';
import { compressStream, decompressStream } from '../src/codec/compressor.js';
import { GptPredictor, gptPredictorFactory, levelConfig, LEVELS } from '../src/codec/gpt-predictor.js';
import { CHUNK_SIZE } from '../src/cli/compress.js';
import { setThreads, shutdownThreads } from '../src/engine/matmul-kernel.js';

interface Row {
  file: string;
  compressor: string;
  bytes_in: number;
  bytes_out: number;
  bits_per_byte: number;
  kib_per_s: number;
  /** glassbox only */
  area_bits_per_byte?: number;
  train_share?: number;
  decompress_kib_per_s?: number;
  verified?: boolean;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const flag = (name: string) => process.argv.includes(name);

const here = dirname(fileURLToPath(import.meta.url));
const corpus = arg('--corpus') ?? [join(here, '../../../shared/corpus'), join(here, '../../shared/corpus'), join(process.cwd(), '../shared/corpus')].find((d) => existsSync(join(d, 'alice29.txt')));
if (!corpus) throw new Error('corpus not found: pass --corpus DIR (the folder holding alice29.txt)');
const json = flag('--json');
const levels = (arg('--levels') ?? Object.keys(LEVELS).join(',')).split(',').map(Number);
if (arg('--threads')) setThreads(Number(arg('--threads')));

const files: Array<[string, Uint8Array]> = [['alice29.txt', readFileSync(join(corpus, 'alice29.txt'))]];
if (flag('--big')) {
  const parts = ['alice29.txt', 'asyoulik.txt', 'lcet10.txt', 'plrabn12.txt'].map((f) => readFileSync(join(corpus, f)));
  files.push(['alice29+asyoulik+lcet10+plrabn12', Buffer.concat(parts)]);
}

function log(line: string): void {
  if (!json) process.stderr.write(line + '\n');
}

function baseline(name: string, data: Uint8Array, run: () => Uint8Array | null): Row | null {
  const t0 = performance.now();
  const out = run();
  const s = (performance.now() - t0) / 1000;
  if (!out) return null;
  return { file: '', compressor: name, bytes_in: data.length, bytes_out: out.length, bits_per_byte: (8 * out.length) / data.length, kib_per_s: data.length / 1024 / s };
}

function external(cmd: string, args: string[], data: Uint8Array): Uint8Array | null {
  const r = spawnSync(cmd, args, { input: data, maxBuffer: 1 << 30 });
  if (r.error || r.status !== 0) return null;
  return r.stdout;
}

async function glassbox(level: number, data: Uint8Array, verify: boolean): Promise<Row> {
  const header = levelConfig(level) as unknown as Record<string, unknown>;
  const parts: Uint8Array[] = [];
  let predictor: GptPredictor | undefined;
  const factory = gptPredictorFactory();
  let lastLog = performance.now();
  const stats = await compressStream([data], (b) => void parts.push(b.slice()), {
    predictorFactory: (raw) => (predictor = factory(raw)),
    header,
    chunkSize: CHUNK_SIZE,
    onProgress: (e) => {
      if (performance.now() - lastLog > 30000) {
        lastLog = performance.now();
        log(`  level ${level}: ${e.bytesIn} bytes, ${e.bitsPerByte.toFixed(3)} bits/byte so far`);
      }
    },
  });
  const row: Row = {
    file: '',
    compressor: `glassbox -${level}`,
    bytes_in: stats.bytesIn,
    bytes_out: stats.bytesOut,
    bits_per_byte: (8 * stats.bytesOut) / stats.bytesIn,
    kib_per_s: stats.bytesIn / 1024 / stats.seconds,
    area_bits_per_byte: stats.modelBits / stats.bytesIn,
    train_share: predictor ? predictor.trainSeconds / stats.seconds : 0,
  };
  if (verify) {
    const out: Uint8Array[] = [];
    const d = await decompressStream(parts, (b) => void out.push(b.slice()), { predictorFactory: factory });
    const back = Buffer.concat(out);
    row.verified = Buffer.compare(back, data) === 0;
    row.decompress_kib_per_s = d.bytesOut / 1024 / d.seconds;
  }
  return row;
}

const rows: Row[] = [];
for (const [name, data] of files) {
  log(`${name}: ${data.length} bytes`);
  const base = [
    baseline('gzip -9', data, () => gzipSync(data, { level: 9 })),
    baseline('brotli -11', data, () => brotliCompressSync(data, { params: { [zc.BROTLI_PARAM_QUALITY]: 11, [zc.BROTLI_PARAM_SIZE_HINT]: data.length } })),
    baseline('xz -9e', data, () => external('xz', ['-9e', '-c', '-T1'], data)),
    baseline('zstd -19', data, () => external('zstd', ['-19', '-c', '-q'], data)),
  ];
  for (const r of base) {
    if (!r) continue;
    r.file = name;
    rows.push(r);
    log(`  ${r.compressor.padEnd(12)} ${r.bits_per_byte.toFixed(3)} bits/byte`);
  }
  for (const level of levels) {
    const r = await glassbox(level, data, flag('--verify'));
    r.file = name;
    rows.push(r);
    log(`  ${r.compressor.padEnd(12)} ${r.bits_per_byte.toFixed(3)} bits/byte, ${r.kib_per_s.toFixed(1)} KiB/s${r.verified === undefined ? '' : r.verified ? ', round trip ok' : ', ROUND TRIP FAILED'}`);
  }
}

if (json) process.stdout.write(JSON.stringify({ corpus, rows }, null, 2) + '\n');
else {
  const lines = ['| file | compressor | bytes | bits/byte | KiB/s | train share | decompress KiB/s |', '|---|---|---|---|---|---|---|'];
  for (const r of rows) {
    lines.push(`| ${r.file} | ${r.compressor} | ${r.bytes_out.toLocaleString('en-US')} | ${r.bits_per_byte.toFixed(3)} | ${r.kib_per_s.toFixed(1)} | ${r.train_share === undefined ? '' : (100 * r.train_share).toFixed(0) + '%'} | ${r.decompress_kib_per_s === undefined ? '' : r.decompress_kib_per_s.toFixed(1)} |`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}
await shutdownThreads();
if (rows.some((r) => r.verified === false)) process.exitCode = 1;
