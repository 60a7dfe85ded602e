// report.html for crate-fashion: the two models side by side, the layerwise
// picture of the white-box claim (R^c and sparsity through the layers, before
// and after training), and the class token's attention over the image.
// It only renders the result; every number comes from the experiment.

import type { CrateFashionResult, AttentionExample } from '../experiments/crate-fashion.js';
import type { LayerRates } from '../lens/coding-rate.js';
import { page, section, figure, prose, table, card, chartSvg, escapeHtml, formatFixed, formatPercent, formatCount, formatSeconds, formatValue, factsTable, raw, type ChartOption } from './html.js';

const WIDE = 1060;

export function renderCrateReport(r: CrateFashionResult): string {
  const body = [
    header(r),
    section('layers', 'Layer by layer: compression and sparsity', layerSection(r)),
    section('attention', 'Where the class token looks', attentionSection(r)),
    section('training', 'Training', trainingSection(r)),
    section('config', 'Configuration', factsTable(Object.entries(r.config).map(([k, v]) => [k, formatValue(v)]))),
    `<footer>glassbox ${escapeHtml(r.glassbox_version)} · ${escapeHtml(r.run_dir)} · dataset ${escapeHtml(r.dataset)} · a self-contained page: no scripts, nothing fetched.</footer>`,
  ].join('\n');
  return page({ title: 'glassbox · CRATE on Fashion-MNIST', body, css: CSS });
}

const CSS = `
.cards { display: flex; gap: 12px; flex-wrap: wrap; }
.attn-row { display: flex; gap: 10px; align-items: flex-start; flex-wrap: wrap; margin: 4px 0; }
.attn-image { margin: 12px 0 20px; }
.attn-row figure { margin: 0; text-align: center; font-size: 12px; }
.attn-row svg { display: block; border: 1px solid #ddd; }
`;

function header(r: CrateFashionResult): string {
  const c = r.crate;
  const v = r.vit;
  const cards = [
    c ? card('CRATE test accuracy', formatPercent(c.test_acc), `${formatCount(c.params)} parameters · ${formatSeconds(c.seconds)}`) : '',
    v ? card('ViT test accuracy', formatPercent(v.test_acc), `${formatCount(v.params)} parameters · ${formatSeconds(v.seconds)}`) : '',
    c && v ? card('parameter ratio', `${formatFixed(c.params / v.params, 2)}×`, 'CRATE / ViT') : '',
  ].join('');
  return `<h1>CRATE, the white-box transformer, on Fashion-MNIST</h1>
${prose(
    `Each CRATE layer is one step of optimising sparse rate reduction: an MSSA step Z + MSSA(LN(Z)) compresses the tokens onto per-head subspaces (query = key = value = U_kᵀx), and an ISTA step ReLU(x + η(Dᵀx − DᵀDx) − ηλ) sparsifies them. ` +
      `Trained on ${r.train_images.toLocaleString('en')} training images for ${r.config.epochs} epoch(s); test accuracy on all 10,000 test images. ` +
      `Width ${r.config.dModel}, ${r.config.heads} heads, ${r.config.layers} layers, ${r.config.patch}×${r.config.patch} patches (${r.image.grid[0] * r.image.grid[1]} patches + class token). Wall times were measured on a machine shared with other jobs.`,
  )}
<div class="cards">${cards}</div>`;
}

function layerTable(init: LayerRates[], trained: LayerRates[]): string {
  const rows = trained.map((t, i) => [
    i, formatFixed(init[i].Rc, 2), formatFixed(t.Rc, 2), formatFixed(init[i].R, 2), formatFixed(t.R, 2),
    formatPercent(init[i].zeroFraction, 1), formatPercent(t.zeroFraction, 1), formatFixed(init[i].l1OverL2, 2), formatFixed(t.l1OverL2, 2),
  ]);
  return table(['layer', 'R^c init', 'R^c trained', 'R init', 'R trained', 'ISTA zeros init', 'ISTA zeros trained', 'L1/L2 init', 'L1/L2 trained'], rows, { numeric: [0, 1, 2, 3, 4, 5, 6, 7, 8] });
}

