// npm run bench:engine [-- --json] [--steps N] [--case NAME]
// (a) matmul GFLOP/s at 1 and 2 threads; (b) training steps per second of the
// shapes glassbox trains, each beside a PyTorch twin: the reference tiny GPT,
// the shipped LM's training step, and CRATE's reference step. Every case runs
// glassbox at 1 and 2 threads and PyTorch at 1 and 2 threads, each in a fresh
// process with its peak resident memory, and the ratio is glassbox at its best
// against PyTorch at its best. N timed steps per measurement (default 8); the
// median is reported. Compare ratios measured in one run, not absolutes.

import { torchAtBest, NO_TORCH, type TorchFigures } from './pytorch.js';
import { inChild, runChildCase, type ChildFigures } from './child.js';
import { benchMatmul } from './matmul.js';
import { GPT, type GPTConfig } from '../src/nn/gpt.js';
import { Crate, type CrateConfig } from '../src/nn/crate.js';
import { AdamW } from '../src/engine/optim.js';
import { Rng } from '../src/engine/rng.js';
import { noGrad, type Tensor } from '../src/engine/tensor.js';
import { withStepArena } from '../src/engine/arena.js';
import { setThreads, shutdownThreads } from '../src/engine/matmul-kernel.js';

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median steps per second of `step` over `steps` timed calls, after two warm-up calls (JIT, worker pool). */
function timeSteps(step: () => void, steps: number): number {
  for (let i = 0; i < 2; i++) step();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t = performance.now();
    step();
    times.push(performance.now() - t);
  }
  return 1000 / median(times);
}

/** One AdamW training step of `lossOf`'s model: forward, backward, update; in the step arena unless `arena` is false. */
function trainingStep(params: Tensor[], lossOf: () => Tensor, arena: boolean): () => void {
  const opt = new AdamW(params, { lr: 1e-3 });
  const body = () => {
    lossOf().backward();
    noGrad(() => opt.step());
    opt.zeroGrad();
  };
  return arena ? () => withStepArena(body) : body;
}

interface GptShape { vocab: number; dModel: number; heads: number; layers: number; seq: number; batch: number }

/** The reference tiny GPT of the engine's speed target. */
export const TINY_GPT: GptShape = { vocab: 16, dModel: 128, heads: 4, layers: 2, seq: 32, batch: 64 };
/** The shipped language model's training step (models/glassbox-lm.md): bytes, context 128, batch 64, untied unembedding. */
export const LM_STEP: GptShape = { vocab: 256, dModel: 128, heads: 4, layers: 4, seq: 128, batch: 64 };
/** CRATE's reference classifier step on Fashion-MNIST's shape: width 96, 4 heads, 4 layers, patch 7, batch 256. */
export const CRATE_STEP = { dModel: 96, heads: 4, layers: 4, patch: 7, batch: 256 };

/** Steps per second of a GPT training step of `shape` at `threads`. */
export function benchGptStep(shape: GptShape, threads: number, steps = 8, arena = true): number {
  setThreads(threads);
  const cfg: GPTConfig = { vocabSize: shape.vocab, contextLength: shape.seq, nLayers: shape.layers, nHeads: shape.heads, dModel: shape.dModel, seed: 1 };
  const model = new GPT(cfg);
  const rng = new Rng(7);
  const n = shape.batch * shape.seq;
  const inputs = new Int32Array(n);
  const targets = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    inputs[i] = rng.int(shape.vocab);
    targets[i] = rng.int(shape.vocab);
  }
  return timeSteps(trainingStep(model.parameters(), () => model.loss(inputs, targets, shape.batch, shape.seq), arena), steps);
}

/** Steps per second of CRATE's reference training step at `threads`. */
export function benchCrateStep(threads: number, steps = 8): number {
  setThreads(threads);
  const cfg: CrateConfig = { channels: 1, height: 28, width: 28, patch: CRATE_STEP.patch, classes: 10, dModel: CRATE_STEP.dModel, nHeads: CRATE_STEP.heads, nLayers: CRATE_STEP.layers, seed: 1 };
  const model = new Crate(cfg);
  const B = CRATE_STEP.batch;
  const pixels = new Float32Array(B * 28 * 28);
  new Rng(7).fillNormal(pixels);
  const labels = Int32Array.from({ length: B }, (_, i) => i % 10);
  return timeSteps(trainingStep(model.parameters(), () => model.loss(pixels, labels, B), true), steps);
}

