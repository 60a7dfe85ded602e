// `glassbox sae features RUN` and `glassbox sae steer RUN`: flags → library →
// text or JSON. No numerics live here. (`run sae-addition` is on the experiment shell.)

import { readFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { intArg, floatArg } from './args.js';
import type { SaeAdditionResult, DashboardsFile } from '../experiments/sae-addition-result.js';
import { loadAdditionModel } from '../experiments/addition-model.js';
import { Sae } from '../lens/sae/model.js';
import { hookActivations, checkHook } from '../lens/sae/buffer.js';
import { checkFeature, steeringHooks, greedyContinue } from '../lens/sae/features.js';
import { VOCAB, TOKEN_END, encode } from '../data/addition.js';
import { cropContext } from '../report/sae-report.js';
import { checkSaeModel } from '../experiments/sae-lm-eval.js';
import { steeredText } from '../experiments/sae-lm-steer.js';
import type { SaeLmResult } from '../experiments/sae-lm-result.js';
import { loadModel } from '../lm/model-file.js';
import { toBytes } from '../lm/generate.js';

// ---------------------------------------------------------------- sae features / steer

function readJson<T>(path: string, what: string): T {
  if (!existsSync(path)) throw new Error(`${path} not found: is this a sae-addition or sae-lm run directory? (${what})`);
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** The example around the token, the token in [brackets] (long text windows are cropped around it). */
function highlight(s: string, pos: number): string {
  const { text, at } = cropContext(s, pos);
  return [...text].map((ch, i) => (i === at ? `[${ch}]` : ch)).join('');
}

export function registerSaeCommands(program: Command): void {
  const sae = program.command('sae').description('inspect and steer with the SAEs of a sae-addition or sae-lm run');
  sae
    .command('features')
    .description('feature dashboards of the run\'s primary SAE (or --sae): top activating examples, histogram, promoted/suppressed tokens')
    .argument('<run>', 'a sae-addition or sae-lm run directory')
    .option('--feature <i>', 'one feature in full', intArg(0))
    .option('--sae <name>', 'a sae-lm run\'s SAE with dashboards (the primary one at each hook; default: the first hook\'s)')
    .option('--top <n>', 'examples (or features) to show', intArg(1, 10000), 20)
    .option('--json', 'print JSON')
    .action((runDir: string, f: { feature?: number; sae?: string; top: number; json?: boolean }) => {
      const dashPath = f.sae ? join(runDir, 'dashboards', `${f.sae}.json`) : join(runDir, 'dashboards.json');
      if (f.sae && !existsSync(dashPath)) {
        const have = existsSync(join(runDir, 'dashboards')) ? readdirSync(join(runDir, 'dashboards')).filter((x) => x.endsWith('.json')).map((x) => x.slice(0, -5)) : [];
        throw new Error(`no dashboards for an SAE named ${f.sae} in ${runDir} (have: ${have.join(', ') || 'none'})`);
      }
      const dash = readJson<DashboardsFile>(dashPath, 'dashboards');
      if (f.feature !== undefined) {
        if (f.feature >= dash.n) throw new Error(`feature index ${f.feature} is out of range: this SAE has features 0 to ${dash.n - 1}`);
        const d = dash.features[f.feature];
        const top = d.top.slice(0, f.top).map((t) => ({ ...t, context: dash.examples[t.seq], highlighted: highlight(dash.examples[t.seq], t.pos) }));
        if (f.json) {
          process.stdout.write(JSON.stringify({ ...d, top }, null, 2) + '\n');
          return;
        }
        const out = [`feature ${d.index} of ${dash.sae} at ${dash.hook}${d.label ? `: ${d.label.label} (F1 ${d.label.f1.toFixed(3)}, precision ${d.label.precision.toFixed(3)}, recall ${d.label.recall.toFixed(3)})` : ''}`, `density ${(d.density * 100).toFixed(3)}%, max activation ${d.max_act.toFixed(4)}`, 'top activations (token in [brackets]):'];
        for (const t of top) out.push(`  ${t.act.toFixed(4).padStart(9)}  ${t.highlighted}`);
        const maxC = Math.max(1, ...d.histogram.counts);
        out.push('activation histogram:');
        d.histogram.counts.forEach((c, b) => out.push(`  ${d.histogram.edges[b].toFixed(3).padStart(8)} ${'#'.repeat(Math.round((c / maxC) * 40))} ${c}`));
        out.push(`promotes:   ${d.promoted.map((p) => `${p.token} ${p.weight.toFixed(3)}`).join(', ')}`);
        out.push(`suppresses: ${d.suppressed.map((p) => `${p.token} ${p.weight.toFixed(3)}`).join(', ')}`);
        process.stdout.write(out.join('\n') + '\n');
        return;
      }
      const ranked = [...dash.features].filter((d) => d.density > 0).sort((a, b) => (b.label?.f1 ?? 0) - (a.label?.f1 ?? 0) || b.density - a.density).slice(0, f.top);
      if (f.json) {
        process.stdout.write(JSON.stringify(ranked.map((d) => ({ index: d.index, density: d.density, max_act: d.max_act, label: d.label, promoted: d.promoted.slice(0, 3) })), null, 2) + '\n');
        return;
      }
      const out = [`${dash.sae} at ${dash.hook}: ${dash.features.filter((d) => d.density > 0).length} of ${dash.n} features fire on the evaluation set; best-labelled first`];
      for (const d of ranked) out.push(`  ${String(d.index).padStart(5)}  density ${(d.density * 100).toFixed(2).padStart(6)}%  ${d.label ? `${d.label.label} (F1 ${d.label.f1.toFixed(2)})` : '-'}`);
      process.stdout.write(out.join('\n') + '\n');
    });

  sae
    .command('steer')
    .description('generate with scale · W_dec[feature] added at the SAE\'s hook, next to the unsteered output')
    .argument('<run>', 'a sae-addition or sae-lm run directory')
    .requiredOption('--feature <i>', 'feature index', intArg(0))
    .requiredOption('--scale <s>', 'multiple of the decoder direction to add', floatArg(-1e6, 1e6))
    .requiredOption('--prompt <text>', 'an addition prompt such as "12+34=", or text for a sae-lm run')
    .option('--sae <name>', 'which SAE of the run (default: the primary one)')
    .option('--model <file>', 'sae-lm runs: the LM to steer (default: the run\'s model; it must be the one the SAE was trained on)')
    .option('--tokens <n>', 'tokens (bytes) to generate at most', intArg(1, 4096))
    .option('--json', 'print JSON')
    .action((runDir: string, f: { feature: number; scale: number; prompt: string; sae?: string; model?: string; tokens?: number; json?: boolean }) => {
      const result = readJson<SaeAdditionResult | SaeLmResult>(join(runDir, 'result.json'), 'result.json');
      if (result.experiment === 'sae-lm') return steerLm(runDir, result, f);
      const name = f.sae ?? result.primary;
      const file = join(runDir, 'saes', `${name}.safetensors`);
      if (!existsSync(file)) throw new Error(`no SAE named ${name} in ${runDir} (have: ${result.saes.map((s) => s.name).join(', ')})`);
      const sae = Sae.fromSafetensors(readFileSync(file), file);
      checkFeature(sae, f.feature);
      const { model, task } = loadAdditionModel(result.model_checkpoint);
      const hook = sae.meta.hook ?? result.hook;
      checkHook(model, hook);
      const text = f.prompt.startsWith('s') ? f.prompt : `s${f.prompt}`;
      for (const ch of text) if (!VOCAB.includes(ch)) throw new Error(`prompt character "${ch}" is not in the addition vocabulary (${VOCAB.join('')})`);
      const prompt = encode(text);
      if (prompt.length >= task.T) throw new Error(`prompt is ${prompt.length} tokens; the model's context is ${task.T}`);
      const width = hookActivations(model, hook, { tokens: prompt, B: 1, T: prompt.length }).d;
      if (width !== sae.shape.d) throw new Error(`the SAE reads width ${sae.shape.d}, but hook "${hook}" has width ${width}`);
      const steps = Math.min(f.tokens ?? task.T + 1 - prompt.length, task.T + 1 - prompt.length);
      const plain = greedyContinue(model, prompt, steps, { stop: TOKEN_END });
      const steered = greedyContinue(model, prompt, steps, { stop: TOKEN_END, hooks: () => steeringHooks(model, sae, hook, f.feature, f.scale) });
      const show = (ids: number[]) => ids.map((i) => VOCAB[i]).join('');
      if (f.json) {
        process.stdout.write(JSON.stringify({ sae: name, hook, feature: f.feature, scale: f.scale, prompt: text, unsteered: show(plain), steered: show(steered) }, null, 2) + '\n');
        return;
      }
      process.stdout.write(`prompt     ${text}\nunsteered  ${text}${show(plain)}\nsteered    ${text}${show(steered)}   (feature ${f.feature} × ${f.scale} at ${hook})\n`);
    });
}

/** `sae steer` on a sae-lm run: greedy text from the run's LM (or --model, checked against the SAE's model SHA-256). */
function steerLm(runDir: string, result: SaeLmResult, f: { feature: number; scale: number; prompt: string; sae?: string; model?: string; tokens?: number; json?: boolean }): void {
  const name = f.sae ?? result.features[0]?.sae ?? result.saes[0].name;
  const file = join(runDir, 'saes', `${name}.safetensors`);
  if (!existsSync(file)) throw new Error(`no SAE named ${name} in ${runDir} (have: ${result.saes.map((s) => s.name).join(', ')})`);
  const sae = Sae.fromSafetensors(readFileSync(file), file);
  checkFeature(sae, f.feature);
  const lm = loadModel(f.model ?? result.model_path);
  checkSaeModel(sae, lm, `SAE ${name}`);
  const hook = sae.meta.hook;
  checkHook(lm.model, hook);
  const prompt = toBytes(f.prompt);
  const C = lm.model.config.contextLength;
  if (prompt.length === 0 || prompt.length >= C) throw new Error(`the prompt must be 1 to ${C - 1} bytes (the model's context is ${C}), got ${prompt.length}`);
  const width = hookActivations(lm.model, hook, { tokens: Int32Array.from(prompt), B: 1, T: prompt.length }).d;
  if (width !== sae.shape.d) throw new Error(`the SAE reads width ${sae.shape.d}, but hook "${hook}" has width ${width}`);
  const bytes = f.tokens ?? 48;
  const show = (b: Uint8Array) => Buffer.from(b).toString('latin1');
  const plain = show(steeredText(lm.model, sae, hook, f.feature, 0, prompt, bytes));
  const steered = show(steeredText(lm.model, sae, hook, f.feature, f.scale, prompt, bytes));
  if (f.json) {
    process.stdout.write(JSON.stringify({ sae: name, hook, feature: f.feature, scale: f.scale, prompt: f.prompt, unsteered: plain, steered }, null, 2) + '\n');
    return;
  }
  process.stdout.write(`prompt     ${f.prompt}\nunsteered  ${f.prompt}${plain}\nsteered    ${f.prompt}${steered}   (feature ${f.feature} × ${f.scale} at ${hook})\n`);
}
