/**
 * One lane's rate controller as the run sees it: reads each answer as a refusal, a fault or an
 * accepted request, hands it to the limit finder (limit-finder.ts), and says in
 * words why each change of rate happened.
 *
 * - A 429 is a refusal. A 503 is one only when the SheddingJudge finds them load shedding;
 *   otherwise it is a fault, like a 500, 502, 504, reset, timeout or truncated body.
 * - Faults never lower the rate. They count as accepted: the server counted them against the
 *   quota all the same, so "what the server accepted" includes them.
 * - A cut for 503s that proves noise is undone: the rate goes back to what it was.
 */
import type { RateChangeReason } from '../../events.js';
import { formatDuration, formatLimit } from '../../text.js';
import { LimitFinder, type RateChange } from './limit-finder.js';
import { SheddingJudge } from './shedding.js';
import { ADAPTIVE } from './tuning.js';

/** An answer, as the controller reads it. */
export interface AnswerEvidence {
  startedAt: number;
  /** When the request most likely reached the server, which counts it then. */
  arrivedAt: number;
  /** The status, or null when no response came (a reset, a timeout). */
  status: number | null;
  /** Without a response, what happened instead (`CONNECTION_RESET`, `TIMEOUT` …). */
  failure?: string;
  /** The wait the server asked for, when it said. */
  retryAfterMs: number | undefined;
}

/** A change of rate, with why in words (for --verbose and --stats-file) and the rate that held. */
export interface ExplainedChange {
  rps: number;
  reason: RateChangeReason;
  why: string;
  /** The rate the server was last seen to accept whole; undefined until a refusal showed a limit. */
  heldRps: number | undefined;
}

export interface AnswerReading {
  /** The server refused it for the rate: pause the lane (a 429, or a 503 judged load shedding). */
  isRefusal: boolean;
  change?: ExplainedChange;
}

export class RateController {
  readonly #finder: LimitFinder;
  readonly #shedding = new SheddingJudge();
  #heldRps: number | undefined;
  /** The rate the last change announced (a window's count, not the pace that spreads it). */
  #announcedRps: number;
  /** The kinds of fault already told of (--verbose says so once per kind). */
  readonly #faultsTold = new Set<string>();
  /** The pace and the rate found before a trial cut for 503s, put back if they prove to be noise. */
  #beforeTrial: { rps: number; heldRps: number | undefined } | undefined;

  constructor(options: { auto: boolean; ceilingRps: number; now: number }) {
    this.#finder = new LimitFinder(options);
    this.#announcedRps = this.#finder.rps;
  }

  /** Starts per second the lane may make now; Infinity while the controller stands aside. */
  get rps(): number {
    return this.#finder.rps;
  }

  /** The depth of the bucket pacing the lane. */
  get burst(): number {
    return this.#finder.burst;
  }

  /** A start at `now`; when it returns a time, the lane holds until then. */
  noteStart(now: number): { holdUntil: number } | undefined {
    return this.#finder.noteStart(now);
  }

  /** The lane waits until `untilMs` (a Retry-After, a used-up quota, a backoff). */
  notePause(now: number, untilMs: number): void {
    this.#finder.notePause(now, untilMs);
  }

