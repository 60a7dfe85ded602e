// report.html for oversquash: the verdicts on the paper's claims first, then
// the synthetic curves, the LM's distances and collapse lengths, the trained
// tasks' accuracy against length, and the influence curve. It only renders
// the result; every number and verdict comes from the experiment.

import type { OversquashResult } from '../experiments/oversquash.js';
import { page, section, figure, prose, table, card, chartSvg, escapeHtml, formatSeconds, factsTable, formatValue, formatNumber, raw, type ChartOption } from './html.js';

const CSS = `
.cards { display: flex; gap: 12px; flex-wrap: wrap; }
.holds { color: #1a7f37; font-weight: 600; } .fails { color: #b42318; font-weight: 600; } .na { color: #5b6475; }
`;

const COLORS: Record<string, string> = { fp32: '#2e6fd8', bf16: '#d9480f', fp16: '#2b8a3e' };
/** A positive number for a log axis, or null (a gap) for 0 and non-finite values. */
const logPoint = (x: number): number | null => (x > 0 && Number.isFinite(x) ? Number(x.toPrecision(5)) : null);

function verdictCell(h: boolean | null): string {
  return h === null ? '<span class="na">not measured</span>' : h ? '<span class="holds">holds</span>' : '<span class="fails">does not hold</span>';
}

function lineChart(title: string, xs: number[], series: Array<{ name: string; data: Array<number | null>; color?: string; dashed?: boolean }>, opts: { xName: string; yName: string; logX?: boolean; logY?: boolean; width?: number; height?: number; yMax?: number }): string {
  const option: ChartOption = {
    title: { text: title, left: 'center', textStyle: { fontSize: 12 } },
    legend: { top: 20, textStyle: { fontSize: 10 } },
    grid: { left: 60, right: 16, top: 60, bottom: 40 },
    xAxis: { type: opts.logX ? 'log' : 'value', name: opts.xName, nameLocation: 'middle', nameGap: 24, min: opts.logX ? undefined : 'dataMin', max: 'dataMax' },
    yAxis: { type: opts.logY ? 'log' : 'value', name: opts.yName, ...(opts.yMax !== undefined ? { max: opts.yMax, min: 0 } : {}) },
    series: series.map((s) => ({
      type: 'line', name: s.name, showSymbol: xs.length < 40, symbolSize: 4, connectNulls: false,
      lineStyle: { width: 1.5, ...(s.dashed ? { type: 'dashed' } : {}), ...(s.color ? { color: s.color } : {}) },
      itemStyle: s.color ? { color: s.color } : undefined,
      data: xs.map((x, i) => [x, s.data[i]]),
    })),
  };
  return chartSvg(option, { width: opts.width ?? 520, height: opts.height ?? 300, label: title });
}

export function renderOversquashReport(r: OversquashResult): string {
  const held = r.claims.filter((c) => c.holds === true).length;
  const judged = r.claims.filter((c) => c.holds !== null).length;
  const cards = [
    card('claims that hold', `${held} / ${judged}`, 'by the rules below'),
    r.cost ? card('bf16 cost', `${r.cost.ratio.bf16?.toFixed(2) ?? '–'}×`, `fp32 forward ${r.cost.shape}: ${r.cost.ms.fp32.toFixed(1)} ms`, (r.cost.ratio.bf16 ?? 0) <= 3 ? 'good' : 'bad') : '',
    r.cost ? card('fp16 cost', `${r.cost.ratio.fp16?.toFixed(2) ?? '–'}×`, 'target ≤ 3×', (r.cost.ratio.fp16 ?? 0) <= 3 ? 'good' : 'bad') : '',
    card('run time', formatSeconds(r.seconds), 'training included'),
  ].join('');
  const body = [
    '<h1>Over-squashing: representational collapse and low precision</h1>',
    prose(
      'Barbero et al., "Transformers need glasses! Information over-squashing in language tasks" (arXiv 2406.04267): in a decoder-only transformer the last token\'s representation of a sequence v and of v* (v with its last token repeated) converge as the length grows; at low floating-point precision they become the same number, so counting and copying fail; early tokens have more paths to the last one; separators keep the representations apart. ' +
        'Here every op\'s output can be rounded to bf16 or fp16 (round to nearest even, fp16 overflowing to infinity), and the claims are judged by written rules on the numbers below.',
    ),
    `<div class="cards">${cards}</div>`,
    section('claims', 'Which claims hold here', claimsTable(r)),
    section('synthetic', 'Synthetic: one attention layer (C.3) and the softmax (C.4)', syntheticSection(r)),
    r.lm ? section('lm', 'The shipped LM: the four prompt families of Figure 5', lmSection(r)) : '',
    r.tasks.length ? section('tasks', 'Trained tasks: accuracy against length', tasksSection(r)) : '',
    (r.lm && r.lm.influence.length) || r.tasks.length ? section('influence', 'Influence of each position on the last token', influenceSection(r)) : '',
    section('config', 'Configuration', factsTable(Object.entries(r.config).map(([k, v]) => [k, formatValue(v)]))),
    `<footer>glassbox ${escapeHtml(r.glassbox_version)} · ${escapeHtml(r.run_dir)} · a self-contained page: no scripts, nothing fetched.</footer>`,
  ].join('\n');
  return page({ title: 'glassbox · over-squashing', body, css: CSS });
}

