// npm run bench:jrt [-- --json] [--tokens N] [--d-model D] [--feature-dim F]
// Generation time and memory of Based's recurrent form (fixed state) against
// the GPT's KV cache (grows with the context) at 256 to 8,192 tokens of
// context: the measurement `glassbox run jrt` makes at its end, without the
// training, with more tokens per length. Untrained weights (a token's cost
// does not depend on them); medians of 5 runs; wall clock, so run it on an
// idle machine and compare the two columns, not absolutes.

import { measureGeneration } from '../src/experiments/jrt-speed.js';

const args = process.argv.slice(2);
const opt = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(args[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} needs a positive integer, got ${args[i + 1]}`);
  return v;
};

const r = measureGeneration({
  vocabSize: 128, dModel: opt('d-model', 64), nLayers: 2, nHeads: 2, featureDim: opt('feature-dim', 16),
  lengths: [256, 512, 1024, 2048, 4096, 8192], tokens: opt('tokens', 64), reps: 5, seed: 1,
});
if (args.includes('--json')) console.log(JSON.stringify(r, null, 2));
else {
  console.log(`d_model ${r.spec.dModel}, d′ ${r.spec.featureDim}, ${r.spec.nLayers} layers; ms per token (median of 5 runs of ${r.spec.tokens})`);
  console.log('context  KV-cached GPT  recurrent Based  KV cache bytes  state bytes');
  for (const p of r.points) console.log(`${String(p.length).padStart(7)}  ${p.attentionMs.toFixed(3).padStart(13)}  ${p.recurrentMs.toFixed(3).padStart(15)}  ${String(p.kvCacheBytes).padStart(14)}  ${String(p.stateBytes).padStart(11)}`);
  console.log(`the recurrent form is faster from ${r.overtakeTime ?? 'no measured length'} on; its state is smaller than the KV cache from ${r.overtakeMemory} tokens`);
}
