import test from 'node:test';
import assert from 'node:assert/strict';
import {
  escapeHtml, raw, render, table, factsTable, page, chartSvg, formatNumber, formatCount, formatSeconds, formatPercent, formatFixed, groupThousands, contentHash,
} from '../../src/report/html.js';

test('escapeHtml escapes the five special characters', () => {
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  assert.equal(render(raw('<b>ok</b>')), '<b>ok</b>');
  assert.equal(render('<b>'), '&lt;b&gt;');
  assert.equal(render(null), '');
  assert.equal(render(1234567), '1,234,567');
});

test('tables escape cells and align numeric columns', () => {
  const html = table(['name', 'n'], [['<x>', 3], [raw('<i>y</i>'), 4.5]], { numeric: [1], rowClass: (i) => (i === 1 ? 'bad' : undefined) });
  assert.ok(html.includes('<td>&lt;x&gt;</td><td class="num">3</td>'));
  assert.ok(html.includes('<tr class="bad"><td><i>y</i></td>'));
  assert.ok(factsTable([['k', '<v>']]).includes('<th scope="row">k</th><td>&lt;v&gt;</td>'));
});

test('number formatting is locale-free', () => {
  assert.equal(groupThousands('68200000'), '68,200,000');
  assert.equal(formatNumber(1.31576), '1.316');
  assert.equal(formatNumber(0.00001234), '1.234e-5');
  assert.equal(formatCount(68_200_000), '68.2M');
  assert.equal(formatCount(950), '950');
  assert.equal(formatSeconds(42.31), '42.3 s');
  assert.equal(formatSeconds(425), '7 min 05 s');
  assert.equal(formatSeconds(3720), '1 h 02 min');
  assert.equal(formatPercent(0.99634), '99.63%');
  assert.equal(formatFixed(undefined, 2), '–');
});

test('chartSvg renders ECharts to inline SVG, deterministic and without namespaces or hydration attributes', () => {
  const option = {
    xAxis: { type: 'value' as const }, yAxis: { type: 'value' as const },
    series: [{ type: 'line' as const, data: [[0, 1], [1, 2], [2, 1.5]], markLine: { data: [{ yAxis: 1.2 }] } }],
  };
  const a = chartSvg(option, { width: 400, height: 240, label: 'a <test>' });
  const b = chartSvg(option, { width: 400, height: 240, label: 'a <test>' });
  assert.equal(a, b);
  assert.ok(a.startsWith('<svg class="chart" role="img" aria-label="a &lt;test&gt;" '));
  assert.ok(a.endsWith('</svg>'));
  assert.ok(!a.includes('http'));
  assert.ok(!a.includes('ecmeta_'));
  assert.match(a, /<path d="M/);
  assert.equal(contentHash('abc'), contentHash('abc'));
  assert.notEqual(contentHash('abc'), contentHash('abd'));
});

test('page wraps a body with inline CSS and no scripts', () => {
  const html = page({ title: 'T <1>', body: '<p>hi</p>', css: '.x{}' });
  assert.ok(html.includes('<title>T &lt;1&gt;</title>'));
  assert.ok(html.includes('<meta charset="utf-8">'));
  assert.ok(html.includes('.x{}</style>'));
  assert.ok(!html.includes('<script'));
});
