// report.html of `glassbox run sae-lm`: the L0/FVU and L0/CE-score trade-off
// per hook, dead latents over training with and without AuxK, the automatic
// descriptions against an untrained baseline (best and worst), steering, and
// feature dashboards of the primary SAE.

import { page, section, figure, prose, table, factsTable, card, chartSvg, raw, escapeHtml, formatNumber, formatPercent, formatSeconds, type ChartOption } from './html.js';
import type { SaeLmResult, SaeLmSummary } from '../experiments/sae-lm-result.js';
import type { DashboardsFile } from '../experiments/sae-addition-result.js';
import { dashboard } from './sae-report.js';

const WIDE = 1000;

export function renderSaeLmReport(r: SaeLmResult, dash: DashboardsFile, opts: { dashboards?: number } = {}): string {
  const title = 'Sparse autoencoders on the language model';
  const f0 = r.features[0];
  const cards = [
    card('SAEs trained', r.saes.length),
    card('hooks', r.hooks.length),
    ...r.targets.map((t) => card(`best FVU, L0 ≤ 32 (${t.hook.replace('blocks.', 'b').replace('.hook_', ' ')})`, t.fvu === null ? '–' : formatNumber(t.fvu, 3), t.ce_score === null ? undefined : `CE score ${formatNumber(t.ce_score, 3)}`, t.fvu_met && t.ce_met ? 'good' : 'bad')),
    card('described, F1 ≥ 0.7', `${f0.interpretable['f1_0.70']} / ${f0.live}`, `untrained: ${f0.random.interpretable['f1_0.70']} / ${f0.random.live}`),
    card('SAE activations/s', formatNumber(r.throughput.sae_activations_per_s, 4)),
  ].join('');
  const body = [
    `<header><h1>${escapeHtml(title)}</h1><p class="lede">SAEs trained on activations streamed from the training split at ${r.hooks.map((h) => `<code>${escapeHtml(h)}</code>`).join(', ')} of a ${r.model.layers}-layer, d${r.model.d_model} byte-level GPT, scored on ${r.eval_tokens} validation tokens.</p></header>`,
    `<div class="cards">${cards}</div>`,
    section('tradeoff', 'The trade-off: sparsity against reconstruction and loss', tradeoffSection(r)),
    section('dead', 'Dead latents over training, with and without AuxK', deadSection(r)),
    section('descriptions', 'Automatic descriptions', descriptionsSection(r)),
    section('steering', 'Steering', steeringSection(r)),
    section('dashboards', `Feature dashboards (${escapeHtml(dash.sae)})`, dashboardsSection(dash, opts.dashboards ?? 24)),
    section('setup', 'Setup', factsTable([
      ['model', `${r.model_path} (sha256 ${r.model_sha256.slice(0, 16)}…, ${r.model.params} parameters${r.model.val_bpb !== null ? `, ${formatNumber(r.model.val_bpb, 4)} bits/byte on validation` : ''})`],
      ...r.hooks.map((h): [string, string] => [`CE clean / zero-ablated at ${h}`, `${formatNumber(r.ce[h].clean, 4)} / ${formatNumber(r.ce[h].zero_ablation, 4)} nats per byte`]),
      ['throughput', `LM forward ${formatNumber(r.throughput.lm_tokens_per_s, 4)} tokens/s (${r.throughput.lm_tokens} tokens, all hooks at once); SAE training ${formatNumber(r.throughput.sae_activations_per_s, 4)} activations/s summed over SAEs; PyTorch: ${r.throughput.pytorch}`],
      ['config', raw(`<code>${escapeHtml(JSON.stringify(r.config))}</code>`)],
      ['wall time', formatSeconds(r.seconds)],
    ])),
    `<footer>glassbox ${escapeHtml(r.glassbox_version)}</footer>`,
  ].join('\n');
  return page({ title, body, css: CSS });
}

function groupName(s: SaeLmSummary): string {
  const a = s.arch === 'topk' ? (s.auxk ? 'TopK' : 'TopK, no AuxK') : s.arch === 'batchtopk' ? 'BatchTopK' : 'ReLU + L1';
  return `${a} n${s.n}`;
}

