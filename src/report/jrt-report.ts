// report.html for jrt: recall against state size, JRT-Prompt's gain, set
// disjointness in both orders, and generation time and memory. It only
// renders the result.

import type { JrtResult, Stat } from '../experiments/jrt.js';
import { page, section, figure, prose, card, table, chartSvg, escapeHtml, formatValue, formatCount, formatSeconds, factsTable, raw, type ChartOption } from './html.js';

const COLORS = ['#1c7ed6', '#e8590c', '#2f9e44', '#9c36b5', '#f08c00', '#495057'];

function pct(s: Stat | null | undefined): string {
  if (!s) return '–';
  return `${(100 * s.mean).toFixed(1)}%${s.n > 1 ? ` ± ${(100 * s.sd).toFixed(1)} (n=${s.n}, ${(100 * s.min).toFixed(1)}–${(100 * s.max).toFixed(1)})` : ' (n=1)'}`;
}

function pts(s: Stat | null | undefined): string {
  if (!s) return '–';
  return `${s.mean >= 0 ? '+' : ''}${s.mean.toFixed(1)} pts${s.n > 1 ? ` ± ${s.sd.toFixed(1)} (n=${s.n})` : ' (n=1)'}`;
}

function recallChart(r: JrtResult): string {
  const series = r.recall.tests.map((t, i) => ({
    type: 'line' as const,
    name: t,
    color: COLORS[i % COLORS.length],
    symbolSize: 8,
    data: r.recall.models.filter((m) => m.spec.arch === 'based').sort((a, b) => a.stateBytes - b.stateBytes).map((m) => [m.stateBytes, m.acc[t].mean]),
  }));
  const attn = r.recall.models.filter((m) => m.spec.arch === 'attention' || m.spec.arch === 'gpt');
  const option: ChartOption = {
    grid: { left: 64, right: 150, top: 24, bottom: 52 },
    legend: { orient: 'vertical', right: 0, top: 20 },
    xAxis: { type: 'log', name: 'state bytes (f32)', nameLocation: 'middle', nameGap: 30 },
    yAxis: { type: 'value', name: 'MQAR accuracy', min: 0, max: 1 },
    series: [
      ...series,
      ...r.recall.tests.map((t, i) => ({ type: 'scatter' as const, name: `attention ${t}`, color: COLORS[i % COLORS.length], symbol: 'diamond', symbolSize: 12, data: attn.map((m) => [m.stateBytes, m.acc[t].mean]) })),
    ],
  };
  return chartSvg(option, { width: 1000, height: 340, label: 'MQAR accuracy against state size' });
}

function gainChart(r: JrtResult): string {
  const Ks = [...new Set(r.jrtPrompt.rows.map((x) => x.K))];
  const option: ChartOption = {
    grid: { left: 64, right: 150, top: 24, bottom: 52 },
    legend: { orient: 'vertical', right: 0, top: 20 },
    xAxis: { type: 'log', name: 'state bytes (f32)', nameLocation: 'middle', nameGap: 30 },
    yAxis: { type: 'value', name: 'gain (points)' },
    series: [
      ...Ks.map((K, i) => ({
        type: 'line' as const,
        name: `K=${K}`,
        color: COLORS[i % COLORS.length],
        symbolSize: 8,
        data: r.jrtPrompt.rows.filter((x) => x.K === K).sort((a, b) => a.stateBytes - b.stateBytes).map((x) => [x.stateBytes, x.gain.mean]),
      })),
      { type: 'line' as const, name: `paper (${r.jrtPrompt.paperGain})`, color: '#868e96', symbol: 'none', lineStyle: { type: 'dashed' }, data: r.jrtPrompt.rows.length ? [[Math.min(...r.jrtPrompt.rows.map((x) => x.stateBytes)), r.jrtPrompt.paperGain], [Math.max(...r.jrtPrompt.rows.map((x) => x.stateBytes)), r.jrtPrompt.paperGain]] : [] },
    ],
  };
  return chartSvg(option, { width: 1000, height: 280, label: 'JRT-Prompt gain against state size' });
}

