// report.html for the addition lab: what the run learned, how fast, and the
// lab's point made visible: the training stream's code length is the area
// under the loss curve, and what stays above zero is the operands' randomness.

import type { AdditionResult, AdditionHistoryPoint } from '../experiments/addition-result.js';
import { LOG2_14 } from '../engine/constants.js';
import {
  page, section, figure, prose, table, factsTable, card, chartSvg, raw, escapeHtml,
  formatFixed, formatPercent, formatCount, formatSeconds, formatValue, groupThousands,
  type ChartOption, type Content,
} from './html.js';

const WIDE = 1060;
const KIND_COLORS: Record<AdditionResult['per_position'][number]['kind'], string> = {
  operand: '#8d96a7',
  operator: '#3b5bdb',
  answer: '#e8590c',
  end: '#2b8a3e',
};
const FLOOR_COLOR = '#c92a2a';

export function renderAdditionReport(result: AdditionResult): string {
  const k = result.digits;
  const title = `glassbox · ${k}-digit addition`;
  const body = [
    header(result),
    section('loss', 'Loss', lossSection(result)),
    section('exact-match', 'Exact match', exactMatchSection(result)),
    section('compression', 'The compression view', compressionSection(result)),
    section('per-position', 'Per position: what is left is randomness', perPositionSection(result)),
    section('attention', 'Attention', attentionSection(result)),
    section('carry', 'Carry cases', carrySection(result)),
    `<footer>glassbox ${escapeHtml(result.glassbox_version)} · ${escapeHtml(result.run_dir)} · a self-contained page: no scripts, nothing fetched; charts rendered to SVG by Apache ECharts.</footer>`,
  ].join('\n');
  return page({ title, body, css: REPORT_CSS });
}

const REPORT_CSS = `
.seq { font-family: ui-monospace, Menlo, Consolas, monospace; background: var(--panel); padding: 1px 6px; border-radius: 4px; }
.attn-layer h3 { margin-top: 18px; }
`;

// ------------------------------------------------------------------- header

function orderText(order: AdditionResult['answer_order']): string {
  return order === 'msf' ? 'most-significant digit first (as in the seed)' : 'least-significant digit first (the answer is written reversed)';
}

function firstDigitText(mode: AdditionResult['first_digit']): string {
  return mode === 'uniform'
    ? 'every operand digit 0–9, leading zeros allowed; floor 2k·ln10/(3k+4)'
    : "each operand's first digit 1–9, as in the minGPT reference lab's code; floor (2(k−1)·ln10 + 2·ln9)/(3k+4)";
}

