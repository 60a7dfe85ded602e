// The language model's commands: `run lm` trains it, `generate` samples from
// it, `score` measures a file's bits per byte under it.

import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { intArg, floatArg } from './args.js';
import { progressBar, formatSeconds } from './progress.js';
import { LM_PRESETS, runLm, type LmConfig, type LmPreset } from '../experiments/lm.js';
import { renderLmReport } from '../report/lm-report.js';
import { renderScorePage } from '../report/lm-score-page.js';
import type { TrainEvent } from '../train/trainer.js';
import { setThreads } from '../engine/matmul-kernel.js';
import { loadModel, BUILTIN } from '../lm/model-file.js';
import { generate, checkSampling, MAX_TEMPERATURE } from '../lm/generate.js';
import { scoreBytes, regionBitsPerByte } from '../lm/score.js';
import { writeFileAtomic } from '../engine/atomic-file.js';

interface LmFlags {
  preset: LmPreset;
  steps?: number;
  seed?: number;
  corpus: string;
  threads?: number;
  out: string;
  resume?: string;
  json?: boolean;
  quiet?: boolean;
}

export function registerLmRun(run: Command): void {
  run
    .command('lm')
    .description('pretrain the byte-level language model on the corpus (glassbox corpus build); writes model.safetensors with its SHA-256')
    .addOption(new Option('--preset <name>', 'tiny (seconds, for tests) or shipped (the model in the package: 1,200 steps of 64 x 128 bytes, about half an hour on 2 quiet cores)').choices(['tiny', 'shipped']).default('shipped'))
    .option('--steps <n>', 'override the preset\'s steps (the result is then a custom model)', intArg(1))
    .option('--seed <n>', 'override the preset\'s seed (a custom model)', intArg(0, 2 ** 31 - 1))
    .option('--corpus <dir>', 'the built corpus (built there first if missing)', 'lm-corpus')
    .option('--threads <n>', 'matmul threads (results are identical for any count)', intArg(1, 64))
    .option('--out <dir>', 'parent folder of run directories', 'runs')
    .option('--resume <checkpoint>', 'continue from checkpoints/last.safetensors (same flags), bit-identically')
    .option('--json', 'print result.json to stdout')
    .option('--quiet', 'no progress bar')
    .action(async (flags: LmFlags) => {
      const cfg: LmConfig = { ...LM_PRESETS[flags.preset] };
      let preset: LmPreset | 'custom' = flags.preset;
      if (flags.steps !== undefined && flags.steps !== cfg.steps) {
        cfg.steps = flags.steps;
        cfg.warmup = Math.min(cfg.warmup, cfg.steps);
        preset = 'custom';
      }
      if (flags.seed !== undefined && flags.seed !== cfg.seed) {
        cfg.seed = flags.seed;
        preset = 'custom';
      }
      const bar = progressBar(cfg.steps, '{bar} step {value}/{total} | loss {loss} bits/byte | val {val} | {tps} B/s | ETA {eta}', { quiet: flags.quiet || flags.json });
      let val = '-';
      const controller = new AbortController();
      const onSigint = () => controller.abort();
      process.once('SIGINT', onSigint);
      const onEvent = (e: TrainEvent) => {
        if (e.type === 'eval') val = e.metrics.val_bpb.toFixed(3);
        if (e.type === 'step') bar.update(e.step, { loss: (e.loss * 1.4426950408889634).toFixed(3), val, tps: Math.round(e.tokensPerSecond), eta: formatSeconds(e.etaSeconds) });
      };
      try {
        if (!flags.json && !flags.quiet) process.stderr.write(`lm: ${cfg.layers} layers × d${cfg.dModel} × ${cfg.heads} heads, context ${cfg.context}, ${cfg.steps} steps of ${cfg.batch} × ${cfg.context} bytes\n`);
        const r = await runLm(cfg, { preset, corpusDir: flags.corpus, outRoot: flags.out, threads: flags.threads, resume: flags.resume, signal: controller.signal, onEvent, render: renderLmReport });
        bar.stop();
        if (flags.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
        else if (r.aborted) process.stdout.write(`interrupted at step ${r.steps}; resume with --resume ${r.run_dir}/checkpoints/last.safetensors\n`);
        else {
          const base = r.baselines.filter((b) => b.bpb !== null).map((b) => `${b.name} ${b.bpb!.toFixed(3)}`).join(', ');
          process.stdout.write(
            [
              `validation: ${r.val_bpb.toFixed(4)} bits/byte over ${r.corpus.val_bytes.toLocaleString('en-US')} bytes${base ? ` (${base})` : ''}`,
              `${r.steps} steps, ${r.tokens.toLocaleString('en-US')} bytes seen, ${formatSeconds(r.seconds)}`,
              `model: ${r.model_path}`,
              `sha256: ${r.model_sha256}`,
              `report: ${r.report}`,
            ].join('\n') + '\n',
          );
        }
      } finally {
        bar.stop();
        process.off('SIGINT', onSigint);
      }
    });
}

export function registerLmCommands(program: Command): void {
  program
    .command('generate')
    .description('sample text from a byte-level LM (the shipped one by default), streamed as it is produced; the same seed gives the same bytes on any machine')
    .option('--model <m>', 'builtin or a model.safetensors path', BUILTIN)
    .option('--prompt <text>', 'text to continue (UTF-8)', '')
    .option('--max-bytes <n>', 'bytes to generate', intArg(0, 1 << 24), 400)
    .option('--temperature <t>', `0 for greedy, up to ${MAX_TEMPERATURE}`, floatArg(0, MAX_TEMPERATURE), 0.8)
    .option('--top-k <k>', 'sample among the k most likely bytes (0 = all 256)', intArg(0, 256), 40)
    .option('--seed <n>', 'sampling seed', intArg(0, 2 ** 31 - 1), 1)
    .option('--threads <n>', 'matmul threads', intArg(1, 64))
    .option('--json', 'print {prompt, text, bytes_base64} instead of streaming')
    .action((o: { model: string; prompt: string; maxBytes: number; temperature: number; topK: number; seed: number; threads?: number; json?: boolean }) => {
      checkSampling(o.temperature, o.topK);
      if (o.threads) setThreads(o.threads);
      const { model } = loadModel(o.model);
      // Bytes go to stdout as they are; a byte model can end a line inside a
      // UTF-8 sequence, and the terminal shows that as a replacement character.
      const out = generate(model, o.prompt, { maxBytes: o.maxBytes, temperature: o.temperature, topK: o.topK, seed: o.seed, onByte: o.json ? undefined : (b) => process.stdout.write(Uint8Array.of(b)) });
      if (o.json) process.stdout.write(JSON.stringify({ prompt: o.prompt, text: new TextDecoder('utf-8', { fatal: false }).decode(out), bytes_base64: Buffer.from(out).toString('base64') }) + '\n');
      else process.stdout.write('\n');
    });
  program
    .command('score')
    .description('bits per byte of a file under a byte-level LM, per region and overall')
    .argument('<file>', 'file to score')
    .option('--model <m>', 'builtin or a model.safetensors path', BUILTIN)
    .option('--region <bytes>', 'region size for the per-region figures', intArg(1), 4096)
    .option('--stride <n>', 'window slide: each byte is scored with at least context − stride bytes before it; a larger stride is faster and sees less context (default: half the context, as the model card\'s figures)', intArg(1))
    .option('--html <page>', 'write a page that colours every byte by its code length')
    .option('--threads <n>', 'matmul threads', intArg(1, 64))
    .option('--json', 'print the figures as JSON')
    .action((file: string, o: { model: string; region: number; stride?: number; html?: string; threads?: number; json?: boolean }) => {
      let data: Uint8Array;
      try {
        data = new Uint8Array(readFileSync(file));
      } catch (e) {
        throw new Error(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      if (o.threads) setThreads(o.threads);
      const lm = loadModel(o.model);
      const C = lm.model.config.contextLength;
      if (o.stride !== undefined && o.stride > C) throw new Error(`--stride ${o.stride} is longer than the model's context (${C} bytes)`);
      const t0 = performance.now();
      const s = scoreBytes(lm.model, data, { stride: o.stride });
      const seconds = (performance.now() - t0) / 1000;
      const regions = regionBitsPerByte(s.bits, o.region);
      if (o.html) writeFileAtomic(o.html, renderScorePage(file, data, s.bits, lm.card.name));
      const res = { file, bytes: data.length, bits: s.totalBits, bits_per_byte: s.bitsPerByte, stride: o.stride ?? C >> 1, seconds, bytes_per_second: data.length / seconds, model: lm.path, model_sha256: lm.sha256, regions };
      if (o.json) process.stdout.write(JSON.stringify(res, null, 2) + '\n');
      else {
        process.stdout.write(`${file}: ${s.bitsPerByte.toFixed(4)} bits/byte (${data.length.toLocaleString('en-US')} bytes, ${(data.length / seconds / 1024).toFixed(1)} KiB/s)\n`);
        for (const r of regions.slice(0, 50)) process.stdout.write(`  ${String(r.start).padStart(10)}-${String(r.end).padEnd(10)} ${r.bpb.toFixed(3)}\n`);
        if (regions.length > 50) process.stdout.write(`  … ${regions.length - 50} more regions (--json lists all)\n`);
        if (o.html) process.stdout.write(`page: ${o.html}\n`);
      }
    });
}
