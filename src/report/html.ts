// Building blocks for glassbox's self-contained HTML reports: escaping, a page
// shell with inline CSS, tables, and charts rendered on the server by Apache
// ECharts into inline SVG. A report is one file with no scripts and no network
// references, so it opens offline and can be mailed or archived as is.
//
// Reports only render: they take a result object and lay it out. Anything
// worth computing belongs in the experiment that produced the result.

import { createRequire } from 'node:module';
import type * as ECharts from 'echarts';

export type ChartOption = ECharts.EChartsOption;

// ------------------------------------------------------------------ escaping

/** Escapes text for use in HTML content and in quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** A fragment of trusted HTML, passed through without escaping. */
export class Html {
  constructor(readonly html: string) {}
  toString(): string {
    return this.html;
  }
}

/** Marks a string as trusted HTML. Only for markup this code built itself. */
export function raw(html: string): Html {
  return new Html(html);
}

/** A table cell or inline value: text (escaped), a number (formatted), or trusted HTML. */
export type Content = string | number | boolean | null | undefined | Html;

/** Renders a value as HTML: Html as is, numbers formatted, everything else escaped. */
export function render(c: Content): string {
  if (c instanceof Html) return c.html;
  if (c === null || c === undefined) return '';
  if (typeof c === 'number') return escapeHtml(formatNumber(c));
  return escapeHtml(c);
}

// ------------------------------------------------------------------ numbers

/** Groups thousands with thin commas, deterministically (no locale). */
export function groupThousands(intText: string): string {
  return intText.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A number for people: integers grouped, others to `digits` significant places. */
export function formatNumber(x: number, digits = 4): string {
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return groupThousands(String(x));
  const abs = Math.abs(x);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e15)) return x.toExponential(digits - 1);
  return String(Number(x.toPrecision(digits)));
}

/** Fixed decimals, e.g. a loss: formatFixed(1.31576, 4) = "1.3158". */
export function formatFixed(x: number | null | undefined, decimals: number): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  return x.toFixed(decimals);
}

/** 0.9963 → "99.63%". */
export function formatPercent(x: number | null | undefined, decimals = 2): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  return `${(x * 100).toFixed(decimals)}%`;
}

/** A count with an SI suffix: 68_200_000 → "68.2M". */
export function formatCount(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  const abs = Math.abs(x);
  const units: Array<[number, string]> = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [scale, suffix] of units) {
    if (abs >= scale) return `${Number((x / scale).toPrecision(3))}${suffix}`;
  }
  return String(Number(x.toPrecision(3)));
}