function header(r: AdditionResult): string {
  const k = r.digits;
  const gap = r.eval_loss - r.loss_floor;
  const example = `s${'1'.repeat(k)}+${'2'.repeat(k)}=${'0' + '3'.repeat(k)}e`;
  const lede =
    `A ${formatCount(r.params)}-parameter GPT trained for ${formatSeconds(r.seconds)} on fresh ${k}-digit sums ` +
    `answers ${formatPercent(r.exact_match)} of the held-out problems exactly, at a held-out loss of ` +
    `${formatFixed(r.eval_loss, 4)} nats/token against a floor of ${formatFixed(r.loss_floor, 4)}.`;
  const cards = [
    card('Held-out exact match', formatPercent(r.exact_match), 'problems never trained on', r.exact_match >= 0.99 ? 'good' : 'bad'),
    card('Carry cases', formatPercent(r.carry_exact_match, 0), `${r.carry_cases.filter((c) => c.correct).length} of ${r.carry_cases.length} right`, r.carry_exact_match >= 0.99 ? 'good' : 'bad'),
    card('Eval loss − floor', `${gap >= 0 ? '+' : ''}${formatFixed(gap, 4)}`, `${formatFixed(r.eval_loss, 4)} vs ${formatFixed(r.loss_floor, 4)} nats/token`, gap <= 0.02 ? 'good' : 'bad'),
    card('Time', formatSeconds(r.seconds), `${formatCount(r.tokens / Math.max(r.seconds, 1e-9))} tokens/s`),
    card('Steps', groupThousands(String(r.steps)), `${formatCount(r.tokens)} tokens`),
    card('Steps to 99%', r.steps_to_99 == null ? 'not reached' : groupThousands(String(r.steps_to_99)), r.tokens_to_99 == null ? undefined : `${formatCount(r.tokens_to_99)} tokens`),
    card('Parameters', formatCount(r.params), groupThousands(String(r.params))),
  ].join('\n');
  const facts: Array<[Content, Content]> = [
    ['Task', raw(`<span class="seq">s a + b = c e</span> with ${k}-digit operands and a ${k + 1}-digit answer: ${3 * k + 5} tokens, ${3 * k + 4} predicted; e.g. <span class="seq">${escapeHtml(example)}</span>`)],
    ['Digits (k)', k],
    ['Answer order', `${r.answer_order}: ${orderText(r.answer_order)}`],
    ['Operand digits', `${r.first_digit}: ${firstDigitText(r.first_digit)}`],
    ['Training stream', r.edge_mix > 0 ? `${formatPercent(r.edge_mix)} edge problems (every digit from 0, 1, 4, 5, 9), the rest uniform; held-out problems are uniform` : 'uniform digits, as in the seed'],
    ['Loss floor', `${formatFixed(r.loss_floor, 4)} nats/token`],
    ['Held-out loss', `${formatFixed(r.eval_loss, 4)} nats/token`],
    ['Problems seen', groupThousands(String(r.bits.problems_seen))],
  ];
  if (r.preset) facts.push(['Preset', r.preset]);
  if (r.seed !== undefined) facts.push(['Seed', r.seed]);
  if (r.started_at) facts.push(['Started', r.started_at]);
  facts.push(['Checkpoint', raw(`<code>${escapeHtml(r.checkpoint)}</code>`)], ['Run directory', raw(`<code>${escapeHtml(r.run_dir)}</code>`)], ['glassbox', r.glassbox_version]);
  const config = flatten(r.config).map(([key, v]): [Content, Content] => [raw(`<code>${escapeHtml(key)}</code>`), formatValue(v)]);
  const nav = [
    ['loss', 'Loss'], ['exact-match', 'Exact match'], ['compression', 'Compression view'], ['per-position', 'Per position'], ['attention', 'Attention'], ['carry', 'Carry cases'],
  ].map(([id, t]) => `<a href="#${id}">${t}</a>`).join('');
  return `<header>
<h1>${escapeHtml(`${k}-digit addition`)}</h1>
<p class="lede">${escapeHtml(lede)}</p>
<div class="cards">${cards}</div>
<div class="two-col"><div>${factsTable(facts)}</div><div><h3 style="margin-top:4px">Configuration</h3>${factsTable(config)}</div></div>
<nav class="toc">${nav}</nav>
</header>`;
}

/** Nested config objects as dotted keys, one level of nesting per dot. */
function flatten(obj: Record<string, unknown>, prefix = ''): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  for (const [key, v] of Object.entries(obj)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) out.push(...flatten(v as Record<string, unknown>, `${prefix}${key}.`));
    else out.push([`${prefix}${key}`, v]);
  }
  return out;
}

// --------------------------------------------------------------- loss, exact

function evalPoints(h: AdditionHistoryPoint[], pick: (p: AdditionHistoryPoint) => number | undefined): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const p of h) {
    const v = pick(p);
    if (v !== undefined && Number.isFinite(v)) out.push([p.step, v]);
  }
  return out;
}

const AXIS_NAME = { nameLocation: 'middle' as const, nameGap: 30, nameTextStyle: { color: '#5b6475' } };