function layerSection(r: CrateFashionResult): string {
  const c = r.crate;
  if (!c) return prose('CRATE was not trained in this run.');
  const layers = c.layers_trained.map((l) => l.layer + 1);
  const line = (name: string, data: number[], color: string, dashed = false, yAxisIndex = 0) => ({ name, type: 'line' as const, data: data.map((v, i) => [layers[i], v]), color, yAxisIndex, lineStyle: { width: 2, type: dashed ? ('dashed' as const) : ('solid' as const) }, symbolSize: 6 });
  const rates: ChartOption = {
    grid: { left: 64, right: 64, top: 40, bottom: 48 },
    legend: { top: 6, itemGap: 24 },
    xAxis: { type: 'value', name: 'layer', minInterval: 1, min: 1, max: layers.length, nameLocation: 'middle', nameGap: 28 },
    yAxis: [{ type: 'value', name: 'R^c (nats)', scale: true }, { type: 'value', name: 'R (nats)', scale: true }],
    series: [
      line('R^c trained', c.layers_trained.map((l) => l.Rc), '#e8590c'),
      line('R^c init', c.layers_init.map((l) => l.Rc), '#e8590c', true),
      line('R trained', c.layers_trained.map((l) => l.R), '#3b5bdb', false, 1),
      line('R init', c.layers_init.map((l) => l.R), '#3b5bdb', true, 1),
    ],
  };
  const sparse: ChartOption = {
    grid: { left: 64, right: 36, top: 40, bottom: 48 },
    legend: { top: 6 },
    xAxis: { type: 'value', name: 'layer', minInterval: 1, min: 1, max: layers.length, nameLocation: 'middle', nameGap: 28 },
    yAxis: { type: 'value', name: 'fraction of zeros', min: 0, max: 1 },
    series: [line('trained', c.layers_trained.map((l) => l.zeroFraction), '#2b8a3e'), line('init', c.layers_init.map((l) => l.zeroFraction), '#2b8a3e', true)],
  };
  const rc = c.layers_trained.map((l) => l.Rc);
  const falls = rc.every((v, i) => i === 0 || v <= rc[i - 1]);
  return [
    prose(
      `R^c(Z; U) = Σ_k R(U_kᵀ LN(Z)) is measured at each layer's MSSA projection (its hook_w), R on the layer's output tokens, each on l2-normalised tokens as ½ logdet(I + p/(mε) XXᵀ), ε = ${r.config.eps}, averaged over ${r.config.rateImages} test images. Sparsity is that of the ISTA output.`,
      `Through the trained layers R^c ${falls ? 'falls at every layer' : 'does not fall monotonically'} (${rc.map((v) => formatFixed(v, 2)).join(' → ')}); the ISTA outputs are ${c.layers_trained.map((l) => formatPercent(l.zeroFraction, 0)).join(', ')} zeros.`,
    ),
    layerTable(c.layers_init, c.layers_trained),
    figure(chartSvg(rates, { width: WIDE, height: 320, label: 'coding rates per layer' }), 'R^c (left axis) and R (right axis) per layer; dashed: at initialisation.'),
    figure(chartSvg(sparse, { width: WIDE, height: 260, label: 'ISTA sparsity per layer' }), 'Fraction of exact zeros in the ISTA output per layer; dashed: at initialisation.'),
  ].join('\n');
}

function heat(values: number[], rows: number, cols: number, px: number, color: (v: number) => string): string {
  let s = `<svg width="${cols * px}" height="${rows * px}" viewBox="0 0 ${cols} ${rows}" shape-rendering="crispEdges">`;
  for (let y = 0; y < rows; y++) for (let x = 0; x < cols; x++) s += `<rect x="${x}" y="${y}" width="1" height="1" fill="${color(values[y * cols + x])}"/>`;
  return s + '</svg>';
}

