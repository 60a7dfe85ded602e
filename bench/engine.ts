// npm run bench:engine [-- --json] [--steps N]   (N timed steps per GPT-step measurement, default 8; the median is reported)
// (a) matmul GFLOP/s at 1 and 2 threads; (b) steps/s of one AdamW step of the
// reference tiny GPT; (c) the same step in PyTorch when a Python with torch is
// found, and the ratio. Figures are medians; compare ratios, not absolutes.

import { runTorchJson } from './pytorch.js';
import { benchMatmul } from './matmul.js';
import { GPT } from '../src/nn/gpt.js';
import { AdamW } from '../src/engine/optim.js';
import { Rng } from '../src/engine/rng.js';
import { noGrad } from '../src/engine/tensor.js';
import { withStepArena } from '../src/engine/arena.js';
import { setThreads, shutdownThreads } from '../src/engine/matmul-kernel.js';

const REF = { vocab: 16, dModel: 128, heads: 4, layers: 2, seq: 32, batch: 64 };

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * Steps per second of the reference GPT's training step (forward, backward,
 * AdamW). With `arena` (the trainer's path) the step's intermediates live in
 * the wasm memory; without, every kernel call copies its operands in and out.
 */
export function benchGptStep(threads: number, steps = 8, arena = true): number {
  setThreads(threads);
  const model = new GPT({ vocabSize: REF.vocab, contextLength: REF.seq, nLayers: REF.layers, nHeads: REF.heads, dModel: REF.dModel, seed: 1 });
  const opt = new AdamW(model.parameters(), { lr: 1e-3 });
  const rng = new Rng(7);
  const n = REF.batch * REF.seq;
  const inputs = new Int32Array(n);
  const targets = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    inputs[i] = rng.int(REF.vocab);
    targets[i] = rng.int(REF.vocab);
  }
  const body = () => {
    const loss = model.loss(inputs, targets, REF.batch, REF.seq);
    loss.backward();
    noGrad(() => opt.step());
    opt.zeroGrad();
  };
  const step = arena ? () => withStepArena(body) : body;
  for (let i = 0; i < 2; i++) step(); // warm up the JIT and the worker pool
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t = performance.now();
    step();
    times.push(performance.now() - t);
  }
  return 1000 / median(times);
}

const PY_SCRIPT = `
import time, torch, torch.nn as nn, torch.nn.functional as F, json, sys
torch.manual_seed(0)
V, D, H, L, T, B = 16, 128, 4, 2, 32, 64
class Block(nn.Module):
    def __init__(s):
        super().__init__(); s.ln1 = nn.LayerNorm(D); s.qkv = nn.Linear(D, 3 * D); s.o = nn.Linear(D, D)
        s.ln2 = nn.LayerNorm(D); s.fc = nn.Linear(D, 4 * D); s.proj = nn.Linear(4 * D, D)
    def forward(s, x):
        b, t, d = x.shape
        q, k, v = s.qkv(s.ln1(x)).split(D, dim=2)
        q, k, v = [z.view(b, t, H, D // H).transpose(1, 2) for z in (q, k, v)]
        att = (q @ k.transpose(-2, -1)) / (D // H) ** 0.5
        att = att.masked_fill(torch.triu(torch.ones(t, t, dtype=torch.bool), 1), float('-inf')).softmax(-1)
        x = x + s.o((att @ v).transpose(1, 2).reshape(b, t, d))
        return x + s.proj(F.gelu(s.fc(s.ln2(x))))
class GPT(nn.Module):
    def __init__(s):
        super().__init__(); s.te = nn.Embedding(V, D); s.pe = nn.Embedding(T, D)
        s.blocks = nn.ModuleList([Block() for _ in range(L)]); s.lnf = nn.LayerNorm(D); s.head = nn.Linear(D, V)
    def forward(s, idx):
        x = s.te(idx) + s.pe(torch.arange(idx.shape[1]))
        for blk in s.blocks: x = blk(x)
        return s.head(s.lnf(x))
m = GPT(); opt = torch.optim.AdamW(m.parameters(), lr=1e-3)
x = torch.randint(0, V, (B, T)); y = torch.randint(0, V, (B, T))
def step():
    loss = F.cross_entropy(m(x).view(-1, V), y.view(-1)); opt.zero_grad(); loss.backward(); opt.step()
for _ in range(3): step()
ts = []
for _ in range(int(sys.argv[1])):
    t = time.perf_counter(); step(); ts.append(time.perf_counter() - t)
ts.sort()
# Which BLAS library the process actually loaded (Debian's torch links the generic libblas,
# which the alternatives system points at OpenBLAS when libopenblas0-pthread is installed).
maps = open('/proc/self/maps').read().lower() if sys.platform.startswith('linux') else ''
blas = 'OpenBLAS' if 'openblas' in maps else ('MKL' if 'libmkl' in maps else ('reference BLAS' if 'libblas' in maps else 'unknown'))
print(json.dumps({"steps_per_s": 1.0 / ts[len(ts) // 2], "threads": torch.get_num_threads(), "blas": blas, "torch": torch.__version__}))
`;

export function benchPytorch(threads: number, steps = 8): { steps_per_s: number; blas: string; threads: number; python: string } | null {
  return runTorchJson<{ steps_per_s: number; blas: string; threads: number }>('pytorch bench', PY_SCRIPT, [steps], threads);
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const si = process.argv.indexOf('--steps');
  const steps = si > 0 ? Number(process.argv[si + 1]) : 8; // timed steps per measurement (median)
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps must be a positive integer, got ${process.argv[si + 1]}`);
  const log = (s: string) => {
    if (!json) process.stdout.write(s + '\n');
  };
  log('matmul (median GFLOP/s)...');
  const matmul = await benchMatmul([1, 2]);
  for (const r of matmul) log(`  (${r.m}x${r.k})${r.transA ? 'ᵀ' : ''}@(${r.k}x${r.n})${r.transB ? 'ᵀ' : ''} threads=${r.threads}: ${r.gflops.toFixed(1)} GFLOP/s`);
  log('tiny GPT training step (vocab 16, d128, 4 heads, 2 layers, seq 32, batch 64, AdamW)...');
  const gpt1 = benchGptStep(1, steps);
  const gpt2 = benchGptStep(2, steps);
  const copying2 = benchGptStep(2, steps, false);
  log(`  glassbox threads=1: ${gpt1.toFixed(2)} steps/s`);
  log(`  glassbox threads=2: ${gpt2.toFixed(2)} steps/s`);
  log(`  glassbox threads=2 without the step arena (kernels copy their operands): ${copying2.toFixed(2)} steps/s; arena/copying = ${(gpt2 / copying2).toFixed(2)}`);
  const pytorch = benchPytorch(2, steps);
  if (pytorch) log(`  PyTorch ${pytorch.blas}, ${pytorch.threads} threads: ${pytorch.steps_per_s.toFixed(2)} steps/s; glassbox/PyTorch = ${(gpt2 / pytorch.steps_per_s).toFixed(2)}`);
  else log('  PyTorch: no python with torch found (apt-get install python3-torch libopenblas0-pthread, or set GLASSBOX_PYTHON)');
  await shutdownThreads();
  if (json) {
    const out = {
      matmul,
      gpt_step: { threads: 2, steps_per_s: gpt2, threads1_steps_per_s: gpt1, no_arena_steps_per_s: copying2 },
      pytorch: pytorch ? { steps_per_s: pytorch.steps_per_s, blas: pytorch.blas, threads: pytorch.threads } : null,
      ratio_vs_pytorch: pytorch ? gpt2 / pytorch.steps_per_s : null,
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