function lossSection(r: AdditionResult): string {
  const train = r.history.map((p): [number, number] => [p.step, p.train_loss]);
  const evals = evalPoints(r.history, (p) => p.eval_loss);
  const floor = r.loss_floor;
  const option: ChartOption = {
    grid: { left: 64, right: 36, top: 40, bottom: 52 },
    legend: { top: 6, itemGap: 28, data: ['train loss', 'held-out loss'] },
    xAxis: { type: 'value', name: 'step', ...AXIS_NAME, min: 0, max: 'dataMax' },
    yAxis: {
      type: 'value', name: 'nats / token', ...AXIS_NAME, nameGap: 44,
      min: (v: { min: number }) => Math.max(0, Math.floor(Math.min(v.min, floor) * 2 - 0.1) / 2), // a round half below the floor
    },
    series: [
      {
        name: 'train loss', type: 'line', showSymbol: false, data: train, lineStyle: { width: 1.3 }, color: '#3b5bdb',
        markLine: {
          symbol: 'none', lineStyle: { color: FLOOR_COLOR, type: 'dashed', width: 1.5 },
          label: { formatter: `floor ${formatFixed(floor, 4)}`, position: 'insideEndTop', color: FLOOR_COLOR },
          data: [{ yAxis: floor }],
        },
      },
      { name: 'held-out loss', type: 'line', data: evals, symbolSize: 5, lineStyle: { width: 2 }, color: '#e8590c' },
    ],
  };
  const gaps = evals.map(([s, v]): [number, number] => [s, v - floor]).filter(([, g]) => g > 0);
  const gapOption: ChartOption = {
    grid: { left: 64, right: 36, top: 28, bottom: 52 },
    xAxis: { type: 'value', name: 'step', ...AXIS_NAME, min: 0, max: 'dataMax' },
    yAxis: { type: 'log', name: 'nats / token above the floor', ...AXIS_NAME, nameGap: 44, logBase: 10 },
    series: [{
      type: 'line', data: gaps, symbolSize: 5, color: '#e8590c',
      markLine: {
        symbol: 'none', lineStyle: { color: '#2b8a3e', type: 'dashed' },
        label: { formatter: '0.02 target', position: 'insideEndTop', color: '#2b8a3e' },
        data: [{ yAxis: 0.02 }],
      },
    }],
  };
  return [
    figure(chartSvg(option, { width: WIDE, height: 360, label: 'training and held-out loss against step, with the loss floor' }),
      `Training loss (each step's batch of fresh problems) and held-out loss, in nats per predicted token. The dashed line is the floor, ${formatFixed(floor, 4)}: the operands' randomness averaged over the ${3 * r.digits + 4} predicted positions.`),
    gaps.length > 1
      ? figure(chartSvg(gapOption, { width: WIDE, height: 240, label: 'held-out loss above the floor, log scale' }), 'The same held-out loss as a gap above the floor, on a log scale, where the last hundredths of a nat are visible.')
      : '',
  ].join('\n');
}

function exactMatchSection(r: AdditionResult): string {
  const points = evalPoints(r.history, (p) => p.exact_match).map(([s, v]): [number, number] => [s, v * 100]);
  const option: ChartOption = {
    grid: { left: 64, right: 36, top: 24, bottom: 52 },
    xAxis: { type: 'value', name: 'step', ...AXIS_NAME, min: 0, max: 'dataMax' },
    yAxis: { type: 'value', name: 'exact match (%)', ...AXIS_NAME, nameGap: 44, min: 0, max: 100 },
    series: [{
      type: 'line', data: points, symbolSize: 5, color: '#2b8a3e', areaStyle: { opacity: 0.08 },
      markLine: {
        symbol: 'none', lineStyle: { color: '#5b6475', type: 'dashed' },
        label: { formatter: '99%', position: 'insideEndTop' },
        data: [{ yAxis: 99 }],
      },
    }],
  };
  const reached = r.steps_to_99 == null
    ? 'The run did not reach 99% held-out exact match.'
    : `It first reached 99% at step ${groupThousands(String(r.steps_to_99))}${r.tokens_to_99 == null ? '' : `, after ${formatCount(r.tokens_to_99)} tokens`}${r.seconds_to_99 == null ? '' : ` and ${formatSeconds(r.seconds_to_99)}`}.`;
  return [
    figure(chartSvg(option, { width: WIDE, height: 300, label: 'held-out exact match against step' }),
      `Share of held-out problems whose whole ${r.digits + 1}-digit answer is right, at each evaluation. ${reached}`),
  ].join('\n');
}

