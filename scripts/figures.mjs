// npm run figures [-- --list] [-- --only id,id] [-- --max-minutes N]
//
// Reruns the commands behind the figures the README quotes and records each
// result with the date, the machine and its load, in figures/measured.json
// (one entry per figure, replaced when rerun). A figure in the README should
// be one of these, or a benchmark's (npm run bench:*), so that anybody can
// check it on their own machine. Runs one command at a time: two CPU-heavy
// jobs side by side make both figures worthless.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, totalmem, loadavg, tmpdir, platform, arch } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const out = join(root, 'figures', 'measured.json');

/**
 * Each figure: where the README quotes it, about how long it takes on 2
 * cores, the command (arguments to node), and what to keep of its JSON.
 * `tmp` is a fresh folder for run directories.
 */
const FIGURES = [
  {
    id: 'main-job',
    readme: 'the main job: "finishes in about three minutes on 2 cores", held-out exact match',
    minutes: 3,
    args: (tmp) => [cli, 'run', 'addition', '--quiet', '--json', '--out', tmp],
    keep: (r) => ({ seconds: r.seconds, steps: r.steps, exact_match: r.exact_match, carry_exact_match: r.carry_exact_match, eval_loss: r.eval_loss, loss_floor: r.loss_floor }),
  },
  {
    id: 'lm-corpus',
    readme: 'the LM corpus: sizes and xz -9e / zstd -19 / brotli -11 bits per byte of its validation split',
    minutes: 1,
    args: (tmp) => [cli, 'corpus', 'build', '--out', join(tmp, 'corpus'), '--baselines', '--json'],
    keep: (r) => ({ train_bytes: r.train.bytes, val_bytes: r.val.bytes, composition: r.composition, baselines: r.baselines }),
  },
  {
    id: 'lm-score',
    readme: 'the LM: validation bits per byte and scoring speed (default stride), 2 threads',
    minutes: 2,
    needsCorpus: true,
    args: () => [cli, 'score', join(root, 'lm-corpus', 'val.bin'), '--threads', '2', '--json'],
    keep: (r) => ({ bits_per_byte: r.bits_per_byte, bytes_per_second: r.bytes_per_second, stride: r.stride, model_sha256: r.model_sha256 }),
  },
  {
    id: 'lm-score-1thread',
    readme: 'the LM: scoring speed at 1 thread',
    minutes: 3,
    needsCorpus: true,
    args: () => [cli, 'score', join(root, 'lm-corpus', 'val.bin'), '--threads', '1', '--json'],
    keep: (r) => ({ bits_per_byte: r.bits_per_byte, bytes_per_second: r.bytes_per_second }),
  },
  {
    id: 'lm-generate',
    readme: 'the LM: generation speed (bytes a second, startup included)',
    minutes: 1,
    timed: true,
    args: () => [cli, 'generate', '--prompt', 'The king said', '--max-bytes', '4000', '--seed', '3', '--json'],
    keep: (r, seconds) => ({ bytes: Buffer.from(r.bytes_base64, 'base64').length, seconds, bytes_per_second: Buffer.from(r.bytes_base64, 'base64').length / seconds }),
  },
  {
    id: 'scan-snap',
    readme: 'scan-snap: the Figure 6 sweep time and trends',
    minutes: 3,
    args: (tmp) => [cli, 'run', 'scan-snap', '--threads', '2', '--json', '--out', tmp],
    keep: (r) => ({ sweep_seconds: r.sweep_seconds, lr_z_trend: `${r.trends.lrZHolds}/${r.trends.lrZTotal}`, paper_comparison: r.paper_comparison }),
  },
  {
    id: 'jrt',
    readme: 'just read twice: the default run time, MQAR accuracy per model, JRT-Prompt gains, set disjointness in both orders, generation',
    minutes: 10,
    args: (tmp) => [cli, 'run', 'jrt', '--quiet', '--json', '--out', tmp],
    keep: (r) => ({ seconds: r.seconds, recall: r.recall.models.map((m) => ({ id: m.id, state_bytes: m.stateBytes, acc: m.acc })), jrt_average_gain: r.jrtPrompt.averageGain, jrt_gain_where_short: r.jrtPrompt.averageGainWhereShort, order: r.order.rows, generation: r.generation?.points }),
  },
  {
    id: 'jrt-generation',
    readme: 'just read twice: ms per generated token, KV-cached GPT against recurrent Based, 256 to 8,192 tokens (npm run bench:jrt)',
    minutes: 1,
    args: () => [join(root, 'dist', 'bench', 'jrt.js'), '--json'],
    keep: (r) => ({ points: r.points, overtake_time: r.overtakeTime, overtake_memory: r.overtakeMemory }),
  },
  {
    id: 'compress-table',
    readme: 'the compressor table (bits per byte and KiB/s of every level and the installed anchors)',
    minutes: 25,
    args: () => [join(root, 'dist', 'bench', 'compress.js'), '--json'],
    keep: (r) => ({ rows: r.rows, skipped: r.skipped }),
  },
  {
    id: 'crate-fashion',
    readme: 'crate-fashion default: time and accuracies',
    minutes: 6,
    args: (tmp) => [cli, 'run', 'crate-fashion', '--quiet', '--json', '--out', tmp],
    keep: (r) => r,
  },
  {
    id: 'lm-shipped',
    readme: 'the shipped LM: the training time and that the command regenerates models/glassbox-lm.safetensors',
    minutes: 60,
    args: (tmp) => [cli, 'run', 'lm', '--preset', 'shipped', '--quiet', '--json', '--out', tmp],
    keep: (r) => ({ seconds: r.seconds, val_bpb: r.val_bpb, model_sha256: r.model_sha256 }),
  },
];

