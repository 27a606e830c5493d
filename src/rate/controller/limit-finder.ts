/**
 * The limit finder: finds a rate limit nobody told us, from the refusals and accepted answers
 * alone, with the time passed in. It holds one lane's rate and evidence and hands each decision
 * to a part: cut.ts (a refusal), climb.ts (clean answers), clock-windows.ts (fills and windows
 * on the clock), slow-start.ts (a second's end), recovery.ts (after a drop). docs/rate-control.md.
 */
import type { RateChangeReason } from '../../events.js';
import { decideClimb, standsAsideForQuota, wasUsed } from './climb.js';
import { ClockWindows } from './clock-windows.js';
import { boundedRate, decideCut, isSettled, plateauFor, readRefusal, startingState, type RateState } from './cut.js';
import { Evidence } from './evidence.js';
import { LongWindowGuard } from './long-window.js';
import { SecondsEndGuard } from './slow-start.js';
import { ADAPTIVE, pacingBurst } from './tuning.js';
import { RecoveryProbes } from './recovery.js';

export type RateChange = { rps: number; reason: RateChangeReason };

export class LimitFinder {
  readonly #state: RateState;
  #restMs: number = ADAPTIVE.probeAfterMs;
  #probeFactor: number = ADAPTIVE.climbFactor;
  #answersSinceChange = 0;
  /** The clock second the last cut measured: late answers of it refine the plateau. */
  #cutSecond = Number.NaN;
  readonly #recovery = new RecoveryProbes();
  readonly #evidence = new Evidence();
  readonly #windows = new ClockWindows(this.#evidence);
  readonly #secondsEnd = new SecondsEndGuard();
  readonly #longWindow = new LongWindowGuard();

  constructor(options: { auto: boolean; ceilingRps: number; now: number }) {
    const rps = options.auto ? Math.min(ADAPTIVE.startRps, options.ceilingRps) : Infinity;
    this.#state = startingState(rps, options.ceilingRps, options.auto, options.now);
  }

  /** Starts per second allowed now (faster while a fill lasts); Infinity while the finder stands aside. */
  get rps(): number {
    return this.#windows.pace(this.#state.rps);
  }

  /** While windows on the clock pace the lane: how many each clock second may take. */
  get windowCount(): number | undefined {
    return this.#windows.count;
  }