// -------------------------------------------------------------- compression

function compressionSection(r: AdditionResult): string {
  const b = r.bits;
  const total = r.tokens;
  const cum = r.history.map((p): [number, number] => [p.tokens, p.cum_bits]);
  const line = (name: string, bits: number, color: string, type: 'dashed' | 'dotted') => ({
    name, type: 'line' as const, showSymbol: false, data: [[0, 0], [total, bits]], color, lineStyle: { type, width: 1.6 },
  });
  const option: ChartOption = {
    grid: { left: 74, right: 36, top: 40, bottom: 52 },
    legend: { top: 4, itemGap: 28 },
    xAxis: { type: 'value', name: 'training tokens', ...AXIS_NAME, min: 0, max: total, axisLabel: { formatter: (v: number) => formatCount(v) } },
    yAxis: { type: 'value', name: 'cumulative bits', ...AXIS_NAME, nameGap: 52, min: 0, axisLabel: { formatter: (v: number) => formatCount(v) } },
    series: [
      line('raw (8 bits/char)', b.raw_bits, '#868e96', 'dotted'),
      line('uniform (log2 14 bits/token)', b.uniform_bits, '#3b5bdb', 'dashed'),
      { name: 'the model (area under the loss)', type: 'line', showSymbol: false, data: cum, color: '#e8590c', lineStyle: { width: 2.4 }, areaStyle: { opacity: 0.12 } },
      line('floor (operand entropy)', b.floor_bits, FLOOR_COLOR, 'dashed'),
    ],
  };
  const perProblem = (bits: number) => (b.problems_seen > 0 ? formatFixed(bits / b.problems_seen, 2) : '–');
  const ofRaw = (bits: number) => (b.raw_bits > 0 ? formatPercent(bits / b.raw_bits, 1) : '–');
  const rows: Content[][] = [
    ['raw: 8 bits per character', formatCount(b.raw_bits), perProblem(b.raw_bits), ofRaw(b.raw_bits)],
    [`uniform over the 14 symbols: ${formatFixed(LOG2_14, 3)} bits per predicted token`, formatCount(b.uniform_bits), perProblem(b.uniform_bits), ofRaw(b.uniform_bits)],
    [raw('<strong>the model, each batch under the weights before its step</strong> (area under the training loss)'), formatCount(b.area_under_loss_bits), perProblem(b.area_under_loss_bits), ofRaw(b.area_under_loss_bits)],
    [`floor: the operands' entropy, ${formatFixed(b.problems_seen > 0 ? b.floor_bits / b.problems_seen : Number.NaN, 2)} bits per problem`, formatCount(b.floor_bits), perProblem(b.floor_bits), ofRaw(b.floor_bits)],
  ];
  return [
    prose(
      'The claim this lab tests is that learning is compression. Code each training batch with the current model, then take the training step: the code length is the sum of −log2 p over the stream, which is exactly the area under the training loss curve in bits, and a decoder that replays the same seeded training recovers the stream without ever being sent the weights. This run does not range-code its stream; it sums the loss. That a range coder lands on this number (within 0.03 bits a byte plus 4 bytes a chunk) is checked on a GPT stream in test/codec/identity.test.ts, and glassbox compress codes files this way.',
      `So the orange curve is the code length of everything this run trained on. Its slope falls from the uniform line toward the floor, the operands' entropy (${formatFixed(b.problems_seen > 0 ? b.floor_bits / b.problems_seen : Number.NaN, 2)} bits per problem), which no model can remove; the area between the curve and the floor is what it cost the model to learn addition.`,
    ),
    figure(chartSvg(option, { width: WIDE, height: 380, label: 'cumulative code length of the training stream against raw, uniform and floor' }),
      `Cumulative bits against training tokens (${groupThousands(String(b.problems_seen))} problems of ${3 * r.digits + 4} predicted tokens each).`),
    table(['the training stream\'s code length under', 'bits', 'bits / problem', 'of raw'], rows, { numeric: [1, 2, 3] }),
  ].join('\n');
}