const grey = (v: number) => {
  const g = Math.round(255 - v);
  return `rgb(${g},${g},${g})`;
};

function attentionRow(ex: AttentionExample, r: CrateFashionResult, layer: number): string {
  const [gh, gw] = r.image.grid;
  const img = layer === 0 ? figure(heat(ex.pixels, r.image.rows, r.image.cols, 3, grey), `${ex.label} (pred. ${ex.crate_pred})`) : `<figure><div style="width:${r.image.cols * 3}px"></div></figure>`;
  const heads = ex.maps[layer].map((m, h) => {
    const mx = Math.max(...m, 1e-9);
    const col = (v: number) => `rgb(255,${Math.round(255 - 200 * (v / mx))},${Math.round(255 - 255 * (v / mx))})`;
    return figure(heat(m, gh, gw, Math.floor(84 / gw), col), `layer ${layer + 1} · head ${h}`);
  });
  return `<div class="attn-row">${img}${heads.join('')}</div>`;
}

function attentionSection(r: CrateFashionResult): string {
  if (!r.crate || r.attention.length === 0) return prose('No attention maps in this run.');
  const L = r.config.layers;
  const lift = r.crate.object_attention_lift;
  const liftRows = lift.map((hs, l) => [l + 1, ...hs.map((v) => formatFixed(v, 2))]);
  return [
    prose(
      `For each test image, one row per layer: the class token's attention over the ${r.image.grid[0]}×${r.image.grid[1]} patch grid for every head (darker = more; each map scaled to its own maximum). ` +
        'Object-shaped means the attention sits on the garment rather than the background: the table gives, per layer and head, the share of the attention landing on patches that contain any garment pixel, divided by the share of such patches (1 = no preference, above 1 = prefers the object).',
    ),
    table(['layer', ...lift[0].map((_, h) => `head ${h}`)], liftRows, { numeric: lift[0].map((_, h) => h + 1) }),
    ...r.attention.map((ex) => `<div class="attn-image">${Array.from({ length: L }, (_, l) => attentionRow(ex, r, l)).join('')}</div>`),
  ].join('\n');
}

function trainingSection(r: CrateFashionResult): string {
  const series = [];
  if (r.crate) series.push({ name: 'CRATE', type: 'line' as const, showSymbol: false, color: '#e8590c', data: r.crate.history.filter((h) => h.train_loss !== undefined).map((h) => [h.step, h.train_loss!]) });
  if (r.vit) series.push({ name: 'ViT', type: 'line' as const, showSymbol: false, color: '#3b5bdb', data: r.vit.history.filter((h) => h.train_loss !== undefined).map((h) => [h.step, h.train_loss!]) });
  const option: ChartOption = {
    grid: { left: 64, right: 36, top: 40, bottom: 48 },
    legend: { top: 6 },
    xAxis: { type: 'value', name: 'step', nameLocation: 'middle', nameGap: 28 },
    yAxis: { type: 'value', name: 'train loss (nats)' },
    series,
  };
  const evals = (h: { step: number; test_acc?: number }[]) => h.filter((p) => p.test_acc !== undefined).map((p) => `${p.step}: ${formatPercent(p.test_acc, 1)}`).join(', ');
  return [
    figure(chartSvg(option, { width: WIDE, height: 300, label: 'training loss' }), 'Training loss per step (every 10th step).'),
    prose(raw(`Test accuracy on the first ${r.config.evalImages} test images after each epoch: CRATE ${escapeHtml(r.crate ? evals(r.crate.history) : '–')}; ViT ${escapeHtml(r.vit ? evals(r.vit.history) : '–')}. Total wall time ${escapeHtml(formatSeconds(r.seconds))}.`)),
  ].join('\n');
}
