/**
 * Lane pacing: what the answers say about a lane's pace, passed on to the limiter and to the
 * lane's rate controller (lanes.ts), with the events that announce it. A "slow down" pauses the
 * lane; quota headers cap its rate or pause it until the reset; the controller's rate changes
 * are announced as they come.
 */
import type { RunEvent } from '../events.js';
import type { AttemptOutcome, ResponseOutcome } from '../http/outcome.js';
import type { Lane, LaneRateChange, Lanes, RequestTimes } from '../rate/lanes.js';
import type { LanePause } from './next-step.js';
import type { Clock, Limiter } from '../rate/limiter.js';
import type { Redactor } from '../record/redact.js';
import type { AnswerHints } from '../retry/hints.js';
import { decideQuotaPacing } from '../rate/quota-pacing.js';
import { QuotaWindows } from '../rate/quota-windows.js';
import { explainsCount, roomAt, StartLedger } from '../rate/quota-ledger.js';
import type { QuotaState } from '../retry/quota-headers.js';
import { startToReachSecond } from '../rate/controller/tuning.js';
import { RecentMinimum } from '../rate/recent-minimum.js';

export interface LanePacingDeps {
  lanes: Lanes;
  limiter: Limiter;
  clock: Clock;
  emit: (event: RunEvent) => void;
  redactor: Redactor;
  /** A lane was just paused (its pause event is out): the scheduler fails what cannot wait that long. */
  onPaused: (lane: Lane, pause: LanePause) => void;
}

export class LanePacing {
  readonly #deps: LanePacingDeps;
  /** Per pause bucket: the last round trips, for when a request reached the server. */
  readonly #roundTrips = new Map<string, RecentMinimum>();
  /** Per pause bucket: until when it holds back requests not yet on the wire (see isWaiting). */
  readonly #holdUntil = new Map<string, number>();
  /** Per pause bucket: when its quota windows open, and how long they are. */
  readonly #quotaWindows = new Map<string, QuotaWindows>();
  /** Per pause bucket: its starts, for when a used-up quota comes back (quota-ledger.ts). */
  readonly #ledgers = new Map<string, StartLedger>();
  /** Per pause bucket: the policy (q per w) its starts are held to, while they explain its count. */
  readonly #ledgerPolicies = new Map<string, { limit: number; windowMs: number }>();
  /** Per pause bucket: the times of a 429 that did not say when, until its pause is decided. */
  readonly #bareRefusal = new Map<string, BareRefusal>();

  constructor(deps: LanePacingDeps) {
    this.#deps = deps;
  }

  /** A request of the lane went on the wire. */
  started(lane: Lane, now: number): void {
    let ledger = this.#ledgers.get(lane.pauseBucket);
    if (ledger === undefined) {
      ledger = new StartLedger();
      this.#ledgers.set(lane.pauseBucket, ledger);
    }
    ledger.add(now);
    // Its own starts explain the server's count: the next start waits for room among them.
    const policy = this.#ledgerPolicies.get(lane.pauseBucket);
    const room = policy === undefined ? undefined : roomAt(ledger.starts, policy.limit, policy.windowMs);
    if (room !== undefined && room > now) this.#deps.limiter.pause(`quota:${lane.pauseBucket}`, room);
    this.#noteRate(this.#deps.lanes.started(lane, now));
  }

  /** A request of the lane took its slot, and waits for the shared limiter's word (under --redis): `wentOut` follows. */
  took(lane: Lane): void {
    this.#deps.lanes.took(lane);
  }

  /** A request that took its slot goes on the wire now. */
  wentOut(lane: Lane, now: number): void {
    this.#noteRate(this.#deps.lanes.wentOut(lane, now));
  }

  /** A request of the lane that started was held back before it went on the wire. */
  heldBack(lane: Lane): void {
    this.#deps.lanes.unstarted(lane);
  }

