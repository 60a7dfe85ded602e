// report.html for the language model: validation bits per byte against bytes
// seen, with the classical compressors of the same split as lines, and what
// the model wrote at each checkpoint.

import type { LmResult } from '../experiments/lm.js';
import { LOG2E } from '../engine/constants.js';
import { page, section, figure, prose, table, factsTable, card, chartSvg, escapeHtml, formatFixed, formatCount, formatSeconds, type ChartOption, type Content } from './html.js';

const COLORS = ['#c92a2a', '#e8590c', '#2b8a3e'];

export function renderLmReport(r: LmResult): string {
  const best = r.baselines.filter((b) => b.bpb !== null).sort((a, b) => a.bpb! - b.bpb!)[0];
  const cards = [
    card('Validation', `${formatFixed(r.val_bpb, 3)} bits/byte`, `${formatCount(r.corpus.val_bytes)} bytes never trained on`, r.val_bpb < 2 ? 'good' : 'bad'),
    best ? card(`Best classical (${best.name})`, `${formatFixed(best.bpb, 3)} bits/byte`, 'the same split', r.val_bpb < best.bpb! ? 'good' : 'bad') : '',
    card('Parameters', formatCount(r.params), `${r.model.nLayers} layers × d${r.model.dModel}, context ${r.model.contextLength}`),
    card('Bytes seen', formatCount(r.tokens), `${r.steps} steps`),
    card('Time', formatSeconds(r.seconds)),
  ].join('\n');
  const series: NonNullable<ChartOption['series']> = [
    { type: 'line', name: 'validation (slices)', data: r.history.map((h) => [h.tokens, h.val_bpb]), showSymbol: true, lineStyle: { width: 2 }, color: '#3b5bdb' },
    { type: 'line', name: 'training batch', data: r.train_curve.map((p) => [p.tokens, p.loss * LOG2E]), showSymbol: false, lineStyle: { width: 1, opacity: 0.5 }, color: '#8d96a7' },
  ];
  r.baselines.forEach((b, i) => {
    if (b.bpb === null || r.history.length === 0) return;
    const x0 = r.train_curve[0]?.tokens ?? 0;
    const x1 = r.tokens;
    series.push({ type: 'line', name: b.name, data: [[x0, b.bpb], [x1, b.bpb]], showSymbol: false, lineStyle: { type: 'dashed', width: 1.5 }, color: COLORS[i % COLORS.length] });
  });
  const chart = chartSvg(
    {
      legend: { top: 0 },
      grid: { left: 60, right: 20, top: 40, bottom: 45 },
      xAxis: { type: 'value', name: 'bytes seen', nameLocation: 'middle', nameGap: 28 },
      yAxis: { type: 'value', name: 'bits per byte', min: 1, max: 5 },
      series,
    },
    { width: 1000, height: 420, label: 'validation bits per byte against bytes seen' },
  );
  const sources = Object.entries(r.val_bpb_by_source).map(([s, v]): Content[] => [s, formatFixed(v, 3)]);
  const samples = r.history.map((h) => `<h3>step ${h.step} · ${formatCount(h.tokens)} bytes · validation ${formatFixed(h.val_bpb, 3)} bits/byte</h3><pre class="sample">${escapeHtml(h.sample)}</pre>`).join('\n');
  const facts: Array<[Content, Content]> = [
    ['Command', r.preset === 'custom' ? 'custom configuration' : `glassbox run lm --preset ${r.preset}`],
    ['Model file', r.model_path],
    ['SHA-256', r.model_sha256],
    ['Corpus manifest', r.corpus.manifest_sha256],
    ['Corpus', `${formatCount(r.corpus.train_bytes)} bytes train, ${formatCount(r.corpus.val_bytes)} bytes validation`],
    ['Run directory', r.run_dir],
  ];
  const body = [
    `<header><h1>The glassbox language model</h1><p class="lede">${escapeHtml(`A byte-level GPT trained by glassbox on ${formatCount(r.corpus.train_bytes)} bytes of English. Its loss is the data's code length: ${formatFixed(r.val_bpb, 3)} bits per byte on text it never saw.`)}</p><div class="cards">${cards}</div>${factsTable(facts)}</header>`,
    section('curve', 'Validation bits per byte against bytes seen', figure(chart, 'The periodic figure scores 8 evenly spaced slices of the validation split; the final figure in the cards scores all of it. Dashed lines: classical compressors on the whole split.')),
    section('sources', 'By source', table(['source', 'bits per byte'], sources)),
    section('samples', 'What it wrote at each checkpoint', prose('Prompt "The ", 200 bytes, temperature 0.8, top-k 40, seed 1.') + samples),
  ].join('\n');
  return page({ title: 'glassbox · language model', body, css: 'pre.sample { white-space: pre-wrap; background: var(--panel); padding: 8px; border-radius: 6px; font-size: 13px; }' });
}
