// npm run bench:sae [-- --json] [--steps N]
// TopK SAE training throughput in activations/s for d = 128, 16x expansion
// (2,048 latents), k = 32, batch 1,024: forward, backward, decoder-gradient
// projection, Adam step and renormalisation; AuxK on with a dead window no
// latent reaches in the run (so its cost is the dead-mask check). The same
// step in PyTorch runs in the same process tree when a Python with torch is
// found, at 1 and 2 threads (the faster counts), with two decoders: SAELens-style (dense scatter of the top-k, then a
// dense [B, n] @ [n, d] matmul: B·n·d multiply-adds) and the sparse decode
// glassbox uses (gather the k active rows: B·k·d, 64x fewer here). The engine
// ratio is glassbox against the sparse twin (same algorithm); the algorithmic
// gain is dense against sparse, both in PyTorch. Medians; compare ratios, not absolutes.

import { setThreads } from '../src/engine/matmul-kernel.js';
import { trainSae, type ActivationStream } from '../src/lens/sae/train.js';
import { DEFAULT_TRAIN } from '../src/lens/sae/config.js';
import { Rng } from '../src/engine/rng.js';
import { torchAtBest, NO_TORCH, type TorchAtBest } from './pytorch.js';
import { inChild, runChildCase } from './child.js';

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
import sys, time, torch
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
report(acts_per_s=B / reps[1])
`;

/** The PyTorch twin at 1 and 2 threads, with `decoder` (dense: SAELens-style; sparse: glassbox's algorithm). */
export function benchSaePytorch(steps: number, decoder: 'dense' | 'sparse'): TorchAtBest<{ acts_per_s: number }> | null {
  return torchAtBest<{ acts_per_s: number }>(`PyTorch SAE step (${decoder} decoder)`, PY_SCRIPT, [steps, decoder], (r) => r.acts_per_s);
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const si = process.argv.indexOf('--steps');
  const steps = si > 0 ? Math.max(2, Number(process.argv[si + 1])) : 10;
  const log = (s: string) => {
    if (!json) process.stdout.write(s + '\n');
  };
  log(`TopK SAE training step: d ${D}, ${EXPANSION}x expansion (${D * EXPANSION} latents), k ${K}, batch ${BATCH}, Adam, decoder constraint`);
  const glassbox = [1, 2].map((t) => inChild<{ acts_per_s: number }>(import.meta.url, 'sae', t, steps));
  for (const g of glassbox) log(`  glassbox threads=${g.threads}: ${Math.round(g.acts_per_s)} activations/s, peak RSS ${g.max_rss_mb.toFixed(0)} MiB`);
  const gb = glassbox.reduce((a, b) => (b.acts_per_s > a.acts_per_s ? b : a));
  const dense = benchSaePytorch(steps, 'dense');
  const sparse = dense ? benchSaePytorch(steps, 'sparse') : null;
  for (const [name, t] of [['dense decoder (SAELens-style)', dense], ["sparse decoder (glassbox's algorithm)", sparse]] as const) {
    if (t) for (const r of t.runs) log(`  PyTorch ${r.torch} + ${r.blas}, ${name}, threads=${r.threads}: ${Math.round(r.acts_per_s)} activations/s, peak RSS ${r.max_rss_mb.toFixed(0)} MiB`);
  }
  if (dense && sparse) {
    log(`    engine (same sparse algorithm, each at its best thread count): glassbox (${gb.threads}) / PyTorch (${sparse.best.threads}) = ${(gb.acts_per_s / sparse.best.acts_per_s).toFixed(2)}`);
    log(`    algorithm (sparse vs dense decoder, both in PyTorch at their best): ${(sparse.best.acts_per_s / dense.best.acts_per_s).toFixed(2)}x; glassbox vs PyTorch dense (both differences at once) = ${(gb.acts_per_s / dense.best.acts_per_s).toFixed(2)}`);
  }
  if (!dense) log(`  ${NO_TORCH}`);
  if (json) {
    process.stdout.write(JSON.stringify({
      d: D, expansion: EXPANSION, k: K, batch: BATCH, glassbox,
      pytorch_dense: dense?.runs ?? null, pytorch_sparse: sparse?.runs ?? null,
      engine_ratio_same_algorithm: sparse ? gb.acts_per_s / sparse.best.acts_per_s : null,
      algorithm_ratio_pytorch: dense && sparse ? sparse.best.acts_per_s / dense.best.acts_per_s : null,
      ratio_vs_pytorch_dense: dense ? gb.acts_per_s / dense.best.acts_per_s : null,
    }, null, 2) + '\n');
  }
}

if (!(await runChildCase({ sae: (threads, steps) => ({ acts_per_s: benchSae(threads, steps) }) }))) await main();
