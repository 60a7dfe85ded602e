// `glassbox compress IN [-o OUT]` and `glassbox decompress IN [-o OUT]`:
// the context-mixing compressor (src/codec/cm/) as a file tool; levels 1-3
// are classical context mixing, level 4 adds the transformer as a mixer
// input. `--model` keeps the transformer compressor's static mode (format 1),
// and decompress reads both formats. The compressing is the library's
// (src/codec/library.ts, the same options); this file parses flags, opens
// files and draws progress.
// `-` is stdin/stdout. File outputs appear whole or not at all (temp file,
// renamed on success) and never replace a file without --force.

import { createReadStream, statSync, realpathSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { intArg } from './args.js';
import { progressBar, formatSeconds } from './progress.js';
import { compressStream, decompressStream, type CompressionStats, type CompressionProgress } from '../codec/library.js';
import { loadStaticModel } from '../codec/static-model.js';
import { DEFAULT_CHUNK_SIZE, MAX_CHUNK_LENGTH } from '../codec/container.js';
import { CorruptInputError } from '../codec/errors.js';
import { openAtomicWrite, type AtomicWrite } from '../engine/atomic-file.js';
import { setThreads, shutdownThreads } from '../engine/matmul-kernel.js';
import { CM_DEFAULT_LEVEL, CM_MAX_LEVEL } from '../codec/cm/levels.js';

/**
 * Measured by `npm run bench:compress` on 2026-12-02 (bits per byte; compression
 * speed on one core of a shared 2-core AMD EPYC machine, decompression is about as fast).
 */
export const LEVEL_HELP = `
Levels (bits per byte on alice29.txt / on the 1.15 MB four-text concatenation; compression
speed on one busy core of a 2-core AMD EPYC, 2026-12-02, decompression about the same; peak memory):
  -1  orders 1-4, word, match model; one mixer, one APM           2.087 / 2.078   ~300 KiB/s     80 MB
  -2  (default) + order 6, two words, column; bit histories;       1.973 / 1.921    ~60 KiB/s    340 MB
      4 gated mixers and a final mixer; 2 APMs
  -3  + the third word, faster mixers                               1.969 / 1.920    ~55 KiB/s    340 MB
  -4  + the transformer (learning as it codes) as a mixer input     1.956 / -         ~7 KiB/s    435 MB
      (uses --threads; the output is identical for any count)
Anchors on the same files: zpaq -method 5 2.021 / 1.942, bzip3 2.182 / 2.167, PPMd o32 2.098 / 2.145, xz -9e 2.583 / 2.548.
No level uses a pretrained prior.`;

interface CommonFlags {
  output?: string;
  force?: boolean;
  json?: boolean;
  quiet?: boolean;
  threads?: number;
  model?: string;
}

interface CompressFlags extends CommonFlags {
  level?: number;
  seed?: number;
  chunkSize?: number;
  [digit: string]: unknown;
}

/** The JSON a command prints with --json. */
export interface CompressReport {
  command: 'compress' | 'decompress';
  input: string;
  output: string;
  bytes_in: number;
  bytes_out: number;
  /** Compressed bits per original byte, container included. */
  bits_per_byte: number;
  seconds: number;
  /** Sum of -log2 p over the coded bytes at coding time, p the model's unquantised output (f64): the area under its prequential loss curve. */
  area_under_loss_bits: number;
  level: number;
  kib_per_second: number;
}

// ---------------------------------------------------------------- plumbing

function inputSource(path: string): { source: AsyncIterable<Uint8Array>; size: number } {
  if (path === '-') return { source: process.stdin, size: 0 };
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  if (!st.isFile()) throw new Error(`${path} is not a regular file`);
  return { source: createReadStream(path, { highWaterMark: 1 << 16 }), size: st.size };
}

function sameFile(a: string, b: string): boolean {
  if (a === '-' || b === '-') return false;
  if (resolve(a) === resolve(b)) return true;
  return existsSync(b) && realpathSync(a) === realpathSync(b);
}

/** Writes to stdout or to an atomic temp file; `finish` commits, `fail` leaves nothing behind. */
async function openOutput(path: string, force: boolean): Promise<{ target: NodeJS.WritableStream & import('node:stream').Writable; finish(): Promise<void>; fail(): Promise<void> }> {
  if (path === '-') {
    return {
      target: process.stdout,
      async finish() {
        if (process.stdout.writableNeedDrain) await new Promise((r) => process.stdout.once('drain', r));
      },
      async fail() {},
    };
  }
  let w: AtomicWrite;
  try {
    w = await openAtomicWrite(path, { force });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new Error(`${path} already exists; use --force to overwrite it`);
    throw new Error(`cannot write ${path}: ${code ?? (e as Error).message}`);
  }
  return { target: w.stream, finish: () => w.commit(), fail: () => w.abort() };
}

function report(command: 'compress' | 'decompress', input: string, output: string, stats: CompressionStats): CompressReport {
  const original = command === 'compress' ? stats.bytesIn : stats.bytesOut;
  const compressed = command === 'compress' ? stats.bytesOut : stats.bytesIn;
  return {
    command,
    input,
    output,
    bytes_in: stats.bytesIn,
    bytes_out: stats.bytesOut,
    bits_per_byte: original > 0 ? (8 * compressed) / original : 0,
    seconds: stats.seconds,
    area_under_loss_bits: stats.modelBits,
    level: stats.level,
    kib_per_second: stats.seconds > 0 ? original / 1024 / stats.seconds : 0,
  };
}

function print(r: CompressReport, json: boolean, quiet: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify(r) + '\n');
    return;
  }
  if (quiet) return;
  const original = r.command === 'compress' ? r.bytes_in : r.bytes_out;
  const compressed = r.command === 'compress' ? r.bytes_out : r.bytes_in;
  process.stderr.write(
    `${r.input} -> ${r.output}: ${original} bytes <-> ${compressed} bytes, ${r.bits_per_byte.toFixed(3)} bits/byte ` +
      `(area under the loss curve ${(r.area_under_loss_bits / 8).toFixed(0)} bytes), ${formatSeconds(r.seconds)}, ${r.kib_per_second.toFixed(1)} KiB/s\n`,
  );
}