  /**
   * Whether the lane, or a route rule it starts from, has been told to wait, so that a request
   * of it not yet on the wire must not go now. Not for a used-up quota: that pause counted the
   * requests in flight, sent or not, against what was left.
   */
  isWaiting(lane: Lane): boolean {
    // Asked as every request goes on the wire; a run never told to wait has nothing to look up.
    if (this.#holdUntil.size === 0) return false;
    const now = this.#deps.clock.now();
    return lane.buckets.some((bucket) => (this.#holdUntil.get(bucket) ?? 0) > now);
  }

  /**
   * An attempt that started at `startedAt` came back with `outcome`. Returns its `hints` as the
   * retry decision is to read them: whether it was a refusal for the rate (`isThrottle`) is the
   * lane's controller's reading, since a 503 is one only when it judges them load shedding;
   * `lanePaced` whether a rate paces the lane (a fault's retry then needs no backoff).
   */
  settled(lane: Lane, startedAt: number, outcome: AttemptOutcome, hints: AnswerHints): AnswerHints {
    const { lanes, clock } = this.#deps;
    const response = outcome.kind === 'response' ? outcome : null;
    const now = clock.now();
    const arrivedAt = response === null ? startedAt : this.#arrivalOf(lane, startedAt, response);
    if (response !== null) this.#ledgers.get(lane.pauseBucket)?.settle(startedAt, this.#countedBy(lane, startedAt, response));
    const failure = outcome.kind === 'failure' ? outcome.code : undefined;
    const reading = lanes.settled(lane, now, { startedAt, arrivedAt, status: response?.status ?? null, failure, retryAfterMs: hints.retryAfterMs });
    if (reading.isRefusal && hints.retryAfterMs === undefined) {
      this.#bareRefusal.set(lane.pauseBucket, { startedAt, arrivedAt, cut: reading.change?.reason === 'throttled' });
    } else this.#bareRefusal.delete(lane.pauseBucket);
    this.#noteRate(reading.change);
    // On a 429 the Retry-After decides (the drafts give it precedence); otherwise the quota does.
    if (response !== null && response.status !== 429) this.#paceByQuota(lane, hints.quota, startedAt, arrivedAt);
    const lanePaced = lanes.isPaced(lane);
    return reading.isRefusal === hints.isThrottle && lanePaced === (hints.lanePaced ?? false) ? hints : { ...hints, isThrottle: reading.isRefusal, lanePaced };
  }

  /**
   * The pause the retry policy asked for, as the lane takes it: after a 429 that did not say
   * when, until its clock second is over (waitOutRefusingSecond). Call once per answer.
   */
  shape(lane: Lane, pause: LanePause): LanePause {
    const refused = pause.source === 'backoff' ? this.#bareRefusal.get(lane.pauseBucket) : undefined;
    this.#bareRefusal.delete(lane.pauseBucket);
    return refused === undefined ? pause : waitOutRefusingSecond(pause, refused);
  }

  /** Pauses the lane, unless it is paused until then or later already; `quota` for a used-up quota. */
  pause(lane: Lane, pause: LanePause, quota = false): void {
    const { lanes, limiter, clock, emit, redactor } = this.#deps;
    const bucket = lane.pauseBucket;
    const { untilMs, delayMs, source, reason } = pause;
    if (!quota && untilMs > (this.#holdUntil.get(bucket) ?? 0)) this.#holdUntil.set(bucket, untilMs);
    if (untilMs <= limiter.pausedUntil(bucket)) return;
    limiter.pause(bucket, untilMs);
    lanes.paused(lane, clock.now(), untilMs);
    emit({ type: 'pause', host: lane.label, untilMs, delayMs, source, reason: redactor.text(reason) });
    this.#deps.onPaused(lane, pause);
  }

  /**
   * What the server says about its quota paces its lane before a 429 is needed: none left →
   * pause until the reset; little left → spread it over the time to the reset; plenty → the
   * lane goes back to the run's pace.
   */
  #paceByQuota(lane: Lane, quota: QuotaState | undefined, startedAt: number, arrivedAt: number): void {
    if (quota === undefined) return;
    const { lanes, clock } = this.#deps;
    const now = clock.now();
    let windows = this.#quotaWindows.get(lane.pauseBucket);
    if (windows === undefined) {
      windows = new QuotaWindows();
      this.#quotaWindows.set(lane.pauseBucket, windows);
    }
    const window = windows.note(quota.limit, quota.remaining, arrivedAt);
    const toServerMs = (this.#roundTrips.get(lane.pauseBucket)?.min() ?? 0) / 2;
    const { limit, remaining, windowMs } = quota;
    const ledger = this.#ledgers.get(lane.pauseBucket);
    const explained =
      ledger !== undefined && limit !== undefined && remaining !== undefined && windowMs !== undefined
        ? explainsCount(ledger.starts, startedAt, limit - remaining, limit, windowMs)
        : false;
    let roomAtMs: number | undefined;
    if (explained) {
      this.#ledgerPolicies.set(lane.pauseBucket, { limit: limit!, windowMs: windowMs! });
      // Room for the next start, counted over them all (before `limit` starts, any time); each
      // start from now on is held to it (started()).
      roomAtMs = roomAt(ledger!.starts, limit!, windowMs!) ?? now;
      if (roomAtMs > now) this.#deps.limiter.pause(`quota:${lane.pauseBucket}`, roomAtMs);
    } else this.#ledgerPolicies.delete(lane.pauseBucket);
    const pacing = decideQuotaPacing(quota, lanes.inFlight(lane), now, window, toServerMs, roomAtMs);
    if (pacing !== undefined && 'pauseUntilMs' in pacing) {
      const reason = `quota used up (${quota.source} headers)`;
      this.pause(lane, { untilMs: pacing.pauseUntilMs, delayMs: pacing.pauseUntilMs - now, source: 'server', reason }, true);
    }
    this.#noteRate(lanes.paceByQuota(lane, pacing?.rps, now));
  }

  /**
   * When the request most likely reached the server, which counts it there: on the wire (after
   * any connect), plus half the lane's quickest recent round trip. The slower ones include the
   * server's own work, done after it counted the request.
   */
  #arrivalOf(lane: Lane, startedAt: number, response: ResponseOutcome): number {
    if (response.sentMs === undefined || response.roundTripMs === undefined) return startedAt;
    let roundTrips = this.#roundTrips.get(lane.pauseBucket);
    if (roundTrips === undefined) {
      roundTrips = new RecentMinimum(16);
      this.#roundTrips.set(lane.pauseBucket, roundTrips);
    }
    roundTrips.add(response.roundTripMs);
    return startedAt + response.sentMs + roundTrips.min()! / 2;
  }

  /**
   * When the server had counted the request at the latest, as the lane's ledger of starts keeps
   * it: on the wire, plus how much longer its round trip took than the quickest recent one (a
   * server busy with a burst counts its last requests late, the first of a run by 10 ms or more).
   */
  #countedBy(lane: Lane, startedAt: number, response: ResponseOutcome): number {
    const quickest = this.#roundTrips.get(lane.pauseBucket)?.min();
    const queuedMs = response.roundTripMs === undefined || quickest === undefined ? 0 : response.roundTripMs - quickest;
    return startedAt + (response.sentMs ?? 0) + queuedMs;
  }

  #noteRate(change: LaneRateChange | undefined): void {
    if (change === undefined) return;
    const { lane, rps, reason, why, heldRps } = change;
    this.#deps.emit({ type: 'rate', lane, rps, reason, why, heldRps });
  }
}

/** A 429 that did not say when; `cut` when the lane's controller cut its rate for it. */
export interface BareRefusal extends RequestTimes {
  cut: boolean;
}

/**
 * The pause after a 429 that did not say when: until the clock second that refused it is over.
 * A window counted per clock second (the usual kind) takes nothing more in that second, and a
 * wait that ends in it only draws another 429. When the controller cut the rate for this 429,
 * that is all the pause: the cut rate paces the lane from then on (a token bucket refills as
 * it goes). When it did not (a refusal of the same episode, or no rate to cut), the retry
 * policy's backoff holds, stretched to that second's end. Pure: `refused` carries the clock's
 * reading.
 */
export function waitOutRefusingSecond(pause: LanePause, refused: BareRefusal): LanePause {
  const { startedAt, arrivedAt } = refused;
  const nextSecondFrom = startToReachSecond(Math.floor(arrivedAt / 1000) + 1, arrivedAt - startedAt);
  if (nextSecondFrom <= pause.untilMs && !refused.cut) return pause;
  return { ...pause, untilMs: nextSecondFrom, delayMs: pause.delayMs + (nextSecondFrom - pause.untilMs) };
}