/** Seconds for people: 42.3 s, 7 min 05 s, 1 h 02 min. */
export function formatSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return '–';
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const total = Math.round(s);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} min`;
  return `${m} min ${String(sec).padStart(2, '0')} s`;
}

/** Any JSON-ish value as short text for a config table. */
export function formatValue(v: unknown): string {
  if (typeof v === 'number') return formatNumber(v, 6);
  if (typeof v === 'string') return v;
  if (v === undefined) return '';
  return JSON.stringify(v);
}

// ------------------------------------------------------------------- blocks

export interface TableOptions {
  className?: string;
  caption?: Content;
  /** Columns (0-based) to right-align, e.g. numbers. */
  numeric?: number[];
  /** A class per row (e.g. 'bad' to highlight a failure). */
  rowClass?: (row: number) => string | undefined;
}

/** An HTML table; cells are escaped unless they are Html. */
export function table(headers: Content[], rows: Content[][], opts: TableOptions = {}): string {
  const num = new Set(opts.numeric ?? []);
  const cls = (i: number) => (num.has(i) ? ' class="num"' : '');
  const head = `<thead><tr>${headers.map((h, i) => `<th${cls(i)}>${render(h)}</th>`).join('')}</tr></thead>`;
  const body = rows
    .map((r, ri) => {
      const rc = opts.rowClass?.(ri);
      return `<tr${rc ? ` class="${escapeHtml(rc)}"` : ''}>${r.map((c, i) => `<td${cls(i)}>${render(c)}</td>`).join('')}</tr>`;
    })
    .join('\n');
  const caption = opts.caption !== undefined ? `<caption>${render(opts.caption)}</caption>` : '';
  return `<table${opts.className ? ` class="${escapeHtml(opts.className)}"` : ''}>${caption}${head}<tbody>\n${body}\n</tbody></table>`;
}

/** A two-column table of facts. */
export function factsTable(entries: Array<[Content, Content]>, className = 'facts'): string {
  const rows = entries.map(([k, v]) => `<tr><th scope="row">${render(k)}</th><td>${render(v)}</td></tr>`).join('\n');
  return `<table class="${escapeHtml(className)}"><tbody>\n${rows}\n</tbody></table>`;
}

/** One headline number with a label and a note. */
export function card(label: Content, value: Content, note?: Content, tone?: 'good' | 'bad'): string {
  return `<div class="card${tone ? ` ${tone}` : ''}"><div class="label">${render(label)}</div><div class="value">${render(value)}</div>${
    note !== undefined ? `<div class="note">${render(note)}</div>` : ''
  }</div>`;
}

/** A titled section with an anchor. */
export function section(id: string, title: Content, body: string): string {
  return `<section id="${escapeHtml(id)}">\n<h2>${render(title)}</h2>\n${body}\n</section>`;
}

/** A chart (or any block) with a caption under it. */
export function figure(content: string, caption?: Content): string {
  return `<figure>${content}${caption !== undefined ? `<figcaption>${render(caption)}</figcaption>` : ''}</figure>`;
}

/** Paragraphs of text; each item is escaped unless it is Html. */
export function prose(...paragraphs: Content[]): string {
  return paragraphs.map((p) => `<p>${render(p)}</p>`).join('\n');
}

// ------------------------------------------------------------------- charts

let echartsModule: typeof ECharts | undefined;

/** ECharts, loaded on first use (its CommonJS bundle loads in a fraction of the time of its ES modules). */
function echarts(): typeof ECharts {
  echartsModule ??= createRequire(import.meta.url)('echarts') as typeof ECharts;
  return echartsModule;
}

/** A small stable hash (FNV-1a, 32-bit) for naming things after their content. */
export function contentHash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(36);
}

export interface ChartSize {
  width: number;
  height: number;
  /** Read by screen readers. */
  label?: string;
}

/**
 * Renders an ECharts option to inline SVG on the server. The SVG is made
 * fit for inlining in a page: no animation, no hover styles, no hydration
 * attributes, no namespace URLs, and class names derived from the chart's
 * content, so the same chart gives the same bytes and two charts never clash.
 */
export function chartSvg(option: ChartOption, size: ChartSize): string {
  const series = option.series === undefined ? [] : Array.isArray(option.series) ? option.series : [option.series];
  const staticOption: ChartOption = {
    animation: false,
    textStyle: { fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif' },
    ...option,
    series: series.map((s) => ({ silent: true, ...s })) as ChartOption['series'],
  };
  const chart = echarts().init(null, null, { renderer: 'svg', ssr: true, width: size.width, height: size.height });
  let svg: string;
  try {
    chart.setOption(staticOption);
    svg = chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
  svg = svg
    .replace(/ xmlns(:xlink)?="[^"]*"/g, '')
    .replace(/ ecmeta_[a-z_]+="[^"]*"/g, '')
    .replace(/<style\s*>\s*<!\[CDATA\[\s*\]\]>\s*<\/style>/g, '');
  // zrender numbers ids and classes per process (zr3-c0, zr3-cls-57): renumber
  // them from 0 within this chart, then prefix them with a hash of the chart.
  const seen = new Map<string, number>();
  const counts = new Map<string, number>();
  svg = svg.replace(/zr\d+-([a-z]+-?)(\d+)/g, (_m, kind: string, n: string) => {
    const key = kind + n;
    let i = seen.get(key);
    if (i === undefined) {
      i = counts.get(kind) ?? 0;
      counts.set(kind, i + 1);
      seen.set(key, i);
    }
    return `@ID@${kind}${i}`;
  });
  const prefix = `c${contentHash(svg)}-`;
  svg = svg.replace(/@ID@/g, prefix);
  const label = size.label ? ` role="img" aria-label="${escapeHtml(size.label)}"` : '';
  return svg.replace(/^<svg /, `<svg class="chart"${label} `);
}

// --------------------------------------------------------------------- page

const BASE_CSS = `
:root { --fg: #1d2330; --muted: #5b6475; --line: #dde2ea; --bg: #ffffff; --panel: #f6f8fb; --accent: #3b5bdb; --good: #2b8a3e; --bad: #c92a2a; }
* { box-sizing: border-box; }
html { background: var(--bg); }
body { margin: 0; color: var(--fg); font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 28px 28px 64px; }
header h1 { font-size: 28px; margin: 0 0 4px; letter-spacing: -0.01em; }
header .lede { color: var(--muted); margin: 0 0 20px; font-size: 16px; max-width: 900px; }
h2 { font-size: 21px; margin: 40px 0 10px; padding-top: 12px; border-top: 1px solid var(--line); }
h3 { font-size: 16px; margin: 22px 0 8px; }
p { max-width: 900px; margin: 8px 0; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 0.92em; }
nav.toc { display: flex; flex-wrap: wrap; gap: 6px 18px; margin: 18px 0 4px; font-size: 14px; }
nav.toc a { color: var(--accent); text-decoration: none; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(138px, 1fr)); gap: 12px; margin: 16px 0; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em; }
.card .value { font-size: 20px; white-space: nowrap; font-weight: 600; font-variant-numeric: tabular-nums; margin-top: 2px; }
.card .note { color: var(--muted); font-size: 12.5px; }
.card.good .value { color: var(--good); }
.card.bad .value { color: var(--bad); }
table { border-collapse: collapse; margin: 10px 0; font-size: 13.5px; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { background: var(--panel); font-weight: 600; border-bottom: 1px solid #c7cedb; }
td.num, th.num { text-align: right; }
table.facts th { font-weight: 500; color: var(--muted); white-space: nowrap; }
caption { text-align: left; color: var(--muted); padding: 4px 0; caption-side: top; }
tr.bad td { background: #fff5f5; }
.ok { color: var(--good); font-weight: 600; }
.ko, .digit-wrong { color: var(--bad); font-weight: 700; }
.two-col { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 24px; align-items: start; }
figure { margin: 12px 0; }
figcaption { color: var(--muted); font-size: 13px; max-width: 900px; }
svg.chart { display: block; max-width: 100%; height: auto; }
details { margin: 10px 0; }
summary { cursor: pointer; color: var(--accent); }
.small-multiples { display: flex; flex-wrap: wrap; gap: 8px 14px; }
.small-multiples figure { margin: 0; }
.legend-bar { display: inline-block; width: 140px; height: 10px; vertical-align: middle; border: 1px solid var(--line); }
.scroll { overflow-x: auto; }
footer { margin-top: 48px; color: var(--muted); font-size: 12.5px; border-top: 1px solid var(--line); padding-top: 10px; }
@media print { h2 { break-before: auto; } section { break-inside: avoid-page; } }
`;

export interface PageOptions {
  title: string;
  body: string;
  /** CSS for this report only, appended to the shared sheet. */
  css?: string;
}

/** A whole HTML document: inline CSS, no scripts, nothing fetched. */
export function page(opts: PageOptions): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="glassbox">
<title>${escapeHtml(opts.title)}</title>
<style>${BASE_CSS}${opts.css ?? ''}</style>
</head>
<body>
<main>
${opts.body}
</main>
</body>
</html>
`;
}