/** Shared driver: sets threads, opens output, runs, cleans up on any failure. */
async function runCodec(
  command: 'compress' | 'decompress',
  input: string,
  output: string,
  flags: CommonFlags,
  body: (io: { source: AsyncIterable<Uint8Array>; target: import('node:stream').Writable; signal: AbortSignal; onProgress: (e: CompressionProgress) => void }) => Promise<CompressionStats>,
): Promise<void> {
  if (flags.threads !== undefined) setThreads(flags.threads);
  if (sameFile(input, output)) throw new Error(`input and output are the same file (${input})`);
  const { source, size } = inputSource(input);
  const out = await openOutput(output, flags.force ?? false);
  const controller = new AbortController();
  const onSigint = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', onSigint);
  const showBar = !flags.quiet && !flags.json && size > 0;
  const bar = showBar ? progressBar(size, `${command} {bar} {percentage}% | {done} | {speed} KiB/s | {bpb} bits/byte | ETA {eta}`) : { update() {}, stop() {} };
  const t0 = Date.now();
  const onProgress = ({ bytes, bits }: CompressionProgress): void => {
    const sec = (Date.now() - t0) / 1000;
    const bpb = bytes > 0 ? bits / bytes : 0;
    // Decompressing, the bar counts compressed bytes: about bits/8 of them are consumed by now.
    const value = command === 'compress' ? bytes : Math.min(size, Math.round(bits / 8));
    const rate = sec > 0 ? value / sec : 0;
    bar.update(value, {
      percentage: size > 0 ? Math.floor((100 * value) / size) : 0,
      done: `${(bytes / 1024).toFixed(0)} KiB`,
      speed: (bytes / 1024 / Math.max(sec, 1e-9)).toFixed(1),
      bpb: bpb.toFixed(3),
      eta: rate > 0 ? formatSeconds((size - value) / rate) : '?',
    });
  };
  try {
    const stats = await body({ source, target: out.target, signal: controller.signal, onProgress });
    await out.finish();
    bar.stop();
    print(report(command, input, output, stats), flags.json ?? false, flags.quiet ?? false);
  } catch (e) {
    bar.stop();
    await out.fail();
    if (e instanceof CorruptInputError) throw new Error(`${input}: ${e.message}`);
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
    if (source !== process.stdin) (source as unknown as { destroy?: () => void }).destroy?.();
    await shutdownThreads();
  }
}

// ---------------------------------------------------------------- commands

function defaultCompressOutput(input: string): string {
  return input === '-' ? '-' : `${input}.gbx`;
}

