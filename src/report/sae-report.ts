// report.html of `glassbox run sae-addition`: the sweep (L0 / FVU / CE score),
// dead latents with and without AuxK, the labels the latents match, and one
// dashboard per feature for the best-labelled and most active latents.

import { page, section, figure, prose, table, factsTable, card, chartSvg, raw, escapeHtml, formatNumber, formatPercent, formatSeconds, type ChartOption } from './html.js';
import type { SaeAdditionResult, DashboardsFile, SaeSummary } from '../experiments/sae-addition-result.js';
import type { FeatureDashboard } from '../lens/sae/features.js';
import type { LatentMatch } from '../experiments/sae-addition-labels.js';

const WIDE = 1000;

export function renderSaeReport(r: SaeAdditionResult, dash: DashboardsFile, opts: { dashboards?: number } = {}): string {
  const title = `Sparse autoencoders on the addition GPT (${r.hook})`;
  const primary = r.saes.find((s) => s.name === r.primary)!;
  const cards = [
    card('SAEs trained', r.saes.length),
    card('primary', r.primary),
    card('L0', formatNumber(primary.l0, 3)),
    card('FVU', formatNumber(primary.fvu, 3)),
    card('CE score', formatNumber(primary.ce_score, 3)),
    card('dead', formatPercent(primary.dead_fraction, 1)),
    card('labelled F1 ≥ 0.9', `${r.interpretable.f1_090} / ${r.interpretable.live}`),
  ].join('');
  const body = [
    `<header><h1>${escapeHtml(title)}</h1><p class="lede">SAEs trained on the ${r.d}-wide activations at <code>${escapeHtml(r.hook)}</code> of a ${r.digits}-digit addition GPT, scored on ${r.eval_tokens} held-out tokens with the field's metrics.</p></header>`,
    `<div class="cards">${cards}</div>`,
    section('sweep', 'The sweep: sparsity against reconstruction', sweepSection(r)),
    section('dead', 'Dead latents, with and without AuxK', deadSection(r)),
    section('labels', 'What the latents match', labelsSection(r)),
    section('dashboards', `Feature dashboards (${dash.sae})`, dashboardsSection(dash, opts.dashboards ?? 24)),
    section('setup', 'Setup', factsTable([
      ['model', r.model_checkpoint + (r.model_trained_here ? ` (trained by this run, exact match ${formatPercent(r.model_exact_match ?? 0, 2)})` : '')],
      ['hook', r.hook],
      ['CE clean / zero-ablated (all targets)', `${formatNumber(r.ce_clean, 4)} / ${formatNumber(r.ce_zero_ablation, 4)} nats`],
      ['CE clean / zero-ablated (answer digits)', `${formatNumber(r.ce_clean_answer, 4)} / ${formatNumber(r.ce_zero_ablation_answer, 4)} nats`],
      ['config', raw(`<code>${escapeHtml(JSON.stringify(r.config))}</code>`)],
      ['wall time', formatSeconds(r.seconds)],
    ])),
    `<footer>glassbox ${escapeHtml(r.glassbox_version)}</footer>`,
  ].join('\n');
  return page({ title, body, css: CSS });
}