  noteAnswer(now: number, answer: AnswerEvidence): AnswerReading {
    const { status, startedAt, arrivedAt, retryAfterMs } = answer;
    const before = this.#finder.rps;
    const verdict = status === 429 ? undefined : this.#shedding.judge(status === 503, startedAt, now);
    if (verdict?.kind === 'undo') {
      const rps = this.#beforeTrial?.rps ?? before;
      this.#heldRps = this.#beforeTrial?.heldRps;
      this.#beforeTrial = undefined;
      this.#finder.undoCut(now, rps);
      this.#announcedRps = rps;
      return { isRefusal: false, change: { rps, reason: 'undo', why: verdict.why, heldRps: this.#heldRps } };
    }
    if (verdict?.kind === 'refusal' && verdict.trial) {
      // The trial cuts to what the server answered without a 503: if they were load shedding,
      // that rate sheds little; if noise, the share stays as it was.
      this.#beforeTrial = { rps: before, heldRps: this.#heldRps };
      const sending = Number.isFinite(before) ? before : this.#finder.sentRps(now);
      const change = this.#finder.cutTo(now, sending * (1 - verdict.share503) * ADAPTIVE.settleFraction);
      const why = `cut: 503s were ${Math.round(verdict.share503 * 100)}% of answers at ${formatLimit(sending)}, testing for load shedding`;
      return { isRefusal: true, change: this.#explain(change, why) };
    }
    if (verdict === undefined || verdict.kind === 'refusal') {
      const what = status === 429 ? '429' : '503 (load shedding)';
      const change = this.#finder.noteThrottled(now, startedAt, retryAfterMs, arrivedAt);
      return { isRefusal: true, change: change && this.#explain(change, whyRefused(change, what, before, retryAfterMs)) };
    }
    const change = this.#finder.noteAccepted(now, startedAt, arrivedAt);
    if (change !== undefined) return { isRefusal: false, change: this.#explain(change, whyAccepted(change, before), before) };
    return { isRefusal: false, change: this.#faultNote(answer) };
  }

  /** The first fault of each kind: the rate is kept, and --verbose says why. */
  #faultNote(answer: AnswerEvidence): ExplainedChange | undefined {
    const kind = answer.status === null ? (answer.failure ?? 'no response') : answer.status >= 500 ? String(answer.status) : undefined;
    if (kind === undefined || this.#faultsTold.has(kind)) return undefined;
    this.#faultsTold.add(kind);
    const why = `fault ignored: ${kind} (faults never lower the rate; later ${kind}s go unmentioned)`;
    return { rps: this.#announcedRps, reason: 'kept', why, heldRps: this.#heldRps };
  }

  /** `before` is the rate the change leaves. */
  #explain(change: RateChange, why: string, before = change.rps): ExplainedChange {
    const found = this.#heldRps !== undefined || change.reason === 'throttled' || change.reason === 'spacing' || change.reason === 'window';
    // A probe step is untested: the rate before it held. A climb under the limit found holds; a kept rate is unchanged.
    if (found && change.reason !== 'kept' && change.reason !== 'quota') this.#heldRps = change.reason === 'probe' ? before : change.rps;
    this.#announcedRps = change.rps;
    return { ...change, why, heldRps: this.#heldRps };
  }

  /** Quota headers pace the lane better than probing: slow start steps aside. */
  noteQuotaHeaders(now: number, quotaRps?: number): ExplainedChange | undefined {
    const change = this.#finder.noteQuotaHeaders(now, quotaRps);
    return change && this.#explain(change, 'quota headers pace it instead');
  }
}

function whyRefused(change: RateChange, what: string, before: number, retryAfterMs: number | undefined): string {
  const sent = Number.isFinite(before) ? ` at ${formatLimit(before)}` : '';
  if (change.reason === 'kept') return `kept: ${what} with Retry-After ${formatDuration(retryAfterMs ?? 0)}, a long window's count ran out, not the rate`;
  if (change.reason === 'spacing') return `same rate, no catch-up: ${what} to a request sent early`;
  if (change.reason === 'fill') return `same rate, no more fills: ${what} to a fill, faster than the rate; not a window on the clock`;
  if (change.reason === 'window') return `${what}${sent}: a window on the clock, this many each second`;
  return `cut: ${what}${sent}`;
}

function whyAccepted(change: RateChange, before: number): string {
  const at = Number.isFinite(before) ? ` at ${formatLimit(before)}` : '';
  if (change.reason === 'window') return `answers accepted whole after a fill: a window on the clock, this many each second`;
  if (change.reason === 'probe') return `probe: answers accepted${at}`;
  return `raised: answers accepted${at}`;
}