function defaultDecompressOutput(input: string): string {
  if (input === '-') return '-';
  if (!input.endsWith('.gbx') || input.length === 4) throw new Error(`cannot guess the output name: ${input} does not end in .gbx; give one with -o`);
  return input.slice(0, -4);
}

export function registerCompressCommands(program: Command): void {
  const compress = program
    .command('compress')
    .description(`compress a file by bitwise context mixing (a transformer joins at level ${CM_MAX_LEVEL}); -1 fastest .. -${CM_MAX_LEVEL} best ratio`)
    .argument('<input>', 'file to compress, or - for stdin')
    .option('-o, --output <path>', 'output file, or - for stdout (default: INPUT.gbx; stdout for stdin)')
    .addOption(new Option('-l, --level <n>', `compression level 1-${CM_MAX_LEVEL} (default ${CM_DEFAULT_LEVEL})`).argParser(intArg(1, CM_MAX_LEVEL)))
    .option('--model <checkpoint>', 'static mode: code with this fixed .safetensors model (no training); decompress needs the same file')
    .option('--seed <n>', 'static mode: the model seed recorded in the file (default: the checkpoint\'s)', intArg(0, 2 ** 31 - 1))
    .option('--chunk-size <bytes>', `original bytes per container chunk (default ${DEFAULT_CHUNK_SIZE})`, intArg(1, MAX_CHUNK_LENGTH))
    .option('--threads <n>', 'matmul threads (the output is identical for any count)', intArg(1, 64))
    .option('-f, --force', 'overwrite the output file if it exists')
    .option('--json', 'print a JSON summary to stdout')
    .option('-q, --quiet', 'no progress bar or summary');
  for (let d = 1; d <= CM_MAX_LEVEL; d++) compress.option(`-${d}`, d === 1 ? 'same as --level 1 (fastest)' : d === CM_MAX_LEVEL ? `same as --level ${d} (best)` : `same as --level ${d}`);
  compress.addHelpText('after', LEVEL_HELP);
  compress.action(async (input: string, flags: CompressFlags) => {
    const digits = Array.from({ length: CM_MAX_LEVEL }, (_, i) => i + 1).filter((d) => flags[String(d)] === true);
    if (digits.length > 1 || (digits.length === 1 && flags.level !== undefined && flags.level !== digits[0])) throw new Error('give one compression level');
    const level = digits[0] ?? flags.level;
    const output = flags.output ?? defaultCompressOutput(input);
    if (output === '-' && flags.json) throw new Error('--json prints to stdout; give an output file with -o');
    if (output === '-' && process.stdout.isTTY && !flags.force) throw new Error('refusing to write compressed data to a terminal (use -o FILE, a pipe, or --force)');
    if (flags.model && level !== undefined) throw new Error('give either a level or --model (static mode has one fixed recipe)');
    if (!flags.model && flags.seed !== undefined) throw new Error('--seed applies to static mode only (--model)');
    const model = flags.model ? await loadStaticModel(flags.model) : undefined;
    await runCodec('compress', input, output, flags, ({ source, target, signal, onProgress }) =>
      compressStream(source, target, { level, model, seed: flags.seed, chunkSize: flags.chunkSize, signal, onProgress }),
    );
  });

  program
    .command('decompress')
    .description('decompress a .gbx file (replays the same learning, so it runs at about the speed of compression)')
    .argument('<input>', 'file to decompress, or - for stdin')
    .option('-o, --output <path>', 'output file, or - for stdout (default: INPUT without .gbx; stdout for stdin)')
    .option('--model <checkpoint>', 'the checkpoint a static-mode file was compressed with')
    .option('--threads <n>', 'matmul threads (any count decodes any file)', intArg(1, 64))
    .option('-f, --force', 'overwrite the output file if it exists')
    .option('--json', 'print a JSON summary to stdout')
    .option('-q, --quiet', 'no progress bar or summary')
    .action(async (input: string, flags: CommonFlags) => {
      const output = flags.output ?? defaultDecompressOutput(input);
      if (output === '-' && flags.json) throw new Error('--json prints to stdout; give an output file with -o');
      const model = flags.model ? await loadStaticModel(flags.model) : undefined;
      await runCodec('decompress', input, output, flags, ({ source, target, signal, onProgress }) => decompressStream(source, target, { model, signal, onProgress }));
    });
}
