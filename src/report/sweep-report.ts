// report.html for a sweep: the counts, the best configs, every job's row, and
// each swept setting plotted against the metric. It renders sweep.json only.

import type { SweepState, SweepJobRecord } from '../sweep/state.js';
import { rankJobs, countJobs } from '../sweep/state.js';
import { page, section, figure, prose, table, card, chartSvg, escapeHtml, formatNumber, formatSeconds, formatValue, raw, type ChartOption, type Content } from './html.js';

function sweptKeys(state: SweepState): string[] {
  const keys: string[] = [];
  for (const j of state.jobs) for (const k of Object.keys(j.swept)) if (!keys.includes(k)) keys.push(k);
  return keys;
}

function metricText(v: number | null | undefined): string {
  return v === null || v === undefined ? '—' : formatNumber(v, 6);
}

function jobRow(j: SweepJobRecord, keys: string[], record: string[]): Content[] {
  return [
    j.id,
    ...keys.map((k) => j.swept[k] ?? ''),
    j.state,
    metricText(j.result?.metric),
    ...record.map((p) => formatValue(j.result?.values[p] ?? '')),
    j.attempts + (j.state === 'done' ? 1 : 0),
    j.result ? formatSeconds(j.result.seconds) : '',
    j.error ?? (j.result?.resumedFrom ? 'resumed from a checkpoint' : ''),
  ];
}

/** One chart per swept setting: its value (numeric axis when every value is a number) against the metric. */
function settingChart(state: SweepState, key: string): string {
  const done = state.jobs.filter((j) => j.state === 'done' && j.result?.metric !== null && j.result?.metric !== undefined);
  const values = done.map((j) => j.swept[key]);
  const numeric = values.every((v) => v !== undefined && v.trim() !== '' && Number.isFinite(Number(v)));
  const cats = numeric ? [] : [...new Set(values)];
  const option: ChartOption = {
    grid: { left: 70, right: 24, top: 24, bottom: 48 },
    xAxis: numeric ? { type: 'value', name: key, nameLocation: 'middle', nameGap: 28, scale: true } : { type: 'category', name: key, nameLocation: 'middle', nameGap: 28, data: cats },
    yAxis: { type: 'value', name: state.metric, scale: true },
    series: [{ type: 'scatter', symbolSize: 7, color: '#3b5bdb', data: done.map((j) => [numeric ? Number(j.swept[key]) : cats.indexOf(j.swept[key]), j.result!.metric as number]) }],
  };
  return figure(chartSvg(option, { width: 520, height: 260, label: `${state.metric} against ${key}` }), `${state.metric} against ${key}, one point per finished job.`);
}

export function renderSweepReport(state: SweepState): string {
  const keys = sweptKeys(state);
  const record = state.spec.record ?? [];
  const c = countJobs(state);
  const ranked = rankJobs(state);
  const best = ranked[0];
  const head = ['job', ...keys, 'state', state.metric, ...record, 'attempts', 'time', 'note'];
  const numeric = [keys.length + 2, keys.length + 3 + record.length, keys.length + 4 + record.length];
  const top = ranked.slice(0, 5);
  const failed = state.jobs.filter((j) => j.state === 'failed');
  const body = [
    `<h1>Sweep of ${escapeHtml(state.experiment)}</h1>`,
    prose(
      raw(`${state.jobs.length} configs of the ${escapeHtml(state.experiment)} experiment (preset ${escapeHtml(state.preset)}), swept over ${keys.map((k) => `<code>${escapeHtml(k)}</code>`).join(', ') || 'nothing'}; ` +
        `ranked by <code>${escapeHtml(state.metric)}</code> (${state.goal === 'max' ? 'higher' : 'lower'} is better). Jobs ran ${state.mode.kind === 'local' ? `in ${state.mode.workers} local process(es)` : `through the Redis queue ${escapeHtml(state.mode.queue)}`}; times are wall times on whatever machine ran each job.`),
    ),
    `<div class="cards">${card('jobs', String(c.total))}${card('done', String(c.done), undefined, c.done === c.total ? 'good' : undefined)}${card('failed', String(c.failed), undefined, c.failed > 0 ? 'bad' : undefined)}${card(`best ${state.metric}`, metricText(best?.result?.metric), best ? `job ${best.id}` : 'no finished job')}</div>`,
    section('best', 'Best configs', top.length ? table(['rank', 'job', ...keys, state.metric], top.map((j, i) => [i + 1, j.id, ...keys.map((k) => j.swept[k] ?? ''), metricText(j.result?.metric)]), { numeric: [0, keys.length + 2] }) : prose('No job has finished yet.')),
    section('plots', 'Swept settings against the metric', keys.length && ranked.length ? `<div class="small-multiples">${keys.map((k) => settingChart(state, k)).join('\n')}</div>` : prose('Nothing to plot yet.')),
    section('jobs', 'Every job', `<div class="scroll">${table(head, state.jobs.map((j) => jobRow(j, keys, record)), { numeric, rowClass: (i) => (state.jobs[i].state === 'failed' ? 'bad' : undefined) })}</div>`),
    failed.length ? section('failed', 'Failed jobs', table(['job', 'attempts', 'errors'], failed.map((j) => [j.id, j.attempts, j.errors.join(' | ')]))) : '',
    `<footer>glassbox ${escapeHtml(state.glassbox_version)} · sweep ${escapeHtml(state.sweep_id)} · updated ${escapeHtml(state.updated)} · a self-contained page: no scripts, nothing fetched.</footer>`,
  ].join('\n');
  return page({ title: `glassbox · sweep of ${state.experiment}`, body });
}
