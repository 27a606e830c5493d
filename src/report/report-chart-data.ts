/**
 * The charts' columns for `ratefetch report --html`: the report's seconds (and the stats file's)
 * as per-second series, bucketed when a long run would give more points than a chart is pixels
 * wide, each lane's rate as a step line, and the host pauses merged into bands.
 */
import { createRedactor } from '../record/redact.js';
import { type ResultsReport, statsSecondToEpochS } from './results-report.js';
import type { StatsJson } from './stats-json.js';

/** About the width of a chart in pixels: more points than this draw nothing more. */
const MAX_POINTS = 1_200;
const BUCKETS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
/** Lanes whose rate is drawn: beyond a few, the lines hide one another. */
const MAX_LANES = 4;

export interface ChartData {
  /** Seconds per point. */
  bucketS: number;
  /** Epoch seconds of each point (its bucket's start). */
  t: number[];
  /** Attempts started per second. */
  starts: number[];
  /** 429s per second; null where there were none, so no mark is drawn. */
  refused: Array<number | null>;
  /** The rate each lane was held to; null before its first rate and while quota headers paced it. */
  lanes: Array<{ name: string; rps: Array<number | null> }>;
  /** With buckets of several seconds, the slowest second in each. */
  latency: { p50: Array<number | null>; p95: Array<number | null>; p99: Array<number | null> };
  /** Answers per second by class (2xx … failed from the stats file; else ok and failed records). */
  answers: Array<{ name: string; perS: number[] }>;
  /** Host pauses, overlapping ones merged: [from, to] in epoch seconds. */
  pauses: Array<[number, number]>;
}

/** The report's seconds as the charts' columns, bucketed to at most MAX_POINTS points. */
export function buildChartData(report: ResultsReport, stats?: StatsJson): ChartData {
  // Stats files written before perSecond existed have none: then records give ok and failed.
  const statsSeconds = (stats?.perSecond ?? []).map((second) => ({ ...second, atS: statsSecondToEpochS(stats!, second.atS) }));
  const all = [...report.perSecond.map((second) => second.atS), ...statsSeconds.map((second) => second.atS)];
  const empty: ChartData = { bucketS: 1, t: [], starts: [], refused: [], lanes: [], latency: { p50: [], p95: [], p99: [] }, answers: [], pauses: [] };
  if (all.length === 0) return empty;
  // Not Math.min(...all): two days of seconds are more arguments than a call takes.
  const firstS = all.reduce((min, atS) => Math.min(min, atS));
  const spanS = all.reduce((max, atS) => Math.max(max, atS)) - firstS + 1;
  const bucketS = BUCKETS_S.find((size) => Math.ceil(spanS / size) <= MAX_POINTS) ?? Math.ceil(spanS / MAX_POINTS);
  const points = Math.ceil(spanS / bucketS);
  const at = (epochS: number) => Math.floor((epochS - firstS) / bucketS);
  const zeros = () => new Array<number>(points).fill(0);
  const perS = (sums: number[]) => sums.map((sum) => round(sum / bucketS, 2));

  const starts = zeros();
  const latency = {
    p50: new Array<number | null>(points).fill(null),
    p95: new Array<number | null>(points).fill(null),
    p99: new Array<number | null>(points).fill(null),
  };
  const ok = zeros();
  const failed = zeros();
  for (const second of report.perSecond) {
    const i = at(second.atS);
    starts[i]! += second.starts;
    ok[i]! += second.ok;
    failed[i]! += second.failed;
    for (const name of ['p50', 'p95', 'p99'] as const) {
      const value = second.latencyMs[name];
      if (value !== null) latency[name][i] = round(Math.max(latency[name][i] ?? 0, value), 1);
    }
  }
  const refused = zeros();
  const classes = { '2xx': zeros(), '3xx': zeros(), '4xx': zeros(), '5xx': zeros(), failed: zeros() };
  for (const second of statsSeconds) {
    const i = at(second.atS);
    refused[i]! += second.received429;
    for (const name of Object.keys(classes) as Array<keyof typeof classes>) classes[name][i]! += second.answers[name];
  }
  const answers =
    statsSeconds.length === 0
      ? [
          { name: 'ok', perS: perS(ok) },
          { name: 'failed', perS: perS(failed) },
        ]
      : Object.entries(classes)
          .filter(([name, sums]) => name === '2xx' || sums.some((sum) => sum > 0))
          .map(([name, sums]) => ({ name, perS: perS(sums) }));
  const t = Array.from({ length: points }, (_, i) => firstS + i * bucketS);
  const statsStartMs = stats === undefined ? 0 : Date.parse(stats.startedAt);
  return {
    bucketS,
    t,
    starts: perS(starts),
    refused: perS(refused).map((value) => (value > 0 ? value : null)),
    lanes: stats === undefined ? [] : laneSteps(stats, t, bucketS, statsStartMs),
    latency,
    answers,
    pauses: mergePauses((stats?.pauseTimeline ?? []).map((pause) => [(statsStartMs + pause.atMs) / 1000, (statsStartMs + pause.atMs + pause.forMs) / 1000])),
  };
}

/** Each lane's rate at the end of each bucket, from the rate changes; a lane without changes keeps the rate it settled at. */
function laneSteps(stats: StatsJson, t: number[], bucketS: number, startMs: number): ChartData['lanes'] {
  const timeline = stats.rateTimeline ?? [];
  const names = [...new Set([...(stats.laneRates ?? []).map((lane) => lane.lane), ...timeline.map((change) => change.lane)])].slice(0, MAX_LANES);
  const redact = createRedactor();
  return names.map((name) => {
    const changes = timeline.filter((change) => change.lane === name).sort((a, b) => a.atMs - b.atMs);
    if (changes.length === 0) {
      const settled = (stats.laneRates ?? []).find((lane) => lane.lane === name)?.settledRps ?? null;
      return { name: redact.text(name), rps: t.map(() => settled) };
    }
    let next = 0;
    let rps: number | null = null;
    const values = t.map((startS) => {
      while (next < changes.length && startMs + changes[next]!.atMs < (startS + bucketS) * 1000) rps = changes[next++]!.rps;
      return rps === null ? null : round(rps, 2);
    });
    return { name: redact.text(name), rps: values };
  });
}

function mergePauses(pauses: Array<[number, number]>): Array<[number, number]> {
  const merged: Array<[number, number]> = [];
  for (const [from, to] of pauses.sort((a, b) => a[0] - b[0])) {
    const last = merged.at(-1);
    if (last !== undefined && from <= last[1]) last[1] = Math.max(last[1], round(to, 3));
    else merged.push([round(from, 3), round(to, 3)]);
  }
  return merged;
}

function round(n: number, places: number): number {
  const f = 10 ** places;
  return Math.round(n * f) / f;
}
