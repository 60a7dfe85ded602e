// npm run figures [-- --list] [-- --only id,id] [-- --max-minutes N] [-- --table]
//
// Reruns the commands behind the figures the README quotes and records each
// result with the date, the machine and its load, in figures/measured.json
// (one entry per figure, replaced when rerun). A figure in the README should
// be one of these, or a benchmark's (npm run bench:*), so that anybody can
// check it on their own machine. Runs one command at a time: two CPU-heavy
// jobs side by side make both figures worthless. `--table` prints the
// README's provenance table (between its figures:begin/end markers) from
// figures/measured.json; test/figures.test.ts checks that the two agree.
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
    show: (v) => `${v.seconds.toFixed(0)} s; exact match ${(100 * v.exact_match).toFixed(2)}%; loss ${v.eval_loss.toFixed(4)} vs floor ${v.loss_floor.toFixed(4)}`,
    readme: 'the main job: "finishes in about three minutes on 2 cores", held-out exact match',
    minutes: 3,
    args: (tmp) => [cli, 'run', 'addition', '--quiet', '--json', '--out', tmp],
    keep: (r) => ({ seconds: r.seconds, steps: r.steps, exact_match: r.exact_match, carry_exact_match: r.carry_exact_match, eval_loss: r.eval_loss, loss_floor: r.loss_floor }),
  },
  {
    id: 'lm-corpus',
    show: (v) => `${v.train_bytes.toLocaleString('en')} B train, ${v.val_bytes.toLocaleString('en')} B validation; ${v.baselines.map((b) => `${b.name} ${b.bpb.toFixed(3)}`).join(', ')} bits per byte`,
    readme: 'the LM corpus: sizes and xz -9e / zstd -19 / brotli -11 bits per byte of its validation split',
    minutes: 1,
    args: (tmp) => [cli, 'corpus', 'build', '--out', join(tmp, 'corpus'), '--baselines', '--json'],
    keep: (r) => ({ train_bytes: r.train.bytes, val_bytes: r.val.bytes, composition: r.composition, baselines: r.baselines }),
  },
  {
    id: 'lm-score',
    show: (v) => `${v.bits_per_byte.toFixed(3)} bits per byte; ${(v.bytes_per_second / 1000).toFixed(1)} KB/s at stride ${v.stride}`,
    readme: 'the LM: validation bits per byte and scoring speed (default stride), 2 threads',
    minutes: 2,
    needsCorpus: true,
    args: () => [cli, 'score', join(root, 'lm-corpus', 'val.bin'), '--threads', '2', '--json'],
    keep: (r) => ({ bits_per_byte: r.bits_per_byte, bytes_per_second: r.bytes_per_second, stride: r.stride, model_sha256: r.model_sha256 }),
  },
  {
    id: 'lm-score-1thread',
    show: (v) => `${v.bits_per_byte.toFixed(3)} bits per byte; ${(v.bytes_per_second / 1000).toFixed(1)} KB/s`,
    readme: 'the LM: scoring speed at 1 thread',
    minutes: 3,
    needsCorpus: true,
    args: () => [cli, 'score', join(root, 'lm-corpus', 'val.bin'), '--threads', '1', '--json'],
    keep: (r) => ({ bits_per_byte: r.bits_per_byte, bytes_per_second: r.bytes_per_second }),
  },
  {
    id: 'lm-generate',
    show: (v) => `${v.bytes} bytes in ${v.seconds.toFixed(2)} s: ${v.bytes_per_second.toFixed(0)} bytes/s`,
    readme: 'the LM: generation speed (bytes a second, startup included)',
    minutes: 1,
    timed: true,
    args: () => [cli, 'generate', '--prompt', 'The king said', '--max-bytes', '4000', '--seed', '3', '--json'],
    keep: (r, seconds) => ({ bytes: Buffer.from(r.bytes_base64, 'base64').length, seconds, bytes_per_second: Buffer.from(r.bytes_base64, 'base64').length / seconds }),
  },
  {
    id: 'scan-snap',
    show: (v) => `Figure 6 sweep ${v.sweep_seconds.toFixed(0)} s; larger eta_Z lowers final entropy in ${v.lr_z_trend} series`,
    readme: 'scan-snap: the Figure 6 sweep time and trends',
    minutes: 3,
    args: (tmp) => [cli, 'run', 'scan-snap', '--threads', '2', '--json', '--out', tmp],
    keep: (r) => ({ sweep_seconds: r.sweep_seconds, lr_z_trend: `${r.trends.lrZHolds}/${r.trends.lrZTotal}`, paper_comparison: r.paper_comparison }),
  },
  {
    id: 'oversquash',
    show: (v) => `${v.seconds.toFixed(0)} s; precision mode bf16 ${v.cost.ratio.bf16.toFixed(2)}×, fp16 ${v.cost.ratio.fp16.toFixed(2)}× the fp32 forward; ${v.claims.filter((c) => c.holds).length} of ${v.claims.filter((c) => c.holds !== null).length} claims hold`,
    readme: 'oversquash default: run time, the precision mode\'s cost against the fp32 forward, collapse lengths and the claims\' verdicts',
    minutes: 20,
    args: (tmp) => [cli, 'run', 'oversquash', '--threads', '2', '--json', '--out', tmp],
    keep: (r) => ({ seconds: r.seconds, cost: r.cost, collapse: r.collapse, claims: r.claims.map((c) => ({ id: c.id, holds: c.holds, evidence: c.evidence })) }),
  },
  {
    id: 'jrt',
    show: (v) => `${v.seconds.toFixed(0)} s; JRT-Prompt ${v.jrt_average_gain >= 0 ? '+' : ''}${v.jrt_average_gain.toFixed(1)} points on average`,
    readme: 'just read twice: the default run time, MQAR accuracy per model, JRT-Prompt gains, set disjointness in both orders, generation',
    minutes: 10,
    args: (tmp) => [cli, 'run', 'jrt', '--quiet', '--json', '--out', tmp],
    keep: (r) => ({ seconds: r.seconds, recall: r.recall.models.map((m) => ({ id: m.id, state_bytes: m.stateBytes, acc: m.acc })), jrt_average_gain: r.jrtPrompt.averageGain, jrt_gain_where_short: r.jrtPrompt.averageGainWhereShort, order: r.order.rows, generation: r.generation?.points }),
  },
  {
    id: 'jrt-generation',
    show: (v) => `recurrent Based faster than the KV-cached GPT from ${v.overtake_time ?? 'never'} tokens`,
    readme: 'just read twice: ms per generated token, KV-cached GPT against recurrent Based, 256 to 8,192 tokens (npm run bench:jrt)',
    minutes: 1,
    args: () => [join(root, 'dist', 'bench', 'jrt.js'), '--json'],
    keep: (r) => ({ points: r.points, overtake_time: r.overtakeTime, overtake_memory: r.overtakeMemory }),
  },
  {
    id: 'compress-table',
    show: (v) => `${v.rows.length} rows (see the compressor table)`,
    readme: 'the compressor table (bits per byte and KiB/s of every level and the installed anchors)',
    minutes: 25,
    args: () => [join(root, 'dist', 'bench', 'compress.js'), '--json'],
    keep: (r) => ({ rows: r.rows, skipped: r.skipped }),
  },
  {
    id: 'crate-fashion',
    show: (v) => `${v.seconds.toFixed(0)} s; CRATE ${(100 * v.crate.test_acc).toFixed(1)}%, ViT ${(100 * v.vit.test_acc).toFixed(1)}%`,
    readme: 'crate-fashion default: time and accuracies',
    minutes: 6,
    args: (tmp) => [cli, 'run', 'crate-fashion', '--quiet', '--json', '--out', tmp],
    keep: (r) => r,
  },
  {
    id: 'addition-seed',
    readme: 'the seed preset (8-digit addition, 30,000 steps): wall time on 2 cores and the step at which held-out exact match first reached 99%',
    minutes: 25,
    args: (tmp) => [cli, 'run', 'addition', '--preset', 'seed', '--quiet', '--json', '--out', tmp],
    keep: (r) => ({ seconds: r.seconds, steps: r.steps, exact_match: r.exact_match, steps_to_99: r.steps_to_99 ?? null, seconds_to_99: r.seconds_to_99 ?? null }),
    show: (v) => `${v.seconds.toFixed(0)} s for ${v.steps.toLocaleString('en')} steps; exact match ${(100 * v.exact_match).toFixed(2)}%, 99% first at step ${v.steps_to_99?.toLocaleString('en') ?? 'never'}`,
  },
  {
    id: 'lm-shipped',
    show: (v) => `${v.seconds.toFixed(0)} s; ${v.val_bpb.toFixed(3)} bits per byte; SHA-256 ${v.model_sha256.slice(0, 8)}…${v.model_sha256.slice(-5)}`,
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
if (argv.includes('--table')) {
  // The README's provenance table: one row per recorded figure, in FIGURES order.
  const entries = existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : {};
  const rows = ['| figure | value | measured | machine | load before | command |', '|---|---|---|---|---|---|'];
  for (const f of FIGURES) {
    const e = entries[f.id];
    if (!e) continue;
    const m = e.machine;
    rows.push(`| ${f.id} | ${f.show(e.values)} | ${e.date.slice(0, 10)} | ${m.cpu}, ${m.cores} cores, ${m.memory_gib} GiB, Node ${m.node} ${m.arch} | ${e.load_average_before} | \`npm run figures -- --only ${f.id}\` |`);
  }
  console.log(rows.join('\n'));
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