const CASES: Record<string, (threads: number, steps: number) => { steps_per_s: number }> = {
  'gpt-tiny': (t, s) => ({ steps_per_s: benchGptStep(TINY_GPT, t, s) }),
  'gpt-tiny-copying': (t, s) => ({ steps_per_s: benchGptStep(TINY_GPT, t, s, false) }),
  'lm-step': (t, s) => ({ steps_per_s: benchGptStep(LM_STEP, t, s) }),
  'crate-step': (t, s) => ({ steps_per_s: benchCrateStep(t, s) }),
};

// The twins. GPT: pre-LN blocks, fused QKV, exact GELU, learned positions, untied head, AdamW.
const PY_GPT = `
import sys, time, torch, torch.nn as nn, torch.nn.functional as F
torch.manual_seed(0)
V, D, H, L, T, B, steps = (int(a) for a in sys.argv[1:8])
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
for _ in range(2): step()
ts = []
for _ in range(steps):
    t = time.perf_counter(); step(); ts.append(time.perf_counter() - t)
ts.sort()
report(steps_per_s=1.0 / ts[len(ts) // 2])
`;

// CRATE (Yu et al. 2023): patches → LN → linear → LN, class token and positions;
// each layer z + MSSA(LN z) (one projection U_k per head as query, key and value),
// then ISTA(LN z) = ReLU(x + η Dᵀ(x − D x) − ηλ); LN on the class token, linear head.
const PY_CRATE = `
import sys, time, torch, torch.nn as nn, torch.nn.functional as F
torch.manual_seed(0)
D, H, L, P, B, steps = (int(a) for a in sys.argv[1:7])
dh, n, pd, eta, lam = D // H, (28 // P) ** 2, P * P, 0.1, 0.1
class MSSA(nn.Module):
    def __init__(s):
        super().__init__(); s.U = nn.Parameter(torch.empty(H, D, dh).uniform_(-D ** -0.5, D ** -0.5)); s.o = nn.Linear(D, D)
    def forward(s, x):
        b, t, d = x.shape
        w = (x.reshape(1, b * t, d) @ s.U).view(H, b, t, dh)
        att = ((w @ w.transpose(-1, -2)) / dh ** 0.5).softmax(-1)
        return s.o((att @ w).permute(1, 2, 0, 3).reshape(b, t, D))
class ISTA(nn.Module):
    def __init__(s):
        super().__init__(); s.D = nn.Parameter(torch.randn(D, D) * (2 / D) ** 0.5)
    def forward(s, x):
        return F.relu(x + eta * ((x - x @ s.D.t()) @ s.D) - eta * lam)
class Block(nn.Module):
    def __init__(s):
        super().__init__(); s.ln1 = nn.LayerNorm(D); s.attn = MSSA(); s.ln2 = nn.LayerNorm(D); s.ista = ISTA()
    def forward(s, z):
        z = z + s.attn(s.ln1(z))
        return s.ista(s.ln2(z))
class Crate(nn.Module):
    def __init__(s):
        super().__init__(); s.lnp = nn.LayerNorm(pd); s.proj = nn.Linear(pd, D); s.lne = nn.LayerNorm(D)
        s.cls = nn.Parameter(torch.randn(1, 1, D)); s.pos = nn.Parameter(torch.randn(1, n + 1, D))
        s.blocks = nn.ModuleList([Block() for _ in range(L)]); s.lnf = nn.LayerNorm(D); s.head = nn.Linear(D, 10)
    def forward(s, px):
        b = px.shape[0]
        patches = F.unfold(px, P, stride=P).transpose(1, 2)
        z = torch.cat([s.cls.expand(b, 1, D), s.lne(s.proj(s.lnp(patches)))], 1) + s.pos
        for blk in s.blocks: z = blk(z)
        return s.head(s.lnf(z[:, 0]))
m = Crate(); opt = torch.optim.AdamW(m.parameters(), lr=1e-3)
x = torch.randn(B, 1, 28, 28); y = torch.arange(B) % 10
def step():
    loss = F.cross_entropy(m(x), y); opt.zero_grad(); loss.backward(); opt.step()
for _ in range(2): step()
ts = []
for _ in range(steps):
    t = time.perf_counter(); step(); ts.append(time.perf_counter() - t)
ts.sort()
report(steps_per_s=1.0 / ts[len(ts) // 2])
`;

interface StepFigures { steps_per_s: number }
type Side = StepFigures & ChildFigures;

