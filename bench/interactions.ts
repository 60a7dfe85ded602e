// npm run bench:interactions [-- --json] [--iterations N] [--threads N]
// The AND-OR interaction lens end to end on an addition GPT (random init,
// the interactions-addition default shape: 2 layers, d64, 4 heads): all 2^n
// masked forwards plus the p/q split (reference defaults, 10,000 SGD
// iterations), for n = 12 (k = 6) and n = 16 (k = 8) operand digits, output
// at the units digit (the longest forwards). Targets: n = 12 under 10 s
// (floor), n = 16 under 60 s (direction). CPU seconds are printed next to
// wall seconds: on a shared machine the wall time says more about the others. Reference in the same run: one
// split iteration (autograd, SGD) in PyTorch at n = 12 with the reference's
// dense 2^n × 2^n transform matrices and with glassbox's butterflies, so the
// algorithmic gain (dense / butterflies, one engine) and the engine ratio
// (PyTorch / glassbox, one algorithm) are reported apart; and one split
// iteration in the wasm kernel against the TypeScript reference (n = 12, 16).

import { GPT } from '../src/nn/gpt.js';
import { setThreads, shutdownThreads } from '../src/engine/matmul-kernel.js';
import { AdditionTask, encodeBatch, VOCAB } from '../src/data/addition.js';
import { computeInteractions, meanEmbedding, sparsifyAndOr, sparsifyAndOrJs } from '../src/lens/interactions/index.js';
import { operandVariables } from '../src/experiments/interactions-addition.js';
import { torchAtBest, NO_TORCH } from './pytorch.js';

// One split iteration in PyTorch two ways, so that the algorithm and the
// engine are measured apart: the reference's dense 2^n × 2^n transform
// matrices, and the same O(n·2^n) butterflies glassbox runs (checked equal to
// the dense products before timing).
const PY_SPLIT = `
import sys, time, torch
n, iters = int(sys.argv[1]), int(sys.argv[2])
torch.manual_seed(0)
A1 = torch.tensor([[1., 0.], [-1., 1.]])
A = torch.ones(1, 1)
for _ in range(n): A = torch.kron(A, A1)          # Möbius over subsets, bit i = factor i
R = torch.flip(torch.eye(2 ** n), [0])             # complement permutation
O = -(A @ R); O[0] = 0; O[0, 0] = 1                # OR transform as the reference builds it
def mob(x):                                        # the same Möbius transform by butterflies
    for i in range(n):
        x = x.reshape(2 ** (n - 1 - i), 2, 2 ** i)
        x = torch.stack([x[:, 0, :], x[:, 1, :] - x[:, 0, :]], 1).reshape(-1)
    return x
def or_t(u): return torch.cat([u[:1], -mob(torch.flip(u, [0]))[1:]])
dense = (lambda u: A @ u, lambda u: O @ u)
fly = (mob, or_t)
u = torch.randn(2 ** n)
for d, f in zip(dense, fly): assert (d(u) - f(u)).abs().max() <= 1e-4 * d(u).abs().max(), 'butterflies differ from the dense product'
def timed(tf):
    v = torch.randn(2 ** n); v[0] = 0
    p = torch.zeros_like(v, requires_grad=True); q = torch.zeros_like(v, requires_grad=True)
    opt = torch.optim.SGD([p, q], lr=1e-5, momentum=0.9)
    def it():
        ia = tf[0](0.5 * (v + q) + p); io = tf[1](0.5 * (v + q) - p)
        loss = ia.abs().sum() + io.abs().sum()
        opt.zero_grad(); loss.backward(); opt.step()
    it()
    t = time.perf_counter()
    for _ in range(iters): it()
    return (time.perf_counter() - t) * 1000 / iters
report(dense_ms=timed(dense), butterfly_ms=timed(fly))
`;

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

interface Row { cpu_s: number; n: number; digits: number; forwards: number; forwards_s: number; sparsify_s: number; total_s: number; iterations: number; ms_per_iteration: number; matching_error: number; target_s: number; met: boolean }

