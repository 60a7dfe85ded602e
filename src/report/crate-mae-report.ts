// report.html for crate-mae: reconstructions next to the originals and the
// masked-patch error. It only renders the result.

import type { CrateMAEResult } from '../experiments/crate-mae.js';
import { page, section, figure, prose, card, chartSvg, escapeHtml, formatFixed, formatCount, formatSeconds, formatValue, factsTable, type ChartOption } from './html.js';

function greyImage(px: number[], rows: number, cols: number, scale = 3): string {
  let s = `<svg width="${cols * scale}" height="${rows * scale}" viewBox="0 0 ${cols} ${rows}" shape-rendering="crispEdges">`;
  for (let y = 0; y < rows; y++) for (let x = 0; x < cols; x++) {
    const g = 255 - px[y * cols + x];
    s += `<rect x="${x}" y="${y}" width="1" height="1" fill="rgb(${g},${g},${g})"/>`;
  }
  return s + '</svg>';
}

export function renderCrateMAEReport(r: CrateMAEResult): string {
  const c = r.config;
  const rows = r.examples.map((e) => `<div class="mae-row">${figure(greyImage(e.original, r.image.rows, r.image.cols), 'original')}${figure(greyImage(e.masked, r.image.rows, r.image.cols), `${Math.round(c.maskRatio * 100)}% hidden`)}${figure(greyImage(e.reconstruction, r.image.rows, r.image.cols), `reconstruction · MSE ${formatFixed(e.mse, 3)}`)}</div>`);
  const loss: ChartOption = {
    grid: { left: 64, right: 36, top: 24, bottom: 48 },
    xAxis: { type: 'value', name: 'step', nameLocation: 'middle', nameGap: 28 },
    yAxis: { type: 'value', name: 'masked MSE' },
    series: [{ type: 'line', showSymbol: false, color: '#e8590c', data: r.history.map((h) => [h.step, h.train_loss]) }],
  };
  const body = [
    '<h1>CRATE-MAE on Fashion-MNIST</h1>',
    prose(
      `A masked autoencoder: the encoder is a ${c.layers}-layer CRATE (MSSA + ISTA, λ = ${c.lambda}) that sees ${Math.round((1 - c.maskRatio) * 100)}% of each image's ${c.patch}×${c.patch} patches; the decoder mirrors it, each layer a linear map g = D·LN(x) followed by x = g − MSSA(LN(g)). ` +
        `Trained on ${c.trainImages || 60000} images for ${c.epochs} epoch(s); the error is the mean squared error per pixel on the hidden patches, in normalised pixel units, over ${c.evalImages} test images. Wall time on a machine shared with other jobs.`,
    ),
    `<div class="cards">${card('masked-patch MSE', formatFixed(r.test_mse_masked, 4), `predicting the mean image: ${formatFixed(r.baseline_mse_masked, 4)}`)}${card('parameters', formatCount(r.params))}${card('wall time', formatSeconds(r.seconds), `${r.steps} steps`)}</div>`,
    section('reconstructions', 'Reconstructions', `${prose('Each row: a test image, what the encoder saw, and the visible patches with the predicted hidden ones.')}${rows.join('\n')}`),
    section('training', 'Training', figure(chartSvg(loss, { width: 1060, height: 260, label: 'training loss' }), 'Masked-patch MSE on training batches (every 10th step).')),
    section('config', 'Configuration', factsTable(Object.entries(c).map(([k, v]) => [k, formatValue(v)]))),
    `<footer>glassbox ${escapeHtml(r.glassbox_version)} · ${escapeHtml(r.run_dir)} · a self-contained page: no scripts, nothing fetched.</footer>`,
  ].join('\n');
  return page({ title: 'glassbox · CRATE-MAE', body, css: '.cards { display: flex; gap: 12px; } .mae-row { display: flex; gap: 12px; margin: 8px 0; } .mae-row figure { margin: 0; font-size: 12px; text-align: center; } .mae-row svg { border: 1px solid #ddd; display: block; }' });
}
