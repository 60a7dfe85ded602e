// npm run bench:sae [-- --json] [--steps N]
// TopK SAE training throughput in activations/s for d = 128, 16x expansion
// (2,048 latents), k = 32, batch 1,024: forward, backward, decoder-gradient
// projection, Adam step and renormalisation; AuxK on with a dead window no
// latent reaches in the run (so its cost is the dead-mask check). The same
// step in PyTorch runs in the same process tree when a Python with torch is
// found, with two decoders: SAELens-style (dense scatter of the top-k, then a
// dense [B, n] @ [n, d] matmul: B·n·d multiply-adds) and the sparse decode
// glassbox uses (gather the k active rows: B·k·d, 64x fewer here). The engine
// ratio is glassbox against the sparse twin (same algorithm); the algorithmic
// gain is dense against sparse, both in PyTorch. Medians; compare ratios, not absolutes.

import { setThreads, shutdownThreads } from '../src/engine/matmul-kernel.js';
import { trainSae, type ActivationStream } from '../src/lens/sae/train.js';
import { DEFAULT_TRAIN } from '../src/lens/sae/config.js';
import { Rng } from '../src/engine/rng.js';
import { runTorchJson } from './pytorch.js';

const D = 128, EXPANSION = 16, K = 32, BATCH = 1024;

/** Gaussian activations, pre-generated so the stream costs nothing inside the timed loop. */
class GaussianStream implements ActivationStream {
  readonly d = D;
  private readonly pool: Float32Array;
  private at = 0;
  constructor(rows: number) {
    this.pool = new Float32Array(rows * D);
    Rng.derive(1, 'bench/sae').fillNormal(this.pool);
  }
  next(m: number): Float32Array {
    const rows = this.pool.length / D;
    if (this.at + m > rows) this.at = 0;
    const out = this.pool.slice(this.at * D, (this.at + m) * D);
    this.at += m;
    return out;
  }
}

export function benchSae(threads: number, steps: number): number {
  setThreads(threads);
  const stream = new GaussianStream(BATCH * 8);
  const cfg = { ...DEFAULT_TRAIN, arch: 'topk' as const, expansion: EXPANSION, k: K, batch: BATCH, medianSample: BATCH, deadWindow: 1e12, seed: 1 };
  trainSae(stream, { ...cfg, tokens: BATCH * 2 }); // warm-up: JIT and wasm
  const times: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    let last = 0;
    let t = 0;
    trainSae(stream, { ...cfg, tokens: BATCH * steps }, {
      logEvery: 1,
      onStep: (r) => {
        const now = performance.now();
        if (r.step > 1) t += now - last; // the first step carries the geometric median
        last = now;
      },
    });
    times.push(t / 1000 / (steps - 1));
  }
  times.sort((a, b) => a - b);
  return BATCH / times[1];
}

const PY_SCRIPT = `
import sys, time, json, torch
torch.manual_seed(0)
steps, sparse = int(sys.argv[1]), sys.argv[2] == 'sparse'
d, n, k, B = ${D}, ${D * EXPANSION}, ${K}, ${BATCH}
W_dec = torch.randn(n, d); W_dec /= W_dec.norm(dim=1, keepdim=True)
W_dec = W_dec.requires_grad_()
W_enc = W_dec.detach().t().clone().requires_grad_()
b_enc = torch.zeros(n, requires_grad=True)
b_dec = torch.zeros(d, requires_grad=True)
opt = torch.optim.Adam([W_enc, b_enc, W_dec, b_dec], lr=1e-3)
xs = torch.randn(8, B, d)
def step(x):
    pre = (x - b_dec) @ W_enc + b_enc
    vals, idx = torch.topk(pre, k, dim=-1)
    if sparse:  # glassbox's algorithm: only the k active decoder rows
        xh = (torch.relu(vals).unsqueeze(-1) * W_dec[idx]).sum(1) + b_dec
    else:       # SAELens-style dense decode
        z = torch.zeros_like(pre).scatter(-1, idx, torch.relu(vals))
        xh = z @ W_dec + b_dec
    loss = (x - xh).pow(2).sum(-1).mean()
    opt.zero_grad(set_to_none=False)
    loss.backward()
    with torch.no_grad():
        W_dec.grad -= (W_dec.grad * W_dec).sum(1, keepdim=True) * W_dec
    opt.step()
    with torch.no_grad():
        W_dec.div_(W_dec.norm(dim=1, keepdim=True))
for i in range(3): step(xs[i % 8])
reps = []
for r in range(3):
    t = time.perf_counter()
    for i in range(steps): step(xs[i % 8])
    reps.append((time.perf_counter() - t) / steps)
reps.sort()
print(json.dumps({"acts_per_s": B / reps[1], "threads": torch.get_num_threads(), "torch": torch.__version__}))
`;