function benchOne(n: number, iterations: number, batchSize: number): Row {
  const k = n / 2;
  const model = new GPT({ vocabSize: VOCAB.length, contextLength: 3 * k + 4, nLayers: 2, nHeads: 4, dModel: 64, seed: 1 });
  model.eval();
  const task = new AdditionTask({ digits: k, heldOutSize: 10 });
  const b = encodeBatch([task.heldOut[0]!], k);
  const out = 3 * k + 2; // predicts the units digit: the longest prefix
  const vars = operandVariables(k);
  const t = performance.now();
  const cpu0 = process.cpuUsage();
  const base = meanEmbedding(model, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const r = computeInteractions(model, { tokens: b.inputs, variables: vars.positions, baseline: { kind: 'hook', hook: 'hook_embed', vector: base }, output: { position: out, target: b.targets[out]! }, batchSize }, { iterations });
  const total = (performance.now() - t) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const target = n === 12 ? 10 : 60;
  return { cpu_s: (cpu.user + cpu.system) / 1e6, n, digits: k, forwards: 2 ** n, forwards_s: r.seconds.forwards, sparsify_s: r.seconds.sparsify, total_s: total, iterations, ms_per_iteration: (r.seconds.sparsify * 1000) / iterations, matching_error: r.matchingError, target_s: target, met: total < target };
}

function ourMsPerIter(n: number, iters: number, split = sparsifyAndOr): number {
  const v = Float64Array.from({ length: 2 ** n }, (_, i) => ((i * 7919) % 1000) / 100 - 5);
  v[0] = 0;
  split(v, { iterations: 20 });
  const t = performance.now();
  split(v, { iterations: iters });
  return (performance.now() - t) / iters;
}

/** ms per split iteration, wasm kernel vs the TypeScript reference (same bits), best of 3 alternating runs. */
function wasmVsJs(n: number, iters: number): { n: number; wasm_ms: number; js_ms: number; speedup: number } {
  let wasm = Infinity;
  let js = Infinity;
  for (let rep = 0; rep < 3; rep++) {
    wasm = Math.min(wasm, ourMsPerIter(n, iters));
    js = Math.min(js, ourMsPerIter(n, iters, sparsifyAndOrJs));
  }
  return { n, wasm_ms: wasm, js_ms: js, speedup: js / wasm };
}

/** One split iteration in PyTorch at 1 and 2 threads; each algorithm's figure is its faster thread count's. */
function torchSplit(n: number, iters: number): { dense_ms: number; butterfly_ms: number; dense_threads: number; butterfly_threads: number } | null {
  const t = torchAtBest<{ dense_ms: number; butterfly_ms: number }>('PyTorch split iteration', PY_SPLIT, [n, iters], (r) => 1 / r.butterfly_ms);
  if (!t) return null;
  const dense = t.runs.reduce((a, b) => (b.dense_ms < a.dense_ms ? b : a));
  return { dense_ms: dense.dense_ms, dense_threads: dense.threads, butterfly_ms: t.best.butterfly_ms, butterfly_threads: t.best.threads };
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const iterations = arg('--iterations', 10_000);
  const threads = arg('--threads', 2);
  const batchSize = arg('--batch', 512);
  const only = arg('--n', 0);
  setThreads(threads);
  const log = (s: string) => { if (!json) process.stdout.write(s + '\n'); };
  log(`AND-OR interactions on a random-init addition GPT (2 layers, d64), ${threads} threads, ${iterations} split iterations`);
  const rows: Row[] = [];
  for (const n of only ? [only] : [12, 16]) {
    const r = benchOne(n, iterations, batchSize);
    rows.push(r);
    log(`  n=${n} (k=${r.digits}): ${r.forwards} forwards ${r.forwards_s.toFixed(2)} s + split ${r.sparsify_s.toFixed(2)} s (${r.ms_per_iteration.toFixed(3)} ms/iter) = ${r.total_s.toFixed(2)} s wall (${r.cpu_s.toFixed(1)} s CPU over all threads); target < ${r.target_s} s: ${r.met ? 'met' : 'NOT met'}; matching error ${r.matching_error.toExponential(1)}`);
  }
  const ours12 = ourMsPerIter(12, 200);
  const torch = torchSplit(12, 20);
  if (torch) {
    log(`  one split iteration at n=12, PyTorch at its best of 1 and 2 threads: the reference's dense 2^n x 2^n matrices ${torch.dense_ms.toFixed(2)} ms (${torch.dense_threads} threads), the same butterflies as glassbox ${torch.butterfly_ms.toFixed(3)} ms (${torch.butterfly_threads} threads)`);
    log(`    algorithm (dense vs butterflies, both in PyTorch): ${(torch.dense_ms / torch.butterfly_ms).toFixed(1)}x`);
    log(`    engine (the same butterflies, PyTorch vs glassbox ${ours12.toFixed(3)} ms): glassbox ${(torch.butterfly_ms / ours12).toFixed(2)}x as fast`);
  }
  else log(`  ${NO_TORCH}`);
  const kernel = [12, 16].map((n) => wasmVsJs(n, n === 16 ? 100 : 400));
  for (const k of kernel) log(`  one split iteration at n=${k.n}: wasm kernel ${k.wasm_ms.toFixed(3)} ms vs TypeScript reference ${k.js_ms.toFixed(3)} ms (same bits): ${k.speedup.toFixed(1)}x faster`);
  await shutdownThreads();
  const maxRss = process.resourceUsage().maxRSS / 1024;
  log(`  peak RSS of this process (all of the above): ${maxRss.toFixed(0)} MiB`);
  if (json) process.stdout.write(JSON.stringify({ threads, iterations, max_rss_mb: maxRss, rows, split_kernel: kernel, split_iteration_n12: { glassbox_ms: ours12, pytorch_dense_ms: torch?.dense_ms ?? null, pytorch_butterfly_ms: torch?.butterfly_ms ?? null, algorithm_ratio: torch ? torch.dense_ms / torch.butterfly_ms : null, engine_ratio: torch ? torch.butterfly_ms / ours12 : null } }, null, 2) + '\n');
}

await main();