export function renderJrtReport(r: JrtResult): string {
  const c = r.config;
  const attn = r.recall.models.find((m) => m.spec.arch === 'attention');
  const g = r.generation;
  const recallTable = table(
    ['model', 'state bytes', 'steps (per seed)', ...r.recall.tests],
    r.recall.models.map((m) => [m.id, formatCount(m.stateBytes), m.runs.map((x) => `${x.steps}${x.stoppedEarly ? '✓' : ''}`).join(', '), ...r.recall.tests.map((t) => pct(m.acc[t]))]),
    { numeric: [1] },
  );
  const jrtTable = table(
    ['model', 'K', 'state bytes', 'one pass', 'two passes', 'gain'],
    r.jrtPrompt.rows.map((x) => [x.id, x.K, formatCount(x.stateBytes), pct(x.onePass), pct(x.twoPasses), pts(x.gain)]),
    { numeric: [1, 2] },
  );
  const orderTable = table(
    ['model', 'state bytes', 'small set first', 'large set first', 'gap (small − large)'],
    r.order.rows.map((o) => [o.id, formatCount(o.stateBytes), pct(o.smallFirst), pct(o.largeFirst), pts(o.gap)]),
    { numeric: [1] },
  );
  const genSection = g
    ? section('generation', 'Generation: recurrent state against a KV cache', [
        prose(
          `Milliseconds per generated token after a context of each length, for a ${g.spec.nLayers}-layer GPT of width ${g.spec.dModel} reading its KV cache and for Based of the same width (d′ = ${g.spec.featureDim}) stepping its recurrent form; untrained weights, the median of ${g.spec.reps ?? 3} runs of ${g.spec.tokens} tokens per length after a warm-up, wall clock on a machine shared with other jobs. ` +
            `The GPT's cache is the engine's WASM matrix-vector kernel; Based's recurrent step is plain f64 TypeScript loops, so the comparison favours attention at short contexts.`,
        ),
        table(
          ['context', 'attention ms/token', 'recurrent ms/token', 'KV cache bytes', 'recurrent state bytes'],
          g.points.map((p) => [p.length, p.attentionMs.toFixed(3), p.recurrentMs.toFixed(3), formatCount(p.kvCacheBytes), formatCount(p.stateBytes)]),
          { numeric: [0, 1, 2, 3, 4] },
        ),
        prose(
          g.overtakeTime === null
            ? 'At no measured length was the recurrent form faster per token.'
            : `The recurrent form is faster per token from ${g.overtakeTime} tokens of context on (at that and every longer measured length).`,
          `Its state is smaller than the KV cache from ${g.overtakeMemory} tokens of context on.`,
        ),
      ].join('\n'))
    : '';
  const avg = r.jrtPrompt.averageGain;
  const body = [
    '<h1>Just read twice: recall, state size and order</h1>',
    prose(
      raw(`Arora et al., “Just read twice: closing the recall gap for recurrent language models” (arXiv 2407.05483), at CPU scale. MQAR follows HazyResearch's zoology (vocabulary ${c.vocabSize}, length ${c.seqLen}, gap power a = ${c.powerA}); models have ${c.layers} layers; a Based layer is a BaseConv (kernel 3) then Taylor linear attention, and the attention baseline is the same layout with causal softmax attention as the mixer (zoology's attention baseline)${c.gpt ? ', beside the plain GPT (learned positions, MLPs, no convolution)' : ''}. Every accuracy is on fixed held-out test sets (${c.testExamples} examples per shape) that no training batch repeats, as mean ± sd over seeds with the range. Training stops early once every validation shape reaches ${(100 * c.stopAt).toFixed(1)}% (✓). Wall time on a machine shared with other jobs.`),
    ),
    `<div class="cards">${card('attention MQAR', attn ? pct(attn.acc[r.recall.tests[r.recall.tests.length - 1 - c.jrtKv.length]] ) : '–', `at ${r.recall.tests[r.recall.tests.length - 1 - c.jrtKv.length]}`)}${card('JRT-Prompt gain', avg ? `${avg.mean >= 0 ? '+' : ''}${avg.mean.toFixed(1)} pts` : '–', `paper: +${r.jrtPrompt.paperGain} pts`)}${card('wall time', formatSeconds(r.seconds))}</div>`,
    section('recall', 'Recall against state size', [figure(recallChart(r), 'Lines: Based at each state size (mean over seeds); diamonds: attention, placed at the size of its KV cache at the MQAR length.'), recallTable].join('\n')),
    section('jrt-prompt', 'JRT-Prompt: the context twice', [
      prose(`The same trained models, tested with the key-value block shown twice in the same ${c.seqLen} tokens (fewer gap tokens). Gains are in percentage points per seed. Average over every row: ${pts(avg)}; over the rows where the model is more than 1 point short of attention: ${pts(r.jrtPrompt.averageGainWhereShort)}. The paper reports +${r.jrtPrompt.paperGain} ± 1.3 points averaged over 16 pretrained recurrent LMs and six recall tasks; ${c.trainTwoPasses ? 'here the models saw two-pass sequences in training too (the mix includes them), since a model this small has never seen repeated text otherwise.' : 'here the models never saw a two-pass sequence in training.'}`),
      r.jrtPrompt.rows.length ? figure(gainChart(r), 'Mean gain over seeds per Based model; dashed: the paper\'s average.') : '',
      jrtTable,
    ].join('\n')),
    section('order', 'Order matters: set disjointness', [
      prose(`[1] A [2] B [3] → t, |A|, |B| ∈ {${c.setSmall}, ${c.setLarge}}, both orders in the training mix. The paper's claim: a causal model does better with the small set first, by more at small state sizes; prefix linear attention (JRT-RNN, the prompt read non-causally) is less sensitive to order.`),
      orderTable,
    ].join('\n')),
    genSection,
    section('config', 'Configuration', factsTable(Object.entries(c).map(([k, v]) => [k, formatValue(v)]))),
    `<footer>glassbox ${escapeHtml(r.glassbox_version)} · ${escapeHtml(r.run_dir)} · a self-contained page: no scripts, nothing fetched.</footer>`,
  ].join('\n');
  return page({ title: 'glassbox · just read twice', body, css: '.cards { display: flex; gap: 12px; }' });
}