function tradeoffSection(r: SaeLmResult): string {
  const parts = [prose('Each point is one SAE. FVU is the unexplained fraction of the variance about the mean; the CE loss score is (CE_zero − CE_spliced)/(CE_zero − CE_clean) with the reconstruction spliced in at the hook by a hook replacement on every position, 1 meaning the model loses nothing. The targets: FVU ≤ 0.2 at L0 ≤ 32 and CE score ≥ 0.9.')];
  for (const hook of r.hooks) {
    const list = r.saes.filter((s) => s.hook === hook);
    const groups = new Map<string, SaeLmSummary[]>();
    for (const s of list) groups.set(groupName(s), [...(groups.get(groupName(s)) ?? []), s]);
    const scatter = (y: (s: SaeLmSummary) => number, yName: string, logY: boolean): ChartOption => ({
      legend: { top: 0 },
      grid: { left: 60, right: 20, top: 36, bottom: 44 },
      xAxis: { type: 'log', name: 'L0', nameLocation: 'middle', nameGap: 28 },
      yAxis: { type: logY ? 'log' : 'value', name: yName },
      series: [...groups].map(([name, g]) => ({ type: 'line', name, symbolSize: 9, data: [...g].sort((a, b) => a.l0 - b.l0).map((s) => [Math.max(s.l0, 1e-3), y(s)]) })),
    });
    parts.push(`<h3><code>${escapeHtml(hook)}</code></h3>`);
    parts.push(`<div class="two-col">${figure(chartSvg(scatter((s) => Math.max(s.fvu, 1e-6), 'FVU', true), { width: 490, height: 300, label: `FVU against L0 at ${hook}` }), 'FVU against L0 (log–log).')}${figure(chartSvg(scatter((s) => s.ce_score, 'CE score', false), { width: 490, height: 300, label: `CE score against L0 at ${hook}` }), 'CE loss score against L0.')}</div>`);
  }
  const rows = r.saes.map((s) => [s.name, s.arch, s.k_or_l1, s.auxk ? 'yes' : 'no', s.n, formatNumber(s.l0, 3), formatNumber(s.fvu, 4), formatNumber(s.cosine, 4), formatNumber(s.ce_score, 4), formatNumber(s.kl_score, 4), formatPercent(s.dead_fraction, 1), formatNumber(s.activations_per_s, 4)]);
  parts.push(table(['SAE', 'arch', 'k or L1', 'AuxK', 'latents', 'L0', 'FVU', 'cos', 'CE score', 'KL score', 'dead (eval)', 'activations/s'], rows, { numeric: [2, 4, 5, 6, 7, 8, 9, 10, 11] }));
  parts.push(table(['hook', 'best TopK with L0 ≤ 32', 'L0', 'FVU', 'FVU ≤ 0.2', 'CE score', 'CE score ≥ 0.9'], r.targets.map((t) => [t.hook, t.sae ?? '–', t.l0 === null ? '–' : formatNumber(t.l0, 3), t.fvu === null ? '–' : formatNumber(t.fvu, 4), t.fvu_met ? 'met' : 'missed', t.ce_score === null ? '–' : formatNumber(t.ce_score, 4), t.ce_met ? 'met' : 'missed'])));
  return parts.join('\n');
}

function deadSection(r: SaeLmResult): string {
  const parts = [prose(`A latent counts as dead here when it fires on none of a fixed window of ${r.probe_tokens} validation tokens (the first ones of the evaluation set), measured during training; the training tracker AuxK uses (no fire in the last deadWindow training tokens) is in the table. OpenAI (Gao et al. 2024) report that without AuxK and tied initialisation up to 90% of latents die at 16M latents, and 7% with them.`)];
  if (r.auxk_comparison.length > 0) {
    parts.push(table(['hook', 'k', 'latents', 'dead with AuxK (probe)', 'without AuxK (probe)', 'with (tracker)', 'without (tracker)', 'FVU with', 'FVU without'], r.auxk_comparison.map((c) => [
      c.hook, c.k, c.n, formatPercent(c.with_auxk.dead_probe_final, 2), formatPercent(c.without_auxk.dead_probe_final, 2), formatPercent(c.with_auxk.dead_fraction_train, 2), formatPercent(c.without_auxk.dead_fraction_train, 2), formatNumber(c.with_auxk.fvu, 4), formatNumber(c.without_auxk.fvu, 4),
    ]), { numeric: [1, 2, 3, 4, 5, 6, 7, 8] }));
    const names = new Set(r.auxk_comparison.flatMap((c) => [`${c.n}`]));
    const shown = r.saes.filter((s) => s.hook === r.auxk_comparison[0].hook && s.arch === 'topk' && s.k_or_l1 === r.auxk_comparison[0].k && names.has(`${s.n}`));
    const option: ChartOption = {
      legend: { top: 0 },
      grid: { left: 60, right: 20, top: 36, bottom: 44 },
      xAxis: { type: 'value', name: 'training activations', nameLocation: 'middle', nameGap: 28 },
      yAxis: { type: 'value', name: 'dead fraction', min: 0 },
      series: shown.map((s) => ({ type: 'line', name: `n${s.n} ${s.auxk ? 'AuxK' : 'no AuxK'}`, symbolSize: 6, data: s.dead_over_training.map((p) => [p.tokens, p.dead_probe]) })),
    };
    parts.push(figure(chartSvg(option, { width: WIDE, height: 320, label: 'dead fraction over training' }), `Dead fraction on the ${r.probe_tokens}-token probe window over training, with and without AuxK, at each width.`));
  }
  return parts.join('\n');
}

