/**
 * A run's rate over time against the server's limit, as an SVG: `npm run simulate -- --chart`
 * draws it for docs/rate-control.md. Pure: the run's figures in, the SVG text out.
 *
 *   grey bars    requests the server accepted in each second (faults included)
 *   blue line    the pace the rate controller set (none while it stands aside)
 *   dashed line  the server's limit
 *   red ticks    refusals (429)
 */

export interface RateChartData {
  title: string;
  subtitle: string;
  /** Seconds from the run's start to its last record. */
  spanS: number;
  /** The server's limit as steps: from `t` seconds on, `rps`. */
  limit: ReadonlyArray<{ t: number; rps: number }>;
  /** The controller's pace as steps (Infinity: no pace of its own). */
  pace: ReadonlyArray<{ t: number; rps: number }>;
  /** Answers the server did not refuse, by the second they came in. */
  acceptedPerSecond: readonly number[];
  /** When each refusal came, in seconds. */
  refusals: readonly number[];
}

const WIDTH = 760;
const HEIGHT = 300;
const LEFT = 48;
const RIGHT = 16;
const TOP = 48;
const BOTTOM = 44;

export function renderRateChart(data: RateChartData): string {
  const plotW = WIDTH - LEFT - RIGHT;
  const plotH = HEIGHT - TOP - BOTTOM;
  const finite = [...data.limit, ...data.pace].map((step) => step.rps).filter(Number.isFinite);
  const top = niceCeiling(Math.max(1, ...finite, ...data.acceptedPerSecond) * 1.15);
  const x = (t: number) => LEFT + (Math.min(t, data.spanS) / data.spanS) * plotW;
  const y = (rps: number) => TOP + plotH - (Math.min(rps, top) / top) * plotH;
  const parts: string[] = [];
  parts.push(`<rect x="0" y="0" width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`);
  parts.push(`<text x="${LEFT}" y="18" font-size="14" font-family="sans-serif" fill="#222">${escapeXml(data.title)}</text>`);
  // About 115 characters fit the width at this size.
  const subtitle = data.subtitle.length > 115 ? `${data.subtitle.slice(0, 114)}…` : data.subtitle;
  parts.push(`<text x="${LEFT}" y="35" font-size="11" font-family="sans-serif" fill="#555">${escapeXml(subtitle)}</text>`);
  for (const tick of ticks(top, 5)) {
    parts.push(`<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${y(tick)}" y2="${y(tick)}" stroke="#eee"/>`);
    parts.push(`<text x="${LEFT - 6}" y="${y(tick) + 4}" font-size="11" text-anchor="end" font-family="sans-serif" fill="#555">${tick}</text>`);
  }
  for (const tick of ticks(data.spanS, 8)) {
    parts.push(`<text x="${x(tick)}" y="${HEIGHT - BOTTOM + 16}" font-size="11" text-anchor="middle" font-family="sans-serif" fill="#555">${tick} s</text>`);
  }
  parts.push(
    `<text x="12" y="${TOP + plotH / 2}" font-size="11" font-family="sans-serif" fill="#555" transform="rotate(-90 12 ${TOP + plotH / 2})" text-anchor="middle">requests/s</text>`,
  );
  const barW = Math.max(1, plotW / data.spanS - 1);
  data.acceptedPerSecond.forEach((count, second) => {
    if (second >= data.spanS) return;
    parts.push(
      `<rect x="${x(second) + 0.5}" y="${y(count)}" width="${Math.min(barW, x(data.spanS) - x(second))}" height="${y(0) - y(count)}" fill="#d5d5d5"/>`,
    );
  });
  parts.push(`<path d="${stepPath(data.limit, data.spanS, x, y)}" fill="none" stroke="#444" stroke-width="1.5" stroke-dasharray="6 4"/>`);
  parts.push(`<path d="${stepPath(data.pace, data.spanS, x, y)}" fill="none" stroke="#1f6fd1" stroke-width="2"/>`);
  for (const t of data.refusals) parts.push(`<line x1="${x(t)}" x2="${x(t)}" y1="${y(0)}" y2="${y(0) - 10}" stroke="#d62828" stroke-width="1.5"/>`);
  parts.push(`<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${y(0)}" y2="${y(0)}" stroke="#888"/>`);
  const legend = [
    ['#d5d5d5', 'accepted each second', 'bar'],
    ['#1f6fd1', 'pace set by the controller', 'line'],
    ['#444', 'server limit', 'dash'],
    ['#d62828', '429', 'tick'],
  ] as const;
  let lx = LEFT;
  for (const [color, label, kind] of legend) {
    const ly = HEIGHT - 12;
    if (kind === 'bar') parts.push(`<rect x="${lx}" y="${ly - 9}" width="14" height="9" fill="${color}"/>`);
    if (kind === 'line') parts.push(`<line x1="${lx}" x2="${lx + 14}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="2"/>`);
    if (kind === 'dash')
      parts.push(`<line x1="${lx}" x2="${lx + 14}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="1.5" stroke-dasharray="4 3"/>`);
    if (kind === 'tick') parts.push(`<line x1="${lx + 7}" x2="${lx + 7}" y1="${ly}" y2="${ly - 10}" stroke="${color}" stroke-width="1.5"/>`);
    parts.push(`<text x="${lx + 20}" y="${ly}" font-size="11" font-family="sans-serif" fill="#333">${label}</text>`);
    lx += 40 + label.length * 6;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}">\n${parts.join('\n')}\n</svg>\n`;
}

/** A step line through `steps` (each holds until the next), skipping stretches with no finite rate. */
function stepPath(steps: ReadonlyArray<{ t: number; rps: number }>, spanS: number, x: (t: number) => number, y: (rps: number) => number): string {
  const segments: string[] = [];
  steps.forEach((step, i) => {
    if (!Number.isFinite(step.rps) || step.t >= spanS) return;
    const until = Math.min(steps[i + 1]?.t ?? spanS, spanS);
    const previous = steps[i - 1];
    const joined = previous !== undefined && Number.isFinite(previous.rps) && previous.t < spanS;
    segments.push(`${joined ? 'L' : 'M'}${x(step.t).toFixed(1)},${y(step.rps).toFixed(1)} L${x(until).toFixed(1)},${y(step.rps).toFixed(1)}`);
  });
  return segments.join(' ');
}

/** Round numbers from 0 to `top` for about `count` grid lines. */
function ticks(top: number, count: number): number[] {
  const raw = top / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = 0; v <= top + 1e-9; v += step) out.push(Number(v.toPrecision(6)));
  return out;
}

function niceCeiling(value: number): number {
  const ts = ticks(value, 5);
  const step = ts[1] ?? value;
  return Math.ceil(value / step) * step;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
