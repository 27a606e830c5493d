/**
 * `ratefetch report --html`: the report as one self-contained page that opens from file:// with
 * no network: uPlot and its CSS inlined, the data as JSON in the page, three charts (requests per
 * second against the rate found with 429s and pauses marked, latency percentiles, answers by
 * class) and a table of the failures. The series are per second, bucketed when a long run would
 * give more points than a chart is pixels wide, so the page stays small whatever the run's size.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createRedactor } from '../record/redact.js';
import { formatDuration, formatLimit, toOneLine } from '../text.js';
import { buildChartData } from './report-chart-data.js';
import type { ResultsReport } from './results-report.js';
import type { StatsJson } from './stats-json.js';
import { formatBreakdown, formatCount, formatLatency, formatPercent, sortedEntries } from './summary.js';

const MESSAGE_CHARS = 300;

/** The report as one HTML page; `stats` (the run's --stats-file) adds answers by class, 429s, the rate found and the pauses. */
export function renderHtmlReport(report: ResultsReport, options: { files: readonly string[]; stats?: StatsJson }): string {
  const redact = createRedactor();
  const { stats } = options;
  const chart = buildChartData(report, stats);
  const { js, css, license } = readUplot();
  const span =
    report.startedAt === null || report.endedAt === null
      ? 'nothing was sent'
      : `${utc(report.startedAt)} → ${utc(report.endedAt).slice(11)} UTC (${formatDuration(report.endedAt - report.startedAt)})`;
  const rows: Array<[string, string]> = [
    ['records', `${formatCount(report.records)} records, ${formatCount(report.inputs)} inputs`],
    ['ran', `${span}${report.achievedRps === null ? '' : `, ${report.achievedRps.toFixed(1)} req/s achieved`}`],
    ['ok', `${formatCount(report.ok)}${report.successRate === null ? '' : ` (${formatPercent(report.successRate)} success rate)`}`],
    ['failed', report.failed === 0 ? '0' : `${formatCount(report.failed)} · by code: ${formatBreakdown(report.failedByCode)}`],
    [
      'attempts',
      `${formatCount(report.attempts)} · retries ${formatCount(report.retries)}${report.run === undefined ? '' : ` · 429 received: ${formatCount(report.run.received429)}`}`,
    ],
    ['latency', `p50 ${formatLatency(report.latencyMs.p50)} · p95 ${formatLatency(report.latencyMs.p95)} · p99 ${formatLatency(report.latencyMs.p99)}`],
    ...(report.run?.laneRates ?? []).map((lane): [string, string] => [
      'rate found',
      `${lane.found ? 'settled at' : 'held at'} ${formatLimit(lane.settledRps)} for ${redact.text(lane.lane)}`,
    ]),
  ];
  const pauses = report.run?.pauseTimeline ?? [];
  if (pauses.length > 0) {
    const pausedMs = pauses.reduce((sum, pause) => sum + pause.forMs, 0);
    rows.push([
      'pauses',
      `${formatCount(pauses.length)}, ${formatDuration(pausedMs)} in all (${redact.text(pauses[0]!.reason)}${pauses.length > 1 ? ', …' : ''})`,
    ]);
  }
  const every = chart.bucketS === 1 ? 'per second' : `per second, averaged over ${formatDuration(chart.bucketS * 1000)}`;
  const charts =
    chart.t.length === 0
      ? '<p>No request was sent: nothing to chart.</p>'
      : `<h2>Requests ${every}</h2>
<p class="key">The dashed line is the rate found; <span class="dot"></span> 429 answers per second; <span class="band"></span> a host paused (Retry-After or backoff).</p>
<div id="chart-rate"></div>
<h2>Latency ${chart.bucketS === 1 ? 'per second' : `per ${formatDuration(chart.bucketS * 1000)} (the slowest second in each)`}</h2>
<p class="key">p50, p95 and p99 of the records that started in each second, start to last byte of their last attempt.</p>
<div id="chart-latency"></div>
<h2>Answers by class ${every}</h2>
<p class="key">${(stats?.perSecond ?? []).length === 0 ? 'Records ok and failed, by the second they started (the --stats file would give answers by status class).' : 'Answers by status class as they came; failed: no answer (a timeout, a reset).'}${chart.answers.length > 1 ? ' Successes against the left axis, the rest against the right.' : ''}</p>
<div id="chart-answers"></div>`;
  const failures = sortedEntries(report.failedByCode)
    .map(([code, count]) => {
      const messages = (report.failureExamples[code] ?? []).map((message) => `<li>${escapeHtml(toOneLine(redact.text(message), MESSAGE_CHARS))}</li>`);
      return `<tr><td><code>${escapeHtml(code)}</code></td><td class="n">${formatCount(count)}</td><td><ul>${messages.join('')}</ul></td></tr>`;
    })
    .join('\n');
  const byStatus = Object.keys(report.failedByStatus).length > 0 ? `<p>By status: ${escapeHtml(formatBreakdown(report.failedByStatus))}</p>` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ratefetch report: ${escapeHtml(options.files.join(', '))}</title>
<style>${inlineable(css, 'style')}
${PAGE_CSS}</style>
</head>
<body>
<h1>ratefetch report</h1>
<p class="files">${escapeHtml(options.files.join(', '))}</p>
<dl>${rows.map(([name, value]) => `<dt>${escapeHtml(name)}</dt><dd>${escapeHtml(value)}</dd>`).join('')}</dl>
${charts}
<h2>Failures</h2>
${failures === '' ? '<p>None: every input ended ok.</p>' : `<table class="failures"><thead><tr><th>code</th><th>inputs</th><th>examples (redacted)</th></tr></thead><tbody>\n${failures}\n</tbody></table>`}
${byStatus}
<footer>Made by <code>ratefetch report --html</code>. Times are UTC. Charts by uPlot (MIT licence, inlined below).</footer>
<script type="application/json" id="report-data">${JSON.stringify(chart).replace(/</g, '\\u003c')}</script>
<script>/*\n${license.replace(/\*\//g, '* /')}*/\n${inlineable(js, 'script')}</script>
<script>${DRAW_CHARTS}</script>
</body>
</html>
`;
}

let uplot: { js: string; css: string; license: string } | undefined;

/** uPlot's minified build, its CSS and licence, read from the installed package once. */
function readUplot(): { js: string; css: string; license: string } {
  if (uplot === undefined) {
    const require = createRequire(import.meta.url);
    const read = (path: string) => readFileSync(require.resolve(`uplot/${path}`), 'utf8');
    uplot = { js: read('dist/uPlot.iife.min.js'), css: read('dist/uPlot.min.css'), license: read('LICENSE') };
  }
  return uplot;
}

/** Code inlined in a <script> or <style> must not close it early: `<\/script` means the same in a JS string or regex. */
function inlineable(code: string, tag: 'script' | 'style'): string {
  return code.replace(new RegExp(`</(${tag})`, 'gi'), '<\\/$1');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function utc(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}

const PAGE_CSS = `
:root { color-scheme: light; font: 15px/1.45 system-ui, sans-serif; color: #1f2328; background: #fff; }
body { max-width: 1140px; margin: 24px auto; padding: 0 20px; }
h1 { font-size: 1.5em; margin: 0; } h2 { font-size: 1.1em; margin: 28px 0 4px; }
.files { color: #59636e; margin: 2px 0 12px; word-break: break-all; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dt { color: #59636e; } dd { margin: 0; }
.key { color: #59636e; margin: 0 0 6px; font-size: 0.9em; }
.dot { display: inline-block; width: 9px; height: 9px; border-radius: 50%; background: #d1242f; }
.band { display: inline-block; width: 14px; height: 10px; background: rgba(130, 80, 223, 0.18); border: 1px solid rgba(130, 80, 223, 0.4); }
/* .failures, not table: uPlot's legend is a table too. */
.failures { border-collapse: collapse; width: 100%; }
.failures th, .failures td { text-align: left; vertical-align: top; padding: 4px 8px; border-bottom: 1px solid #d1d9e0; }
.failures th:nth-child(-n + 2) { width: 1%; white-space: nowrap; } .failures td.n { text-align: right; }
.failures ul { margin: 0; padding-left: 18px; } .failures li { word-break: break-all; }
footer { margin-top: 28px; color: #59636e; font-size: 0.85em; }`;

/** The page's own script: reads the JSON above and draws the three charts. Plain ES2020 for any browser. */
const DRAW_CHARTS = `(() => {
  const d = JSON.parse(document.getElementById('report-data').textContent);
  if (d.t.length === 0) return;
  const width = () => Math.max(320, Math.min(document.body.clientWidth, 1100));
  const utc = (s) => uPlot.tzDate(new Date(s * 1e3), 'Etc/UTC');
  const pad = (n) => String(n).padStart(2, '0');
  const longRun = d.t[d.t.length - 1] - d.t[0] > 86400;
  const clock = (u, splits, axis, space, step) => splits.map((s) => {
    const t = new Date(s * 1e3);
    const day = pad(t.getUTCMonth() + 1) + '-' + pad(t.getUTCDate());
    const hm = pad(t.getUTCHours()) + ':' + pad(t.getUTCMinutes());
    return step >= 86400 ? day : step < 60 ? hm + ':' + pad(t.getUTCSeconds()) : longRun ? day + ' ' + hm : hm;
  });
  // A count per second holds for the whole second (or bucket): drawn as steps, not slopes.
  const steps = uPlot.paths.stepped({ align: 1 });
  const line = (label, stroke, values, extra) => ({
    series: { label, stroke, width: 1.5, ...(extra && extra.paths === steps ? { points: { show: false } } : {}), ...extra },
    values,
  });
  const shadePauses = (u) => {
    const { ctx, bbox } = u;
    ctx.save();
    ctx.fillStyle = 'rgba(130, 80, 223, 0.18)';
    for (const [from, to] of d.pauses) {
      const x0 = Math.max(bbox.left, u.valToPos(from, 'x', true));
      const x1 = Math.min(bbox.left + bbox.width, u.valToPos(to, 'x', true));
      if (x1 > x0 - 1) ctx.fillRect(x0, bbox.top, Math.max(2, x1 - x0), bbox.height);
    }
    ctx.restore();
  };
  // Each bucket's 429s as a dot in its middle: uPlot would put it on the bucket's left edge, where the steps begin.
  const markRefusals = (u) => {
    const { ctx } = u;
    ctx.save();
    ctx.fillStyle = '#d1242f';
    d.refused.forEach((n, i) => {
      if (n === null) return;
      ctx.beginPath();
      ctx.arc(u.valToPos(d.t[i] + d.bucketS / 2, 'x', true), u.valToPos(n, 'y', true), 3.5 * devicePixelRatio, 0, 2 * Math.PI);
      ctx.fill();
    });
    ctx.restore();
  };
  // One more x at the end of the last bucket, so its step has a width; steps repeat their last value there.
  const x = [...d.t, d.t[d.t.length - 1] + d.bucketS];
  const close = (l) => l.values.concat(l.series.paths === steps ? [l.values[l.values.length - 1]] : [null]);
  const fromZero = { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] };
  const draw = (id, lines, yAxes, hooks) =>
    new uPlot({
      // A chart without a right axis keeps its room, so the three time axes line up.
      width: width(), height: 260, tzDate: utc, hooks, legend: { live: false }, padding: [12, yAxes.some((axis) => axis.side === 1) ? 16 : 106, 0, 0],
      series: [{ label: 'time (UTC)' }, ...lines.map((l) => l.series)],
      axes: [{ values: clock }, ...yAxes.map((axis) => ({ scale: 'y', size: 60, ...axis }))],
      scales: Object.fromEntries(yAxes.map((axis) => [axis.scale || 'y', fromZero])),
    }, [x, ...lines.map(close)], document.getElementById(id));
  const colours = { '2xx': '#1a7f37', ok: '#1a7f37', '3xx': '#0969da', '4xx': '#9a6700', '5xx': '#d1242f', failed: '#59636e' };
  // Errors are few beside the successes as a rule: on an axis of their own they still show.
  const good = d.answers.filter((a) => a.name === '2xx' || a.name === 'ok');
  const rest = d.answers.filter((a) => !good.includes(a));
  const answer = (a, scale) => line(a.name, colours[a.name], a.perS, { paths: steps, scale });
  const laneColours = ['#1a7f37', '#9a6700', '#0969da', '#bf3989'];
  const charts = [
    draw('chart-rate', [
      line('started/s', '#0969da', d.starts, { fill: 'rgba(9, 105, 218, 0.08)', paths: steps }),
      ...d.lanes.map((lane, i) => line('rate found: ' + lane.name, laneColours[i % 4], lane.rps, { dash: [6, 4], width: 2, paths: steps })),
      // Drawn by markRefusals; the series keeps them in the legend and the y range.
      line('429s/s', '#d1242f', d.refused, { paths: () => null, points: { show: false } }),
    ], [{ label: 'requests/s' }], { drawClear: [shadePauses], draw: [markRefusals] }),
    draw('chart-latency', [
      line('p50', '#1a7f37', d.latency.p50), line('p95', '#9a6700', d.latency.p95), line('p99', '#d1242f', d.latency.p99),
    ], [{ label: 'ms' }]),
    draw('chart-answers', [...good.map((a) => answer(a, 'y')), ...rest.map((a) => answer(a, 'rest'))], [
      { label: good.map((a) => a.name).join(', ') + ' per second' },
      ...(rest.length === 0 ? [] : [{ scale: 'rest', side: 1, grid: { show: false }, label: rest.map((a) => a.name).join(', ') + ' per second' }]),
    ]),
  ];
  addEventListener('resize', () => charts.forEach((c) => c.setSize({ width: width(), height: 260 })));
})();`;