  /** Whether a refusal has set the rate (as opposed to slow start, or standing aside). */
  get settled(): boolean {
    return isSettled(this.#state);
  }

  /** The depth of the bucket pacing this rate: one start, plus catch-up credit where the server allows it. */
  get burst(): number {
    return this.#state.strictSpacing || this.#windows.oneAtATime ? 1 : pacingBurst(this.#state.rps);
  }

  /** A start at `now`; nothing more should start before `holdUntil` when that is returned. */
  noteStart(now: number): { holdUntil: number } | undefined {
    this.#evidence.noteStart(now);
    const lastOfWindow = this.#longWindow.noteStart(now, this.#evidence.roundTripMs);
    if (lastOfWindow !== undefined) return lastOfWindow;
    const { rps, slowStart, raisedAt } = this.#state;
    // Fills and windows come after a cut, so never during slow start.
    if (!slowStart) return this.#windows.noteStart(now);
    return this.#secondsEnd.noteStart(now, { rps, raisedAt, toServerMs: this.#evidence.toServerMs, roundTripMs: this.#evidence.roundTripMs });
  }

  /** An answer the server counted and did not refuse (faults included), to a request started at `startedAt` that reached it at about `arrivedAt`. */
  noteAccepted(now: number, startedAt: number, arrivedAt = startedAt): RateChange | undefined {
    const state = this.#state;
    this.#evidence.noteAccepted(now, startedAt, arrivedAt);
    this.#longWindow.noteAccepted();
    // Late answers of the second the last cut measured raise the plateau to what it held.
    const recounted = this.#evidence.recountAfterCut(this.#cutSecond, state.cutAt, startedAt, arrivedAt);
    if (recounted !== undefined) state.plateau = Math.max(state.plateau, plateauFor(recounted, state.refusedRps));
    const refined = this.#windows.refineRecount(startedAt, arrivedAt, state.cutAt, state.ceiling);
    if (refined !== undefined) state.plateau = refined;
    const windowCount = this.#windows.noteAccepted(startedAt, now, { rps: state.rps, ceiling: state.ceiling, strictSpacing: state.strictSpacing });
    if (windowCount !== undefined) {
      state.plateau = windowCount;
      return this.#change(Math.min(state.ceiling, windowCount), now, 'window');
    }
    if (!Number.isFinite(state.rps) || startedAt < state.cutAt) return undefined;
    this.#answersSinceChange += 1;
    const elapsedMs = now - state.changedAt;
    this.#recovery.noteClean(state.rps, state.slowStart, elapsedMs, this.#answersSinceChange);
    if (this.#windows.count !== undefined) {
      // The count is the limit exactly; after its rest, probe past it as past a plateau.
      if (elapsedMs < this.#restMs || !wasUsed(state.rps, elapsedMs, this.#answersSinceChange)) return undefined;
      this.#windows.leave();
      state.plateau = Infinity;
    }
    const probeFactor = this.#recovery.probeFactor(state.rps, this.#probeFactor);
    const climb = decideClimb({ ...state, restMs: this.#restMs, probeFactor }, elapsedMs, this.#answersSinceChange);
    if (climb === undefined) return undefined;
    const back = climb.reason === 'probe' ? this.#recovery.probed(climb.rps) : undefined;
    state.plateau = back?.plateau ?? climb.plateau;
    this.#probeFactor = back?.probeFactor ?? climb.probeFactor;
    this.#restMs = back?.restMs ?? this.#restMs;
    return this.#change(climb.rps, now, climb.reason);
  }

  /**
   * A refusal (a 429, or a 503 judged load shedding) to a request started at `startedAt`, which
   * reached the server at about `arrivedAt`; `retryAfterMs` is the wait it asked for, when it said.
   */
  noteThrottled(now: number, startedAt: number, retryAfterMs?: number, arrivedAt = startedAt): RateChange | undefined {
    const state = this.#state;
    const refusal = { now, startedAt, arrivedAt, retryAfterMs };
    this.#evidence.noteAnswered(startedAt);
    const reading = readRefusal(state, refusal, this.#windows.noteRefused(startedAt));
    if (reading === 'same-episode') return undefined;
    if (reading === 'long-window') this.#longWindow.noteEnded(this.#evidence.acceptedSinceResume);
    if (reading === 'long-window' || reading === 'fill') {
      state.cutAt = now;
      return Number.isFinite(state.rps) ? { rps: state.rps, reason: reading === 'fill' ? 'fill' : 'kept' } : undefined;
    }
    if (reading === 'restart') return this.#restartSlowStart(now);
    const ofWindows = this.#windows.readRefusal(arrivedAt, now, state.ceiling);
    if (ofWindows !== undefined) return this.#restAt(ofWindows.rps, now, ofWindows.reason, this.#recovery.restAfterCut(ofWindows.rps));
    const decision = decideCut(state, refusal, this.#evidence.around(refusal));
    if (decision.kind === 'restart') return this.#restartSlowStart(now);
    if (decision.kind === 'none') return undefined;
    state.cutAt = now;
    if (decision.kind === 'spacing') {
      state.strictSpacing = true;
      return { rps: state.rps, reason: 'spacing' };
    }
    this.#windows.noteMeasured(decision.fillCount);
    state.slowStart = false;
    state.refusedRps = decision.refusedRps;
    state.plateau = decision.plateau;
    this.#cutSecond = decision.cutSecond;
    if (decision.isDrop) this.#evidence.forgetUpTo(Math.floor(now / 1000));
    this.#probeFactor = decision.probeFactor;
    this.#restMs = this.#recovery.restAfterCut(decision.rps) ?? decision.restMs;
    return this.#change(decision.rps, now, 'throttled');
  }

  /** Find the limit from slow start, as --rps auto does. */
  #restartSlowStart(now: number): RateChange {
    Object.assign(this.#state, { slowStart: true, cutAt: now });
    return this.#change(ADAPTIVE.startRps, now, 'throttled');
  }

  /** The lane was told to wait until `untilMs`: what it sends after that measures a new window, and may fill a second. */
  notePause(_now: number, untilMs: number): void {
    if (!this.#evidence.notePause(untilMs)) return;
    this.#longWindow.notePause();
    const { rps, ceiling, strictSpacing } = this.#state;
    this.#windows.planFill(untilMs, { rps, ceiling, strictSpacing });
  }

  /** A cut decided elsewhere (a trial for load shedding, rate-controller.ts): rests at `rps` like any cut. */
  cutTo(now: number, rps: number): RateChange {
    this.#windows.leave();
    this.#state.slowStart = false;
    this.#restMs = ADAPTIVE.probeAfterMs;
    return this.#restAt(boundedRate(Math.min(rps, this.#state.rps), this.#state.ceiling), now, 'throttled');
  }

  /** A cut to `rps`, which is also where the climb rests (`restMs` long, when given). */
  #restAt(rps: number, now: number, reason: RateChangeReason, restMs?: number): RateChange {
    if (restMs !== undefined) this.#restMs = restMs;
    this.#state.cutAt = now;
    this.#state.plateau = rps;
    return this.#change(rps, now, reason);
  }

  /** What the lane sent per second lately. */
  sentRps = (now: number): number => this.#evidence.sentRps(now);

  /** A cut for 503s that proved noise: back to `rps`, resting there as if it had held. */
  undoCut(now: number, rps: number): void {
    this.#state.plateau = Infinity;
    this.#change(rps, now, 'undo');
  }

  /** The server sent quota headers (`quotaRps`: the rate they give, if any): they pace the run better than probing does. */
  noteQuotaHeaders(now: number, quotaRps?: number): RateChange | undefined {
    this.#state.quotaSeen = true;
    if (!Number.isFinite(this.#state.rps) || !standsAsideForQuota(this.#state, quotaRps)) return undefined;
    this.#windows.leave();
    Object.assign(this.#state, { slowStart: false, plateau: Infinity });
    return this.#change(Infinity, now, 'quota');
  }

  #change(rps: number, now: number, reason: RateChangeReason): RateChange {
    const state = this.#state;
    if (rps > state.rps) {
      state.previousRps = state.rps;
      state.raisedAt = now;
    }
    state.rps = rps;
    state.changedAt = now;
    this.#answersSinceChange = 0;
    return { rps, reason };
  }
}
