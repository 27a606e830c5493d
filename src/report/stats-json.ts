/** The --stats-file document: a stable JSON form of the run's stats. */
import type { TimelineSecond } from './seconds-timeline.js';
import type { PauseTimelineEntry, StatsSnapshot } from './stats-snapshot.js';
import { sortedEntries } from './summary.js';

/**
 * The `--stats-file` document. Field names are stable: add fields, never rename or remove
 * them without bumping `version`.
 *
 *   version          1
 *   startedAt        ISO 8601 time the run started
 *   wallMs           wall time of the run, ms
 *   interrupted      true when the run was stopped (signal or closed output) before the end
 *   interruptReason  why, or null
 *   inputs           inputs read (valid or not)
 *   records          records written: one per input read, unless the run was cut short
 *   ok               records with ok: true (2xx final response)
 *   failed           records with ok: false
 *   notFinal         records with final: false (worth trying again in a later run)
 *   failedByStatus   failed records that had a status, by status: {"503": 2, "404": 1}
 *   failedByCode     failed records by error.code: {"HTTP_STATUS": 3, "TIMEOUT": 1}
 *   schemaMismatchesByPath  records failing --schema, by body path (indexes as *): {"/id": 2}
 *   attempts         requests started, retries and redirect hops included
 *   retries          retries scheduled
 *   received429      attempts answered with 429 Too Many Requests
 *   successRate      ok / records, 0..1 rounded to 4 places; null when no records
 *   achievedRps      attempts per second from the first attempt to the end; null if none
 *   latencyMs        {p50, p95, p99} of each record's last attempt (start to last byte), ms,
 *                    about 1% relative error; each null when no record has a latency
 *   rateWaitMs       wall time in which requests were ready and a slot was free, but a rate
 *                    limit or a host pause let none start: the time the run was rate-limited
 *   laneRates, rateTimeline   the rates held at the end, and every change with why
 *   perSecond        the run second by second (seconds with anything in them, the last day):
 *                    {atS, starts, answers: {2xx, 3xx, 4xx, 5xx, failed}, received429, pauses}
 *   pauseTimeline    each host pause (the last thousand): {atMs, host, forMs, source, reason}
 *   cache            with --cache only: {hits, revalidated, misses, requestsSaved}, records by
 *                    where their answer came from; requestsSaved are the hits, sent no request
 *   batchedInputs    with --batch: records of inputs that went in batch requests (0 without)
 *   saved            with --save, when a file was saved: {files, bytes, foundWhole}, foundWhole
 *                    the files --resume found whole on disk and recorded without a request
 */
export interface StatsJson {
  version: 1;
  startedAt: string;
  wallMs: number;
  interrupted: boolean;
  interruptReason: string | null;
  inputs: number;
  records: number;
  ok: number;
  failed: number;
  notFinal: number;
  failedByStatus: Record<string, number>;
  failedByCode: Record<string, number>;
  schemaMismatchesByPath: Record<string, number>;
  attempts: number;
  retries: number;
  received429: number;
  successRate: number | null;
  achievedRps: number | null;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null };
  rateWaitMs: number;
  /** The rates the rate controller held each host or route to at the end, and the last that held. */
  laneRates: Array<{ lane: string; rps: number; found: boolean; settledRps: number }>;
  /** Every change of a lane's rate (the last thousand), ms after the start, with why. Infinity (quota headers pace it) is null. */
  rateTimeline: Array<{ atMs: number; lane: string; rps: number | null; reason: string; why: string }>;
  perSecond: TimelineSecond[];
  pauseTimeline: PauseTimelineEntry[];
  cache?: { hits: number; revalidated: number; misses: number; requestsSaved: number };
  batchedInputs: number;
  saved?: { files: number; bytes: number; foundWhole: number };
}

export function toStatsJson(
  s: StatsSnapshot,
  history: { perSecond: TimelineSecond[]; pauses: PauseTimelineEntry[] } = { perSecond: [], pauses: [] },
): StatsJson {
  return {
    version: 1,
    startedAt: new Date(s.startedAt).toISOString(),
    wallMs: Math.round(s.elapsedMs),
    interrupted: s.interrupted,
    interruptReason: s.interruptReason,
    inputs: s.read,
    records: s.done,
    ok: s.ok,
    failed: s.failed,
    notFinal: s.notFinal,
    failedByStatus: sortedCounts(s.byStatus),
    failedByCode: sortedCounts(s.byErrorCode),
    schemaMismatchesByPath: sortedCounts(s.schemaMismatchByPath),
    attempts: s.attemptsStarted,
    retries: s.retries,
    received429: s.received429,
    successRate: roundOrNull(s.successRate, 4),
    achievedRps: roundOrNull(s.achievedRps, 2),
    latencyMs: {
      p50: roundOrNull(s.latencyMs.p50, 1),
      p95: roundOrNull(s.latencyMs.p95, 1),
      p99: roundOrNull(s.latencyMs.p99, 1),
    },
    rateWaitMs: Math.round(s.rateWaitMs),
    laneRates: s.laneRates.map((rate) => ({ ...rate, rps: Math.round(rate.rps * 100) / 100, settledRps: Math.round(rate.settledRps * 100) / 100 })),
    rateTimeline: s.rateTimeline.map((entry) => ({ ...entry, atMs: Math.round(entry.atMs), rps: roundOrNull(entry.rps, 2) })),
    perSecond: history.perSecond,
    pauseTimeline: history.pauses.map((entry) => ({ ...entry, atMs: Math.round(entry.atMs), forMs: Math.round(entry.forMs) })),
    ...(s.cache !== undefined && { cache: { hits: s.cache.hit, revalidated: s.cache.revalidated, misses: s.cache.miss, requestsSaved: s.cache.hit } }),
    batchedInputs: s.batchedInputs,
    ...(s.saved.files > 0 && { saved: { ...s.saved } }),
  };
}

/** Largest first for codes; JS objects put integer-like keys (statuses) in numeric order anyway. */
function sortedCounts(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(sortedEntries(counts));
}

function roundOrNull(n: number | null, places: number): number | null {
  if (n === null || !Number.isFinite(n)) return null;
  const f = 10 ** places;
  return Math.round(n * f) / f;
}
