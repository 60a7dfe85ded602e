// npm run bench:compress [-- --levels 1,2,3] [--files a,b] [--gpt-max-bytes N] [--json] [--threads N] [--corpus DIR]
//
// Bits per byte and speed of every glassbox level against the anchors that
// are installed (xz -9e, zstd -19, brotli -11, bzip3, PPMd order 32 through
// 7zz, zpaq -method 5), on every file of the corpus and on the
// concatenation of its four text files, with each glassbox level's rank
// per file (1 = smallest output among every compressor on that file).
// Every glassbox run is decoded again and checked, and its decompression
// speed reported. Speeds on a shared machine are noisy: each file's speeds
// are also given relative to zpaq measured in the same run.
//
// The levels that run the transformer are slow (a few KiB/s); by default
// they only run on files up to --gpt-max-bytes (200,000) bytes, and the
// output says where they were skipped.

import { spawnSync } from 'node:child_process';
import { readFileSync, existsSync, mkdtempSync, writeFileSync, statSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { decompressContainer } from '../src/codec/compressor.js';
import { compressCm } from '../src/codec/cm/cm-codec.js';
import { CM_LEVELS, cmLevelConfig } from '../src/codec/cm/levels.js';
import { setThreads, shutdownThreads } from '../src/engine/matmul-kernel.js';

interface Row {
  file: string;
  compressor: string;
  bytes_in: number;
  bytes_out: number;
  bits_per_byte: number;
  kib_per_s: number;
  decompress_kib_per_s?: number;
  /** Speed relative to zpaq -method 5 on the same file in the same run. */
  speed_vs_zpaq?: number;
  rank?: number;
  /** glassbox: bytes of model memory. */
  model_mib?: number;
  verified?: boolean;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const flag = (name: string) => process.argv.includes(name);

const here = dirname(fileURLToPath(import.meta.url));
const corpus = arg('--corpus') ?? [join(here, '../../../shared/corpus'), join(here, '../../shared/corpus'), join(process.cwd(), '../shared/corpus'), '/work/shared/corpus'].find((d) => existsSync(join(d, 'alice29.txt')));
if (!corpus) throw new Error('corpus not found: pass --corpus DIR (the folder holding alice29.txt)');
const json = flag('--json');
const levels = (arg('--levels') ?? Object.keys(CM_LEVELS).join(',')).split(',').map(Number);
const gptMax = Number(arg('--gpt-max-bytes') ?? 200000);
setThreads(Number(arg('--threads') ?? 1));

const TEXT = ['alice29.txt', 'asyoulik.txt', 'lcet10.txt', 'plrabn12.txt'];
const CONCAT = 'alice29+asyoulik+lcet10+plrabn12';
const wanted = arg('--files')?.split(',');
const files: Array<[string, Uint8Array]> = [];
for (const f of readdirSync(corpus).sort()) {
  const p = join(corpus, f);
  if (statSync(p).isFile() && (!wanted || wanted.includes(f))) files.push([f, readFileSync(p)]);
}
if (!wanted || wanted.includes('concat')) files.push([CONCAT, Buffer.concat(TEXT.map((f) => readFileSync(join(corpus, f))))]);

function log(line: string): void {
  if (!json) process.stderr.write(line + '\n');
}

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** An anchor that reads stdin and writes stdout. */
function piped(cmd: string, args: string[]): ((data: Uint8Array) => number | null) | null {
  if (!have(cmd)) return null;
  return (data) => {
    const r = spawnSync(cmd, args, { input: data, maxBuffer: 1 << 30 });
    return r.error || r.status !== 0 ? null : r.stdout.length;
  };
}

/** An anchor that writes an archive file (7zz, zpaq): compressed size = the archive's size. */
function archiver(cmd: string, args: (archive: string, input: string) => string[], ext: string): ((data: Uint8Array) => number | null) | null {
  if (!have(cmd)) return null;
  return (data) => {
    const dir = mkdtempSync(join(tmpdir(), 'gbx-bench-'));
    try {
      const input = join(dir, 'in');
      writeFileSync(input, data);
      const archive = join(dir, 'out' + ext);
      const r = spawnSync(cmd, args(archive, input), { cwd: dir, maxBuffer: 1 << 26 });
      return r.error || r.status !== 0 ? null : statSync(archive).size;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

const anchors: Array<[string, ((data: Uint8Array) => number | null) | null]> = [
  ['xz -9e', piped('xz', ['-9e', '-c', '-T1'])],
  ['zstd -19', piped('zstd', ['-19', '-c', '-q', '-T1'])],
  ['brotli -11', piped('brotli', ['-q', '11', '-c'])],
  ['bzip3', piped('bzip3', ['-e', '-c', '-j', '1'])],
  ['PPMd o32 (7zz)', archiver('7zz', (a, i) => ['a', '-bd', '-mmt1', '-m0=PPMd:mem=256m:o=32', a, i], '.7z')],
  ['zpaq -method 5', archiver('zpaq', (a, i) => ['a', a, i, '-method', '5', '-threads', '1'], '.zpaq')],
];
for (const [name, run] of anchors) if (!run) log(`(${name} is not installed: skipped)`);

async function glassbox(level: number, data: Uint8Array): Promise<Row> {
  const config = cmLevelConfig(level);
  const parts: Uint8Array[] = [];
  const stats = await compressCm([data], (b) => void parts.push(b.slice()), { config });
  const out: Uint8Array[] = [];
  const d = await decompressContainer(parts, (b) => void out.push(b.slice()), {});
  return {
    file: '',
    compressor: `glassbox -${level}`,
    bytes_in: stats.bytesIn,
    bytes_out: stats.bytesOut,
    bits_per_byte: (8 * stats.bytesOut) / Math.max(1, stats.bytesIn),
    kib_per_s: stats.bytesIn / 1024 / stats.seconds,
    decompress_kib_per_s: d.bytesOut / 1024 / d.seconds,
    model_mib: stats.modelBytes / 2 ** 20,
    verified: Buffer.compare(Buffer.concat(out), data) === 0,
  };
}

const rows: Row[] = [];
const skipped: string[] = [];
for (const [name, data] of files) {
  log(`${name}: ${data.length} bytes`);
  const mine: Row[] = [];
  for (const [cname, run] of anchors) {
    if (!run) continue;
    const t0 = performance.now();
    const n = run(data);
    const s = (performance.now() - t0) / 1000;
    if (n === null) {
      log(`  ${cname} failed`);
      continue;
    }
    mine.push({ file: name, compressor: cname, bytes_in: data.length, bytes_out: n, bits_per_byte: (8 * n) / data.length, kib_per_s: data.length / 1024 / s });
  }
  for (const level of levels) {
    if (cmLevelConfig(level).gpt !== null && data.length > gptMax) {
      skipped.push(`glassbox -${level} on ${name}`);
      continue;
    }
    const r = await glassbox(level, data);
    r.file = name;
    mine.push(r);
    log(`  glassbox -${level}: ${r.bits_per_byte.toFixed(3)} bits/byte, ${r.kib_per_s.toFixed(1)} / ${r.decompress_kib_per_s!.toFixed(1)} KiB/s${r.verified ? '' : ', ROUND TRIP FAILED'}`);
  }
  const zp = mine.find((r) => r.compressor === 'zpaq -method 5');
  const sorted = mine.slice().sort((a, b) => a.bytes_out - b.bytes_out);
  for (const r of mine) {
    r.rank = sorted.findIndex((x) => x.bytes_out >= r.bytes_out) + 1;
    if (zp) r.speed_vs_zpaq = r.kib_per_s / zp.kib_per_s;
  }
  rows.push(...mine);
}

if (json) process.stdout.write(JSON.stringify({ corpus, skipped, rows }, null, 2) + '\n');
else {
  const lines = ['| file | compressor | bytes | bits/byte | rank | KiB/s | ×zpaq speed | decompress KiB/s | model MiB |', '|---|---|---|---|---|---|---|---|---|'];
  for (const r of rows) {
    const mine = r.compressor.startsWith('glassbox');
    lines.push(
      `| ${r.file} | ${r.compressor} | ${r.bytes_out.toLocaleString('en-US')} | ${r.bits_per_byte.toFixed(3)} | ${mine ? `**${r.rank}**` : r.rank} | ${r.kib_per_s.toFixed(1)} | ${r.speed_vs_zpaq === undefined ? '' : r.speed_vs_zpaq.toFixed(2)} | ${r.decompress_kib_per_s === undefined ? '' : r.decompress_kib_per_s.toFixed(1)} | ${r.model_mib === undefined ? '' : r.model_mib.toFixed(0)} |`,
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
  if (skipped.length) process.stdout.write(`\nSkipped (transformer levels limited to files of at most ${gptMax} bytes; raise with --gpt-max-bytes): ${skipped.join('; ')}\n`);
}
await shutdownThreads();
if (rows.some((r) => r.verified === false)) process.exitCode = 1;