function sweepSection(r: SaeAdditionResult): string {
  const groups = new Map<string, SaeSummary[]>();
  for (const s of r.saes) {
    const key = s.arch === 'topk' ? (s.auxk ? 'TopK' : 'TopK, no AuxK') : s.arch === 'batchtopk' ? 'BatchTopK' : 'ReLU + L1';
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  const scatter = (y: (s: SaeSummary) => number, yName: string, logY: boolean): ChartOption => ({
    legend: { top: 0 },
    grid: { left: 60, right: 20, top: 36, bottom: 44 },
    xAxis: { type: 'log', name: 'L0 (active latents per token)', nameLocation: 'middle', nameGap: 28 },
    yAxis: { type: logY ? 'log' : 'value', name: yName },
    series: [...groups].map(([name, list]) => ({ type: 'line', name, symbolSize: 9, data: [...list].sort((a, b) => a.l0 - b.l0).map((s) => [Math.max(s.l0, 1e-3), y(s)]) })),
  });
  const rows = r.saes.map((s) => [s.name, s.arch, s.k_or_l1, s.auxk ? 'yes' : 'no', formatNumber(s.l0, 3), formatNumber(s.fvu, 4), formatNumber(s.cosine, 4), formatNumber(s.ce_score, 4), formatNumber(s.ce_score_answer, 4), formatNumber(s.kl_score, 4), formatPercent(s.dead_fraction, 1), formatSeconds(s.seconds)]);
  return [
    prose('Each SAE trades sparsity (L0) for reconstruction. FVU is the unexplained fraction of the variance about the mean; the CE score is (CE_zero − CE_spliced)/(CE_zero − CE_clean) with the reconstruction spliced in at the hook by a hook replacement, 1 meaning the model loses nothing.'),
    `<div class="two-col">${figure(chartSvg(scatter((s) => Math.max(s.fvu, 1e-6), 'FVU', true), { width: 490, height: 320, label: 'FVU against L0' }), 'FVU against L0 (log–log).')}${figure(chartSvg(scatter((s) => s.ce_score, 'CE score', false), { width: 490, height: 320, label: 'CE score against L0' }), 'CE loss score against L0.')}</div>`,
    table(['SAE', 'arch', 'k or L1', 'AuxK', 'L0', 'FVU', 'cos', 'CE score', 'CE score (answers)', 'KL score', 'dead', 'train time'], rows, { numeric: [2, 4, 5, 6, 7, 8, 9, 10, 11] }),
  ].join('\n');
}

function deadSection(r: SaeAdditionResult): string {
  const c = r.auxk_comparison;
  const parts = [prose('A latent is dead when it has not fired for the last deadWindow training tokens (the tracker AuxK uses), or, on the evaluation set, when it never fires. The seeds report up to 90% dead latents without tied init and AuxK at 16M latents, and about 7% with them.')];
  if (c) {
    parts.push(table(['TopK k = ' + c.k, 'dead (eval)', 'dead (training tracker)', 'FVU'], [
      ['with AuxK', formatPercent(c.with_auxk.dead_fraction, 2), formatPercent(c.with_auxk.dead_fraction_train, 2), formatNumber(c.with_auxk.fvu, 4)],
      ['without AuxK', formatPercent(c.without_auxk.dead_fraction, 2), formatPercent(c.without_auxk.dead_fraction_train, 2), formatNumber(c.without_auxk.fvu, 4)],
    ], { numeric: [1, 2, 3] }));
  }
  const hist = r.saes.filter((s) => s.arch !== 'relu' || s === r.saes[r.saes.length - 1]);
  const option: ChartOption = {
    legend: { top: 0 },
    grid: { left: 50, right: 20, top: 36, bottom: 44 },
    xAxis: { type: 'category', name: 'log10 density', nameLocation: 'middle', nameGap: 28, data: ['dead', ...hist[0].density_histogram.edges.slice(0, -1).map((e) => e.toFixed(1))] },
    yAxis: { type: 'value', name: 'latents' },
    series: hist.map((s) => ({ type: 'bar', name: s.name, data: [s.density_histogram.dead, ...s.density_histogram.counts] })),
  };
  parts.push(figure(chartSvg(option, { width: WIDE, height: 300, label: 'feature density histograms' }), 'Feature density: how often each latent fires on the evaluation tokens (log10), with dead latents in the first bar.'));
  return parts.join('\n');
}

function labelsSection(r: SaeAdditionResult): string {
  const top = r.feature_labels.slice(0, 40);
  return [
    prose(`Each live latent of ${r.primary} is compared with yes/no properties of its token: the input token, the position, the answer digit to predict, whether a carry runs into the predicted column, whether that column's operand digits sum to ≥ 10 or to exactly 9, and the value of each operand digit once all operands are read. Its best label is the one with the highest F1 of (latent fires) against (property holds). ${r.interpretable.f1_090} of ${r.interpretable.live} live latents match a label with F1 ≥ 0.9, ${r.interpretable.f1_070} with F1 ≥ 0.7. The rest fire on mixtures that none of these labels captures alone.`),
    table(['feature', 'best label', 'F1', 'precision', 'recall', 'density'], top.map((m) => [m.feature, m.label, formatNumber(m.f1, 3), formatNumber(m.precision, 3), formatNumber(m.recall, 3), formatPercent(m.density, 2)]), { numeric: [0, 2, 3, 4, 5] }),
  ].join('\n');
}

function dashboardsSection(dash: DashboardsFile, count: number): string {
  const live = dash.features.filter((f) => f.density > 0);
  const labelled = [...live].sort((a, b) => (b.label?.f1 ?? 0) - (a.label?.f1 ?? 0) || a.index - b.index).slice(0, Math.ceil(count / 2));
  const chosen = new Set(labelled.map((f) => f.index));
  const active = [...live].sort((a, b) => b.density - a.density || a.index - b.index).filter((f) => !chosen.has(f.index)).slice(0, count - labelled.length);
  const shown = [...labelled, ...active];
  return [
    prose(`${shown.length} of ${dash.n} features: the best-labelled ones, then the most active. All ${dash.n} are in dashboards.json and in \`glassbox sae features RUN --feature i\`.`),
    `<div class="dashboards">${shown.map((f) => dashboard(f, dash.examples)).join('\n')}</div>`,
  ].join('\n');
}

/**
 * A long example (a text window) cut to `before` characters before the
 * highlighted one and `after` after it, with newlines and tabs shown as ⏎ and
 * ⇥ so the context stays on one line; short examples come back whole.
 */
export function cropContext(s: string, pos: number, before = 40, after = 12): { text: string; at: number } {
  const chars = [...s];
  const from = chars.length > before + after + 1 ? Math.max(0, pos - before) : 0;
  const to = chars.length > before + after + 1 ? Math.min(chars.length, pos + after + 1) : chars.length;
  const text = chars.slice(from, to).map((ch) => (ch === '\n' ? '⏎' : ch === '\t' ? '⇥' : ch)).join('');
  return { text, at: pos - from };
}

/** One feature: label, top examples with the token highlighted, histogram, logit effects. */
export function dashboard(f: FeatureDashboard & { label: LatentMatch | null }, examples: readonly string[]): string {
  const ex = f.top.slice(0, 8).map((t) => {
    const { text, at } = cropContext(examples[t.seq] ?? '', t.pos);
    const ctx = [...text].map((ch, i) => (i === at ? `<mark>${escapeHtml(ch)}</mark>` : escapeHtml(ch))).join('');
    return `<tr><td class="num">${formatNumber(t.act, 3)}</td><td class="mono">${ctx}</td></tr>`;
  }).join('');
  const hist: ChartOption = {
    grid: { left: 36, right: 8, top: 8, bottom: 24 },
    xAxis: { type: 'category', data: f.histogram.edges.slice(0, -1).map((e) => e.toFixed(1)), axisLabel: { fontSize: 9 } },
    yAxis: { type: 'value', axisLabel: { fontSize: 9 } },
    series: [{ type: 'bar', data: f.histogram.counts, itemStyle: { color: '#3b5bdb' } }],
  };
  const logits = (list: Array<{ token: string; weight: number }>) => list.map((l) => `<code>${escapeHtml(l.token)}</code> ${formatNumber(l.weight, 2)}`).join(', ');
  return `<div class="dash"><h3>feature ${f.index}${f.label ? ` — ${escapeHtml(f.label.label)} (F1 ${formatNumber(f.label.f1, 2)})` : ''}</h3>
<p class="meta">density ${formatPercent(f.density, 2)}, max activation ${formatNumber(f.max_act, 3)}</p>
<table class="ex"><tbody>${ex}</tbody></table>
${chartSvg(hist, { width: 300, height: 120, label: `activation histogram of feature ${f.index}` })}
<p class="meta">promotes ${logits(f.promoted)}<br>suppresses ${logits(f.suppressed)}</p></div>`;
}

const CSS = `
.dashboards { display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: 14px; }
.dash { border: 1px solid var(--line); border-radius: 8px; padding: 8px 10px; background: var(--panel); }
.dash h3 { margin: 2px 0 4px; font-size: 14px; }
.dash .meta { font-size: 12.5px; color: var(--muted); margin: 4px 0; }
.dash table.ex { margin: 4px 0; font-size: 12.5px; }
.dash table.ex td { padding: 1px 6px; }
mark { background: #ffd43b; padding: 0 1px; border-radius: 2px; }
`;