export function benchSaePytorch(threads: number, steps: number, decoder: 'dense' | 'sparse' = 'dense'): { acts_per_s: number; threads: number; torch: string; python: string } | null {
  return runTorchJson<{ acts_per_s: number; threads: number; torch: string }>('pytorch bench', PY_SCRIPT, [steps, decoder], threads);
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const si = process.argv.indexOf('--steps');
  const steps = si > 0 ? Math.max(2, Number(process.argv[si + 1])) : 10;
  const threads = 2;
  const log = (s: string) => {
    if (!json) process.stdout.write(s + '\n');
  };
  log(`TopK SAE training step: d ${D}, ${EXPANSION}x expansion (${D * EXPANSION} latents), k ${K}, batch ${BATCH}, Adam, decoder constraint`);
  const gb1 = benchSae(1, steps);
  const gb2 = benchSae(threads, steps);
  log(`  glassbox threads=1: ${Math.round(gb1)} activations/s`);
  log(`  glassbox threads=${threads}: ${Math.round(gb2)} activations/s`);
  const pt = benchSaePytorch(threads, steps, 'dense');
  const ps = pt ? benchSaePytorch(threads, steps, 'sparse') : null;
  if (pt) log(`  PyTorch ${pt.torch}, ${pt.threads} threads, dense decoder (SAELens-style): ${Math.round(pt.acts_per_s)} activations/s`);
  if (ps) log(`  PyTorch ${ps.torch}, ${ps.threads} threads, sparse decoder (glassbox's algorithm): ${Math.round(ps.acts_per_s)} activations/s`);
  if (pt && ps) {
    log(`    engine (same sparse algorithm): glassbox/PyTorch = ${(gb2 / ps.acts_per_s).toFixed(2)}`);
    log(`    algorithm (sparse vs dense decoder, both in PyTorch): ${(ps.acts_per_s / pt.acts_per_s).toFixed(2)}x; glassbox vs PyTorch dense (both differences at once) = ${(gb2 / pt.acts_per_s).toFixed(2)}`);
  }
  if (!pt) log('  PyTorch: no python with torch found (apt-get install python3-torch, or set GLASSBOX_PYTHON)');
  await shutdownThreads();
  if (json) {
    process.stdout.write(JSON.stringify({ d: D, expansion: EXPANSION, k: K, batch: BATCH, glassbox: { threads, acts_per_s: gb2, threads1_acts_per_s: gb1 }, pytorch: pt ? { acts_per_s: pt.acts_per_s, threads: pt.threads, torch: pt.torch } : null, pytorch_sparse: ps ? { acts_per_s: ps.acts_per_s, threads: ps.threads } : null, engine_ratio_same_algorithm: ps ? gb2 / ps.acts_per_s : null, algorithm_ratio_pytorch: pt && ps ? ps.acts_per_s / pt.acts_per_s : null, ratio_vs_pytorch_dense: pt ? gb2 / pt.acts_per_s : null }, null, 2) + '\n');
  }
}

await main();