// ------------------------------------------------------------- per position

function perPositionSection(r: AdditionResult): string {
  const pp = r.per_position;
  const labels = pp.map((p) => p.target);
  const kinds = ['operand', 'operator', 'answer', 'end'] as const;
  const kindName = { operand: 'operand digit', operator: '+ and =', answer: 'answer digit', end: 'end (e)' };
  const option: ChartOption = {
    grid: { left: 64, right: 36, top: 40, bottom: 56 },
    legend: { top: 4, itemGap: 28 },
    xAxis: { type: 'category', data: labels, name: 'predicted token', ...AXIS_NAME, nameGap: 34, axisLabel: { interval: 0, fontSize: 11 }, axisTick: { alignWithLabel: true } },
    yAxis: { type: 'value', name: 'loss (nats)', ...AXIS_NAME, nameGap: 44, min: 0 },
    series: [
      ...kinds.map((kind) => ({
        name: kindName[kind], type: 'bar' as const, stack: 'loss', color: KIND_COLORS[kind], barCategoryGap: '25%',
        data: pp.map((p) => (p.kind === kind ? p.loss : '-')),
      })),
      {
        name: 'floor', type: 'line' as const, step: 'middle' as const, showSymbol: false, color: FLOOR_COLOR,
        lineStyle: { type: 'dashed' as const, width: 1.5 }, data: pp.map((p) => p.floor),
      },
    ],
  };
  const rows = pp.map((p): Content[] => [
    p.position, raw(`<span class="seq">${escapeHtml(p.target)}</span>`), p.kind,
    p.kind === 'operand' ? 'aleatoric' : 'epistemic',
    formatFixed(p.loss, 4), formatFixed(p.floor, 4), formatFixed(p.loss - p.floor, 4),
  ]);
  const half = Math.ceil(rows.length / 2);
  const head = ['#', 'target', 'kind', 'uncertainty', 'loss', 'floor', 'excess'];
  return [
    prose(
      'Only the operand digits are random. At each of them the best any model can do is ln10 = 2.3026 nats (ln9 = 2.1972 at a first digit drawn from 1–9): aleatoric uncertainty, which no amount of training removes. Every other token, the + and =, each answer digit and the end, follows from what came before, so its loss can fall to zero: epistemic uncertainty, which the model removes by learning.',
    ),
    figure(chartSvg(option, { width: WIDE, height: 320, label: 'final held-out loss per predicted position with the floor' }),
      'Final held-out loss at each predicted position (a1 is the first digit of a, c1 the first answer digit written). Dashed: the floor.'),
    `<div class="two-col">${table(head, rows.slice(0, half), { numeric: [0, 4, 5, 6] })}${table(head, rows.slice(half), { numeric: [0, 4, 5, 6] })}</div>`,
  ].join('\n');
}

// ----------------------------------------------------------------- attention

