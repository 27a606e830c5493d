/**
 * What every process of a run shared through Redis tells the coordinator's rate controllers
 * (issue #25): each start and each answer of a lane, each pause it was told, and what quota
 * headers pace it at, with times on Redis's clock (server-clock.ts). They travel in batches
 * through one Redis stream (run/lane-report-stream.ts) as compact JSON arrays.
 *
 * Processes flush their batches every few tens of ms, so the stream holds one process's reports
 * in order but interleaves the processes' a little late. The coordinator holds reports back
 * for a short while (ReorderBuffer) and feeds them to the controllers in time order, as a
 * one-machine run's controller sees them.
 */
import type { AnswerEvidence } from './controller/rate-controller.js';

/** `lane` is the lane's pause bucket (lanes.ts), which names its controller. */
export type LaneReport =
  | { kind: 'start'; lane: string; at: number }
  | ({ kind: 'answer'; lane: string; at: number } & AnswerEvidence)
  | { kind: 'pause'; lane: string; at: number; untilMs: number }
  /** Quota headers pace the lane at `rps`, or no longer (undefined). */
  | { kind: 'quota'; lane: string; at: number; rps: number | undefined };

/** What the coordinator needs to make a lane's controller: the process that opened it first says. */
export interface LaneInfo {
  label: string;
  /** The fixed rates that bound the lane; JSON has no Infinity, so none is null. */
  ceilingRps: number | null;
}

type Row =
  | ['s', string, number]
  | ['a', string, number, number, number, number | null, string | null, number | null]
  | ['p', string, number, number]
  | ['q', string, number, number | null];

export function encodeReports(reports: readonly LaneReport[]): string {
  return JSON.stringify(reports.map(toRow));
}

function toRow(report: LaneReport): Row {
  switch (report.kind) {
    case 'start':
      return ['s', report.lane, report.at];
    case 'answer':
      return ['a', report.lane, report.at, report.startedAt, report.arrivedAt, report.status, report.failure ?? null, report.retryAfterMs ?? null];
    case 'pause':
      return ['p', report.lane, report.at, report.untilMs];
    case 'quota':
      return ['q', report.lane, report.at, report.rps ?? null];
  }
}

/** The reports of one stream entry; an entry that is not ours (or of a later version) gives none. */
export function decodeReports(text: string): LaneReport[] {
  let rows: unknown;
  try {
    rows = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(rows)) return [];
  return rows.flatMap((row: Row): LaneReport[] => {
    const [kind, lane, at] = row;
    if (typeof lane !== 'string' || typeof at !== 'number') return [];
    if (kind === 's') return [{ kind: 'start', lane, at }];
    if (kind === 'p') return [{ kind: 'pause', lane, at, untilMs: row[3] }];
    if (kind === 'q') return [{ kind: 'quota', lane, at, rps: row[3] ?? undefined }];
    if (kind === 'a') {
      const [, , , startedAt, arrivedAt, status, failure, retryAfterMs] = row;
      const answer: LaneReport = { kind: 'answer', lane, at, startedAt, arrivedAt, status, retryAfterMs: retryAfterMs ?? undefined };
      if (failure !== null) answer.failure = failure;
      return [answer];
    }
    return [];
  });
}

/**
 * Reports held back until `holdMs` of the server's clock has passed over them, then given in
 * time order (equal times in the order they came). One that comes later than that is given at
 * once: a little out of order, which the controller reads as one more sample.
 */
export class ReorderBuffer {
  readonly #holdMs: number;
  #held: LaneReport[] = [];
  #releasedUpTo = -Infinity;

  constructor(holdMs: number) {
    this.#holdMs = holdMs;
  }

  get size(): number {
    return this.#held.length;
  }

  add(reports: readonly LaneReport[]): void {
    this.#held.push(...reports);
  }

  /** The reports due at server time `nowMs`, in time order; `all` gives every one held (the run's end). */
  release(nowMs: number, all = false): LaneReport[] {
    const upTo = all ? Infinity : Math.max(this.#releasedUpTo, nowMs - this.#holdMs);
    this.#releasedUpTo = upTo;
    // A stable sort: one process's reports of the same ms stay in the order it made them.
    const sorted = this.#held.sort((a, b) => a.at - b.at);
    const due = sorted.findIndex((report) => report.at > upTo);
    const released = due === -1 ? sorted : sorted.slice(0, due);
    this.#held = due === -1 ? [] : sorted.slice(due);
    return released;
  }
}