function claimsTable(r: OversquashResult): string {
  return table(['paper\'s claim', 'rule here', 'verdict', 'numbers'], r.claims.map((c) => [c.claim, c.rule, raw(verdictCell(c.holds)), c.evidence]));
}

function syntheticSection(r: OversquashResult): string {
  const s = r.synthetic;
  const scales = [...new Set(s.curves.map((c) => c.scale))];
  const charts = scales.map((sc) => lineChart(`L1 distance, weights N(0, ${sc === 'inv-d' ? '1/d' : '1'})`, s.ns, s.curves.filter((c) => c.scale === sc).map((c) => ({ name: c.encoding, data: c.mean.map(logPoint) })), { xName: 'n', yName: 'L1', logX: true, logY: true }));
  const tv = lineChart('softmax TV, first 200 entries perturbed', s.tvNs, [{ name: 'mean TV', data: s.tv.mean.map(logPoint) }], { xName: 'n', yName: 'TV', logX: true, logY: true });
  return [
    prose(`One causal attention layer, d = ${r.config.synthetic.d}, one head, inputs x_i ~ N(0, I), v = (x_1…x_n) and v* = (x_1…x_n, x_n); the L1 distance between the layer's outputs at the last token, mean over ${r.config.synthetic.seeds} seeds (${formatSeconds(s.seconds)}).`),
    `<div class="small-multiples">${charts.map((c) => figure(c)).join('')}</div>`,
    figure(tv, `TV(softmax(x), softmax(x*)), x ~ U[0,1]^n, x* adds U[0, 0.1] to the first ${r.config.synthetic.tvPerturbed} entries; mean over seeds.`),
  ].join('\n');
}

function lmSection(r: OversquashResult): string {
  const lm = r.lm!;
  const fams = lm.families;
  const nMax = fams[0]?.ns[fams[0].ns.length - 1] ?? 0;
  const collapseRows = fams.flatMap((f) => f.layers.map((layer, l) => [f.family, layer, ...r.precisions.map((p) => {
    const c = f.curves.find((x) => x.precision === p)?.collapse[l];
    return c === undefined ? '–' : c === null ? `none up to ${nMax}` : `n = ${c}`;
  })]));
  const small = fams.map((f) => {
    const charts = f.layers.map((layer, l) => lineChart(`${f.family}: ${layer.replace('.hook_resid_post', '')}`, f.ns, f.curves.map((c) => ({ name: c.precision, color: COLORS[c.precision], data: c.linf[l].map(logPoint) })), { xName: 'n', yName: 'L∞', logY: true, width: 270, height: 230 }));
    return `<h3>${escapeHtml(f.family)}</h3><div class="small-multiples">${charts.join('')}</div>`;
  });
  return [
    prose(
      `${escapeHtml(lm.model)} (SHA-256 ${lm.sha256.slice(0, 12)}…, context ${lm.context} bytes). Families, n counting digits: ones = "How many ones are there? " + n ones against n+1; digits = n−1 random digits and a 1 against the same with 11; copy = "Copy the following number: " + n ones; copy-commas = the same with a comma after every third digit. ` +
        'L∞ distance of the last token\'s residual stream after each block, v_n against v*_n, log scale; a gap means the two are bit-identical. The paper\'s Gemma has 8192 tokens of context; ours has 128 bytes, so n stops where v* fills it. ' +
        'Unlike Gemma\'s RoPE, this GPT has learned absolute positions: the last token of v sits at one position and that of v* at the next, with a different position vector, so the two states keep that difference however long the prefix; the trained ALiBi models below have no such term.',
    ),
    table(['family', 'layer', ...r.precisions.map((p) => `collapse at ${p}`)], collapseRows, { caption: 'Collapse length: the smallest n from which v_n and v*_n are bit-identical at every larger n measured.' }),
    ...small,
    prose(`LM measurements took ${formatSeconds(lm.seconds)}.`),
  ].join('\n');
}