function descriptionsSection(r: SaeLmResult): string {
  const parts = [prose('Each live latent (firing on at least 10 evaluation tokens) is described by the simple property of its token that best predicts its firing: the byte, the byte n-gram ending there, the byte before, or a character class (digit, space, newline, uppercase, lowercase, punctuation, inside a word, first letter of a word, start of a line, after a space / punctuation / digit). The score is F1 of (latent fires) against (property holds) over the evaluation tokens. The baseline is an untrained SAE of the same shape and k: random unit directions, b_pre at the geometric median.')];
  parts.push(table(['hook', 'SAE', 'live', 'F1 ≥ 0.5', 'F1 ≥ 0.7', 'F1 ≥ 0.9', 'untrained: live', 'F1 ≥ 0.5', 'F1 ≥ 0.7', 'F1 ≥ 0.9', 'untrained FVU'], r.features.map((f) => [
    f.hook, f.sae, f.live, f.interpretable['f1_0.50'], f.interpretable['f1_0.70'], f.interpretable['f1_0.90'], f.random.live, f.random.interpretable['f1_0.50'], f.random.interpretable['f1_0.70'], f.random.interpretable['f1_0.90'], formatNumber(f.random.fvu, 3),
  ]), { numeric: [2, 3, 4, 5, 6, 7, 8, 9, 10] }));
  for (const f of r.features) {
    const row = (d: (typeof f.best)[number]) => [d.feature, d.label, formatNumber(d.f1, 3), formatNumber(d.precision, 3), formatNumber(d.recall, 3), formatPercent(d.density, 2)];
    parts.push(`<h3>${escapeHtml(f.sae)}</h3>`);
    parts.push(`<div class="two-col"><div>${table(['best', 'description', 'F1', 'precision', 'recall', 'density'], f.best.map(row), { numeric: [0, 2, 3, 4, 5] })}</div><div>${table(['worst', 'description', 'F1', 'precision', 'recall', 'density'], f.worst.map(row), { numeric: [0, 2, 3, 4, 5] })}</div></div>`);
  }
  return parts.join('\n');
}

function steeringSection(r: SaeLmResult): string {
  if (r.steering.length === 0) return prose('No features were steered.');
  const parts = [prose(`Greedy continuations with scale · W_dec[i] added at ${escapeHtml(r.hooks[0])} on every position, the scale a multiple of the feature's largest activation on the evaluation tokens. "Description" is the fraction of generated bytes at which the description's property holds; "promoted" the fraction that are among the feature's top 5 bytes through the unembedding. A feature "follows" when the largest multiple raises that fraction by 0.2 or more over the unsteered text.`)];
  const follows = r.steering.filter((s) => s.description_follows).length, prom = r.steering.filter((s) => s.promoted_follows).length;
  parts.push(prose(`${follows} of ${r.steering.length} (feature, prompt) pairs follow their description; ${prom} of ${r.steering.length} write their promoted bytes more.`));
  for (const s of r.steering) {
    const rows = s.runs.map((x) => [formatNumber(x.multiple, 3), raw(`<span class="mono">${escapeHtml(s.prompt)}<b>${escapeHtml(x.text.replace(/\n/g, '⏎'))}</b></span>`), formatNumber(x.description_rate, 3), formatNumber(x.promoted_rate, 3)]);
    parts.push(`<h3>feature ${s.feature}: ${escapeHtml(s.description)} (F1 ${formatNumber(s.f1, 2)})${s.description_follows ? ' — follows its description' : ''}${s.promoted_follows ? ' — writes its promoted bytes' : ''}</h3>`);
    parts.push(table(['× max act', 'text', 'description', 'promoted'], rows, { numeric: [0, 2, 3] }));
  }
  return parts.join('\n');
}

function dashboardsSection(dash: DashboardsFile, count: number): string {
  const live = dash.features.filter((f) => f.label);
  const best = [...live].sort((a, b) => b.label!.f1 - a.label!.f1 || a.index - b.index);
  const half = Math.ceil(count / 2);
  const shown = [...best.slice(0, half), ...best.slice(Math.max(half, best.length - (count - half)))];
  return [
    prose(`${shown.length} of ${dash.n} features: the best-described and the worst-described. Every feature is in the run's dashboards/ folder and in \`glassbox sae features RUN --feature i\`.`),
    `<div class="dashboards">${shown.map((f) => dashboard(f, dash.examples)).join('\n')}</div>`,
  ].join('\n');
}

const CSS = `
.dashboards { display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: 14px; }
.dash { border: 1px solid var(--line); border-radius: 8px; padding: 8px 10px; background: var(--panel); }
.dash h3 { margin: 2px 0 4px; font-size: 14px; }
.dash .meta { font-size: 12.5px; color: var(--muted); margin: 4px 0; }
.dash table.ex { margin: 4px 0; font-size: 12.5px; }
.dash table.ex td { padding: 1px 6px; white-space: pre; }
mark { background: #ffd43b; padding: 0 1px; border-radius: 2px; }
`;
