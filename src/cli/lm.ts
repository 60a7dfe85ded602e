// The language model's tools: `generate` samples from it, `score` measures a
// file's bits per byte under it. (`run lm`, which trains it, is on the experiment shell.)

import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { intArg, floatArg } from './args.js';
import { renderScorePage } from '../report/lm-score-page.js';
import { threadsOption, applyThreads } from './args.js';
import { loadModel, BUILTIN } from '../lm/model-file.js';
import { generate, checkSampling, MAX_TEMPERATURE } from '../lm/generate.js';
import { scoreBytes, regionBitsPerByte } from '../lm/score.js';
import { writeFileAtomic } from '../engine/atomic-file.js';

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
    .addOption(threadsOption())
    .option('--json', 'print {prompt, text, bytes_base64} instead of streaming')
    .action((o: { model: string; prompt: string; maxBytes: number; temperature: number; topK: number; seed: number; threads?: number; json?: boolean }) => {
      checkSampling(o.temperature, o.topK);
      applyThreads(o.threads);
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
    .addOption(threadsOption())
    .option('--json', 'print the figures as JSON')
    .action((file: string, o: { model: string; region: number; stride?: number; html?: string; threads?: number; json?: boolean }) => {
      let data: Uint8Array;
      try {
        data = new Uint8Array(readFileSync(file));
      } catch (e) {
        throw new Error(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      applyThreads(o.threads);
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