function tasksSection(r: OversquashResult): string {
  const charts = r.tasks.map((t) => {
    const series = r.precisions.flatMap((p) => [0, 1].map((sep) => ({ name: `${p}${sep ? ' commas' : ''}`, color: COLORS[p], dashed: sep === 1, data: t.accuracy[p][sep] })));
    const paper = r.precisions.flatMap((p) => [0, 1].map((sep) => ({ name: `${p}${sep ? ' commas' : ''}`, color: COLORS[p], dashed: sep === 1, data: t.patternAccuracy[p][sep] })));
    const what = t.task === 'count' ? 'n ones' : t.task === 'copy-last' ? '1…1b' : 'b1…1';
    return figure(lineChart(`${t.task}: random bits (trained on 1–${t.trainMax})`, t.evalNs, series, { xName: 'digits n', yName: 'accuracy', logX: true, yMax: 1, width: 420 }) +
      lineChart(`${t.task}: the paper's strings (${what})`, t.evalNs, paper, { xName: 'digits n', yName: 'accuracy', logX: true, yMax: 1, width: 420 }),
    `${t.steps} steps, final training loss ${formatNumber(t.finalLoss)}; training ${formatSeconds(t.trainSeconds)}, evaluation ${formatSeconds(t.evalSeconds)}.`);
  });
  const lens = r.tasks.map((t) => {
    const L = t.distances.layers.length - 1;
    return lineChart(`${t.task} model: BOS + n ones vs n+1`, t.distances.ns, t.distances.curves.map((c) => ({ name: `${c.precision} (collapse ${c.collapse[L] ?? 'none'})`, color: COLORS[c.precision], data: c.linf[L].map(logPoint) })), { xName: 'n', yName: 'L∞, last layer', logX: true, logY: true, width: 360, height: 260 });
  });
  const c = r.config.tasks;
  return [
    prose(`A decoder with ALiBi (${c.nLayers} layers, ${c.nHeads} heads, d = ${c.dModel}) per task, AdamW for ${c.steps} steps of ${c.batch} strings of 1–${c.trainMax} random bits, half the steps with a comma after every third digit; the answer is read at a query token after the string. Accuracy on ${c.evalSamples} fresh strings per length, and on the paper's strings (ones with the bit to copy last, 1…1b, or first, b1…1, for b = 0 and 1; n ones to count); lengths beyond ${c.trainMax} were never trained on.`),
    `<div class="small-multiples">${charts.join('')}</div>`,
    prose('The lens on each trained model: the last-layer L∞ distance between BOS followed by n ones and by n+1 ones (no query token), per precision; a gap is a bit-identical pair. ALiBi has no absolute positions, so only the attention\'s reach separates the two.'),
    `<div class="small-multiples">${lens.join('')}</div>`,
  ].join('\n');
}

function influenceSection(r: OversquashResult): string {
  const curves = [...(r.lm?.influence ?? []), ...r.tasks.map((t) => ({ family: `${t.task} model (ALiBi)`, n: t.trainMax, text: 'BOS, random bits, QUERY', values: t.influence }))];
  return curves.map((x) => {
    const xs = x.values.map((_, i) => i);
    return figure(lineChart(`${x.family}, n = ${x.n}`, xs, [{ name: '‖∂h_L(last)/∂e_i‖_F', data: x.values.map(logPoint) }], { xName: 'position i', yName: 'gradient norm', logY: true, width: 900, height: 260 }), `Text: "${x.text}". The last position has a direct residual path.`);
  }).join('\n');
}