function attentionSection(r: AdditionResult): string {
  const { tokens, layers } = r.attention;
  if (layers.length === 0 || tokens.length === 0) return prose('No attention patterns were recorded for this run.');
  const T = tokens.length;
  // Up to four heads to a row across the page; cells of 7 to 14 px.
  const perRow = Math.min(4, Math.max(...layers.map((l) => l.heads.length)));
  const budget = Math.floor((1064 - (perRow - 1) * 14) / perRow);
  const cell = Math.max(7, Math.min(14, Math.floor((budget - 50) / T)));
  const font = cell >= 10 ? 9 : 7;
  const size = { width: 40 + T * cell + 10, height: 26 + T * cell + 40 };
  const axisTokens = tokens; // repeated symbols stay separate categories: ECharts keys them by index
  const heatmap = (layer: number, head: number, pattern: number[][]): string => {
    const data: Array<[number, number, number]> = [];
    for (let q = 0; q < pattern.length; q++) {
      const row = pattern[q]!;
      for (let key = 0; key <= q && key < row.length; key++) data.push([key, q, row[key]!]);
    }
    const option: ChartOption = {
      title: { text: `head ${head}`, left: 'center', top: 2, textStyle: { fontSize: 12, fontWeight: 600 } },
      grid: { left: 40, right: 10, top: 26, bottom: 40 },
      xAxis: { type: 'category', data: axisTokens, position: 'bottom', axisLabel: { interval: 0, fontSize: font, fontFamily: 'monospace' }, axisTick: { show: false }, splitArea: { show: false }, name: 'key', ...AXIS_NAME, nameGap: 20, nameTextStyle: { fontSize: 10, color: '#5b6475' } },
      yAxis: { type: 'category', data: axisTokens, inverse: true, axisLabel: { interval: 0, fontSize: font, fontFamily: 'monospace' }, axisTick: { show: false }, name: 'query', ...AXIS_NAME, nameGap: 24, nameTextStyle: { fontSize: 10, color: '#5b6475' } },
      visualMap: { show: false, min: 0, max: 1, inRange: { color: ['#f8f9fc', '#a5b4fc', '#3b5bdb', '#1e2a78'] } },
      series: [{ type: 'heatmap', data, itemStyle: { borderColor: '#ffffff', borderWidth: 0.3 } }],
    };
    return figure(chartSvg(option, { ...size, label: `attention pattern, layer ${layer}, head ${head}` }));
  };
  const example = r.attention.example ?? tokens.join('');
  const blocks = layers.map((l) => `<div class="attn-layer"><h3>Layer ${l.layer}</h3><div class="small-multiples">${l.heads.map((p, h) => heatmap(l.layer, h, p)).join('')}</div></div>`);
  return [
    prose(raw(`Each head's attention on one held-out example, <span class="seq">${escapeHtml(example)}</span>. Rows are queries (the position reading), columns are keys (the positions read); the mask is causal, so each row spans itself and what came before. Colour runs from <span class="legend-bar" style="background:linear-gradient(90deg,#f8f9fc,#a5b4fc,#3b5bdb,#1e2a78)"></span> 0 to 1.`)),
    ...blocks,
  ].join('\n');
}

// --------------------------------------------------------------------- carry

function markDigits(predicted: string, expected: string): Content {
  let html = '';
  for (let i = 0; i < Math.max(predicted.length, expected.length); i++) {
    const ch = predicted[i] ?? '';
    html += ch === expected[i] ? escapeHtml(ch) : `<span class="digit-wrong">${escapeHtml(ch || '·')}</span>`;
  }
  return raw(`<span class="seq">${html}</span>`);
}

function carrySection(r: AdditionResult): string {
  const cases = r.carry_cases;
  if (cases.length === 0) return prose('No carry cases were scored.');
  const rows = cases.map((c): Content[] => [
    raw(`<span class="seq">${escapeHtml(c.problem)}</span>`),
    raw(`<span class="seq">${escapeHtml(c.expected)}</span>`),
    markDigits(c.predicted, c.expected),
    c.correct ? raw('<span class="ok">✓</span>') : raw('<span class="ko">✗</span>'),
    c.name ?? '',
  ]);
  const orderNote = r.answer_order === 'lsf' ? ' Answers are shown as written: least-significant digit first.' : '';
  return [
    prose(`The sums where carries are hardest: long ripples, carries out of the top digit, and none at all. ${cases.filter((c) => c.correct).length} of ${cases.length} are right (${formatPercent(r.carry_exact_match, 0)}). Wrong digits are in red.${orderNote}`),
    table(['problem', 'expected', 'predicted', '', 'what it tests'], rows, { rowClass: (i) => (cases[i]!.correct ? undefined : 'bad') }),
  ].join('\n');
}

