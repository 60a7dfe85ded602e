import test from 'node:test';
import assert from 'node:assert/strict';
import { renderAdditionReport } from '../../src/report/addition-report.js';
import { sampleResult } from './sample-result.js';

function svgs(html: string): string[] {
  return html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
}

test('the report is one self-contained HTML file with an SVG per chart', () => {
  const r = sampleResult({ layers: 2, heads: 4 });
  const html = renderAdditionReport(r);
  assert.ok(html.startsWith('<!doctype html>'));
  assert.ok(html.trimEnd().endsWith('</html>'));
  // loss, loss gap, exact match, compression, per position, and one heatmap per head
  const charts = svgs(html);
  assert.equal(charts.length, 5 + 2 * 4);
  for (const id of ['loss', 'exact-match', 'compression', 'per-position', 'attention', 'carry']) {
    assert.match(html, new RegExp(`<section id="${id}">`));
  }
  for (const heading of ['Loss', 'Exact match', 'The compression view', 'Attention', 'Carry cases']) assert.ok(html.includes(`<h2>${heading}`), heading);
});

test('nothing is fetched: no scripts, no external links, styles or fonts', () => {
  const html = renderAdditionReport(sampleResult());
  assert.ok(!/<script/i.test(html), 'no script element');
  assert.ok(!/<link/i.test(html), 'no link element');
  assert.ok(!/(src|href)\s*=\s*["']?(https?:)?\/\//i.test(html), 'no remote src/href');
  assert.ok(!/@import|url\(\s*["']?(https?:)?\/\//i.test(html), 'no remote CSS');
  assert.ok(!/https?:\/\//i.test(html), 'no URL at all');
});

test('text from the result is escaped', () => {
  const r = sampleResult();
  r.config.note = '<script>alert("x")</script> & co';
  r.run_dir = 'runs/<b>odd</b>';
  r.carry_cases[0]!.name = '<img src=x onerror=alert(1)>';
  const html = renderAdditionReport(r);
  assert.ok(!html.includes('<script>alert'));
  assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co'));
  assert.ok(html.includes('runs/&lt;b&gt;odd&lt;/b&gt;'));
  assert.ok(!html.includes('<img'));
});

test('the numbers a reader looks for are on the page', () => {
  const r = sampleResult({ digits: 8 });
  const html = renderAdditionReport(r);
  assert.ok(html.includes('99.67%'), 'held-out exact match');
  assert.ok(html.includes(r.loss_floor.toFixed(4)), 'the floor');
  assert.ok(html.includes('53.15 bits per problem'), 'floor bits per problem, k = 8');
  assert.ok(html.includes('most-significant digit first'));
  assert.ok(html.includes('uniform: every operand digit'));
  assert.ok(html.includes('class="digit-wrong"'), 'the wrong carry digit is marked');
  assert.ok(html.includes('a1') && html.includes('c9'), 'position labels');
  assert.ok(html.includes('aleatoric') && html.includes('epistemic'));
});

test('rendering is deterministic: the same result gives the same bytes, and chart class names never clash', () => {
  const r = sampleResult();
  const a = renderAdditionReport(r);
  const b = renderAdditionReport(r);
  assert.equal(a, b);
  const prefixes = new Set<string>();
  for (const svg of svgs(a)) {
    const m = svg.match(/class="(c[0-9a-z]+-)cls-/);
    if (m) prefixes.add(m[1]!);
    assert.ok(!/zr\d+-/.test(svg));
  }
});

test('a result without evaluations or attention still renders', () => {
  const r = sampleResult();
  r.history = r.history.map(({ eval_loss: _e, exact_match: _x, ...p }) => p);
  r.attention = { tokens: [], layers: [] };
  r.carry_cases = [];
  r.steps_to_99 = null;
  r.tokens_to_99 = null;
  const html = renderAdditionReport(r);
  assert.ok(html.includes('No attention patterns were recorded'));
  assert.ok(html.includes('did not reach 99%'));
  assert.ok(html.includes('not reached'));
});