function machine() {
  const c = cpus();
  return { cpu: c[0]?.model ?? 'unknown', cores: c.length, memory_gib: Math.round(totalmem() / 2 ** 30), node: process.version, platform: platform(), arch: arch() };
}

function save(entries) {
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out + '.tmp', JSON.stringify(entries, null, 2) + '\n');
  renameSync(out + '.tmp', out);
}

const argv = process.argv.slice(2);
const opt = (name) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
if (argv.includes('--help') || argv.includes('-h')) {
  console.log('usage: npm run figures [-- --list] [-- --only id,id] [-- --max-minutes N]\nreruns the commands behind the README\'s figures, one at a time, into figures/measured.json');
  process.exit(0);
}
if (argv.includes('--list')) {
  for (const f of FIGURES) console.log(`${f.id.padEnd(18)} ~${String(f.minutes).padStart(3)} min  ${f.readme}`);
  process.exit(0);
}
const only = opt('--only')?.split(',');
const maxMinutes = Number(opt('--max-minutes') ?? Infinity);
if (only) for (const id of only) if (!FIGURES.some((f) => f.id === id)) { console.error(`figures: no figure ${id} (--list shows them)`); process.exit(2); }
if (!existsSync(cli)) { console.error('figures: dist/ is missing; run npm run build first'); process.exit(2); }
const chosen = FIGURES.filter((f) => (only ? only.includes(f.id) : f.minutes <= maxMinutes));
const entries = existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : {};
let failed = 0;
for (const f of chosen) {
  if (f.needsCorpus && !existsSync(join(root, 'lm-corpus', 'val.bin'))) spawnSync(process.execPath, [cli, 'corpus', 'build', '--out', join(root, 'lm-corpus')], { stdio: 'inherit' });
  const tmp = mkdtempSync(join(tmpdir(), `gb-figure-${f.id}-`));
  const load = loadavg()[0];
  process.stderr.write(`figures: ${f.id} (about ${f.minutes} min) ...\n`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, f.args(tmp), { cwd: root, encoding: 'utf8', maxBuffer: 1 << 28 });
  const seconds = (performance.now() - t0) / 1000;
  rmSync(tmp, { recursive: true, force: true });
  if (r.status !== 0) {
    failed++;
    process.stderr.write(`figures: ${f.id} failed (exit ${r.status}): ${(r.stderr || '').trim().split('\n').slice(-3).join(' | ')}\n`);
    continue;
  }
  let values;
  try {
    values = f.keep(JSON.parse(r.stdout), seconds);
  } catch (e) {
    failed++;
    process.stderr.write(`figures: ${f.id}: its output is not the JSON this script reads (${e.message})\n`);
    continue;
  }
  entries[f.id] = { readme: f.readme, date: new Date().toISOString(), machine: machine(), load_average_before: Number(load.toFixed(2)), wall_seconds: Number(seconds.toFixed(1)), values };
  save(entries);
  process.stderr.write(`figures: ${f.id} done in ${seconds.toFixed(0)} s\n`);
}
process.exit(failed ? 1 : 0);