export interface CaseResult {
  name: string;
  what: string;
  glassbox: Side[];
  pytorch: Array<StepFigures & TorchFigures> | null;
  /** glassbox at its best thread count ÷ PyTorch at its best. */
  ratio_vs_pytorch_best: number | null;
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const si = process.argv.indexOf('--steps');
  const steps = si > 0 ? Number(process.argv[si + 1]) : 8;
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps must be a positive integer, got ${process.argv[si + 1]}`);
  const ci = process.argv.indexOf('--case');
  const only = ci > 0 ? process.argv[ci + 1] : null;
  const caseNames = ['gpt-tiny', 'lm-step', 'crate-step'];
  if (only !== null && !caseNames.includes(only)) throw new Error(`--case must be one of ${caseNames.join(', ')}, got ${only}`);
  const log = (s: string) => {
    if (!json) process.stdout.write(s + '\n');
  };
  let matmul: Awaited<ReturnType<typeof benchMatmul>> = [];
  if (only === null) {
    log('matmul (median GFLOP/s)...');
    matmul = await benchMatmul([1, 2]);
    for (const r of matmul) log(`  (${r.m}x${r.k})${r.transA ? 'ᵀ' : ''}@(${r.k}x${r.n})${r.transB ? 'ᵀ' : ''} threads=${r.threads}: ${r.gflops.toFixed(1)} GFLOP/s`);
    await shutdownThreads();
  }
  const specs = [
    { name: 'gpt-tiny', what: `tiny GPT training step (vocab ${TINY_GPT.vocab}, d${TINY_GPT.dModel}, ${TINY_GPT.heads} heads, ${TINY_GPT.layers} layers, seq ${TINY_GPT.seq}, batch ${TINY_GPT.batch}, AdamW)`, script: PY_GPT, args: [TINY_GPT.vocab, TINY_GPT.dModel, TINY_GPT.heads, TINY_GPT.layers, TINY_GPT.seq, TINY_GPT.batch, steps] },
    { name: 'lm-step', what: `the shipped LM's training step (bytes, d${LM_STEP.dModel}, ${LM_STEP.heads} heads, ${LM_STEP.layers} layers, context ${LM_STEP.seq}, batch ${LM_STEP.batch}, AdamW)`, script: PY_GPT, args: [LM_STEP.vocab, LM_STEP.dModel, LM_STEP.heads, LM_STEP.layers, LM_STEP.seq, LM_STEP.batch, steps] },
    { name: 'crate-step', what: `CRATE's reference step (width ${CRATE_STEP.dModel}, ${CRATE_STEP.heads} heads, ${CRATE_STEP.layers} layers, patch ${CRATE_STEP.patch}, batch ${CRATE_STEP.batch}, 28x28, AdamW)`, script: PY_CRATE, args: [CRATE_STEP.dModel, CRATE_STEP.heads, CRATE_STEP.layers, CRATE_STEP.patch, CRATE_STEP.batch, steps] },
  ].filter((c) => only === null || c.name === only);
  const cases: CaseResult[] = [];
  let noTorch = false;
  for (const c of specs) {
    log(`${c.what}...`);
    const glassbox = [1, 2].map((t) => inChild<StepFigures>(import.meta.url, c.name, t, steps));
    for (const g of glassbox) log(`  glassbox threads=${g.threads}: ${g.steps_per_s.toFixed(2)} steps/s, peak RSS ${g.max_rss_mb.toFixed(0)} MiB`);
    if (c.name === 'gpt-tiny') {
      const copying = inChild<StepFigures>(import.meta.url, 'gpt-tiny-copying', 2, steps);
      log(`  glassbox threads=2 without the step arena (kernels copy their operands): ${copying.steps_per_s.toFixed(2)} steps/s; arena/copying = ${(glassbox[1].steps_per_s / copying.steps_per_s).toFixed(2)}`);
    }
    const torch = torchAtBest<StepFigures>(`PyTorch ${c.name}`, c.script, c.args, (r) => r.steps_per_s);
    const gbBest = glassbox.reduce((a, b) => (b.steps_per_s > a.steps_per_s ? b : a));
    if (torch) {
      for (const r of torch.runs) log(`  PyTorch ${r.torch} + ${r.blas} threads=${r.threads}: ${r.steps_per_s.toFixed(2)} steps/s, peak RSS ${r.max_rss_mb.toFixed(0)} MiB`);
      log(`  glassbox at its best (${gbBest.threads} thread${gbBest.threads === 1 ? "" : "s"}) / PyTorch at its best (${torch.best.threads} thread${torch.best.threads === 1 ? '' : 's'}) = ${(gbBest.steps_per_s / torch.best.steps_per_s).toFixed(2)}`);
    } else noTorch = true;
    cases.push({ name: c.name, what: c.what, glassbox, pytorch: torch ? torch.runs : null, ratio_vs_pytorch_best: torch ? gbBest.steps_per_s / torch.best.steps_per_s : null });
  }
  if (noTorch) log(`  ${NO_TORCH}`);
  if (json) process.stdout.write(JSON.stringify({ steps, matmul, cases }, null, 2) + '\n');
}

if (!(await runChildCase(CASES)) && import.meta.url === `file://${process.argv[1]}`) await main();
